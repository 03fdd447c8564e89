"""Event statistics for a secretariat's report: registrations and attendance at this
network's own events, per registrants' network and kind of event, by SQL aggregation."""

from __future__ import annotations

from typing import Any

from justnet.events.v1 import events_pb2
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import statistics as st
from services.common.db import session_factory
from services.events.models import EventRow, RegistrationRow

# Registrations that count: a place was given or asked for and answered. `pending` (a
# member's registration for a peer's event, not answered yet), `refused` and `failed`
# never held a place.
COUNTED = ("confirmed", "waitlisted", "cancelled")


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


class EventStatistics:
    def __init__(self, engine: AsyncEngine, local_network: str) -> None:
        self.sessions = session_factory(engine)
        self.network = local_network

    def _events(self, period: st.Period) -> list[ColumnElement[bool]]:
        out = [EventRow.origin == self.network]
        if period.start is not None:
            out.append(EventRow.starts_at >= period.start)
        if period.end is not None:
            out.append(EventRow.starts_at < period.end)
        return out

    async def compute(self, period: st.Period) -> events_pb2.EventStatistics:
        state = RegistrationRow.state
        groups = (
            select(
                RegistrationRow.network,
                EventRow.kind,
                func.count(),
                _count(state == "confirmed"),
                _count(state == "waitlisted"),
                _count(state == "cancelled"),
                _count(RegistrationRow.attended.is_(True)),
            )
            .join(EventRow, EventRow.id == RegistrationRow.event_id)
            .where(*self._events(period), state.in_(COUNTED))
            .group_by(RegistrationRow.network, EventRow.kind)
        )
        kinds = (
            select(EventRow.kind, func.count()).where(*self._events(period)).group_by(EventRow.kind)
        )
        async with self.sessions() as session:
            rows = (await session.execute(groups)).all()
            counts = (await session.execute(kinds)).all()
        out = events_pb2.EventStatistics(from_date=period.from_date, to_date=period.to_date)
        for network, kind, n, confirmed, waitlisted, cancelled, attended in sorted(rows):
            out.groups.add(
                network=network,
                kind=kind,
                registrations=n,
                confirmed=confirmed or 0,
                waitlisted=waitlisted or 0,
                cancelled=cancelled or 0,
                attended=attended or 0,
                attendance_share=st.share(attended or 0, confirmed or 0),
            )
        for kind, n in sorted(counts):
            out.events.add(kind=kind, events=n)
        return out
