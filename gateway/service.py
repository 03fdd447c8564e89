"""Runs the gateway process."""

from __future__ import annotations

from aiohttp import web

from gateway.app import create_app
from services.common.server import run_until_signalled
from services.common.settings import NodeSettings


async def start(settings: NodeSettings, *, port: int | None = None) -> web.AppRunner:
    # Longer request lines than aiohttp's 8 KiB default reach the app, whose checks
    # answer with problem+json naming the parameter.
    runner = web.AppRunner(
        create_app(settings),
        access_log=None,
        max_line_size=32768,
        max_field_size=32768,
    )
    await runner.setup()
    site = web.TCPSite(
        runner,
        settings.gateway.host,
        settings.gateway.port if port is None else port,
        shutdown_timeout=5.0,
    )
    await site.start()
    return runner


async def serve(settings: NodeSettings) -> None:
    runner = await start(settings)
    await run_until_signalled(runner.cleanup)
