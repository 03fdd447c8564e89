"""Request statistics for a secretariat's report: counts per group by SQL aggregation,
timings (days to acknowledge and to execute) as nearest-rank percentiles of durations read
in one bounded query. What each figure means is in the README ("Statistics")."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from justnet.requests.v1 import requests_pb2
from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import statistics as st
from services.common.codes import REQUESTED_STATUSES
from services.common.db import session_factory
from services.common.errors import InvalidInput
from services.common.timeutil import as_utc
from services.common.validation import Validator
from services.requests import chain
from services.requests.models import ChainEventRow, RequestRow
from services.requests.store import overdue

GROUPS = ("jurisdiction", "counterpart", "status", "month")
DIRECTIONS = ("incoming", "outgoing")
EXECUTED = ("executed", "partially_executed")

# The first event of each request by the requested side (any of its statuses stops the
# acknowledgement clock, as for overdue), and the first executed or partially executed.
_FIRST = (
    select(
        ChainEventRow.request_id.label("request_id"),
        func.min(case((ChainEventRow.status.in_(REQUESTED_STATUSES), ChainEventRow.at))).label(
            "acknowledged_at"
        ),
        func.min(case((ChainEventRow.status.in_(EXECUTED), ChainEventRow.at))).label("executed_at"),
    )
    .group_by(ChainEventRow.request_id)
    .subquery("first_events")
)


def group_key(group_by: str) -> Any:
    """The group of a request: `jurisdiction` is this node's member state on the request
    (the requesting state when outgoing, the requested state when incoming),
    `counterpart` the other side's state."""
    outgoing = RequestRow.direction == "outgoing"
    if group_by == "jurisdiction":
        return case(
            (outgoing, RequestRow.requesting_jurisdiction),
            else_=RequestRow.requested_jurisdiction,
        )
    if group_by == "counterpart":
        return case(
            (outgoing, RequestRow.requested_jurisdiction),
            else_=RequestRow.requesting_jurisdiction,
        )
    if group_by == "status":
        return RequestRow.status
    return st.year_month(RequestRow.submitted_at)


def _conditions(period: st.Period, direction: str) -> list[ColumnElement[bool]]:
    out = [RequestRow.status != "draft", RequestRow.submitted_at.is_not(None)]
    if period.start is not None:
        out.append(RequestRow.submitted_at >= period.start)
    if period.end is not None:
        out.append(RequestRow.submitted_at < period.end)
    if direction:
        out.append(RequestRow.direction == direction)
    return out


def _joined(stmt: Select[Any]) -> Select[Any]:
    return stmt.select_from(RequestRow).outerjoin(_FIRST, _FIRST.c.request_id == RequestRow.id)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


class RequestStatistics:
    def __init__(self, engine: AsyncEngine) -> None:
        self.sessions = session_factory(engine)

    async def compute(
        self, req: requests_pb2.RequestStatisticsRequest, now: datetime
    ) -> requests_pb2.RequestStatistics:
        v = Validator()
        group_by = v.choice("group_by", req.group_by, GROUPS, default="jurisdiction", strict=True)
        if req.direction:
            v.choice("direction", req.direction, DIRECTIONS, strict=True)
        period = st.period(req.from_date, req.to_date, v)
        v.raise_if_errors()
        where = _conditions(period, req.direction)
        key = group_key(group_by).label("key")
        groups = await self._counts(key, where, now)
        await self._timings(key, where, groups)
        out = requests_pb2.RequestStatistics(
            group_by=group_by,
            from_date=period.from_date,
            to_date=period.to_date,
            groups=[groups[k] for k in sorted(groups)],
        )
        out.computed_at.FromDatetime(now)
        return out

    async def _counts(
        self, key: Any, where: Sequence[ColumnElement[bool]], now: datetime
    ) -> dict[tuple[str, str], requests_pb2.RequestStatisticsGroup]:
        stmt = _joined(
            select(
                RequestRow.direction,
                key,
                func.count(),
                _count(_FIRST.c.acknowledged_at.is_not(None)),
                _count(_FIRST.c.executed_at.is_not(None)),
                _count(RequestRow.status == "refused"),
                _count(overdue(now, ("draft", *chain.TERMINAL))),
            )
        ).where(*where)
        stmt = stmt.group_by(RequestRow.direction, key)
        async with self.sessions() as session:
            rows = (await session.execute(stmt)).all()
        out = {}
        for direction, k, n, acknowledged, executed, refused, late in rows:
            out[(direction, k or "")] = requests_pb2.RequestStatisticsGroup(
                direction=direction,
                key=k or "",
                requests=n,
                acknowledged=acknowledged or 0,
                executed=executed or 0,
                refused=refused or 0,
                overdue=late or 0,
                overdue_share=st.share(late or 0, n),
                refused_share=st.share(refused or 0, n),
            )
        return out

    async def _timings(
        self,
        key: Any,
        where: Sequence[ColumnElement[bool]],
        groups: dict[tuple[str, str], requests_pb2.RequestStatisticsGroup],
    ) -> None:
        """Durations of the requests acknowledged or executed, one bounded read."""
        stmt = _joined(
            select(
                RequestRow.direction,
                key,
                RequestRow.submitted_at,
                _FIRST.c.acknowledged_at,
                _FIRST.c.executed_at,
            )
        ).where(
            *where,
            or_(_FIRST.c.acknowledged_at.is_not(None), _FIRST.c.executed_at.is_not(None)),
        )
        async with self.sessions() as session:
            rows = (await session.execute(stmt.limit(st.MAX_DURATIONS + 1))).all()
        if len(rows) > st.MAX_DURATIONS:
            raise InvalidInput.one(
                "from", f"more than {st.MAX_DURATIONS} requests in the period; choose a shorter one"
            )
        to_ack: dict[tuple[str, str], list[float]] = defaultdict(list)
        to_exec: dict[tuple[str, str], list[float]] = defaultdict(list)
        for direction, k, submitted, acknowledged, executed in rows:
            start = as_utc(submitted)
            for found, into in ((acknowledged, to_ack), (executed, to_exec)):
                if found is not None:
                    seconds = (as_utc(_datetime(found)) - start).total_seconds()
                    into[(direction, k or "")].append(seconds)
        for g, group in groups.items():
            ack, execute = sorted(to_ack.get(g, [])), sorted(to_exec.get(g, []))
            for field, values, p in (
                ("median_days_to_acknowledge", ack, 50),
                ("p90_days_to_acknowledge", ack, 90),
                ("median_days_to_execute", execute, 50),
                ("p90_days_to_execute", execute, 90),
            ):
                found = st.nearest_rank(values, p)
                if found is not None:
                    setattr(group, field, st.days(found))


def _datetime(value: Any) -> datetime:
    # An aggregate over a DateTime column comes back as text on SQLite.
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
