"""One way to run work in the background of a service process.

`background(work, name)` starts a task in a fresh context, so it never joins the trace (or
the caller identity) of whatever started it; `cancel(*tasks)` stops tasks and waits for
them, swallowing only their cancellation; `repeat(step, seconds, what)` runs a step forever,
logging an error and going on.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn

log = logging.getLogger(__name__)


def background(work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
    return asyncio.create_task(work, name=name, context=contextvars.Context())


async def cancel(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancels the tasks (None: nothing) and waits until each has ended."""
    live = [t for t in tasks if t is not None]
    for task in live:
        task.cancel()
    for task in live:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def repeat(step: Callable[[], Awaitable[Any]], seconds: float, what: str) -> NoReturn:
    """`step()` every `seconds`, for ever; an error is logged and the next round runs."""
    while True:
        try:
            await step()
        except Exception:
            log.exception("%s failed", what)
        await asyncio.sleep(seconds)
