"""Directory statistics for a secretariat's report: how many of this network's own records
each state has and how current they are, by SQL aggregation (replicas are other
networks' to keep current and are not counted)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from justnet.directory.v1 import directory_pb2
from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import statistics as st
from services.common.db import session_factory
from services.directory.models import AuthorityRow, ContactPointRow, RoutingProfileRow

CONFIRMED_WITHIN = timedelta(days=365)  # "confirmed within 12 months"
TABLES = (
    ("authorities", AuthorityRow),
    ("contact_points", ContactPointRow),
    ("routing_profiles", RoutingProfileRow),
)


class DirectoryStatistics:
    def __init__(self, engine: AsyncEngine, local_network: str) -> None:
        self.sessions = session_factory(engine)
        self.network = local_network

    async def compute(self, now: datetime) -> directory_pb2.DirectoryStatistics:
        since = now - CONFIRMED_WITHIN
        groups: dict[str, directory_pb2.DirectoryStatisticsGroup] = defaultdict(
            directory_pb2.DirectoryStatisticsGroup
        )
        async with self.sessions() as session:
            for field, model in TABLES:
                stmt = (
                    select(
                        model.jurisdiction,
                        func.count(),
                        func.sum(case((model.last_verified_at >= since, 1), else_=0)),
                        self._ended(model, now),
                    )
                    .where(model.origin == self.network)
                    .group_by(model.jurisdiction)
                )
                for jurisdiction, n, confirmed, ended in (await session.execute(stmt)).all():
                    g = groups[jurisdiction]
                    g.jurisdiction = jurisdiction
                    setattr(g, field, n)
                    g.records += n
                    g.confirmed_within_12_months += confirmed or 0
                    g.term_ended_without_successor += ended or 0
        for g in groups.values():
            g.confirmed_share = st.share(g.confirmed_within_12_months, g.records)
        out = directory_pb2.DirectoryStatistics(groups=[groups[k] for k in sorted(groups)])
        out.computed_at.FromDatetime(now)
        return out

    @staticmethod
    def _ended(model: Any, now: datetime) -> Any:
        """Contact points whose term ended before today with no successor named."""
        if model is not ContactPointRow:
            return func.sum(0)
        ended = and_(
            ContactPointRow.term_end != "",
            ContactPointRow.term_end < now.date().isoformat(),
            ContactPointRow.successor_id == "",
        )
        return func.sum(case((ended, 1), else_=0))
