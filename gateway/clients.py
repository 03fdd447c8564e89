"""The gateway's channels and stubs to the node's services.

Every channel carries the node's internal credential (services/common/internal.py), without
which the services take no caller from metadata. Calls made for a person name that person
(`request[keys.CALLER].metadata()`); the gateway's own calls (metrics, the peers' state)
name the node service `service:gateway` (`ServiceClients.own`).
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from dataclasses import dataclass, field
from functools import cached_property

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from justnet.directory.v1 import directory_pb2, directory_pb2_grpc
from justnet.events.v1 import events_pb2_grpc
from justnet.federation.v1 import federation_pb2, federation_pb2_grpc
from justnet.requests.v1 import requests_pb2_grpc

from services.common.clients import open_channel
from services.common.identity import Caller
from services.common.internal import InternalCredential
from services.common.settings import GRPC_SERVICES, NodeSettings

HEALTH_TIMEOUT = 1.0
PEER_STATE_TTL = 1.0
PEER_STATE_TIMEOUT = 0.5
# Per-method deadlines (seconds); anything not listed gets the default.
TIMEOUTS: dict[str, float | None] = {"ImportDirectory": 60.0, "Lookup": 3.0}


@dataclass
class ServiceClients:
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)
    _peer_states: dict[str, str] | None = None
    _peers_at: float = -1e9
    _peers_refresh: asyncio.Task[None] | None = None
    # Who the gateway's own calls (telemetry, peer states) name: the node service
    # `service:gateway`, not an invented person.
    own: Caller = field(default_factory=Caller)

    @classmethod
    def connect(
        cls, settings: NodeSettings, credential: InternalCredential | None = None
    ) -> ServiceClients:
        """Channels to every service, each with the node's internal credential (`credential`
        overrides the node's own, for tests)."""
        credential = credential or InternalCredential(settings.data_dir)
        return cls(
            {
                name: open_channel(
                    settings.service(name).target, timeouts=TIMEOUTS, credential=credential
                )
                for name in GRPC_SERVICES
            },
            own=Caller.node_service("gateway", settings.network),
        )

    @cached_property
    def directory(self) -> directory_pb2_grpc.DirectoryServiceStub:
        return directory_pb2_grpc.DirectoryServiceStub(self.channels["directory"])

    @cached_property
    def directory_lookup(self) -> grpc.aio.UnaryUnaryMultiCallable:
        """DirectoryService.Lookup read as LookupResponseItems (each item left serialised),
        for the per-item rendering cache of gateway/render.py."""
        return self.channels["directory"].unary_unary(
            "/justnet.directory.v1.DirectoryService/Lookup",
            request_serializer=directory_pb2.LookupRequest.SerializeToString,
            response_deserializer=directory_pb2.LookupResponseItems.FromString,
        )

    @cached_property
    def requests(self) -> requests_pb2_grpc.RequestsServiceStub:
        return requests_pb2_grpc.RequestsServiceStub(self.channels["requests"])

    @cached_property
    def events(self) -> events_pb2_grpc.EventsServiceStub:
        return events_pb2_grpc.EventsServiceStub(self.channels["events"])

    @cached_property
    def federation(self) -> federation_pb2_grpc.FederationServiceStub:
        return federation_pb2_grpc.FederationServiceStub(self.channels["federation"])

    async def health(self) -> dict[str, str]:
        async def one(name: str) -> tuple[str, str]:
            stub = health_pb2_grpc.HealthStub(self.channels[name])
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=HEALTH_TIMEOUT)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    return name, "TIMEOUT"
                return name, "UNAVAILABLE"
            return name, health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

        results = await asyncio.gather(*(one(n) for n in self.channels))
        return dict(results)

    async def peer_states(self) -> dict[str, str] | None:
        """Each peer's replication state (None: federation is down).

        Lookups call this on every request, so only the first call waits for federation;
        later ones get the last answer at once and, when it is over a second old, start a
        refresh in the background. A slow federation service never slows a lookup.
        """
        if self._peers_at < 0:
            await self._refresh_peer_states()
        elif self._peers_at < time.monotonic() - PEER_STATE_TTL and (
            self._peers_refresh is None or self._peers_refresh.done()
        ):
            # A fresh context: the refresh is not part of the request that happened to start it.
            self._peers_refresh = asyncio.create_task(
                self._refresh_peer_states(), context=contextvars.Context()
            )
        return self._peer_states

    async def _refresh_peer_states(self) -> None:
        try:
            reply = await self.federation.ListPeers(
                federation_pb2.ListPeersRequest(brief=True),
                metadata=self.own.metadata(),
                timeout=PEER_STATE_TIMEOUT,
            )
            self._peer_states = {p.network: p.state for p in reply.peers}
        except grpc.aio.AioRpcError:
            self._peer_states = None
        self._peers_at = time.monotonic()

    async def close(self) -> None:
        if self._peers_refresh is not None:
            self._peers_refresh.cancel()
        await asyncio.gather(*(ch.close() for ch in self.channels.values()))
