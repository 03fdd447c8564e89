"""Repeated lookups are answered from the gateway's memory while the directory's lookup
token is unchanged, and never miss a change: not one written through this gateway (at
once), not one written elsewhere (as soon as the directory's token moves)."""

from __future__ import annotations

from typing import Any

from justnet.directory.v1 import directory_pb2, directory_pb2_grpc
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from gateway import keys
from services.common.identity import Caller
from services.directory import service as directory
from tests.conftest import Node
from tests.federation.conftest import eventually
from tests.integration.test_gateway_directory import AUTHORITY, create
from tests.internal import internal_channel

LOOKUP_RPC = "/justnet.directory.v1.DirectoryService/Lookup"


async def names(node: Node) -> list[str]:
    resp = await node.client.get("/api/v1/lookup", params={"jurisdiction": "TH"})
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    return [item["name"] for item in body["items"]]


def lookup_calls(spans: InMemorySpanExporter) -> int:
    return sum(
        1 for s in spans.get_finished_spans() if s.name == LOOKUP_RPC and s.kind == SpanKind.CLIENT
    )


async def test_repeats_skip_the_directory_and_writes_show_at_once(
    node: Node, spans: InMemorySpanExporter, directory_runtime: directory.DirectoryRuntime
) -> None:
    await create(node, "/api/v1/authorities", AUTHORITY)
    await names(node)  # the first answer is fetched and kept
    await eventually(_token_heard(node), "the gateway following the directory's token")
    spans.clear()
    for _ in range(5):
        assert await names(node) == [AUTHORITY["name"]]
    assert lookup_calls(spans) == 0  # served from memory: no gRPC round trip

    # Written through this gateway: the very next lookup has it.
    second = {**AUTHORITY, "name": "Department of Special Investigation"}
    await create(node, "/api/v1/authorities", second)
    assert sorted(await names(node)) == sorted([str(AUTHORITY["name"]), str(second["name"])])

    # Written behind the gateway's back (another gateway, a replica from a peer): the
    # directory's token moves and the next lookups revalidate.
    async with internal_channel(
        f"127.0.0.1:{directory_runtime.port}", node.settings.data_dir
    ) as channel:
        await directory_pb2_grpc.DirectoryServiceStub(channel).CreateAuthority(
            directory_pb2.CreateAuthorityRequest(
                authority=directory_pb2.Authority(
                    jurisdiction="TH",
                    name="Anti-Money Laundering Office",
                    kind="other",
                    visibility="public",
                )
            ),
            metadata=Caller("editor", node.settings.network, "elsewhere").metadata(),
        )

    async def sees_third() -> bool:
        return "Anti-Money Laundering Office" in await names(node)

    await eventually(sees_third, "the change made elsewhere")


def _token_heard(node: Node) -> Any:
    async def check() -> bool:
        app = node.client.app
        return bool(app[keys.LOOKUP_WATCH].token)

    return check
