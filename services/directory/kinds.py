"""What the directory replicates: its record kinds, for the replica-feed kit
(services/common/replication). Each kind names its table, its message, how a row is
served and how a peer's payload is checked; the kit does the rest."""

from __future__ import annotations

from typing import Any

from justnet.directory.v1 import directory_pb2

from services.common.replication import RecordKind
from services.common.validation import Validator
from services.directory import convert, validate
from services.directory.models import AuthorityRow, ContactPointRow, RoutingProfileRow

MAX_MET_AT = 100  # attendance notes kept per contact point (the newest)


def _contact_point(msg: directory_pb2.ContactPoint, v: Validator) -> dict[str, Any]:
    values = validate.contact_point(msg, v)
    # Written by the origin's RecordAttendance, not by its editors' bodies.
    values["met_at"] = [n[:300] for n in msg.met_at][-MAX_MET_AT:]
    return values


KINDS = (
    RecordKind(
        "authority", AuthorityRow, directory_pb2.Authority, convert.authority, validate.authority
    ),
    RecordKind(
        "contact_point",
        ContactPointRow,
        directory_pb2.ContactPoint,
        convert.contact_point,
        _contact_point,
    ),
    # One profile per (origin, jurisdiction): a re-created profile replaces the old.
    RecordKind(
        "routing_profile",
        RoutingProfileRow,
        directory_pb2.RoutingProfile,
        convert.routing_profile,
        validate.routing_profile,
        one_per_origin=("jurisdiction",),
    ),
)
