"""The federation service process: for now the node descriptor and the peer list.

Peering, signed replication and delivery build on this (see the federation issue).
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from justnet.federation.v1 import federation_pb2 as pb
from justnet.federation.v1 import federation_pb2_grpc

from services.common.identity_files import NodeIdentity, load_identity
from services.common.server import RunningServer, create_server, run_until_signalled
from services.common.settings import NodeSettings

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["FederationService"].full_name


def descriptor(settings: NodeSettings, identity: NodeIdentity) -> pb.NodeDescriptor:
    return pb.NodeDescriptor(
        network=settings.network,
        name=settings.name,
        peer_endpoint=settings.federation.peer_endpoint,
        jurisdictions=list(settings.jurisdictions),
        key_id=identity.signing_key.key_id,
        public_key=identity.signing_key.public_b64,
        certificate_fingerprint=identity.fingerprint,
        certificate_pem=identity.tls_cert_pem.decode(),
    )


class FederationServicer(federation_pb2_grpc.FederationServiceServicer):
    def __init__(self, settings: NodeSettings, identity: NodeIdentity) -> None:
        self.settings = settings
        self.identity = identity

    async def GetNodeInfo(
        self, request: pb.GetNodeInfoRequest, context: grpc.aio.ServicerContext
    ) -> pb.NodeDescriptor:
        return descriptor(self.settings, self.identity)

    async def ListPeers(
        self, request: pb.ListPeersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListPeersResponse:
        # Configured peers; no replication stream runs yet, so none is connected.
        return pb.ListPeersResponse(
            peers=[
                pb.PeerStatus(
                    network=p.network,
                    endpoint=p.endpoint,
                    state="unreachable",
                    last_error="replication is not enabled on this node yet",
                )
                for p in self.settings.peers
            ]
        )


@dataclass
class FederationRuntime:
    server: RunningServer

    @property
    def port(self) -> int:
        return self.server.port

    async def stop(self, grace: float = 5.0) -> None:
        await self.server.stop(grace)


async def migrate(settings: NodeSettings) -> str | None:
    return None  # no tables yet


async def start(settings: NodeSettings, *, port: int | None = None) -> FederationRuntime:
    identity = load_identity(settings)
    servicer = FederationServicer(settings, identity)

    def register(server: grpc.aio.Server) -> None:
        federation_pb2_grpc.add_FederationServiceServicer_to_server(servicer, server)

    server = await create_server(
        register,
        [SERVICE_NAME],
        host=settings.federation.host,
        port=settings.federation.port if port is None else port,
    )
    return FederationRuntime(server)


async def serve(settings: NodeSettings) -> None:
    runtime = await start(settings)
    await run_until_signalled(runtime.stop)
