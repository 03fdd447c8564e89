"""Runs one service's Alembic migrations on its own database.

Each service keeps `migrations/` (env.py, versions/) in its package and its own
version table, so services can share one PostgreSQL database without colliding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command, context
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config(package_dir: Path, service: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(package_dir / "migrations"))
    cfg.attributes["version_table"] = f"alembic_version_{service}"
    return cfg


async def upgrade(engine: AsyncEngine, package_dir: Path, service: str) -> str | None:
    """Upgrades to head; returns the revision now applied."""
    cfg = alembic_config(package_dir, service)

    def run(connection: Connection) -> None:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")

    async with engine.begin() as conn:
        await conn.run_sync(run)
    return ScriptDirectory.from_config(cfg).get_current_head()


async def current_revision(engine: AsyncEngine, service: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def read(connection: Connection) -> str | None:
        ctx = MigrationContext.configure(
            connection, opts={"version_table": f"alembic_version_{service}"}
        )
        return ctx.get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's migrations/env.py (online mode, shared connection)."""
    config = context.config
    connection: Any = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `justnet migrate`, which supplies a connection")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=config.attributes.get("version_table", "alembic_version"),
        render_as_batch=True,  # SQLite needs batch mode for ALTER; a no-op on PostgreSQL
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def require_head(engine: AsyncEngine, package_dir: Path, service: str) -> None:
    """Refuses to serve a database that `justnet migrate` has not brought to head."""
    head = ScriptDirectory.from_config(alembic_config(package_dir, service)).get_current_head()
    current = await current_revision(engine, service)
    if current != head:
        raise RuntimeError(
            f"the {service} database is at revision {current or 'none'}, not {head}; "
            f"run `justnet migrate {service}`"
        )
