"""What a peer's record is about, and when it is held back (services/federation/quarantine)."""

from __future__ import annotations

from datetime import timedelta

from justnet.directory.v1 import directory_pb2
from justnet.events.v1 import events_pb2

from services.common.timeutil import utcnow
from services.federation.quarantine import judge

ACCEPTED = frozenset({"NG", "SN"})
NOW = utcnow()


def verdict(kind: str, msg: object = None, *, deleted: bool = False, payload: bytes = b""):  # type: ignore[no-untyped-def]
    body = payload or (msg.SerializeToString() if msg is not None else b"")  # type: ignore[attr-defined]
    return judge("WACAP", kind, "id-1", 3, deleted, body, ACCEPTED, NOW)


def test_directory_records_are_judged_by_their_jurisdiction() -> None:
    assert verdict("authority", directory_pb2.Authority(jurisdiction="NG", name="x")) is None
    held = verdict("contact_point", directory_pb2.ContactPoint(jurisdiction="gh", name="x"))
    assert held is not None and (held.reason, held.jurisdiction) == (
        "jurisdiction_not_accepted",
        "GH",
    )
    assert held.tombstone and held.version == 3 and "GH" in held.detail
    held = verdict("routing_profile", directory_pb2.RoutingProfile())
    assert held is not None and held.reason == "jurisdiction_not_accepted"


def test_online_events_are_the_peers_own_and_venues_count() -> None:
    assert (
        verdict("event", events_pb2.Event(title="online", online_url="https://x.example")) is None
    )
    assert (
        verdict("event", events_pb2.Event(venue=events_pb2.Venue(city="Dakar", country="SN")))
        is None
    )
    held = verdict("event", events_pb2.Event(venue=events_pb2.Venue(city="Bangkok", country="TH")))
    assert held is not None and held.jurisdiction == "TH"


def test_last_verified_at_may_be_ahead_by_clock_skew_only() -> None:
    def authority(ahead: timedelta) -> directory_pb2.Authority:
        msg = directory_pb2.Authority(jurisdiction="NG")
        msg.meta.last_verified_at.FromDatetime(NOW + ahead)
        return msg

    assert verdict("authority", authority(timedelta(minutes=4))) is None
    held = verdict("authority", authority(timedelta(minutes=6)))
    assert held is not None and held.reason == "last_verified_in_future" and held.tombstone
    # A jurisdiction not accepted is the first reason given.
    msg = authority(timedelta(days=1))
    msg.jurisdiction = "TH"
    held = verdict("authority", msg)
    assert held is not None and held.reason == "jurisdiction_not_accepted"


def test_tombstones_pass_and_garbage_is_held_without_a_tombstone() -> None:
    assert verdict("authority", deleted=True) is None
    held = verdict("authority", payload=b"\xff\xff\xff")
    assert held is not None and held.reason == "unreadable" and not held.tombstone
