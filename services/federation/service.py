"""The federation service process: internal API, peer port (mutual TLS), subscriptions."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import grpc
from justnet.common.v1 import exchange_pb2
from justnet.directory.v1 import directory_pb2_grpc
from justnet.federation.v1 import federation_pb2, federation_pb2_grpc
from opentelemetry import propagate

from services.common import lifecycle
from services.common.errors import (
    InvalidInput,
    NotFound,
    PeerTimeout,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)
from services.common.identity import Caller, current_caller
from services.common.internal import InternalCredential
from services.common.keyring import (
    NodeIdentity,
    certificate_not_after,
    load_identity,
    verify_keys,
)
from services.common.server import RunningServer, create_server
from services.common.settings import NodeSettings
from services.common.timeutil import as_utc, to_timestamp
from services.federation import tls
from services.federation.announcer import KeyAnnouncer
from services.federation.contact_details import DetailsLog
from services.federation.courier import Couriers
from services.federation.feeds import Feed, FeedClient
from services.federation.mailboxes import Mailboxes
from services.federation.metrics import FederationMetrics, PeerGauges
from services.federation.nonces import NonceStore
from services.federation.outbox import Inbox, Outbox, Queued, check_send, delivery_message
from services.federation.peer_client import FETCH_DETAILS, PEER_SERVICE, PeerClient
from services.federation.peer_server import PeerServer
from services.federation.peers import Peer, PeerStore, accepted_of
from services.federation.policy import DIRECTORY_KINDS, EVENT_KINDS, POLICIES
from services.federation.quarantine import QuarantineStore
from services.federation.receiver import Receiver
from services.federation.replicas import ReplicaCounts
from services.federation.subscriptions import PeerManager

log = logging.getLogger(__name__)
PACKAGE_DIR = Path(__file__).parent
MAX_SEND_BATCH = 100
SERVICE_NAME = federation_pb2.DESCRIPTOR.services_by_name["FederationService"].full_name
# The change streams of the feeds stay open (ReplicaFeed.WatchChanges, WatchChangeBatches).
FEED_TIMEOUTS: dict[str, float | None] = {"WatchChanges": None, "WatchChangeBatches": None}


def node_keys(settings: NodeSettings, identity: NodeIdentity) -> federation_pb2.NodeKeys:
    current, old = verify_keys(identity)
    return federation_pb2.NodeKeys(
        network=settings.network,
        verify_keys=[current],
        old_verify_keys=old,
        announcements=[
            federation_pb2.SignedKeyAnnouncement.FromString(a) for a in identity.announcements
        ],
    )


def descriptor(settings: NodeSettings, identity: NodeIdentity) -> federation_pb2.NodeDescriptor:
    keys = node_keys(settings, identity)
    current = keys.verify_keys[0]
    out = federation_pb2.NodeDescriptor(
        network=settings.network,
        name=settings.name,
        peer_endpoint=settings.federation.peer_endpoint,
        jurisdictions=list(settings.jurisdictions),
        key_id=current.key_id,
        public_key=current.public_key,
        certificate_fingerprint=identity.fingerprint,
        certificate_pem=identity.newest.tls_cert_pem.decode(),
        old_keys=keys.old_verify_keys,
        key_valid_until=current.valid_until,
        certificate_valid_until=to_timestamp(identity.certificate_valid_until),
        announcements=keys.announcements,
    )
    if current.HasField("valid_from"):
        out.key_valid_from.CopyFrom(current.valid_from)
    previous = identity.previous_certificate()
    if previous is not None:
        out.previous_certificates.add(
            certificate_pem=previous[0].decode(), accepted_until=to_timestamp(previous[1])
        )
    return out


def key_expiries(
    network: str, identity: NodeIdentity, peers: dict[str, Peer]
) -> dict[tuple[str, str], datetime]:
    """When each signing key and TLS certificate expires: this node's newest, each peer's
    current (the `justnet.federation.key.expiry` gauge and the node's warnings)."""
    out = {
        ("signing_key", network): identity.valid_until,
        ("certificate", network): identity.certificate_valid_until,
    }
    for peer in peers.values():
        current = peer.keys[0]
        if current.valid_until is not None:
            out[("signing_key", peer.network)] = current.valid_until
        out[("certificate", peer.network)] = certificate_not_after(peer.certificate_pem)
    return out


def peer_keys(peer: Peer) -> federation_pb2.NodeKeys:
    out = federation_pb2.NodeKeys(network=peer.network)
    for k in peer.keys:
        entry = (out.verify_keys if k.expired_at is None else out.old_verify_keys).add(
            key_id=k.key_id, public_key=k.public_key
        )
        for field, value in (
            ("valid_until", k.valid_until),
            ("expired_at", k.expired_at),
            ("valid_from", k.valid_from),
        ):
            if value is not None:
                getattr(entry, field).FromDatetime(value)
    return out


class FederationServicer(federation_pb2_grpc.FederationServiceServicer):
    def __init__(
        self,
        settings: NodeSettings,
        identity: NodeIdentity,
        store: PeerStore,
        manager: PeerManager,
        outbox: Outbox,
        couriers: Couriers,
        details_log: DetailsLog,
        quarantine: QuarantineStore,
    ) -> None:
        self.settings = settings
        self.identity = identity
        self.store = store
        self.manager = manager
        self.outbox = outbox
        self.couriers = couriers
        self.details_log = details_log
        self.quarantine = quarantine

    def _require_own_service_or_member(self) -> Caller:
        caller = current_caller()
        if not (caller.authenticated and caller.network == self.settings.network):
            raise PermissionDenied(
                f"only {self.settings.network}'s own services and members may use this"
            )
        return caller

    def _require_admin_or_gateway(self) -> None:
        """The peers' state: this node's administrators, or the gateway's own calls (the
        peer states of lookups and /api/v1/node) as the node service `service:gateway`."""
        caller = current_caller()
        if not caller.authenticated:
            raise Unauthenticated("this needs an administrator or the node's gateway")
        self._require_admin()

    def _require_admin(self) -> None:
        caller = current_caller()
        if not (caller.at_least("admin") and caller.network == self.settings.network):
            raise PermissionDenied("only this node's administrators manage peers")

    async def GetNodeInfo(
        self, request: federation_pb2.GetNodeInfoRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.NodeDescriptor:
        return descriptor(self.settings, self.identity)

    async def ListPeers(
        self, request: federation_pb2.ListPeersRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.ListPeersResponse:
        self._require_admin_or_gateway()
        out = []
        for row in await self.store.all():
            link = self.manager.links.get(row.network)
            status = federation_pb2.PeerStatus(
                network=row.network,
                endpoint=row.endpoint,
                state=link.state if link else row.state,
                last_error=(link.last_error if link else row.last_error) or "",
                policy=POLICIES.get(row.policy, POLICIES["default"]).message(),
                key_id=row.key_id,
                certificate_fingerprint=row.certificate_fingerprint,
                jurisdictions=list(row.jurisdictions or []),
                accepted_jurisdictions=sorted(accepted_of(row)),
                quarantined=self.quarantine.count(row.network),
                quarantine=[
                    federation_pb2.QuarantineCount(kind=kind, reason=reason, records=n)
                    for (peer, kind, reason), n in sorted(self.quarantine.counts.items())
                    if peer == row.network
                ],
            )
            if row.key_valid_until is not None:
                status.key_valid_until.FromDatetime(as_utc(row.key_valid_until))
            status.certificate_valid_until.FromDatetime(
                certificate_not_after(row.certificate_pem.encode())
            )
            success = link.last_success_at if link and link.last_success_at else row.last_success_at
            if success is not None:
                status.last_success_at.FromDatetime(as_utc(success))
            lag = link.lag_seconds() if link else None
            if lag is not None:
                status.lag_seconds = lag
            if request.brief:
                out.append(status)
                continue
            await self._feed_states(status)
            # The peer's cursor and records are its directory feed's (0 if that is down).
            primary = status.feeds[0]
            status.cursor, status.records = primary.cursor, primary.records
            out.append(status)
        return federation_pb2.ListPeersResponse(peers=out)

    async def _feed_states(self, status: federation_pb2.PeerStatus) -> None:
        for feed in self.manager.feeds:
            link = self.manager.feed_links.get((status.network, feed.name))
            entry = status.feeds.add(
                feed=feed.name,
                state=link.state if link else "unreachable",
                last_error=(link.last_error if link else "") or "",
            )
            # That service may be down: then its link's state says so.
            with contextlib.suppress(grpc.aio.AioRpcError):
                entry.cursor, entry.records = await feed.cursor(status.network)

    async def AddPeer(
        self, request: federation_pb2.AddPeerRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.PeerStatus:
        self._require_admin()
        peer = await self.store.add(
            request.descriptor,
            request.share or "default",
            replace=request.replace,
            accepted=list(request.accepted_jurisdictions),
        )
        await self.manager.sync()
        return federation_pb2.PeerStatus(
            network=peer.network,
            endpoint=peer.endpoint,
            state="unreachable",
            jurisdictions=list(peer.jurisdictions),
            accepted_jurisdictions=sorted(peer.accepted),
        )

    async def RemovePeer(
        self, request: federation_pb2.RemovePeerRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.RemovePeerResponse:
        self._require_admin()
        await self.store.remove(request.network)
        await self.manager.sync()
        return federation_pb2.RemovePeerResponse(removed=True)

    async def Send(
        self, request: federation_pb2.SendRequest, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.Delivery:
        self._require_own_service_or_member()
        [delivery] = await self._send([self._queued(request, "")])
        return delivery

    async def SendBatch(
        self, request: federation_pb2.SendBatchRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.SendBatchResponse:
        self._require_own_service_or_member()
        if len(request.messages) > MAX_SEND_BATCH:
            raise InvalidInput.one("messages", f"at most {MAX_SEND_BATCH} in one call")
        queued = [self._queued(m, f"messages[{i}].") for i, m in enumerate(request.messages)]
        return federation_pb2.SendBatchResponse(deliveries=await self._send(queued))

    def _queued(self, request: federation_pb2.SendRequest, prefix: str) -> Queued:
        destination = check_send(
            request.destination,
            request.message_id,
            request.kind,
            request.payload,
            request.ordering_key,
            prefix,
        )
        if destination not in self.manager.peers:
            raise InvalidInput.one(
                f"{prefix}destination", f"{destination[:40]} is not a peer of this node"
            )
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        traceparent = request.traceparent or carrier.get("traceparent", "")
        return Queued(
            destination,
            request.message_id,
            request.kind,
            request.payload,
            traceparent,
            request.ordering_key,
        )

    async def _send(self, queued: list[Queued]) -> list[exchange_pb2.Delivery]:
        stored = await self.outbox.enqueue_many(queued)
        for row, created in stored:
            if created:
                self.couriers.wake(row.destination)
        return [delivery_message(row) for row, _ in stored]

    async def GetDelivery(
        self, request: federation_pb2.GetDeliveryRequest, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.Delivery:
        self._require_own_service_or_member()
        return delivery_message(await self.outbox.get(request.message_id))

    async def FetchContactDetails(
        self, request: federation_pb2.FetchContactDetailsRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.ContactDetails:
        caller = self._require_own_service_or_member()
        origin = request.origin.strip().upper()
        peer = self.manager.peers.get(origin)
        if peer is None:
            raise InvalidInput.one("origin", f"{origin[:40] or 'missing value'} is not a peer")
        ask = federation_pb2.PeerDetailsRequest(
            contact_point_id=request.contact_point_id,
            requester=caller.subject or caller.role,
            requester_role=caller.role,
        )
        client = PeerClient(self.settings.network, self.identity, peer)
        try:
            async with client.channel() as channel:
                raw = await client.unary(
                    channel, FETCH_DETAILS, ask.SerializeToString(), deadline=8.0
                )
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound(
                    f"{origin} shares no contact point {request.contact_point_id[:36]} with us"
                ) from None
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise PeerTimeout(f"{origin} did not answer in time") from None
            raise Unavailable(f"{origin} is not reachable: {exc.code().name}") from None
        return federation_pb2.ContactDetails.FromString(raw)

    async def GetNetworkKeys(
        self, request: federation_pb2.GetNetworkKeysRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.NodeKeys:
        network = request.network.strip().upper()
        if network in ("", self.settings.network):
            return node_keys(self.settings, self.identity)
        peer = self.manager.peers.get(network)
        if peer is None:
            raise NotFound(f"{network[:40]} is not a peer of this node")
        return peer_keys(peer)

    async def ListContactDetailRequests(
        self,
        request: federation_pb2.ListContactDetailRequestsRequest,
        context: grpc.aio.ServicerContext,
    ) -> federation_pb2.ListContactDetailRequestsResponse:
        self._require_admin()
        limit = request.limit if 0 < request.limit <= 500 else 50
        return federation_pb2.ListContactDetailRequestsResponse(
            items=await self.details_log.recent(limit)
        )

    async def ListQuarantine(
        self, request: federation_pb2.ListQuarantineRequest, context: grpc.aio.ServicerContext
    ) -> federation_pb2.ListQuarantineResponse:
        self._require_admin()
        items, next_cursor = await self.quarantine.page(request.limit, request.cursor, request.peer)
        return federation_pb2.ListQuarantineResponse(items=items, next_cursor=next_cursor)


@dataclass
class FederationRuntime(lifecycle.Runtime):
    peer_server: RunningServer
    manager: PeerManager
    couriers: Couriers

    @property
    def peer_port(self) -> int:
        return self.peer_server.port

    def servers(self) -> tuple[RunningServer, ...]:
        return (self.server, self.peer_server)


async def migrate(settings: NodeSettings) -> str | None:
    return await lifecycle.migrate(settings.federation.database_url, PACKAGE_DIR, "federation")


async def start(
    settings: NodeSettings, *, port: int | None = None, peer_port: int | None = None
) -> FederationRuntime:
    identity = load_identity(settings)
    own = lifecycle.Resources()
    engine = await own.engine(settings.federation.database_url, PACKAGE_DIR, "federation")
    store = PeerStore(engine, settings.network)
    credential = InternalCredential(settings.data_dir)
    channel = own.channel(settings.directory.target, timeouts=FEED_TIMEOUTS, credential=credential)
    metrics = FederationMetrics()
    own.on_stop(metrics.stop)
    outbox = Outbox(engine)
    mailboxes = Mailboxes(settings, credential)
    own.on_stop(mailboxes.close)
    couriers = Couriers(settings.network, identity, outbox, mailboxes, metrics)
    details_log = DetailsLog(engine)
    # Replicas held per peer and feed, kept in memory for the metrics (replicas.py).
    replicas = ReplicaCounts()
    feeds = _feeds(settings, own, credential, channel, replicas)
    quarantine = QuarantineStore(engine)
    await quarantine.load_counts()
    manager = PeerManager(settings.network, identity, store, feeds, quarantine, couriers.sync)
    await manager.sync()
    _serve_gauges(metrics, settings.network, identity, manager, replicas, quarantine)
    servicer = FederationServicer(
        settings, identity, store, manager, outbox, couriers, details_log, quarantine
    )

    def register(server: grpc.aio.Server) -> None:
        federation_pb2_grpc.add_FederationServiceServicer_to_server(servicer, server)

    server = await create_server(
        register,
        [SERVICE_NAME],
        host=settings.federation.host,
        port=settings.federation.port if port is None else port,
        credential=credential,
    )
    peer_handler = PeerServer(
        settings.network,
        identity,
        lambda: manager.peers,
        directory_pb2_grpc.DirectoryServiceStub(channel),
        {feed.name: feed for feed in feeds},
        lambda: node_keys(settings, identity),
        Receiver(settings.network, identity, Inbox(engine), mailboxes),
        details_log,
        store.replayed,
        store.apply_announcements,
        NonceStore(engine),
    )
    peer_server = await _peer_port(settings, identity, manager, peer_handler, peer_port)
    # Started last, stopped first after the servers (before the channels they use).
    own.started(manager)
    own.started(couriers)
    own.started(replicas)
    own.started(KeyAnnouncer(settings.network, identity, store, lambda: manager.peers))
    return FederationRuntime(server, own, peer_server, manager, couriers)


def _feeds(
    settings: NodeSettings,
    own: lifecycle.Resources,
    credential: InternalCredential,
    directory_channel: grpc.aio.Channel,
    replicas: ReplicaCounts,
) -> list[Feed]:
    """The replica feeds this node's services serve, each counted for the metrics."""
    events_channel = own.channel(
        settings.events.target, timeouts=FEED_TIMEOUTS, credential=credential
    )
    return [
        replicas.track(
            FeedClient("directory", DIRECTORY_KINDS, settings.network, directory_channel)
        ),
        replicas.track(FeedClient("events", EVENT_KINDS, settings.network, events_channel)),
    ]


def _serve_gauges(
    metrics: FederationMetrics,
    network: str,
    identity: NodeIdentity,
    manager: PeerManager,
    replicas: ReplicaCounts,
    quarantine: QuarantineStore,
) -> None:
    """The federation's gauges read what the running parts hold (never a database)."""
    metrics.expiries = lambda: key_expiries(network, identity, manager.peers)
    primary = manager.feeds[0].name

    def lag(peer: str) -> float | None:
        link = manager.links.get(peer)
        return link.lag_seconds() if link is not None else None

    metrics.peer_gauges = PeerGauges(
        peers=lambda: list(manager.peers),
        lag=lag,
        records=lambda peer: replicas.records(peer, primary),
        quarantined=lambda: quarantine.counts,
    )


async def _peer_port(
    settings: NodeSettings,
    identity: NodeIdentity,
    manager: PeerManager,
    handler: PeerServer,
    port: int | None,
) -> RunningServer:
    """The peer port: mutual TLS with the peers' pinned certificates, re-read per handshake."""
    generic = handler.handler()

    def register(server: grpc.aio.Server) -> None:
        server.add_generic_rpc_handlers((generic,))

    return await create_server(
        register,
        [PEER_SERVICE],
        host=settings.federation.peer_host,
        port=settings.federation.peer_port if port is None else port,
        credentials=tls.server_credentials(
            identity, lambda: [c.pem for p in manager.peers.values() for c in p.pinned()]
        ),
    )


async def serve(settings: NodeSettings) -> None:
    await lifecycle.serve(start, settings)
