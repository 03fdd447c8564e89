"""Every service's migrations upgrade an empty database, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import inspect

from gateway.app import PACKAGE_DIR as GATEWAY_DIR
from gateway.app import migrate as migrate_gateway
from services.common import migrations
from services.common.db import create_engine
from services.common.settings import NodeSettings
from services.directory import service as directory
from services.events import service as events
from services.federation import service as federation
from services.requests import service as requests


async def test_every_service_upgrades_an_empty_database(
    settings: NodeSettings, database_url: str
) -> None:
    settings = replace(
        settings,
        gateway=replace(settings.gateway, database_url=database_url),
        requests=replace(settings.requests, database_url=database_url),
        events=replace(settings.events, database_url=database_url),
        federation=replace(settings.federation, database_url=database_url),
    )
    assert await directory.migrate(settings) == "0004"
    assert await federation.migrate(settings) == "0007"
    assert await events.migrate(settings) == "0004"
    assert await migrate_gateway(settings) == "0003"
    assert await requests.migrate(settings) == "0006"
    # Running again is a no-op.
    assert await directory.migrate(settings) == "0004"
    assert await events.migrate(settings) == "0004"
    engine = create_engine(database_url, instrument=False)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert {
            "directory_authorities",
            "directory_contact_points",
            "directory_routing_profiles",
            "directory_changes",
            "directory_replication_cursors",
            "directory_instruments",
            "requests_requests",
            "requests_events",
            "requests_documents",
            "requests_document_parts",
            "requests_blobs",
            "requests_outbox",
            "requests_inbox",
            "alembic_version_requests",
            "alembic_version_directory",
            "events_events",
            "events_registrations",
            "events_changes",
            "events_replication_cursors",
            "alembic_version_events",
            "gateway_tokens",
            "gateway_audit",
            "gateway_users",
            "gateway_sessions",
            "gateway_password_links",
            "gateway_recovery_codes",
            "gateway_sign_in_failures",
            "alembic_version_gateway",
            "federation_peers",
            "federation_quarantine",
            "alembic_version_federation",
        } <= tables
        await migrations.require_head(engine, directory.PACKAGE_DIR, "directory")
        await migrations.require_head(engine, GATEWAY_DIR, "gateway")
        await migrations.require_head(engine, requests.PACKAGE_DIR, "requests")
        await migrations.require_head(engine, events.PACKAGE_DIR, "events")
        await migrations.require_head(engine, federation.PACKAGE_DIR, "federation")
    finally:
        await engine.dispose()


async def test_an_unmigrated_database_is_refused(settings: NodeSettings) -> None:
    import pytest

    with pytest.raises(RuntimeError, match="justnet migrate directory"):
        await directory.start(settings, port=0)
