"""A peer speaks only for its states (ARCHITECTURE section 4).

Every record a peer sends is judged before it is applied: a record about a state this
node does not accept from that peer (its descriptor's jurisdictions, or fewer if an
administrator narrowed them), or that claims to have been verified by its owner in the
future, is not applied. It goes to the quarantine instead, where administrators see it
(`GET /api/v1/federation/quarantine`), and reaches the service as a tombstone, so a copy
applied earlier (before the record moved to another state, or before the peer was
narrowed) goes too. A record the applying service refuses (its own checks) is
quarantined as well and left out of the batch. Either way the rest of the batch is
applied and the cursor moves past it: one bad record never stops a feed.

What a record is about:
- authorities, contact points and routing profiles: their `jurisdiction`;
- events: the venue's country. An online event (no venue country) is about no state:
  it is the peer network's own meeting, which it may always announce, so it is accepted.
  An in-person event in a state the peer is not accepted for (say, a plenary abroad) is
  quarantined like any other record about that state.

The quarantine keeps one row per (peer, kind, record id), for the latest version held
back; a later version (or tombstone) of the record that passes removes it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from google.protobuf.message import DecodeError
from justnet.directory.v1 import directory_pb2
from justnet.events.v1 import events_pb2
from justnet.federation.v1 import federation_pb2
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.common.db import WRITE, session_factory
from services.common.errors import InvalidInput
from services.common.paging import decode_cursor, encode_cursor
from services.common.timeutil import as_utc, from_timestamp, rfc3339, to_timestamp, utcnow
from services.federation.models import QuarantineRow

log = logging.getLogger(__name__)

# How far ahead of this node's clock an owner's last_verified_at may be (clock skew).
FUTURE_SKEW = timedelta(minutes=5)
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

NOT_ACCEPTED = "jurisdiction_not_accepted"
IN_FUTURE = "last_verified_in_future"
REFUSED = "refused"  # by the service that applies the record (its own checks)
UNREADABLE = "unreadable"
REASONS = (NOT_ACCEPTED, IN_FUTURE, REFUSED, UNREADABLE)

PAYLOADS: dict[str, Any] = {
    "authority": directory_pb2.Authority,
    "contact_point": directory_pb2.ContactPoint,
    "routing_profile": directory_pb2.RoutingProfile,
    "event": events_pb2.Event,
}


@dataclass(frozen=True)
class Held:
    """A record kept out of this node's replicas, and why."""

    kind: str
    record_id: str
    version: int
    jurisdiction: str
    reason: str
    detail: str

    @property
    def tombstone(self) -> bool:
        """Whether the service still gets a tombstone for it (removing an older copy).
        Not for a record the service refused or could not read: it would refuse that
        too, or it is not the peer's record at all."""
        return self.reason in (NOT_ACCEPTED, IN_FUTURE)


def judge(
    peer: str,
    kind: str,
    record_id: str,
    version: int,
    deleted: bool,
    payload: bytes,
    accepted: frozenset[str],
    now: datetime,
) -> Held | None:
    """None when the record may be applied; else why not. Tombstones always pass: a
    peer may withdraw its own records (the service checks that they are its own)."""
    if deleted:
        return None
    message_type = PAYLOADS.get(kind)
    if message_type is None:
        return None  # the feed's own kinds are checked before

    def held(reason: str, jurisdiction: str, detail: str) -> Held:
        return Held(kind, record_id[:100], version, jurisdiction[:8], reason, detail)

    try:
        msg = message_type.FromString(payload)
    except DecodeError:
        return held(UNREADABLE, "", f"the payload is not a serialized {kind}")
    if kind == "event":
        jurisdiction = msg.venue.country.strip().upper()
        territorial = bool(jurisdiction)  # online: the peer's own meeting, no state
    else:
        jurisdiction = msg.jurisdiction.strip().upper()
        territorial = True
    if territorial and jurisdiction not in accepted:
        allowed = ", ".join(sorted(accepted)) or "none"
        about = jurisdiction or "no state"
        return held(
            NOT_ACCEPTED,
            jurisdiction,
            f"{peer} is not accepted to speak for {about} (accepted: {allowed})",
        )
    if msg.meta.HasField("last_verified_at"):
        try:
            verified: datetime | None = from_timestamp(msg.meta.last_verified_at)
        except (ValueError, OverflowError):
            verified = None
        if verified is None or verified > now + FUTURE_SKEW:
            when = rfc3339(verified) if verified is not None else "out of range"
            return held(
                IN_FUTURE,
                jurisdiction,
                f"last_verified_at {when} is more than {int(FUTURE_SKEW.total_seconds() // 60)}"
                f" minutes after this node's clock ({rfc3339(now)})",
            )
    return None


def jurisdiction_of(kind: str, payload: bytes) -> str:
    """The state a record is about ("" for none, or when the payload does not parse)."""
    message_type = PAYLOADS.get(kind)
    if message_type is None or not payload:
        return ""
    try:
        msg = message_type.FromString(payload)
    except DecodeError:
        return ""
    value = msg.venue.country if kind == "event" else msg.jurisdiction
    return str(value).strip().upper()[:8]


class QuarantineStore:
    """The quarantine table, and counts per (peer, kind, reason) kept in memory for the
    peers list and the federation's quarantine gauge (metrics.py; refreshed after every
    change, so a scrape never waits on the database)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.sessions = session_factory(engine)
        self.counts: dict[tuple[str, str, str], int] = {}

    def count(self, peer: str) -> int:
        return sum(n for (p, _, _), n in list(self.counts.items()) if p == peer)

    async def load_counts(self) -> None:
        async with self.sessions() as session:
            rows = await session.execute(
                select(
                    QuarantineRow.peer, QuarantineRow.kind, QuarantineRow.reason, func.count()
                ).group_by(QuarantineRow.peer, QuarantineRow.kind, QuarantineRow.reason)
            )
            self.counts = {(p, k, r): int(n) for p, k, r, n in rows.all()}

    async def held_ids(self, peer: str, kinds: Sequence[str]) -> set[tuple[str, str]]:
        """(kind, record id) of the peer's records in quarantine, for these kinds."""
        async with self.sessions() as session:
            rows = await session.execute(
                select(QuarantineRow.kind, QuarantineRow.record_id).where(
                    QuarantineRow.peer == peer, QuarantineRow.kind.in_(list(kinds))
                )
            )
            return {(k, r) for k, r in rows.all()}

    async def update(
        self,
        peer: str,
        feed: str,
        held: Iterable[Held],
        cleared: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Stores what was held back (idempotently: the same version again changes only
        the reason) and removes what has since passed, in one transaction."""
        latest: dict[tuple[str, str], Held] = {(h.kind, h.record_id): h for h in held}
        gone = [key for key in cleared if key not in latest]
        if not latest and not gone:
            return
        now = utcnow()
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            await _delete(session, peer, gone)
            existing = await _existing(session, peer, list(latest))
            for key, h in latest.items():
                row = existing.get(key)
                if row is None:
                    row = QuarantineRow(peer=peer, kind=h.kind, record_id=h.record_id)
                    session.add(row)
                if row.version != h.version:
                    # A new record or version; the same version again (a resumed or
                    # re-read feed) keeps the time it first arrived.
                    row.version = h.version
                    row.received_at = now
                row.feed = feed
                row.jurisdiction, row.reason = h.jurisdiction, h.reason
                row.detail = h.detail[:1000]
        for h in latest.values():
            log.warning(
                "quarantined %s %s v%d from %s: %s", h.kind, h.record_id, h.version, peer, h.detail
            )
        await self.load_counts()

    async def page(
        self, limit: int, cursor: str, peer: str = ""
    ) -> tuple[list[federation_pb2.QuarantinedRecord], str]:
        """Newest first; the cursor is the (received_at, id) of the last item."""
        if limit < 0 or limit > MAX_LIMIT:
            raise InvalidInput.one("limit", f"must be between 1 and {MAX_LIMIT}")
        limit = limit or DEFAULT_LIMIT
        stmt = select(QuarantineRow)
        if peer:
            stmt = stmt.where(QuarantineRow.peer == peer.strip().upper())
        if cursor:
            at_text, last_id = decode_cursor(cursor)
            try:
                at, after = as_utc(datetime.fromisoformat(at_text)), int(last_id)
            except ValueError:
                raise InvalidInput.one("cursor", "not a cursor returned by this API") from None
            stmt = stmt.where(
                or_(
                    QuarantineRow.received_at < at,
                    and_(QuarantineRow.received_at == at, QuarantineRow.id < after),
                )
            )
        stmt = stmt.order_by(QuarantineRow.received_at.desc(), QuarantineRow.id.desc())
        async with self.sessions() as session:
            rows = list((await session.scalars(stmt.limit(limit + 1))).all())
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = ""
        if more and rows:
            last = rows[-1]
            next_cursor = encode_cursor(as_utc(last.received_at).isoformat(), str(last.id))
        return [_message(r) for r in rows], next_cursor


def _message(row: QuarantineRow) -> federation_pb2.QuarantinedRecord:
    return federation_pb2.QuarantinedRecord(
        peer=row.peer,
        feed=row.feed,
        kind=row.kind,
        record_id=row.record_id,
        version=row.version,
        jurisdiction=row.jurisdiction,
        reason=row.reason,
        detail=row.detail,
        received_at=to_timestamp(row.received_at),
    )


CHUNK = 200  # keys per statement (SQLite's bound-parameter limit)


async def _delete(session: AsyncSession, peer: str, keys: list[tuple[str, str]]) -> None:
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        await session.execute(
            delete(QuarantineRow).where(
                QuarantineRow.peer == peer,
                or_(
                    *(and_(QuarantineRow.kind == k, QuarantineRow.record_id == r) for k, r in chunk)
                ),
            )
        )


async def _existing(
    session: AsyncSession, peer: str, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], QuarantineRow]:
    existing: dict[tuple[str, str], QuarantineRow] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        rows = await session.scalars(
            select(QuarantineRow).where(
                QuarantineRow.peer == peer,
                QuarantineRow.record_id.in_([r for _, r in chunk]),
            )
        )
        existing.update({(row.kind, row.record_id): row for row in rows.all()})
    return existing
