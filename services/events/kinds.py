"""What the events service replicates: one record kind, `event`, for the replica-feed kit
(services/common/replication)."""

from __future__ import annotations

from typing import Any

from justnet.events.v1 import events_pb2

from services.common.replication import RecordKind
from services.common.validation import Validator
from services.events import convert, validate
from services.events.models import EventRow


def _event(msg: events_pb2.Event, v: Validator) -> dict[str, Any]:
    # The origin's times are instants; no local-time reading of a replica.
    msg.starts_at = msg.starts_at_utc or msg.starts_at
    msg.ends_at = msg.ends_at_utc or msg.ends_at
    return validate.event(msg, v)


KINDS = (RecordKind("event", EventRow, events_pb2.Event, convert.event, _event),)
