"""The gateway application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from gateway import console, http_telemetry, keys, openapi
from gateway.accounts import AccountStore
from gateway.audit import AuditLog, audit_ctx, audit_middleware
from gateway.auth import TokenStore, auth_middleware
from gateway.auth_cache import AuthCache
from gateway.clients import ServiceClients
from gateway.console.web import ACCOUNTS, console_middleware
from gateway.lookup_watch import LookupTokenWatch
from gateway.notify import notifier_ctx
from gateway.problems import Handler, problem_middleware
from gateway.render import JsonFragments, LookupAnswers
from gateway.routes import (
    admin,
    directory,
    documents,
    events,
    federation_admin,
    node,
    requests,
    statistics,
)
from services.common import migrations
from services.common.db import create_engine
from services.common.settings import NodeSettings

PACKAGE_DIR = Path(__file__).parent
ROUTE_TABLES = (
    node.api,
    directory.api,
    requests.api,
    documents.api,
    events.api,
    statistics.api,
    admin.api,
    federation_admin.api,
)


@web.middleware
async def writes_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Marks writes for the lookup cache, before and after, whatever the outcome."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return await handler(request)
    watch = request.app[keys.LOOKUP_WATCH]
    watch.wrote()
    try:
        return await handler(request)
    finally:
        watch.wrote()


def create_app(settings: NodeSettings, *, clients: ServiceClients | None = None) -> web.Application:
    app = web.Application(
        middlewares=[
            http_telemetry.middleware(),  # first: its span and X-Trace-Id cover the others
            problem_middleware,
            auth_middleware,
            console_middleware,
            audit_middleware,
            writes_middleware,
        ],
        client_max_size=settings.gateway.max_body_bytes,
    )
    app[keys.SETTINGS] = settings
    app[keys.FRAGMENTS] = JsonFragments()
    app[keys.LOOKUPS] = LookupAnswers()
    app[keys.AUDIT] = AuditLog()

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        service_clients = ServiceClients.connect(settings) if clients is None else clients
        app[keys.CLIENTS] = service_clients
        watch = LookupTokenWatch(service_clients.directory)
        app[keys.LOOKUP_WATCH] = watch
        watch.start()
        yield
        await watch.stop()
        if clients is None:
            await service_clients.close()

    async def tokens_ctx(app: web.Application) -> AsyncIterator[None]:
        engine = create_engine(settings.gateway.database_url)
        await migrations.require_head(engine, PACKAGE_DIR, "gateway")
        cache = AuthCache(engine)
        await cache.start()
        app[keys.TOKENS] = TokenStore(engine, settings.network, cache)
        app[ACCOUNTS] = AccountStore(engine, cache)
        yield
        await cache.stop()
        await engine.dispose()

    app.cleanup_ctx.append(services_ctx)
    app.cleanup_ctx.append(tokens_ctx)
    app.cleanup_ctx.append(audit_ctx)
    app.cleanup_ctx.append(notifier_ctx)  # mail, when enabled
    operations = [op for table in ROUTE_TABLES for op in table.operations]
    for table in ROUTE_TABLES:
        table.install(app)
    app[keys.OPENAPI] = openapi.build(operations, settings.network)
    console.setup(app)
    return app


async def migrate(settings: NodeSettings) -> str | None:
    engine = create_engine(settings.gateway.database_url, instrument=False)
    try:
        return await migrations.upgrade(engine, PACKAGE_DIR, "gateway")
    finally:
        await engine.dispose()
