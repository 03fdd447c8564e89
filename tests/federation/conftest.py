"""Several real nodes in one test: each a directory and a federation server on loopback,
peered over mutual TLS exactly as `justnet peer add` does."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
import pytest
from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc
from justnet.directory.v1 import directory_pb2, directory_pb2_grpc
from justnet.federation.v1 import federation_pb2, federation_pb2_grpc

from services.cli.nodes import write_node
from services.common.identity import Caller
from services.common.keyring import load_identity
from services.common.server import RunningServer, create_server
from services.common.settings import NodeSettings, load_settings
from services.directory import service as directory
from services.federation import service as federation
from tests.internal import internal_channel

MEMBERS = {
    "SEAJUST": ["TH", "VN", "MY"],
    "EJN": ["FR", "DE", "NL"],
    "WACAP": ["NG", "SN", "GH"],
    "CASC": ["KZ", "UZ"],
    "GLJCN": ["KE", "RW"],
}
WAIT = 15.0  # bound of every wait-until loop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def eventually(check: Callable[[], Awaitable[Any]], what: str, within: float = WAIT) -> Any:
    """Polls `check` until it returns something truthy; fails after `within` seconds."""
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


class RecordingMailbox(exchange_pb2_grpc.MailboxServicer):
    """Stands in for the requests service at the Mailbox contract: records what federation
    hands it, answers as told, and can be made unavailable. Like the real service it is
    idempotent by message id: `applied` lists each message's first hand-over (its effect),
    `received` every call. `delay` makes each Receive take a random 0..delay seconds (so
    messages in flight together finish out of order); `failing` message ids get an error."""

    def __init__(self) -> None:
        self.received: list[exchange_pb2.InboundMessage] = []
        self.applied: list[exchange_pb2.InboundMessage] = []
        self.settled: list[exchange_pb2.Delivery] = []
        self.accept = True
        self.available = True
        self.delay = 0.0
        self.failing: set[str] = set()
        self.in_flight = 0
        self.max_in_flight = 0  # the most Receive calls seen at once

    async def Receive(
        self, request: exchange_pb2.InboundMessage, context: Any
    ) -> exchange_pb2.InboundReply:
        if not self.available:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "down for maintenance")
        if request.message_id in self.failing:
            await context.abort(grpc.StatusCode.INTERNAL, "cannot apply this one")
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(random.uniform(0, self.delay))
        finally:
            self.in_flight -= 1
        self.received.append(request)
        if all(m.message_id != request.message_id for m in self.applied):
            self.applied.append(request)
        if not self.accept:
            return exchange_pb2.InboundReply(accepted=False, reason="the chain does not verify")
        return exchange_pb2.InboundReply(accepted=True, reply=b"ack:" + request.payload[:16])

    async def Settled(
        self, request: exchange_pb2.DeliveryOutcome, context: Any
    ) -> exchange_pb2.SettledAck:
        if not self.available:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "down for maintenance")
        self.settled.append(request.delivery)
        return exchange_pb2.SettledAck()


async def start_mailbox(mailbox: RecordingMailbox) -> RunningServer:
    def register(server: grpc.aio.Server) -> None:
        exchange_pb2_grpc.add_MailboxServicer_to_server(mailbox, server)

    return await create_server(register, ["justnet.common.v1.Mailbox"], host="127.0.0.1", port=0)


@dataclass
class FedNode:
    network: str
    settings: NodeSettings
    directory_rt: directory.DirectoryRuntime
    federation_rt: federation.FederationRuntime | None
    peer_port: int
    channel: Any

    @property
    def editor(self) -> tuple[tuple[str, str], ...]:
        return Caller("editor", self.network, "test-editor").metadata()

    @property
    def admin(self) -> tuple[tuple[str, str], ...]:
        return Caller("admin", self.network, "test-admin").metadata()

    @property
    def member(self) -> tuple[tuple[str, str], ...]:
        return Caller("member", self.network, "test-member").metadata()

    @property
    def dir(self) -> directory_pb2_grpc.DirectoryServiceStub:
        return directory_pb2_grpc.DirectoryServiceStub(self.channel)

    @property
    def dir_feed(self) -> exchange_pb2_grpc.ReplicaFeedStub:
        """The directory's change log and replicas (justnet.common.v1.ReplicaFeed)."""
        return exchange_pb2_grpc.ReplicaFeedStub(self.channel)

    fed_channel: Any = None
    mailbox: RecordingMailbox | None = None
    mailbox_rt: RunningServer | None = None

    def fed(self) -> federation_pb2_grpc.FederationServiceStub:
        assert self.fed_channel is not None, "federation is stopped"
        return federation_pb2_grpc.FederationServiceStub(self.fed_channel)

    def descriptor(self) -> federation_pb2.NodeDescriptor:
        d = federation.descriptor(self.settings, load_identity(self.settings))
        d.peer_endpoint = f"127.0.0.1:{self.peer_port}"
        return d

    async def start_federation(self) -> None:
        self.federation_rt = await federation.start(self.settings, port=0, peer_port=self.peer_port)
        self.fed_channel = internal_channel(
            f"127.0.0.1:{self.federation_rt.port}", self.settings.data_dir
        )

    async def stop_federation(self) -> None:
        if self.federation_rt is not None:
            await self.fed_channel.close()
            self.fed_channel = None
            await self.federation_rt.stop(0)
            self.federation_rt = None

    async def peer_status(self, network: str) -> federation_pb2.PeerStatus | None:
        reply = await self.fed().ListPeers(federation_pb2.ListPeersRequest(), metadata=self.admin)
        return next((p for p in reply.peers if p.network == network), None)

    async def create_authority(
        self, name: str, visibility: str = "federation", **kw: Any
    ) -> directory_pb2.Authority:
        msg = directory_pb2.Authority(
            jurisdiction=MEMBERS[self.network][0],
            name=name,
            kind="central_authority",
            competences=["mla"],
            accepted_languages=["en"],
            visibility=visibility,
            **kw,
        )
        result: directory_pb2.Authority = await self.dir.CreateAuthority(
            directory_pb2.CreateAuthorityRequest(authority=msg), metadata=self.editor
        )
        return result

    async def replicas_from(self, origin: str, caller: Any = None) -> list[directory_pb2.Authority]:
        reply = await self.dir.ListAuthorities(
            directory_pb2.ListAuthoritiesRequest(network=origin, page={"limit": 500}),
            metadata=caller or self.member,
        )
        return list(reply.items)


NodeFactory = Callable[..., Awaitable[FedNode]]


@pytest.fixture
async def make_node(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    async with node_factory(tmp_path) as make:
        yield make


@contextlib.asynccontextmanager
async def node_factory(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    nodes: list[FedNode] = []

    async def make(network: str, mailbox: bool = False) -> FedNode:
        config = write_node(tmp_path / network, network, network, MEMBERS[network], None)
        settings = load_settings(config)
        await directory.migrate(settings)
        await federation.migrate(settings)
        d = await directory.start(settings, port=0)
        settings = replace(
            settings, directory=replace(settings.directory, address=f"127.0.0.1:{d.port}")
        )
        box, box_rt = None, None
        if mailbox:
            # The requests service's place in the node: federation hands "requests.*" to it.
            box = RecordingMailbox()
            box_rt = await start_mailbox(box)
            settings = replace(
                settings, requests=replace(settings.requests, address=f"127.0.0.1:{box_rt.port}")
            )
        channel = internal_channel(f"127.0.0.1:{d.port}", settings.data_dir)
        node = FedNode(network, settings, d, None, free_port(), channel)
        node.mailbox, node.mailbox_rt = box, box_rt
        await node.start_federation()
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        # Bounded, so a regression that makes a stop hang fails the test instead of CI.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(node.stop_federation(), 10)
        await node.channel.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(node.directory_rt.stop(0), 10)
        if node.mailbox_rt is not None:
            await node.mailbox_rt.stop(0)


async def peer(a: FedNode, b: FedNode, share: str = "default") -> None:
    """Each trusts the other, as two secretariats would after exchanging descriptors."""
    await a.fed().AddPeer(
        federation_pb2.AddPeerRequest(descriptor=b.descriptor(), share=share), metadata=a.admin
    )
    await b.fed().AddPeer(
        federation_pb2.AddPeerRequest(descriptor=a.descriptor(), share=share), metadata=b.admin
    )
