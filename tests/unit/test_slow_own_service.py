"""When this node's own service is too slow to take a peer's records, the subscription
ends and is retried, but the peer is not marked `refused`: it did nothing wrong (before,
the slowness was raised as a refused record)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.federation import subscriber
from services.federation.subscriber import Applier, OwnServiceSlow, RecordRefused


class StuckService:
    """A subscriber whose own service never finishes applying a batch."""

    def __init__(self) -> None:
        self.link = type("Link", (), {"applied_cursor": 0, "caught_up": False})()
        self.feed = type("Feed", (), {"name": "directory"})()

    async def _apply(self, batch: list[Any], cursor: int) -> None:
        await asyncio.sleep(30)


async def test_a_slow_own_service_is_not_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subscriber, "IDLE_TIMEOUT", 0.2)
    monkeypatch.setattr(subscriber, "MAX_PENDING", 2)
    applier = Applier(StuckService(), 0)  # type: ignore[arg-type]
    item = type("Incoming", (), {"cursor": 1})()
    try:
        await applier.add([item, item])  # taken: the applier starts on them
        await asyncio.sleep(0.05)
        await applier.add([item, item])
        with pytest.raises(OwnServiceSlow) as caught:
            await applier.add([item])
        assert not isinstance(caught.value, RecordRefused)
        assert "directory service did not apply" in str(caught.value)
    finally:
        await applier.close()
