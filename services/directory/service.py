"""Builds and runs the directory service process."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import grpc
from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc
from opentelemetry.metrics import CallbackOptions, Observation
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import lifecycle, migrations, semconv, telemetry
from services.common.db import create_engine
from services.common.internal import InternalCredential
from services.common.replication import Changes, ReplicaFeedServicer
from services.common.server import create_server
from services.common.settings import NodeSettings
from services.common.validation import warm_up
from services.directory.index import LookupIndex
from services.directory.logic import DirectoryLogic
from services.directory.servicer import SERVICE_NAME, DirectoryServicer, add_to_server
from services.directory.store import DirectoryStore

PACKAGE_DIR = Path(__file__).parent
FEED_NAME = exchange_pb2.DESCRIPTOR.services_by_name["ReplicaFeed"].full_name


async def migrate(settings: NodeSettings) -> str | None:
    return await lifecycle.migrate(settings.directory.database_url, PACKAGE_DIR, "directory")


@dataclass
class DirectoryRuntime(lifecycle.Runtime):
    logic: DirectoryLogic


_LIVE_INDEXES: list[LookupIndex] = []
_gauge_registered = False


def _observe_records(options: CallbackOptions) -> Iterable[Observation]:
    for index in _LIVE_INDEXES:
        for origin, count in index.records_per_origin().items():
            yield Observation(count, {semconv.ORIGIN: origin})


async def _forget_index(index: LookupIndex) -> None:
    if index in _LIVE_INDEXES:
        _LIVE_INDEXES.remove(index)


def _record_metrics(index: LookupIndex) -> None:
    """`justnet.directory.records` per origin, read from the lookup index at collection."""
    global _gauge_registered
    _LIVE_INDEXES.append(index)
    if not _gauge_registered:
        _gauge_registered = True
        telemetry.current().meter(__name__).create_observable_gauge(
            semconv.RECORDS.name,
            callbacks=[_observe_records],
            unit=semconv.RECORDS.unit,
            description=semconv.RECORDS.description,
        )


async def start(settings: NodeSettings, *, port: int | None = None) -> DirectoryRuntime:
    own = lifecycle.Resources()
    engine = await own.engine(settings.directory.database_url, PACKAGE_DIR, "directory")
    store = DirectoryStore(engine, settings.network)
    index = LookupIndex(store)
    await index.load()
    warm_up()
    logic = DirectoryLogic(store, index, settings.jurisdictions)
    _record_metrics(index)
    own.on_stop(lambda: _forget_index(index))
    changes = Changes()
    servicer = DirectoryServicer(logic, changes)
    # The change log and replicas, for the node's federation service (the kit's servicer).
    feed = ReplicaFeedServicer(store, changes, on_applied=logic.replicas_changed)

    def register(server: grpc.aio.Server) -> None:
        add_to_server(servicer, server)
        exchange_pb2_grpc.add_ReplicaFeedServicer_to_server(feed, server)

    server = await create_server(
        register,
        [SERVICE_NAME, FEED_NAME],
        host=settings.directory.host,
        port=settings.directory.port if port is None else port,
        credential=InternalCredential(settings.data_dir),
    )
    own.task(index.follow(), "directory-index-follow")
    return DirectoryRuntime(server, own, logic)


async def serve(settings: NodeSettings) -> None:
    await lifecycle.serve(start, settings)


@dataclass
class OfflineDirectory:
    """The directory's logic without a server, for the CLI (import, export, sample data).

    Writes go through the same rules and change log; a running directory process picks
    them up from the log within a second.
    """

    engine: AsyncEngine
    logic: DirectoryLogic

    async def close(self) -> None:
        await self.engine.dispose()


async def open_offline(settings: NodeSettings) -> OfflineDirectory:
    engine = create_engine(settings.directory.database_url, instrument=False)
    await migrations.require_head(engine, PACKAGE_DIR, "directory")
    store = DirectoryStore(engine, settings.network)
    index = LookupIndex(store)
    index.seq = await store.max_seq()  # the CLI never looks up; skip loading the records
    return OfflineDirectory(engine, DirectoryLogic(store, index, settings.jurisdictions))
