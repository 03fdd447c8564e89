"""How every service process migrates, starts, runs and stops: one way.

A service's `start` opens what it owns through `Resources` (its database engine, its
channels to other services, its background loops) and builds its gRPC server last; the
`Runtime` stops them once, in the order stated here: the server first (it reports
NOT_SERVING and drains its calls), then the resources in the reverse order they were
opened (background loops before the channels and the engine they use). `serve` runs a
started service until SIGTERM or SIGINT; `migrate` brings a service's database to its
latest schema.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import migrations
from services.common.clients import open_channel
from services.common.db import create_engine
from services.common.loops import background, cancel
from services.common.server import GRACE_SECONDS, RunningServer, run_until_signalled
from services.common.settings import NodeSettings


class Startable(Protocol):
    def start(self) -> None: ...

    async def stop(self) -> None: ...


S = TypeVar("S", bound=Startable)


class Resources:
    """What a service process opened, closed in the reverse order."""

    def __init__(self) -> None:
        self._stack = AsyncExitStack()

    async def engine(self, database_url: str, package_dir: Path, name: str) -> AsyncEngine:
        """The service's database, refused unless its schema is the latest."""
        engine = create_engine(database_url)
        self._stack.push_async_callback(engine.dispose)
        await migrations.require_head(engine, package_dir, name)
        return engine

    def channel(self, target: str, **options: Any) -> grpc.aio.Channel:
        channel = open_channel(target, **options)
        self._stack.push_async_callback(channel.close)
        return channel

    def started(self, loop: S) -> S:
        """A background loop (an object with start() and stop()), started now."""
        loop.start()
        self._stack.push_async_callback(loop.stop)
        return loop

    def task(self, work: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        """A background task, cancelled at stop."""
        task = background(work, name)
        self._stack.push_async_callback(cancel, task)
        return task

    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._stack.push_async_callback(callback)

    async def close(self) -> None:
        await self._stack.aclose()


@dataclass
class Runtime:
    """A started service: its gRPC server(s) and what it opened."""

    server: RunningServer
    resources: Resources

    @property
    def port(self) -> int:
        return self.server.port

    def servers(self) -> tuple[RunningServer, ...]:
        """Every server the service runs (federation has a second, for peers)."""
        return (self.server,)

    async def stop(self, grace: float = GRACE_SECONDS) -> None:
        try:
            await asyncio.gather(*(s.stop(grace) for s in self.servers()))
        finally:
            await self.resources.close()


class Stoppable(Protocol):
    async def stop(self, grace: float = ...) -> None: ...


async def serve(
    start: Callable[[NodeSettings], Awaitable[Stoppable]], settings: NodeSettings
) -> None:
    """Starts a service and runs it until SIGTERM or SIGINT, then stops it."""
    runtime = await start(settings)
    await run_until_signalled(runtime.stop)


async def migrate(database_url: str, package_dir: Path, name: str) -> str | None:
    """Upgrades one service's database to its latest schema; returns the revision."""
    engine = create_engine(database_url, instrument=False)
    try:
        return await migrations.upgrade(engine, package_dir, name)
    finally:
        await engine.dispose()
