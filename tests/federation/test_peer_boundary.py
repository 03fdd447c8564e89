"""The node's internal credential, and the callers it vouches for, stay inside the node: a
peer sees none of them on any call this node makes to it (services/common/internal.py).

A stand-in peer with EJN's identity records the metadata of every call SEAJUST's federation
makes to its peer port: the subscriptions, a pushed message, an on-demand fetch of contact
details and, after a record signed with a key it does not know, the fetch of the peer's
keys."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
from justnet.federation.v1 import federation_pb2

from services.cli.nodes import write_node
from services.common import identity as caller_keys
from services.common.identity import Caller
from services.common.internal import SERVICE_KEY, token_path
from services.common.keyring import load_identity
from services.common.server import create_server
from services.common.settings import load_settings
from services.common.signing import generate_signing_key
from services.federation import service as federation
from services.federation import tls
from services.federation.peer_client import (
    DELIVER,
    FETCH_DETAILS,
    GET_KEYS,
    PEER_SERVICE,
    SUBSCRIBE,
)
from services.federation.signatures import AUTH_KEY, sign_batch
from tests.federation.conftest import MEMBERS, NodeFactory, eventually, free_port

pytestmark = pytest.mark.slow

CALLER_KEYS = {
    caller_keys.ROLE_KEY,
    caller_keys.NETWORK_KEY,
    caller_keys.SUBJECT_KEY,
    caller_keys.NAME_KEY,
    caller_keys.LEGACY_KEY,
}


class Recorder(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Keeps the method and metadata of every call that reaches the stand-in peer."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        self.calls.append((details.method, dict(details.invocation_metadata or ())))
        return await continuation(details)

    def methods(self) -> set[str]:
        return {method for method, _ in self.calls}


def stand_in_peer() -> grpc.GenericRpcHandler:
    """EJN's peer port, answering just enough: a subscription gets one batch signed with a
    key SEAJUST does not know (so it asks for EJN's keys), everything else an error."""
    stranger = generate_signing_key()

    async def subscribe(body: bytes, context: grpc.aio.ServicerContext) -> Any:
        batch = federation_pb2.BatchEnvelope(
            origin="EJN", destination="SEAJUST", first_cursor=1, last_cursor=1
        )
        yield sign_batch(stranger, batch).SerializeToString()

    async def refuse(body: bytes, context: grpc.aio.ServicerContext) -> bytes:
        await context.abort(grpc.StatusCode.UNAVAILABLE, "a stand-in")
        return b""

    async def not_found(body: bytes, context: grpc.aio.ServicerContext) -> bytes:
        await context.abort(grpc.StatusCode.NOT_FOUND, "no such contact point")
        return b""

    return grpc.method_handlers_generic_handler(
        PEER_SERVICE,
        {
            "Subscribe": grpc.unary_stream_rpc_method_handler(subscribe),
            "GetKeys": grpc.unary_unary_rpc_method_handler(refuse),
            "Deliver": grpc.unary_unary_rpc_method_handler(refuse),
            "FetchContactDetails": grpc.unary_unary_rpc_method_handler(not_found),
        },
    )


async def test_a_peer_never_receives_the_internal_credential_or_a_caller(
    make_node: NodeFactory, tmp_path: Path
) -> None:
    sea = await make_node("SEAJUST")
    # SEAJUST's own processes do hold a credential, and its channels to them carry it.
    assert token_path(sea.settings.data_dir).read_text().strip()

    ejn_settings = load_settings(write_node(tmp_path / "EJN", "EJN", "EJN", MEMBERS["EJN"], None))
    ejn_identity = load_identity(ejn_settings)
    sea_cert = load_identity(sea.settings).tls_cert_pem
    recorder = Recorder()
    port = free_port()
    peer = await create_server(
        lambda server: server.add_generic_rpc_handlers((stand_in_peer(),)),
        [PEER_SERVICE],
        port=port,
        credentials=tls.server_credentials(ejn_identity, lambda: [sea_cert]),
        interceptors=[recorder],
    )
    try:
        descriptor = federation.descriptor(ejn_settings, ejn_identity)
        descriptor.peer_endpoint = f"127.0.0.1:{port}"
        await sea.fed().AddPeer(
            federation_pb2.AddPeerRequest(descriptor=descriptor), metadata=sea.admin
        )

        # A message for EJN (the requests service hands over a status change) ...
        requests_service = Caller.node_service("requests", "SEAJUST").metadata()
        await sea.fed().Send(
            federation_pb2.SendRequest(
                destination="EJN",
                message_id=str(uuid.uuid4()),
                kind="requests.event",
                payload=b"a signed request event",
            ),
            metadata=requests_service,
        )
        # ... and a member asking for personal details EJN kept off replication.
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await sea.fed().FetchContactDetails(
                federation_pb2.FetchContactDetailsRequest(
                    origin="EJN", contact_point_id=str(uuid.uuid4())
                ),
                metadata=sea.member,
            )
        assert info.value.code() == grpc.StatusCode.NOT_FOUND

        async def all_seen() -> set[str]:
            wanted = {SUBSCRIBE, GET_KEYS, DELIVER, FETCH_DETAILS}
            return wanted if wanted <= recorder.methods() else set()

        await eventually(all_seen, "SEAJUST's calls to each PeerService method", within=20)
    finally:
        await peer.stop(0)

    for method, metadata in recorder.calls:
        assert AUTH_KEY in metadata, method  # a real peer call, signed by SEAJUST
        assert SERVICE_KEY not in metadata, (method, sorted(metadata))
        assert not CALLER_KEYS & set(metadata), (method, sorted(metadata))
