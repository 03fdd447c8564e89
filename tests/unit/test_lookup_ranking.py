"""The lookup index answers exactly what a plain scan of every record would.

The index keeps sorted lists per jurisdiction, competence, language and score flags and
reads only the top of them (services/directory/ranking.py). This test checks it against
a straightforward reference ranking (filter every record, score it, sort by score, name
and id) over random records, writes, deletions, callers, queries and clock moves.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from google.protobuf.timestamp_pb2 import Timestamp
from justnet.common.v1 import common_pb2
from justnet.directory.v1 import directory_pb2
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.identity import Caller
from services.common.visibility import can_see
from services.directory.index import LookupIndex
from services.directory.ranking import Query
from services.directory.store import DirectoryStore

LOCAL = "SEAJUST"
ORIGINS = (LOCAL, "EJN", "WACAP")
STATES = ("TH", "PH", "MY")
COMPETENCES = ("mla", "extradition", "cybercrime", "terrorism")
LANGUAGES = ("en", "th", "fil", "ms")
VISIBILITIES = ("public", "public", "federation", "network", "private")
# Few distinct names, so ties on the name (broken by id) are common.
NAMES = ("Ana Ruiz", "ana ruiz", "Bo Tan", "Chai Wong", "Dara Lim", "Ek Som")
CALLERS = (
    Caller(),
    Caller("member", LOCAL, "user:1"),
    Caller("editor", LOCAL, "user:2"),
    Caller("admin", LOCAL, "user:3"),
    Caller("member", "EJN", "user:4"),
    Caller("editor", "WACAP", "user:5"),
)
Record = directory_pb2.Authority | directory_pb2.ContactPoint


def _subset(rng: random.Random, values: tuple[str, ...]) -> list[str]:
    return [v for v in values if rng.random() < 0.4]


def _record(rng: random.Random, record_id: str, version: int, now: datetime) -> Record:
    verified = Timestamp()
    verified.FromDatetime(now - timedelta(days=rng.uniform(300, 430)))
    meta = common_pb2.RecordMeta(
        id=record_id, origin=rng.choice(ORIGINS), version=version, last_verified_at=verified
    )
    common = {
        "meta": meta,
        "jurisdiction": rng.choice(STATES),
        "name": rng.choice(NAMES),
        "competences": _subset(rng, COMPETENCES),
        "available_24_7": rng.random() < 0.3,
        "visibility": rng.choice(VISIBILITIES),
    }
    if rng.random() < 0.2:
        kind = rng.choice(("central_authority", "ministry"))
        return directory_pb2.Authority(
            kind=kind, accepted_languages=_subset(rng, LANGUAGES), address="1 Main St", **common
        )
    return directory_pb2.ContactPoint(
        languages=_subset(rng, LANGUAGES), title="Prosecutor", **common
    )


def _query(rng: random.Random) -> Query:
    return Query(
        jurisdiction=rng.choice(("", *STATES)),
        competence=rng.choice(("", *COMPETENCES)),
        language=rng.choice(("", *LANGUAGES)),
        q=rng.choice(("", "", "", "an", "ana r", "won", "x")),
        urgent=rng.random() < 0.5,
        network=rng.choice(("", "", *ORIGINS)),
        limit=rng.choice((1, 3, 10, 50)),
    )


def _reference(
    records: dict[str, Record], query: Query, caller: Caller, now: datetime
) -> list[directory_pb2.LookupItem]:
    """The ranking as the API describes it, by a scan of every record."""
    q = query.q.casefold()
    scored = []
    for msg in records.values():
        if isinstance(msg, directory_pb2.Authority):
            central, languages, text = (
                msg.kind == "central_authority",
                msg.accepted_languages,
                msg.address,
            )
        else:
            central, languages, text = False, msg.languages, msg.title
        if query.jurisdiction and msg.jurisdiction != query.jurisdiction:
            continue
        if query.network and msg.meta.origin != query.network:
            continue
        if query.competence and query.competence not in msg.competences:
            continue
        if q not in f"{msg.name} {text}".casefold():
            continue
        if not can_see(caller, msg.meta.origin, msg.visibility, LOCAL):
            continue
        score, matched = 1.0, ["competence"] if query.competence else []
        if central:
            score += 1.0
        if query.language and query.language in languages:
            score, matched = score + 2.0, [*matched, "language"]
        if msg.available_24_7:
            score += 2.0 if query.urgent else 0.25
            matched += ["available_24_7"] if query.urgent else []
        if q:
            matched.append("text")
            score += 0.5 if msg.name.casefold().startswith(q) else 0.0
        if msg.meta.last_verified_at.ToDatetime(tzinfo=UTC) < now - timedelta(days=365):
            score -= 0.5
        scored.append((-score, msg.name.casefold(), msg.meta.id, score, matched, msg))
    scored.sort(key=lambda s: s[:3])
    return [_item(msg, score, matched) for *_, score, matched, msg in scored[: query.limit]]


def _item(msg: Record, score: float, matched: list[str]) -> directory_pb2.LookupItem:
    if isinstance(msg, directory_pb2.Authority):
        return directory_pb2.LookupItem(
            kind="authority", authority=msg, score=score, matched=matched
        )
    return directory_pb2.LookupItem(
        kind="contact_point", contact_point=msg, score=score, matched=matched
    )


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_index_answers_as_a_full_scan_ranks() -> None:
    rng = random.Random(15)
    start = datetime(2026, 6, 1, 12, tzinfo=UTC)
    clock = Clock(start)
    # The index reads no table here: records are applied to it as change messages.
    engine = create_async_engine("sqlite+aiosqlite://")
    index = LookupIndex(DirectoryStore(engine, LOCAL), clock=clock)
    records: dict[str, Record] = {}
    versions: dict[str, int] = {}
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(400)]
    compared = 0
    for step in range(600):
        # Writes: new records, replacements (any field may move) and deletions.
        for _ in range(rng.randint(1, 12)):
            record_id = rng.choice(ids)
            versions[record_id] = versions.get(record_id, 0) + 1
            if record_id in records and rng.random() < 0.25:
                del records[record_id]
                index._apply_message("contact_point", record_id, versions[record_id], None)
                continue
            msg = _record(rng, record_id, versions[record_id], clock.now)
            records[record_id] = msg
            kind = "authority" if isinstance(msg, directory_pb2.Authority) else "contact_point"
            index._apply_message(kind, record_id, versions[record_id], msg)
        # The clock moves on by days (records turn stale), once back (a clock reset).
        if step == 300:
            clock.now = start - timedelta(days=3, hours=5)
        elif step % 10 == 0:
            clock.now += timedelta(days=rng.randint(1, 20), seconds=rng.randint(0, 86_399))
        for _ in range(8):
            query, caller = _query(rng), rng.choice(CALLERS)
            answer = directory_pb2.LookupResponse.FromString(index.lookup(query, caller))
            expected = _reference(records, query, caller, clock.now)
            assert list(answer.items) == expected, (step, query, caller)
            compared += len(expected)
    assert compared > 20_000  # the answers were not mostly empty
    await engine.dispose()
