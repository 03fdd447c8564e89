"""Shared fixtures: real gRPC servers on free loopback ports, SQLite or PostgreSQL."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import create_app
from gateway.app import migrate as migrate_gateway
from gateway.auth import TokenStore
from services.common import telemetry
from services.common.db import create_engine
from services.common.internal import ensure_token, token_path
from services.common.settings import NodeSettings, load_settings
from services.directory import service as directory
from services.federation import service as federation
from tests.postgres import fresh_database

SPANS = InMemorySpanExporter()
# The process hosts the gateway; each gRPC server marks its own calls' spans.
telemetry.setup(
    "gateway", "SEAJUST", span_exporter=SPANS, metric_readers=[PrometheusMetricReader()]
)

SEAJUST = ["BN", "KH", "LA", "MM", "MY", "PH", "SG", "TH", "VN", "TL"]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    SPANS.clear()
    yield SPANS


def make_settings(
    data_dir: Path,
    network: str = "SEAJUST",
    jurisdictions: list[str] | None = None,
    database_url: str | None = None,
) -> NodeSettings:
    env = {
        "JUSTNET_NETWORK": network,
        "JUSTNET_DATA_DIR": str(data_dir),
        "JUSTNET_JURISDICTIONS": ",".join(jurisdictions or SEAJUST),
    }
    if database_url:
        env["JUSTNET_DIRECTORY_DATABASE_URL"] = database_url
    return load_settings(None, env)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test that takes this runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'directory.db'}"
    else:
        async with fresh_database() as url:
            yield url


@pytest.fixture
async def settings(tmp_path: Path, database_url: str) -> NodeSettings:
    ensure_token(tmp_path)  # the node's internal credential (tests.internal.internal_channel)
    return make_settings(tmp_path, database_url=database_url)


@pytest.fixture
async def directory_runtime(settings: NodeSettings) -> AsyncIterator[directory.DirectoryRuntime]:
    await directory.migrate(settings)
    runtime = await directory.start(settings, port=0)
    yield runtime
    await runtime.stop(0)


SCRAPE_TOKEN = "test-scrape-token-0123456789"  # gateway.scrape_token of the `node` fixture


@dataclass
class Node:
    settings: NodeSettings
    client: TestClient  # type: ignore[type-arg]
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role in self.tokens else {}


@pytest.fixture
async def node(
    settings: NodeSettings, directory_runtime: directory.DirectoryRuntime, tmp_path: Path
) -> AsyncIterator[Node]:
    """A gateway in front of a real directory server (and the other services' servers)."""
    from services.cli.nodes import write_node  # keys for the federation service

    keys_dir = tmp_path / "node"
    config = write_node(
        keys_dir, settings.network, settings.name, list(settings.jurisdictions), None
    )
    keyed = load_settings(config)
    # The directory server runs from tmp_path: the other processes share its credential.
    shutil.copy(token_path(settings.data_dir), token_path(keyed.data_dir))
    fed_settings = replace(settings, data_dir=keyed.data_dir)
    await federation.migrate(fed_settings)
    fed = await federation.start(fed_settings, port=0, peer_port=0)
    wired = replace(
        settings,
        data_dir=keyed.data_dir,
        directory=replace(settings.directory, address=f"127.0.0.1:{directory_runtime.port}"),
        federation=replace(settings.federation, address=f"127.0.0.1:{fed.port}"),
        requests=replace(settings.requests, address="127.0.0.1:9"),
        events=replace(settings.events, address="127.0.0.1:9"),
        gateway=replace(settings.gateway, scrape_token=SCRAPE_TOKEN),
    )
    await migrate_gateway(wired)
    engine = create_engine(wired.gateway.database_url, instrument=False)
    store = TokenStore(engine, wired.network)
    tokens = {
        role: (await store.create(role, f"test-{role}"))[0]
        for role in ("admin", "editor", "member")
    }
    await engine.dispose()
    tokens["scrape"] = SCRAPE_TOKEN
    app: web.Application = create_app(wired)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield Node(wired, client, tokens)
    await client.close()
    await fed.stop(0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SKIP_SLOW_TESTS") == "1":
        skip = pytest.mark.skip(reason="SKIP_SLOW_TESTS=1")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip)


def _print_asyncio_tasks(signum: int, frame: object) -> None:
    """`kill -USR1 <pytest pid>` prints where every asyncio task waits (for hung tests)."""
    import asyncio
    import sys

    loop = asyncio._get_running_loop()
    if loop is None:
        print("no running event loop", file=sys.stderr)
        return
    for task in asyncio.all_tasks(loop):
        # Not task.print_stack(): Cython frames without line numbers make it raise.
        print(f"--- {task.get_name()}", file=sys.stderr)
        coro: Any = task.get_coro()
        while coro is not None:  # walk the await chain: get_stack() shows only the top
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is not None:
                code = frame.f_code
                print(f"    {code.co_filename}:{frame.f_lineno} in {code.co_name}", file=sys.stderr)
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)


signal.signal(signal.SIGUSR1, _print_asyncio_tasks)
