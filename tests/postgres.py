"""Where PostgreSQL tests get a database.

In order: TEST_DATABASE_URL (the CI script starts a throwaway local cluster and sets
it); testcontainers, when a Docker engine answers and already has the image; else the
test is skipped, except under CI=true, where it fails: CI must prove PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

_container_url: str | None = None


def _from_testcontainers() -> str | None:
    global _container_url
    if _container_url is not None:
        return _container_url
    try:
        import docker  # type: ignore[import-untyped]
        from testcontainers.community.postgres import PostgresContainer

        client = docker.from_env()
        client.ping()
        image = os.environ.get("TEST_POSTGRES_IMAGE", "postgres:16")
        client.images.get(image)  # nothing can be pulled here: use it only if present
    except Exception:
        return None
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer(image, driver="asyncpg")
    container.start()
    _container_url = container.get_connection_url()
    return _container_url


def admin_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or _from_testcontainers()


def require_admin_url() -> str:
    url = admin_url()
    if url is None:
        message = "no PostgreSQL: set TEST_DATABASE_URL or run the tests through scripts/test"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """A new, empty database on the test server; dropped afterwards."""
    import asyncpg  # type: ignore[import-untyped]

    url = require_admin_url()
    plain = url.replace("postgresql+asyncpg://", "postgresql://")
    name = f"justnet_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(plain)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base, _, _ = url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        conn = await asyncpg.connect(plain)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
