"""The in-memory lookup index: every authority and contact point, local and replicated.

Lookup is the hot path, so it never touches SQL. The index is a replay of the change
log: it loads the tables once, then applies each change after the sequence number it
has seen (after every local write, and on a short poll for changes written by other
replicas of this service). Applying is idempotent by version, so the cache is exact.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import sys
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, time, timedelta

from justnet.directory.v1 import directory_pb2

from services.common.identity import Caller
from services.common.loops import stop_if_cancelled
from services.common.replication import Committed
from services.common.timeutil import utcnow
from services.common.waiting import wait_event
from services.directory import convert, wire
from services.directory.models import ChangeRow
from services.directory.ranking import Entry, Postings, Query
from services.directory.store import DirectoryStore

log = logging.getLogger(__name__)


_shared: dict[tuple[str, ...], tuple[str, ...]] = {}


def _codes(values: Iterable[str]) -> tuple[str, ...]:
    """A sorted tuple of codes, one object per distinct set (entries share them)."""
    codes = tuple(sorted({sys.intern(v) for v in values}))
    return _shared.setdefault(codes, codes)


def _entry(kind: str, msg: directory_pb2.Authority | directory_pb2.ContactPoint) -> Entry:
    if isinstance(msg, directory_pb2.Authority):
        languages = _codes(msg.accepted_languages)
        text = f"{msg.name} {msg.address}"
        central = msg.kind == "central_authority"
        item = directory_pb2.LookupItem(kind=kind, authority=msg)
    else:
        languages = _codes(msg.languages)
        text = f"{msg.name} {msg.title}"
        central = False
        item = directory_pb2.LookupItem(kind=kind, contact_point=msg)
    record_id = msg.meta.id  # each read makes a new string: read it once
    return Entry(
        id=record_id,
        origin=sys.intern(msg.meta.origin),
        visibility=sys.intern(msg.visibility),
        version=msg.meta.version,
        jurisdiction=sys.intern(msg.jurisdiction),
        order=(msg.name.casefold(), record_id),
        competences=_codes(msg.competences),
        languages=languages,
        available_24_7=msg.available_24_7,
        central=central,
        search_text=text.casefold(),
        verified_at=msg.meta.last_verified_at.ToDatetime(tzinfo=UTC),
        item=item.SerializeToString(),
    )


RESULT_CACHE_SIZE = 1024


def visibility_class(caller: Caller, local_network: str) -> tuple[str, str, bool]:
    """What `can_see` depends on: callers in one class see exactly the same records."""
    if not caller.authenticated:
        return ("anonymous", "", False)
    return ("caller", caller.network, caller.network == local_network and caller.at_least("editor"))


class LookupIndex:
    load_page = 2000  # records read per query while loading

    def __init__(self, store: DirectoryStore, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.clock = clock  # what freshness is measured against (tests move it)
        self.seq = 0
        self._postings = Postings()
        self._per_origin: collections.Counter[str] = collections.Counter()
        # Results are a pure function of (query, visibility class, day, index state);
        # the cache is emptied whenever a change is applied, so it is never stale.
        self._results: dict[tuple[object, ...], bytes] = {}
        self._lock = asyncio.Lock()
        # Answers depend only on the index and the day (freshness); the instance part
        # keeps tokens of two replicas of this service from ever being equal.
        self._instance = uuid.uuid4().hex[:12]
        self._generation = 0
        self._token_changed = asyncio.Event()

    @property
    def size(self) -> int:
        return len(self._postings.entries)

    def records_per_origin(self) -> dict[str, int]:
        return {origin: count for origin, count in self._per_origin.items() if count > 0}

    def origins(self) -> list[str]:
        return sorted(origin for origin, count in self._per_origin.items() if count > 0)

    async def load(self) -> None:
        # Read the position first: changes that land while the tables load are
        # replayed again by catch_up, which is harmless (versions only move forward).
        seq = await self.store.max_seq()
        # Page by page, so the rows and messages of one page only are alive at a time.
        local = self.store.local_network
        entries: list[Entry] = []
        async for rows in self.store.record_pages("authority", self.load_page):
            entries += (_entry("authority", convert.authority(row, local)) for row in rows)
        async for rows in self.store.record_pages("contact_point", self.load_page):
            entries += (_entry("contact_point", convert.contact_point(row, local)) for row in rows)
        self._forget_results()
        self._postings.load(entries, self.clock())
        self._per_origin = collections.Counter(e.origin for e in self._postings.entries.values())
        self.seq = seq
        await self.catch_up()

    async def committed(self, changes: list[Committed]) -> None:
        """Applies change rows a write of this process just committed, without reading
        them back, when they directly follow what the index has seen; otherwise (another
        process wrote in between) catches up from the change log."""
        async with self._lock:
            if not changes or changes[-1].seq <= self.seq:
                return
            if changes[0].seq == self.seq + 1 and all(
                b.seq == a.seq + 1 for a, b in itertools.pairwise(changes)
            ):
                for change in changes:
                    self._apply_message(
                        change.kind, change.record_id, change.version, change.message
                    )
                    self.seq = change.seq
                self._signal()
                return
        await self.catch_up()

    async def catch_up(self) -> int:
        """Applies every change after the last one seen; returns how many."""
        applied = 0
        async with self._lock:
            while True:
                changes = await self.store.changes_since(self.seq, limit=1000)
                for change in changes:
                    self._apply(change)
                    self.seq = change.seq
                applied += len(changes)
                if len(changes) < 1000:
                    if applied:
                        self._signal()
                    return applied

    async def follow(self, interval: float = 1.0) -> None:
        """Polls for changes committed by other replicas of this service."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.catch_up()
            except Exception:  # keep serving from the last good state; retry next tick
                stop_if_cancelled()
                log.exception("lookup index catch-up failed")

    def _apply(self, change: ChangeRow) -> None:
        if change.kind not in ("authority", "contact_point"):
            return
        msg: directory_pb2.Authority | directory_pb2.ContactPoint | None = None
        if not change.deleted:
            msg = (
                directory_pb2.Authority()
                if change.kind == "authority"
                else directory_pb2.ContactPoint()
            )
            msg.ParseFromString(change.payload)
        self._apply_message(change.kind, change.record_id, change.version, msg)

    def _apply_message(
        self,
        kind: str,
        record_id: str,
        version: int,
        msg: directory_pb2.Authority | directory_pb2.ContactPoint | None,
    ) -> None:
        """Applies one change given as its record's message (None: a deletion)."""
        if kind not in ("authority", "contact_point"):
            return
        current = self._postings.entries.get(record_id)
        if current is not None and current.version > version:
            return
        if msg is None:
            self._remove(record_id)
            return
        self._put(_entry(kind, msg))

    def _put(self, entry: Entry) -> None:
        self._remove(entry.id)
        self._postings.put(entry, self.clock())
        self._per_origin[entry.origin] += 1

    def _signal(self) -> None:
        self._token_changed.set()
        self._token_changed = asyncio.Event()

    async def next_token(self, known: str) -> str:
        """The token once it differs from `known`: after a change, or at midnight UTC."""
        while (current := self.token()) == known:
            now = datetime.now(UTC)
            midnight = datetime.combine(now.date() + timedelta(days=1), time.min, UTC)
            await wait_event(self._token_changed, (midnight - now).total_seconds() + 0.01)
        return current

    def token(self) -> str:
        return f"{self._instance}.{self._generation}.{datetime.now(UTC).date().isoformat()}"

    def _forget_results(self) -> None:
        self._results.clear()
        self._generation += 1

    def _remove(self, record_id: str) -> None:
        self._forget_results()
        old = self._postings.remove(record_id)
        if old is not None:
            self._per_origin[old.origin] -= 1

    def lookup(self, query: Query, caller: Caller) -> bytes:
        """The best `limit` matches, ranked: a serialised LookupResponse.

        Jurisdiction, network, competence and text narrow the set; the score ranks
        central authorities first, then language overlap, then 24/7 availability when
        the request is urgent, then freshness (services/directory/ranking.py).
        """
        local = self.store.local_network
        now = self.clock()
        key = (query, visibility_class(caller, local), now.date())
        cached = self._results.get(key)
        if cached is not None:
            return cached
        ranked = self._postings.rank(query, caller, local, now)
        result = (
            b"".join(
                wire.delimited(1, entry.item + _item_tail(value, matched))
                for value, matched, entry in ranked
            )
            + directory_pb2.LookupResponse(
                networks_consulted=sorted({*self.origins(), local}), token=self.token()
            ).SerializeToString()
        )
        if len(self._results) >= RESULT_CACHE_SIZE:
            self._results.clear()
        self._results[key] = result
        return result


_tails: dict[tuple[float, tuple[str, ...]], bytes] = {}


def _item_tail(value: float, matched: tuple[str, ...]) -> bytes:
    """A LookupItem's score and matched fields; appended to the item's bytes they make the
    whole item (a message's fields may come in any order on the wire)."""
    tail = _tails.get((value, matched))
    if tail is None:
        tail = directory_pb2.LookupItem(score=value, matched=matched).SerializeToString()
        _tails[(value, matched)] = tail
    return tail
