"""The hand-off loop gives federation each ordering key's messages in the order written:
a message left for a retry holds back the later ones of its key, not the others.

Federation is a stand-in here (the loop's contract with it is Send / SendBatch and their
status codes); its own ordering is tested against real nodes in tests/federation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
from justnet.common.v1 import exchange_pb2
from justnet.federation.v1 import federation_pb2
from sqlalchemy import String, insert, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import create_engine
from services.common.handoff import Handoff, HandoffColumns, handoff_values
from services.common.timeutil import utcnow


class Base(DeclarativeBase):
    pass


class Row(HandoffColumns, Base):
    __tablename__ = "test_handoff"
    request_id: Mapped[str] = mapped_column(String(40))


def unavailable() -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(
        grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata(), "down"
    )


class Federation:
    """Takes single Sends except those in `failing`; never takes a batch."""

    def __init__(self) -> None:
        self.queued: list[str] = []
        self.failing = {"r1:1"}

    async def SendBatch(self, request: federation_pb2.SendBatchRequest, **_: Any) -> None:
        raise unavailable()

    async def Send(self, request: federation_pb2.SendRequest, **_: Any) -> exchange_pb2.Delivery:
        if request.message_id in self.failing:
            raise unavailable()
        self.queued.append(request.message_id)
        return exchange_pb2.Delivery(message_id=request.message_id, state="pending")


async def test_a_message_left_for_a_retry_holds_back_only_its_own_key(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/h.db", instrument=False)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    now = utcnow()
    rows = [("r1", 1), ("r1", 2), ("r2", 1)]
    async with engine.begin() as conn:
        for i, (request, seq) in enumerate(rows):
            at = now + timedelta(microseconds=i)
            values = handoff_values(f"{request}:{seq}", "WACAP", "requests.event", b"x", at)
            values["next_attempt_at"] = now
            await conn.execute(insert(Row).values(**values, request_id=request))
    federation = Federation()
    handoff = Handoff(engine, Row, federation, (), ordering_key=lambda row: row.request_id)  # type: ignore[arg-type]

    await handoff.once()
    assert federation.queued == ["r2:1"]  # r1:2 waits behind r1:1, r2 does not
    await handoff.once()  # r1:1 is backing off: still nothing of r1
    assert federation.queued == ["r2:1"]

    federation.failing.clear()
    async with engine.begin() as conn:
        await conn.execute(update(Row).values(next_attempt_at=utcnow()))
    await handoff.once()
    assert federation.queued == ["r2:1", "r1:1", "r1:2"]
    await engine.dispose()
