"""The Timestamp conversions are computed by datetime arithmetic (faster than protobuf's
own); they must give exactly what protobuf's FromDatetime / ToDatetime give, and refuse
what it refuses."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from services.common.timeutil import EPOCH, from_timestamp, to_timestamp


def test_conversions_match_protobufs_own() -> None:
    rng = random.Random(20261206)
    for i in range(20_000):
        seconds = rng.randrange(-62135596800, 253402300799)
        at = EPOCH + timedelta(seconds=seconds, microseconds=rng.randrange(10**6))
        if i % 3 == 0:
            at = at.replace(tzinfo=None)  # SQLite hands back naive UTC datetimes
        expected = Timestamp()
        expected.FromDatetime(at if at.tzinfo else at.replace(tzinfo=UTC))
        assert to_timestamp(at) == expected
        ts = Timestamp(seconds=seconds, nanos=rng.randrange(10**9))
        back = from_timestamp(ts)
        assert back == ts.ToDatetime(tzinfo=UTC) and back.utcoffset() == timedelta(0)
    other_zone = datetime(2026, 12, 6, 18, 0, tzinfo=UTC).astimezone()
    assert to_timestamp(other_zone) == to_timestamp(datetime(2026, 12, 6, 18, 0, tzinfo=UTC))
    assert to_timestamp(None) is None


@pytest.mark.parametrize(
    "ts",
    [
        Timestamp(seconds=0, nanos=-1),
        Timestamp(seconds=0, nanos=10**9),
        Timestamp(seconds=253402300800),
        Timestamp(seconds=-62135596801),
    ],
)
def test_out_of_range_timestamps_are_refused_as_protobuf_refuses_them(ts: Timestamp) -> None:
    with pytest.raises(ValueError):
        ts.ToDatetime(tzinfo=UTC)
    with pytest.raises(ValueError):
        from_timestamp(ts)
