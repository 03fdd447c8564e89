"""UTC in storage, RFC 3339 on the wire, protobuf Timestamps in between."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# What protobuf accepts as a Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
MIN_SECONDS, MAX_SECONDS = -62135596800, 253402300799


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything stored is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_timestamp(value: datetime | None) -> Timestamp | None:
    # What Timestamp.FromDatetime computes, by datetime arithmetic instead of
    # calendar.timegm (several times faster; replicas convert four per record).
    if value is None:
        return None
    delta = as_utc(value) - EPOCH
    return Timestamp(seconds=delta.days * 86400 + delta.seconds, nanos=delta.microseconds * 1000)


def from_timestamp(ts: Timestamp) -> datetime:
    seconds, nanos = ts.seconds, ts.nanos
    if not (MIN_SECONDS <= seconds <= MAX_SECONDS and 0 <= nanos < 1_000_000_000):
        return ts.ToDatetime(tzinfo=UTC)  # raises as protobuf does
    return EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    return as_utc(value).isoformat().replace("+00:00", "Z")
