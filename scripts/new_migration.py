"""Autogenerates a migration for one service against a scratch SQLite database at head.

Usage: python scripts/new_migration.py SERVICE "message"
Review the generated file: autogenerate misses renames and some type changes.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from importlib import import_module
from pathlib import Path

from alembic import command
from sqlalchemy.engine import Connection

from services.common import migrations
from services.common.db import create_engine


async def main(service: str, message: str) -> None:
    package = import_module("gateway" if service == "gateway" else f"services.{service}")
    package_dir = Path(package.__file__ or "").parent
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp}/scratch.db", instrument=False)
        await migrations.upgrade(engine, package_dir, service)
        cfg = migrations.alembic_config(package_dir, service)

        def revise(connection: Connection) -> None:
            cfg.attributes["connection"] = connection
            command.revision(cfg, message=message, autogenerate=True)

        async with engine.begin() as conn:
            await conn.run_sync(revise)
        await engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
