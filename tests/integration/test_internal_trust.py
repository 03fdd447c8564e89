"""Reaching a service's internal port is not enough to act as anyone: the caller named in
metadata counts only on calls that carry the node's internal credential
(services/common/internal.py, services/common/server.py). A forged `x-justnet-role: admin`
without it is anonymous on every service; the same call from one of the node's processes
(a channel with the credential) works."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc
from justnet.directory.v1 import directory_pb2, directory_pb2_grpc
from justnet.events.v1 import events_pb2, events_pb2_grpc
from justnet.federation.v1 import federation_pb2, federation_pb2_grpc

from services.cli.nodes import write_node
from services.common.identity import Caller
from services.common.internal import SERVICE_KEY
from services.common.keyring import load_identity
from services.common.settings import load_settings
from services.federation import service as federation
from tests.integration.test_events import event_msg
from tests.requests_nodes import NodeFactory, ReqNode, requests_world

Metadata = tuple[tuple[str, str], ...]
FORGED_ADMIN = Caller("admin", "SEAJUST", "token:forged").metadata()
FORGED_EDITOR = Caller("editor", "SEAJUST", "token:forged").metadata()
FORGED_FEDERATION = Caller.node_service("federation", "SEAJUST").metadata()
WRONG_CREDENTIAL = ((SERVICE_KEY, "not-the-node-credential-" + "x" * 20),)
REFUSED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    async with requests_world(tmp_path) as factory:
        yield factory


async def _code(call: Awaitable[Any]) -> grpc.StatusCode:
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


async def _forged_then_genuine(
    node: ReqNode,
    port: int,
    call: Callable[[grpc.aio.Channel, Metadata], Awaitable[Any]],
    callers: tuple[Metadata, ...],
) -> None:
    """Each caller, claimed on a bare channel (with no credential, then a wrong one), is
    refused; the same caller on a channel of the node's own is answered."""
    target = f"127.0.0.1:{port}"
    async with grpc.aio.insecure_channel(target) as bare:
        for caller in callers:
            for metadata in (caller, (*WRONG_CREDENTIAL, *caller)):
                assert await _code(call(bare, metadata)) in REFUSED, metadata
    async with node.internal(port) as own:
        for caller in callers:
            assert await _code(call(own, caller)) == grpc.StatusCode.OK, caller


async def test_caller_metadata_counts_only_with_the_node_credential(
    make: NodeFactory, tmp_path: Path
) -> None:
    sea = await make("SEAJUST", sample_data=False)

    # directory: create an authority (an editor's or an administrator's change)
    async def create_authority(channel: grpc.aio.Channel, metadata: Metadata) -> Any:
        authority = directory_pb2.Authority(
            jurisdiction="TH",
            name=f"Office of the Attorney General {uuid.uuid4()}",
            kind="central_authority",
            competences=["mla"],
            accepted_languages=["th", "en"],
            visibility="network",
        )
        return await directory_pb2_grpc.DirectoryServiceStub(channel).CreateAuthority(
            directory_pb2.CreateAuthorityRequest(authority=authority), metadata=metadata
        )

    await _forged_then_genuine(
        sea, sea.directory_rt.port, create_authority, (FORGED_ADMIN, FORGED_EDITOR)
    )

    # events: create an event
    async def create_event(channel: grpc.aio.Channel, metadata: Metadata) -> Any:
        return await events_pb2_grpc.EventsServiceStub(channel).CreateEvent(
            events_pb2.CreateEventRequest(event=event_msg()), metadata=metadata
        )

    await _forged_then_genuine(sea, sea.events_rt.port, create_event, (FORGED_ADMIN, FORGED_EDITOR))

    # requests: what only the node's federation may do (settle a delivery)
    async def settle(channel: grpc.aio.Channel, metadata: Metadata) -> Any:
        outcome = exchange_pb2.DeliveryOutcome(
            delivery=exchange_pb2.Delivery(message_id=str(uuid.uuid4()), state="delivered")
        )
        return await exchange_pb2_grpc.MailboxStub(channel).Settled(outcome, metadata=metadata)

    await _forged_then_genuine(sea, sea.requests_rt.port, settle, (FORGED_FEDERATION,))

    # federation: add a peer (an administrator's change)
    other = load_settings(write_node(tmp_path / "EJN", "EJN", "EJN", ["FR"], None))
    descriptor = federation.descriptor(other, load_identity(other))

    async def add_peer(channel: grpc.aio.Channel, metadata: Metadata) -> Any:
        return await federation_pb2_grpc.FederationServiceStub(channel).AddPeer(
            federation_pb2.AddPeerRequest(descriptor=descriptor, replace=True), metadata=metadata
        )

    await _forged_then_genuine(sea, sea.fed_port, add_peer, (FORGED_ADMIN,))

    # Only the genuine calls changed anything.
    async with sea.internal(sea.directory_rt.port) as channel:
        listed = await directory_pb2_grpc.DirectoryServiceStub(channel).ListAuthorities(
            directory_pb2.ListAuthoritiesRequest(network="SEAJUST"), metadata=FORGED_ADMIN
        )
    assert len(listed.items) == 2  # one by the (genuine) admin, one by the editor
    async with sea.internal(sea.events_rt.port) as channel:
        events = await events_pb2_grpc.EventsServiceStub(channel).ListEvents(
            events_pb2.ListEventsRequest(), metadata=FORGED_EDITOR
        )
    assert len(events.items) == 2
    assert [p.network for p in await sea.peers()] == ["EJN"]


async def test_the_gateway_still_acts_for_its_callers(make: NodeFactory) -> None:
    """Through the gateway (whose channels carry the credential) people act as before."""
    sea = await make("SEAJUST", sample_data=False)
    body = {
        "jurisdiction": "TH",
        "name": "Department of Special Investigation",
        "kind": "police",
        "competences": ["mla"],
        "accepted_languages": ["th"],
        "visibility": "public",
    }
    status, created = await sea.call("POST", "/api/v1/authorities", "editor", json=body)
    assert status == 201, created
    status, problem = await sea.call("POST", "/api/v1/authorities", "member", json=body)
    assert status == 403, problem
