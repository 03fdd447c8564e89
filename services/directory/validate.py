"""Checks an incoming record and returns the normalised column values.

Every error names the API field; nothing is written unless the whole record passes.
"""

from __future__ import annotations

from typing import Any

from justnet.directory.v1 import directory_pb2

from services.common import codes
from services.common.validation import Validator, country_code

NAME_MAX = 300


def _search_text(*parts: str) -> str:
    # casefold: SQLite's lower() only folds ASCII; names here are in many scripts.
    return " ".join(p for p in parts if p).casefold()


def authority(msg: directory_pb2.Authority, v: Validator) -> dict[str, Any]:
    jurisdiction = v.country("jurisdiction", msg.jurisdiction)
    name = v.text("name", msg.name, required=True, max_len=NAME_MAX)
    values = {
        "jurisdiction": jurisdiction,
        "name": name,
        "kind": v.choice("kind", msg.kind, codes.AUTHORITY_KINDS),
        "competences": v.choices("competences", msg.competences, codes.COMPETENCES),
        "accepted_languages": v.languages("accepted_languages", msg.accepted_languages),
        "email": v.email("email", msg.email),
        "phone": v.phone("phone", msg.phone, region=jurisdiction or None),
        "address": v.text("address", msg.address, max_len=500),
        "website": v.url("website", msg.website),
        "available_24_7": msg.available_24_7,
        "visibility": v.visibility("visibility", msg.visibility),
    }
    values["search_text"] = _search_text(name, str(values["address"]))
    return values


def contact_point(msg: directory_pb2.ContactPoint, v: Validator) -> dict[str, Any]:
    jurisdiction = v.country("jurisdiction", msg.jurisdiction)
    name = v.text("name", msg.name, required=True, max_len=NAME_MAX)
    title = v.text("title", msg.title, max_len=NAME_MAX)
    authority_id = v.text("authority_id", msg.authority_id, required=True, max_len=36)
    successor_id = v.text("successor_id", msg.successor_id, max_len=36)
    values = {
        "authority_id": authority_id,
        "jurisdiction": jurisdiction,
        "name": name,
        "title": title,
        "languages": v.languages("languages", msg.languages),
        "competences": v.choices("competences", msg.competences, codes.COMPETENCES),
        "email": v.email("email", msg.email),
        "phone": v.phone("phone", msg.phone, region=jurisdiction or None),
        "available_24_7": msg.available_24_7,
        "visibility": v.visibility("visibility", msg.visibility),
        "term_end": v.date("term_end", msg.term_end),
        "successor_id": successor_id,
    }
    values["search_text"] = _search_text(name, title)
    return values


def legal_basis(field: str, value: str, v: Validator) -> str:
    value = value.strip()
    if value.upper().startswith(codes.BILATERAL_PREFIX):
        pair = value[len(codes.BILATERAL_PREFIX) :].upper().split("-")
        if len(pair) == 2 and all(country_code(p) for p in pair) and pair[0] != pair[1]:
            return codes.BILATERAL_PREFIX + "-".join(sorted(pair))
        v.fail(field, f"{value!r} must be BILATERAL:<AA>-<BB> with two different ISO codes")
        return value
    if value.upper() in codes.INSTRUMENTS:
        return value.upper()
    # Short on purpose: one message per bad entry, and errors travel in gRPC trailers.
    v.fail(field, f"{value[:60]!r} is not a known instrument code")
    return value


def routing_profile(msg: directory_pb2.RoutingProfile, v: Validator) -> dict[str, Any]:
    channels = []
    for i, ch in enumerate(msg.channels):
        channels.append(
            {
                "kind": v.choice(f"channels[{i}].kind", ch.kind, codes.CHANNEL_KINDS),
                "address": v.text(f"channels[{i}].address", ch.address, max_len=500),
                "formal": ch.formal,
            }
        )
    measures: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, m in enumerate(msg.measures):
        code = v.choice(f"measures[{i}].code", m.code, codes.MEASURES)
        if code in seen:
            v.fail(f"measures[{i}].code", f"{code!r} is listed twice")
        seen.add(code)
        measures.append(
            {
                "code": code,
                "applicability": v.choice(
                    f"measures[{i}].applicability", m.applicability, codes.APPLICABILITY
                ),
                "notes": v.text(f"measures[{i}].notes", m.notes, max_len=2000),
            }
        )
    bases: list[str] = []
    for i, b in enumerate(msg.legal_bases):
        code = legal_basis(f"legal_bases[{i}]", b, v)
        if code not in bases:
            bases.append(code)
    return {
        "jurisdiction": v.country("jurisdiction", msg.jurisdiction),
        "central_authority_id": v.text(
            "central_authority_id", msg.central_authority_id, max_len=36
        ),
        "accepted_languages": v.languages("accepted_languages", msg.accepted_languages),
        "channels": channels,
        "legal_bases": bases,
        "measures": measures,
        "acknowledgement_days": v.int_range(
            "acknowledgement_days", msg.acknowledgement_days, 0, 365
        ),
        "urgent_procedure": v.text("urgent_procedure", msg.urgent_procedure, max_len=2000),
        "visibility": v.visibility("visibility", msg.visibility),
    }
