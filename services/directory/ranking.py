"""Lookup ranking over an inverted index whose lists are already in answer order.

A lookup's score is a sum of flags (central authority, language overlap, 24/7
availability, freshness; a text query adds a name-prefix bonus) and ties go by
(name, id). Entries are kept in lists sorted by (name, id), one per
(jurisdiction, competence, central, 24/7, stale, language), each entry also under "any"
(None) for the competence and the language (a query without a jurisdiction reads the lists
of every jurisdiction: no list holds the whole directory, which keeps inserts cheap). For a
given query every entry of one list has the same score, so the answer is those lists taken
score by score, each score's lists merged by (name, id), cut at `limit`: a lookup reads
about `limit` entries, however large the directory is. A text query still reads every
entry of its (jurisdiction, competence): a substring needs each candidate's text.

Staleness depends on the clock: entries move from the fresh lists to the stale ones as
their `verified_at` passes a year (a heap by `verified_at` says which), before each
lookup, so the lists always agree with `verified_at < now - STALE_AFTER`.
"""

from __future__ import annotations

import bisect
import collections
import heapq
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter

from services.common.identity import Caller
from services.common.visibility import can_see

STALE_AFTER = timedelta(days=365)
FLAGS = tuple(itertools.product((True, False), (True, False), (False, True)))

Key = tuple[str, str | None, bool, bool, bool, str | None]
Stream = Iterator[tuple[tuple[str, str], "Entry", tuple[str, ...]]]
Ranked = list[tuple[float, tuple[str, ...], "Entry"]]


@dataclass(frozen=True)
class Query:
    jurisdiction: str = ""
    competence: str = ""
    language: str = ""
    q: str = ""
    urgent: bool = False
    network: str = ""
    limit: int = 50


@dataclass(slots=True, eq=False)
class Entry:
    id: str
    origin: str
    visibility: str
    version: int
    jurisdiction: str
    order: tuple[str, str]  # (casefolded name, id): the tie-break, and the lists' order
    competences: tuple[str, ...]
    languages: tuple[str, ...]
    available_24_7: bool
    central: bool
    search_text: str
    verified_at: datetime
    item: bytes  # the serialised LookupItem without score and matched
    stale: bool = False  # set by Postings

    def postings(self) -> Iterator[Key]:
        """The keys of the lists this entry is in."""
        flags = (self.central, self.available_24_7, self.stale)
        for c in (*self.competences, None):
            for lang in (*self.languages, None):
                yield (self.jurisdiction, c, *flags, lang)


def score(
    query: Query, central: bool, language: bool, available: bool, stale: bool, prefix: bool
) -> tuple[float, tuple[str, ...]]:
    """An entry's score and what it matched: central authorities first, then language
    overlap, then 24/7 availability (much more when urgent), then freshness."""
    value = 1.0
    matched: list[str] = []
    if query.competence:
        matched.append("competence")
    if central:
        value += 1.0
    if language:
        value += 2.0
        matched.append("language")
    if available:
        value += 2.0 if query.urgent else 0.25
        if query.urgent:
            matched.append("available_24_7")
    if query.q:
        matched.append("text")
        if prefix:
            value += 0.5
    if stale:
        value -= 0.5
    return value, tuple(matched)


_order = attrgetter("order")


class Postings:
    """The entries by id, and the sorted lists lookups read."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self._lists: dict[Key, list[Entry]] = {}
        self._fresh: list[tuple[datetime, int, Entry]] = []  # a heap by verified_at
        self._pushed = itertools.count()
        self._stale_before: datetime | None = None
        self._jurisdictions: collections.Counter[str] = collections.Counter()

    def load(self, entries: Iterable[Entry], now: datetime) -> None:
        """Adds many entries at once (sorting each list once)."""
        self._stale_before = now - STALE_AFTER
        for entry in entries:
            self.remove(entry.id)
            self.entries[entry.id] = entry
            self._jurisdictions[entry.jurisdiction] += 1
            self._mark(entry)
            for key in entry.postings():
                self._lists.setdefault(key, []).append(entry)
        for lst in self._lists.values():
            lst.sort(key=_order)

    def put(self, entry: Entry, now: datetime) -> None:
        self.remove(entry.id)
        self.age(now)
        self.entries[entry.id] = entry
        self._jurisdictions[entry.jurisdiction] += 1
        self._mark(entry)
        self._insert(entry)

    def remove(self, record_id: str) -> Entry | None:
        old = self.entries.pop(record_id, None)
        if old is not None:
            self._delete(old)
            self._jurisdictions[old.jurisdiction] -= 1
            if not self._jurisdictions[old.jurisdiction]:
                del self._jurisdictions[old.jurisdiction]
        return old

    def age(self, now: datetime) -> None:
        """Moves the entries that became stale by `now` to the stale lists."""
        stale_before = now - STALE_AFTER
        if self._stale_before is not None and stale_before < self._stale_before:
            self._reclassify(stale_before)  # the clock went back
            return
        self._stale_before = stale_before
        fresh = self._fresh
        while fresh and fresh[0][0] < stale_before:
            entry = heapq.heappop(fresh)[2]
            if self.entries.get(entry.id) is entry and not entry.stale:
                self._delete(entry)
                entry.stale = True
                self._insert(entry)
        if len(fresh) > 2 * len(self.entries) + 64:  # replaced entries linger: drop them
            self._fresh = [t for t in fresh if self.entries.get(t[2].id) is t[2]]
            heapq.heapify(self._fresh)

    def rank(self, query: Query, caller: Caller, local: str, now: datetime) -> Ranked:
        self.age(now)
        if query.q:
            return self._scan(query, caller, local)
        groups = self._streams(query)
        out: Ranked = []
        for value in sorted(groups, reverse=True):
            streams = groups[value]
            for _, entry, matched in streams[0] if len(streams) == 1 else heapq.merge(*streams):
                if query.network and entry.origin != query.network:
                    continue
                if not can_see(caller, entry.origin, entry.visibility, local):
                    continue
                out.append((value, matched, entry))
                if len(out) >= query.limit:
                    return out
        return out

    def _streams(self, query: Query) -> dict[float, list[Stream]]:
        """The lists a query reads, each as a stream of its entries, by their score."""
        c, lang = query.competence or None, query.language or None
        groups: dict[float, list[Stream]] = {}
        for central, available, stale in FLAGS:
            speaks = score(query, central, True, available, stale, False)
            other = score(query, central, False, available, stale, False)
            for j in self._of(query):
                if lang is not None:
                    matches = self._lists.get((j, c, central, available, stale, lang))
                    if matches:
                        groups.setdefault(speaks[0], []).append(_stream(matches, None, speaks[1]))
                every = self._lists.get((j, c, central, available, stale, None))
                if every:
                    groups.setdefault(other[0], []).append(_stream(every, lang, other[1]))
        return groups

    def _of(self, query: Query) -> Iterable[str]:
        """The jurisdictions whose lists a query reads."""
        return (query.jurisdiction,) if query.jurisdiction else tuple(self._jurisdictions)

    def _scan(self, query: Query, caller: Caller, local: str) -> Ranked:
        """Every candidate of the query's jurisdiction and competence, scored."""
        c = query.competence or None
        q = query.q.casefold()
        scored: list[tuple[float, tuple[str, str], tuple[str, ...], Entry]] = []
        for (central, available, stale), j in itertools.product(FLAGS, self._of(query)):
            for e in self._lists.get((j, c, central, available, stale, None), ()):
                if query.network and e.origin != query.network:
                    continue
                if q not in e.search_text:
                    continue
                if not can_see(caller, e.origin, e.visibility, local):
                    continue
                language = bool(query.language) and query.language in e.languages
                prefix = e.order[0].startswith(q)
                value, matched = score(query, central, language, available, stale, prefix)
                scored.append((value, e.order, matched, e))
        best = heapq.nsmallest(query.limit, scored, key=lambda s: (-s[0], s[1]))
        return [(s[0], s[2], s[3]) for s in best]

    def _mark(self, entry: Entry) -> None:
        assert self._stale_before is not None
        entry.stale = entry.verified_at < self._stale_before
        if not entry.stale:
            heapq.heappush(self._fresh, (entry.verified_at, next(self._pushed), entry))

    def _insert(self, entry: Entry) -> None:
        for key in entry.postings():
            bisect.insort(self._lists.setdefault(key, []), entry, key=_order)

    def _delete(self, entry: Entry) -> None:
        for key in entry.postings():
            lst = self._lists[key]
            i = bisect.bisect_left(lst, entry.order, key=_order)
            assert lst[i] is entry
            del lst[i]
            if not lst:
                del self._lists[key]

    def _reclassify(self, stale_before: datetime) -> None:
        entries = list(self.entries.values())
        self.entries.clear()
        self._lists.clear()
        self._fresh.clear()
        self.load(entries, stale_before + STALE_AFTER)


def _stream(entries: list[Entry], exclude: str | None, matched: tuple[str, ...]) -> Stream:
    """A list's entries in order, without those that speak `exclude` (they are in the
    language's own list, with a higher score)."""
    for entry in entries:
        if exclude is None or exclude not in entry.languages:
            yield entry.order, entry, matched
