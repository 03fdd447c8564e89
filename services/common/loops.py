"""One way to run work in the background of a service process.

`background(work, name)` starts a task in a fresh context, so it never joins the trace (or
the caller identity) of whatever started it (it keeps only the service it works for);
`cancel(*tasks)` stops tasks and waits for them, swallowing only their cancellation;
`repeat(step, seconds, what)` runs a step forever, logging an error and going on. A loop
that catches errors calls `stop_if_cancelled()` in its handler: a database driver
cancelled mid-query may raise its own error instead of CancelledError, and the loop must
then end, not log it and go round again (which left `cancel` waiting and the stop hanging).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn

from services.common import telemetry

log = logging.getLogger(__name__)


def background(work: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
    context = contextvars.Context()
    # Only which service it works for comes along (one process may host all five, and
    # its spans must name the right one; services/common/telemetry.py).
    service = telemetry.service_in_scope()
    if service is not None:
        context.run(telemetry.set_service_scope, service)
    return asyncio.create_task(work, name=name, context=context)


async def cancel(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancels the tasks (None: nothing) and waits until each has ended."""
    live = [t for t in tasks if t is not None]
    for task in live:
        task.cancel()
    for task in live:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def stop_if_cancelled() -> None:
    """Raises CancelledError when the current task has been asked to stop."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def repeat(step: Callable[[], Awaitable[Any]], seconds: float, what: str) -> NoReturn:
    """`step()` every `seconds`, for ever; an error is logged and the next round runs."""
    while True:
        try:
            await step()
        except Exception:
            stop_if_cancelled()
            log.exception("%s failed", what)
        await asyncio.sleep(seconds)
