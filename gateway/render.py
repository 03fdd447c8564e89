"""Protobuf messages -> the JSON shapes of API.md (hand-written: exact and fast)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from justnet.common.v1 import common_pb2
from justnet.directory.v1 import directory_pb2
from justnet.events.v1 import events_pb2


def ts(value: Timestamp) -> str | None:
    if not value.seconds and not value.nanos:
        return None
    moment = datetime.fromtimestamp(value.seconds, UTC).replace(microsecond=value.nanos // 1000)
    return moment.isoformat().replace("+00:00", "Z")


def meta(m: common_pb2.RecordMeta) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": m.id,
        "origin": m.origin,
        "version": m.version,
        "created_at": ts(m.created_at),
        "updated_at": ts(m.updated_at),
        "last_verified_at": ts(m.last_verified_at),
    }
    if m.HasField("provenance"):
        out["provenance"] = {
            "origin": m.provenance.origin,
            "verified": m.provenance.verified,
            "synced_at": ts(m.provenance.synced_at),
        }
    return out


def authority(a: directory_pb2.Authority) -> dict[str, Any]:
    return {
        **meta(a.meta),
        "jurisdiction": a.jurisdiction,
        "name": a.name,
        "kind": a.kind,
        "competences": list(a.competences),
        "accepted_languages": list(a.accepted_languages),
        "email": a.email,
        "phone": a.phone,
        "address": a.address,
        "website": a.website,
        "available_24_7": a.available_24_7,
        "visibility": a.visibility,
    }


def contact_point(c: directory_pb2.ContactPoint) -> dict[str, Any]:
    return {
        **meta(c.meta),
        "authority_id": c.authority_id,
        "jurisdiction": c.jurisdiction,
        "name": c.name,
        "title": c.title,
        "languages": list(c.languages),
        "competences": list(c.competences),
        "email": c.email,
        "phone": c.phone,
        "available_24_7": c.available_24_7,
        "visibility": c.visibility,
        "term_end": c.term_end or None,
        "successor_id": c.successor_id or None,
        "met_at": list(c.met_at),
    }


def routing_profile(p: directory_pb2.RoutingProfile) -> dict[str, Any]:
    return {
        **meta(p.meta),
        "jurisdiction": p.jurisdiction,
        "central_authority_id": p.central_authority_id or None,
        "accepted_languages": list(p.accepted_languages),
        "channels": [
            {"kind": c.kind, "address": c.address, "formal": c.formal} for c in p.channels
        ],
        "legal_bases": list(p.legal_bases),
        "measures": [
            {"code": m.code, "applicability": m.applicability, "notes": m.notes} for m in p.measures
        ],
        "acknowledgement_days": p.acknowledgement_days,
        "urgent_procedure": p.urgent_procedure,
        "visibility": p.visibility,
        "standing": p.standing or None,
        "alternatives": [routing_profile(a) for a in p.alternatives],
    }


def event(e: events_pb2.Event) -> dict[str, Any]:
    return {
        **meta(e.meta),
        "visibility": e.visibility,
        "title": e.title,
        "kind": e.kind,
        "description": e.description,
        "starts_at": e.starts_at,
        "ends_at": e.ends_at,
        "starts_at_utc": e.starts_at_utc,
        "ends_at_utc": e.ends_at_utc,
        "timezone": e.timezone,
        "venue": (
            {"city": e.venue.city, "country": e.venue.country} if e.HasField("venue") else None
        ),
        "online_url": e.online_url or None,
        "languages": list(e.languages),
        "interpretation": list(e.interpretation),
        "agenda": [
            {"title": a.title, "starts_at": a.starts_at or None, "description": a.description}
            for a in e.agenda
        ],
        "documents": [
            {"title": d.title, "url": d.url, "language": d.language or None} for d in e.documents
        ],
        "capacity": e.capacity,
        "registration_deadline": e.registration_deadline or None,
        # Places are counted where the event is owned; a replica has no counts here.
        "confirmed": e.confirmed if not e.meta.HasField("provenance") else None,
        "waitlisted": e.waitlisted if not e.meta.HasField("provenance") else None,
    }


def registration(r: events_pb2.Registration) -> dict[str, Any]:
    return {
        "id": r.id,
        "event_id": r.event_id,
        "event_origin": r.event_origin,
        "event_title": r.event_title,
        "network": r.network,
        "name": r.name,
        "email": r.email or None,
        "contact_point_id": r.contact_point_id or None,
        "state": r.state,
        "waitlist_position": r.waitlist_position or None,
        "attended": r.attended,
        "details_confirmed": r.details_confirmed,
        "recorded_on_contact_point": r.recorded_on_contact_point,
        "attended_at": ts(r.attended_at),
        "reason": r.reason or None,
        "created_at": ts(r.created_at),
        "updated_at": ts(r.updated_at),
    }


def network(n: directory_pb2.Network) -> dict[str, Any]:
    return {
        "code": n.code,
        "name": n.name,
        "region": n.region,
        "secretariat": n.secretariat,
        "website": n.website,
        "working_languages": list(n.working_languages),
        "founding_instrument": n.founding_instrument,
        "partner_networks": list(n.partner_networks),
        "members": [
            {"jurisdiction": m.jurisdiction, "since": m.since or None, "until": m.until or None}
            for m in n.members
        ],
        "is_local": n.is_local,
    }


def jurisdiction(j: directory_pb2.Jurisdiction) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": j.code,
        "name": j.name,
        "official_languages": list(j.official_languages),
        "legal_tradition": j.legal_tradition or None,
        "networks": list(j.networks),
    }
    if j.HasField("routing_profile"):
        out["routing_profile"] = routing_profile(j.routing_profile)
    return out


class JsonFragments:
    """Ready JSON for records, so hot list and lookup responses skip re-rendering.

    A record's content is fixed by its id and version (only its origin changes it and
    every change bumps the version); a replica's provenance can change on its own, so
    it is part of the key too. Each fragment is the JSON object without its closing
    brace, so per-response fields (score, matched) can follow.
    """

    def __init__(self, size: int = 50_000, items_size: int = 20_000) -> None:
        self.size = size
        self._cache: dict[tuple[object, ...], bytes] = {}
        # Lookup items (a record with its score and matched) by their serialised bytes.
        self.items_size = items_size
        self._items: dict[bytes, bytes] = {}

    def open_object(
        self, kind: str, msg: directory_pb2.Authority | directory_pb2.ContactPoint
    ) -> bytes:
        m = msg.meta
        p = m.provenance
        key = (kind, m.id, m.version, p.verified, p.synced_at.seconds, p.synced_at.nanos)
        fragment = self._cache.get(key)
        if fragment is None:
            data = authority(msg) if kind == "authority" else contact_point(msg)  # type: ignore[arg-type]
            fragment = dumps(data)[:-1]
            if len(self._cache) >= self.size:
                self._cache.clear()
            self._cache[key] = fragment
        return fragment

    def records(
        self, kind: str, msgs: Iterable[directory_pb2.Authority | directory_pb2.ContactPoint]
    ) -> bytes:
        return b"[" + b",".join(self.open_object(kind, m) + b"}" for m in msgs) + b"]"

    def lookup_items(self, items: Iterable[bytes]) -> bytes:
        """The JSON array of a lookup's items, from each serialised LookupItem; an item's
        JSON is a function of its bytes, so an item met before is a dictionary hit."""
        known = self._items
        parts = []
        for data in items:
            part = known.get(data)
            if part is None:
                part = self._lookup_item(directory_pb2.LookupItem.FromString(data))
                if len(known) >= self.items_size:
                    known.clear()
                known[data] = part
            parts.append(part)
        return b"[" + b",".join(parts) + b"]"

    def _lookup_item(self, item: directory_pb2.LookupItem) -> bytes:
        record = item.authority if item.kind == "authority" else item.contact_point
        return (
            self.open_object(item.kind, record)
            + (
                b',"record_type":"authority","score":'
                if item.kind == "authority"
                else b',"record_type":"contact_point","score":'
            )
            + repr(round(item.score, 3)).encode()
            + b',"matched":'
            + dumps(list(item.matched))
            + b"}"
        )


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class HeldAnswer:
    token: str
    items: bytes
    consulted: tuple[str, ...]


class LookupAnswers:
    """Rendered lookup answers, revalidated with the directory by token on every call.

    The directory says `not_modified` when nothing changed since the token, so a repeated
    query costs a small gRPC round trip and no rendering, and is never stale.
    """

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._held: dict[tuple[object, ...], HeldAnswer] = {}

    def get(self, key: tuple[object, ...]) -> HeldAnswer | None:
        return self._held.get(key)

    def put(self, key: tuple[object, ...], answer: HeldAnswer) -> None:
        if len(self._held) >= self.size:
            self._held.clear()
        self._held[key] = answer
