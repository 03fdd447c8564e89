"""Peer call nonces kept in the federation database until their time window has passed.

A signed peer call is valid for CLOCK_SKEW seconds either side of its time; within that
window its nonce must not be accepted twice, across restarts too. The primary key
(origin, nonce) makes the claim atomic on SQLite and PostgreSQL alike; expired rows are
swept at most once a minute, in the path of a claim.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import WRITE, session_factory
from services.common.timeutil import utcnow
from services.federation.models import NonceRow

SWEEP_SECONDS = 60.0


class NonceStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.sessions = session_factory(engine)
        self._swept = 0.0

    async def claim(self, origin: str, nonce: str, expires: float) -> bool:
        """Records the nonce; False when it was recorded before (a replay)."""
        try:
            async with self.sessions.begin() as session:
                await session.connection(execution_options=WRITE)
                if time.monotonic() - self._swept > SWEEP_SECONDS:
                    self._swept = time.monotonic()
                    await session.execute(delete(NonceRow).where(NonceRow.expires_at < utcnow()))
                session.add(
                    NonceRow(
                        origin=origin,
                        nonce=nonce,
                        expires_at=datetime.fromtimestamp(expires, UTC),
                    )
                )
        except IntegrityError:
            return False
        return True
