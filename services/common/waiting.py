"""Bounded waits that never swallow a cancellation.

On Python 3.11, `asyncio.wait_for` returns the inner result when a cancellation arrives
just as the inner awaitable completes, so a task told to stop can go on running (and
whoever awaits it waits forever). `asyncio.timeout` accounts for cancellations properly;
every bounded wait in a loop goes through here or uses it directly.
"""

from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Waits for `event` at most `seconds`; True if it was set."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True
