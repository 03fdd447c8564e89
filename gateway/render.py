"""Protobuf messages -> the JSON shapes of API.md (hand-written: exact and fast)."""

from __future__ import annotations

from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from justnet.common.v1 import common_pb2
from justnet.directory.v1 import directory_pb2 as pb


def ts(value: Timestamp) -> str | None:
    if not value.seconds and not value.nanos:
        return None
    text: str = value.ToJsonString()
    return text


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


def authority(a: pb.Authority) -> dict[str, Any]:
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


def contact_point(c: pb.ContactPoint) -> dict[str, Any]:
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
    }


def routing_profile(p: pb.RoutingProfile) -> dict[str, Any]:
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
    }


def network(n: pb.Network) -> dict[str, Any]:
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


def jurisdiction(j: pb.Jurisdiction) -> dict[str, Any]:
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


def lookup_item(item: pb.LookupItem) -> dict[str, Any]:
    if item.kind == "authority":
        record = authority(item.authority)
    else:
        record = contact_point(item.contact_point)
    record["record_type"] = item.kind
    record["score"] = round(item.score, 3)
    record["matched"] = list(item.matched)
    return record
