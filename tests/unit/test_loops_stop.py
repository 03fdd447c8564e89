"""Background loops end when stopped, even when a driver turns the cancellation into its
own error (asyncpg cancelled mid-query raises InternalClientError "another operation is in
progress" instead of CancelledError; a loop that logged it and went on kept `cancel`, and
the service's stop, waiting)."""

from __future__ import annotations

import asyncio
from typing import Any

from services.common.handoff import Handoff
from services.common.loops import background, repeat


class DriverError(Exception):
    pass


class Query:
    """Turns its first cancellation into a driver error (only the first: a loop that
    wrongly goes on is then left waiting, not spinning, and the test ends)."""

    def __init__(self) -> None:
        self.swallowed = False

    async def __call__(self) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed = True
            raise DriverError("another operation is in progress") from None


async def stopped_within(task: asyncio.Task[Any], seconds: float) -> bool:
    task.cancel()
    await asyncio.wait({task}, timeout=seconds)
    stopped = task.done()
    task.cancel()
    return stopped


async def test_repeat_ends_when_cancelled_inside_a_driver() -> None:
    task = background(repeat(Query(), 0.01, "step"), "step")
    await asyncio.sleep(0.05)
    assert await stopped_within(task, 2)


class StuckHandoff(Handoff[Any]):
    def __init__(self) -> None:  # only the loop is under test: no engine, no federation
        self.changed = asyncio.Event()
        self.row_type = type("Outbox", (), {"__tablename__": "test_outbox"})
        self.query = Query()

    async def once(self) -> int:
        await self.query()
        return 0


async def test_a_hand_off_loop_ends_when_cancelled_inside_a_driver() -> None:
    handoff = StuckHandoff()
    task = background(handoff.run(), "handoff")
    await asyncio.sleep(0.05)
    assert await stopped_within(task, 2)
