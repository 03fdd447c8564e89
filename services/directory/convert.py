"""Rows <-> protobuf messages for the directory."""

from __future__ import annotations

from typing import Any

from justnet.directory.v1 import directory_pb2

from services.common.db import decode_codes
from services.common.replication import record_meta
from services.directory.models import AuthorityRow, ContactPointRow, RoutingProfileRow


def authority(row: AuthorityRow, local_network: str) -> directory_pb2.Authority:
    return directory_pb2.Authority(
        meta=record_meta(row, local_network),
        jurisdiction=row.jurisdiction,
        name=row.name,
        kind=row.kind,
        competences=decode_codes(row.competences),
        accepted_languages=decode_codes(row.accepted_languages),
        email=row.email,
        phone=row.phone,
        address=row.address,
        website=row.website,
        available_24_7=row.available_24_7,
        visibility=row.visibility,
    )


def contact_point(row: ContactPointRow, local_network: str) -> directory_pb2.ContactPoint:
    return directory_pb2.ContactPoint(
        meta=record_meta(row, local_network),
        authority_id=row.authority_id,
        jurisdiction=row.jurisdiction,
        name=row.name,
        title=row.title,
        languages=decode_codes(row.languages),
        competences=decode_codes(row.competences),
        email=row.email,
        phone=row.phone,
        available_24_7=row.available_24_7,
        visibility=row.visibility,
        term_end=row.term_end,
        successor_id=row.successor_id,
        met_at=list(row.met_at or []),
    )


def routing_profile(row: RoutingProfileRow, local_network: str) -> directory_pb2.RoutingProfile:
    return directory_pb2.RoutingProfile(
        meta=record_meta(row, local_network),
        jurisdiction=row.jurisdiction,
        central_authority_id=row.central_authority_id,
        accepted_languages=decode_codes(row.accepted_languages),
        channels=[directory_pb2.Channel(**c) for c in row.channels],
        legal_bases=decode_codes(row.legal_bases),
        measures=[directory_pb2.MeasureProfile(**m) for m in row.measures],
        acknowledgement_days=row.acknowledgement_days,
        urgent_procedure=row.urgent_procedure,
        visibility=row.visibility,
    )


CONVERTERS: dict[str, Any] = {
    "authority": authority,
    "contact_point": contact_point,
    "routing_profile": routing_profile,
}


def to_message(kind: str, row: Any, local_network: str) -> Any:
    return CONVERTERS[kind](row, local_network)
