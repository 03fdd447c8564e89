"""All five services of a node in one process and one event loop: `justnet up
--processes one` (in its own process: `run_here`) and `justnet serve all` (`serve_all`, what
`justnet demo --processes one` starts for each node).

Each service is started by its own `start(settings)`, exactly as its own process would
start it: its own gRPC server on its own port with the same settings, so callers and
peers see no difference. Services start one after another in the node's order (the
gateway last) and stop in the reverse order (the gateway first, so nothing new comes in
while the services behind it stop). Each starts in its own context carrying its name, so
the spans it records, in calls and in its background loops, name it (telemetry.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from services.common import telemetry
from services.common.lifecycle import Stoppable
from services.common.server import run_until_signalled
from services.common.settings import SERVICES, NodeSettings

log = logging.getLogger(__name__)


@dataclass
class _Stops:
    """Something started with a stop callback of another name (the gateway's runner)."""

    callback: Callable[[], Awaitable[None]]

    async def stop(self, grace: float = 0.0) -> None:
        await self.callback()


async def _start_one(service: str, settings: NodeSettings) -> Stoppable:
    # Runs in a task of its own: the service scope set here is copied into every task and
    # server callback the service creates while starting, and goes no further.
    telemetry.set_service_scope(service)
    if service == "gateway":
        from gateway import service as gateway

        runner = await gateway.start(settings)
        return _Stops(runner.cleanup)
    if service == "directory":
        from services.directory import service as directory

        return await directory.start(settings)
    if service == "requests":
        from services.requests import service as requests

        return await requests.start(settings)
    if service == "events":
        from services.events import service as events

        return await events.start(settings)
    from services.federation import service as federation

    return await federation.start(settings)


async def start_all(settings: NodeSettings) -> list[tuple[str, Stoppable]]:
    """Starts the five services in order; if one fails, stops those already started."""
    started: list[tuple[str, Stoppable]] = []
    try:
        for service in SERVICES:
            runtime = await asyncio.create_task(_start_one(service, settings))
            started.append((service, runtime))
    except BaseException:
        await stop_all(started)
        raise
    return started


async def stop_all(started: list[tuple[str, Stoppable]]) -> None:
    """Stops them in the reverse order; one that fails to stop does not keep the rest up."""
    for service, runtime in reversed(started):
        try:
            await runtime.stop()
        except Exception:
            log.exception(
                "the %s service did not stop cleanly", service, extra={"service": service}
            )
        else:
            log.info("stopped the %s service", service, extra={"service": service})


async def serve_all(settings: NodeSettings) -> None:
    """Runs the whole node until SIGTERM or SIGINT."""
    started = await start_all(settings)
    await run_until_signalled(lambda: stop_all(started))


async def _start_until_healthy(settings: NodeSettings) -> list[tuple[str, Stoppable]]:
    from services.cli.nodes import wait_healthy

    started = await start_all(settings)
    try:
        await wait_healthy(settings.gateway.url, [])
    except BaseException:
        await stop_all(started)
        raise
    return started


async def run_here(settings: NodeSettings, announce: Callable[[], None] | None) -> int:
    """`justnet up --processes one`: the node in this very process (no supervisor process
    beside it), healthy as `justnet up` waits for it, until SIGTERM or SIGINT."""
    from services.cli.nodes import ready_unless_stopped, stop_on_signal
    from services.cli.serve import ALL, prepare

    prepare(ALL, settings)
    with stop_on_signal() as stopping:
        starting = asyncio.ensure_future(_start_until_healthy(settings))
        if not await ready_unless_stopped(starting, stopping):
            with contextlib.suppress(asyncio.CancelledError):
                await starting  # stopped while starting: what had started is stopped
            return 0
        started = starting.result()
        try:
            if announce is not None:
                announce()
            await stopping.wait()
            return 0
        finally:
            await stop_all(started)
