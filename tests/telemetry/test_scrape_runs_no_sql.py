"""A scrape of /metrics runs no SQL anywhere in the node: every gauge (replicas, lag,
quarantined records, outbox depth per peer) is served from what the services keep in
memory, and still follows the writes (services/federation/metrics.py, replicas.py).

Statements are attributed to the trace they run in (a SQLAlchemy `before_cursor_execute`
listener on every engine of the process, reading the current span): the scrape's trace,
which reaches every service's NodeTelemetry, must have none, while the same listener does
see the statements of a call that runs some (the administrators' peers list)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from justnet.federation.v1 import federation_pb2, federation_pb2_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event
from sqlalchemy.engine import Engine

from services.common.identity import Caller
from tests.requests_nodes import ReqNode, eventually, requests_world

pytestmark = pytest.mark.slow

METRICS_RPC = "/justnet.common.v1.NodeTelemetry/Metrics"
# (name, labels but the process) -> value; here every process shares the gateway's
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class SqlByTrace:
    """Counts the SQL statements every engine of this process runs, per trace id."""

    def __init__(self) -> None:
        self.statements: Counter[str] = Counter()

    def __call__(self, *args: Any) -> None:
        context = trace.get_current_span().get_span_context()
        self.statements[f"{context.trace_id:032x}" if context.is_valid else ""] += 1


@pytest.fixture
def sql() -> Iterator[SqlByTrace]:
    watch = SqlByTrace()
    event.listen(Engine, "before_cursor_execute", watch)
    yield watch
    event.remove(Engine, "before_cursor_execute", watch)


class Scraper:
    def __init__(self, node: ReqNode, sql: SqlByTrace, spans: InMemorySpanExporter) -> None:
        self.node = node
        self.sql = sql
        self.spans = spans
        self.scrapes = 0

    async def __call__(self) -> Samples:
        """One scrape, as Prometheus makes it (the scrape token); asserts it ran no SQL."""
        resp = await self.node.client.get("/metrics", headers=self.node.auth("scrape"))
        assert resp.status == 200
        text = await resp.text()
        trace_id = resp.headers["X-Trace-Id"]
        assert self.sql.statements[trace_id] == 0, (
            f"a scrape ran {self.sql.statements[trace_id]} SQL statements"
        )
        # ... and it did ask the services (the federation's gauges come from there).
        asked = [
            s
            for s in self.spans.get_finished_spans()
            if s.name == METRICS_RPC
            and s.kind == trace.SpanKind.SERVER
            and s.context is not None
            and f"{s.context.trace_id:032x}" == trace_id
        ]
        assert len(asked) >= 4, [s.name for s in asked]  # directory, requests, events, federation
        self.scrapes += 1
        return {
            (
                s.name,
                tuple(sorted((k, v) for k, v in s.labels.items() if k != "justnet_service")),
            ): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }


def peer_gauge(samples: Samples, name: str, peer: str) -> float | None:
    """The one sample of a per-peer gauge (None: not reported)."""
    values = [
        v for (n, labels), v in samples.items() if n == name and ("justnet_peer", peer) in labels
    ]
    assert len(values) <= 1, values
    return values[0] if values else None


def quarantined(samples: Samples, peer: str) -> float:
    return sum(
        v
        for (n, labels), v in samples.items()
        if n == "justnet_federation_quarantined_records" and ("justnet_peer", peer) in labels
    )


async def test_a_scrape_runs_no_sql_and_its_gauges_follow_the_writes(
    tmp_path: Path, sql: SqlByTrace, spans: InMemorySpanExporter
) -> None:
    async with requests_world(tmp_path) as make:
        sea = await make("SEAJUST")
        ejn = await make("EJN")
        scrape = Scraper(sea, sql, spans)

        # The listener does see SQL where there is some: the administrators' peers list
        # counts each peer's replicas in the directory and the events service.
        resp = await sea.client.get("/api/v1/federation/peers", headers=sea.auth("admin"))
        assert resp.status == 200
        assert sql.statements[resp.headers["X-Trace-Id"]] > 0

        async def listed(peer: str) -> federation_pb2.PeerStatus:
            return next(p for p in await sea.peers() if p.network == peer)

        # Replicas held from EJN: the gauge says what the peers list counts.
        held = (await listed("EJN")).records
        assert held > 0
        assert peer_gauge(await scrape(), "justnet_federation_peer_records", "EJN") == held

        # EJN adds an authority: the gauge follows, without a scrape counting anything.
        status, body = await ejn.call(
            "POST",
            "/api/v1/authorities",
            "editor",
            json={
                "jurisdiction": "FR",
                "name": f"Bureau de l'entraide pénale internationale {uuid.uuid4()}",
                "kind": "central_authority",
                "competences": ["mla"],
                "accepted_languages": ["fr"],
                "visibility": "federation",
            },
        )
        assert status == 201, body

        async def one_more() -> bool:
            gauge = peer_gauge(await scrape(), "justnet_federation_peer_records", "EJN")
            return gauge == held + 1

        await eventually(one_more, "the replicas gauge counting EJN's new authority")
        assert (await listed("EJN")).records == held + 1

        # SEAJUST stops accepting DE from EJN: EJN's DE records go to the quarantine, and
        # both gauges follow.
        async with sea.internal(sea.fed_port) as channel:
            fed = federation_pb2_grpc.FederationServiceStub(channel)
            await fed.AddPeer(
                federation_pb2.AddPeerRequest(
                    descriptor=ejn.descriptor(), replace=True, accepted_jurisdictions=["FR"]
                ),
                metadata=sea.admin,
            )

            async def quarantine_matches() -> bool:
                items = (
                    await fed.ListQuarantine(
                        federation_pb2.ListQuarantineRequest(peer="EJN", limit=500),
                        metadata=sea.admin,
                    )
                ).items
                samples = await scrape()
                records = (await listed("EJN")).records
                return (
                    len(items) > 0
                    and quarantined(samples, "EJN") == len(items)
                    and peer_gauge(samples, "justnet_federation_peer_records", "EJN") == records
                    and records < held + 1
                )

            await eventually(quarantine_matches, "the quarantine gauge and the replicas gauge")

        # EJN goes away and SEAJUST queues a message for it: the outbox depth and the lag
        # follow.
        await ejn.stop_federation()
        async with sea.internal(sea.fed_port) as channel:
            await federation_pb2_grpc.FederationServiceStub(channel).Send(
                federation_pb2.SendRequest(
                    destination="EJN",
                    message_id=str(uuid.uuid4()),
                    kind="requests.event",
                    payload=b"a status change",
                ),
                metadata=Caller.node_service("requests", "SEAJUST").metadata(),
            )

        async def queued_and_behind() -> bool:
            samples = await scrape()
            depth = peer_gauge(samples, "justnet_federation_queue_depth", "EJN")
            lag = peer_gauge(samples, "justnet_federation_replication_lag_seconds", "EJN")
            return depth == 1 and lag is not None and lag > 0

        # The queued message is counted at the couriers' next pass (once a second), not at
        # their periodic recount (every 10 s), so this mostly fails if queueing stops
        # marking the depth stale.
        await eventually(queued_and_behind, "the outbox depth and lag gauges", within=4)
        assert scrape.scrapes >= 4
