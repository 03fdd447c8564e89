"""`justnet migrate`: every service's migrations, each on its own database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway import app as gateway_app
from services.common.settings import NodeSettings
from services.directory import service as directory
from services.events import service as events
from services.federation import service as federation
from services.requests import service as requests

MIGRATORS: dict[str, Callable[[NodeSettings], Awaitable[str | None]]] = {
    "directory": directory.migrate,
    "requests": requests.migrate,
    "events": events.migrate,
    "federation": federation.migrate,
    "gateway": gateway_app.migrate,
}


async def migrate_all(settings: NodeSettings, only: str | None = None) -> dict[str, str | None]:
    results: dict[str, str | None] = {}
    for name, run in MIGRATORS.items():
        if only is None or only == name:
            results[name] = await run(settings)
    return results
