"""JustNet's telemetry registry: every project attribute and metric, in one place.

Spans and metrics use the OpenTelemetry semantic conventions (`rpc.*`, `http.*`,
`db.*`, `server.*`, `error.type`) wherever one fits; what is JustNet's own lives under
`justnet.` and is declared here before code uses it (a test checks that code names no
other `justnet.` attribute). Never put personal data in an attribute or in baggage.
"""

from __future__ import annotations

from dataclasses import dataclass

# ------------------------------------------------------------------ resource attributes

NETWORK = "justnet.network"
"""The node's network code (SEAJUST, EJN, ...); a resource attribute of every process."""

# ------------------------------------------------------------------ span and metric attributes

SERVICE = "justnet.service"
"""Which service of the node recorded it: gateway, directory, requests, events, federation
(a metric label on the gateway's merged /metrics, per process; on every span, since one
process may host all five and share one resource `service.name`, justnet-node)."""

PEER = "justnet.peer"
"""The network code of a peer node a call, a queue or a replication stream concerns."""

ORIGIN = "justnet.origin"
"""The network code of the node that owns a record (ARCHITECTURE section 2)."""

RECORD_KIND = "justnet.record.kind"
"""authority, contact_point, routing_profile, event, request."""

MESSAGE_KIND = "justnet.message.kind"
"""A federation message kind, `<service>.<what>` (exchange.proto)."""

MESSAGE_STATE = "justnet.message.state"
"""Outcome of a message delivery: delivered, refused, failed (exchange.proto Delivery)."""

MESSAGE_ATTEMPT = "justnet.message.attempt"
"""Which delivery attempt of one message a span is (1 for the first)."""

QUARANTINE_REASON = "justnet.quarantine.reason"
"""Why a peer's record was not applied: jurisdiction_not_accepted, last_verified_in_future,
refused, unreadable (services/federation/quarantine.py)."""

KEY_KIND = "justnet.key.kind"
"""Which of a node's credentials: signing_key (Ed25519) or certificate (peer-port TLS)."""

KEY_OWNER = "justnet.key.owner"
"""The network code of the node whose key or certificate it is (this node or a peer)."""

ATTRIBUTES = (
    NETWORK,
    SERVICE,
    PEER,
    ORIGIN,
    RECORD_KIND,
    MESSAGE_KIND,
    MESSAGE_STATE,
    MESSAGE_ATTEMPT,
    QUARANTINE_REASON,
    KEY_KIND,
    KEY_OWNER,
)

# ------------------------------------------------------------------ metrics


@dataclass(frozen=True)
class Metric:
    name: str
    instrument: str  # counter, histogram, gauge, updowncounter
    unit: str
    description: str
    attributes: tuple[str, ...]
    recorded_by: str


RPC_SERVER_DURATION = Metric(
    "rpc.server.duration",
    "histogram",
    "ms",
    "Duration of inbound gRPC calls (semantic conventions)",
    ("rpc.system", "rpc.service", "rpc.method", "rpc.grpc.status_code"),
    "services.common.server (every service)",
)
RPC_CLIENT_DURATION = Metric(
    "rpc.client.duration",
    "histogram",
    "ms",
    "Duration of outbound gRPC calls (semantic conventions)",
    ("rpc.system", "rpc.service", "rpc.method", "rpc.grpc.status_code"),
    "services.common.clients (every process)",
)
HTTP_SERVER_DURATION = Metric(
    "http.server.request.duration",
    "histogram",
    "s",
    "Duration of gateway HTTP requests per route (stable semantic conventions)",
    ("http.request.method", "http.route", "http.response.status_code"),
    "gateway/http_telemetry.py (gateway)",
)
REPLICATION_LAG = Metric(
    "justnet.federation.replication.lag",
    "gauge",
    "s",
    "Seconds since the last change received from a peer's feed (or heartbeat)",
    (PEER,),
    "federation (in memory: the subscriptions' live state)",
)
PEER_RECORDS = Metric(
    "justnet.federation.peer.records",
    "gauge",
    "{record}",
    "Replicated records held from each peer",
    (PEER,),
    "federation (in memory: services/federation/replicas.py, recounted after each change)",
)
QUEUE_DEPTH = Metric(
    "justnet.federation.queue.depth",
    "gauge",
    "{message}",
    "Messages waiting in the outbound delivery queue of each peer",
    (PEER,),
    "federation (outbound delivery queues)",
)
DELIVERY_FAILURES = Metric(
    "justnet.federation.delivery.failures",
    "counter",
    "{delivery}",
    "Delivery attempts to a peer that failed (each retry counts)",
    (PEER, MESSAGE_KIND, "error.type"),
    "federation (outbound delivery queues)",
)
DELIVERIES = Metric(
    "justnet.federation.deliveries",
    "counter",
    "{message}",
    "Messages to peers settled, per peer, kind and outcome",
    (PEER, MESSAGE_KIND, MESSAGE_STATE),
    "federation (outbound delivery queues)",
)
QUARANTINED = Metric(
    "justnet.federation.quarantined.records",
    "gauge",
    "{record}",
    "Records peers sent that this node holds in quarantine instead of applying them",
    (PEER, RECORD_KIND, QUARANTINE_REASON),
    "federation (in memory: the quarantine counts, updated with every change)",
)
KEY_EXPIRY = Metric(
    "justnet.federation.key.expiry",
    "gauge",
    "s",
    "Seconds until a signing key or TLS certificate expires (this node's and each peer's); "
    "alert below 30 days and run `justnet keys rotate`",
    (KEY_KIND, KEY_OWNER),
    "federation (from its keys folder and peers table, in memory)",
)
RECORDS = Metric(
    "justnet.directory.records",
    "gauge",
    "{record}",
    "Authorities and contact points held, per origin network (local and replicated)",
    (ORIGIN,),
    "directory",
)

METRICS = (
    RPC_SERVER_DURATION,
    RPC_CLIENT_DURATION,
    HTTP_SERVER_DURATION,
    REPLICATION_LAG,
    PEER_RECORDS,
    QUEUE_DEPTH,
    DELIVERY_FAILURES,
    DELIVERIES,
    QUARANTINED,
    KEY_EXPIRY,
    RECORDS,
)


def prometheus_name(metric: Metric) -> str:
    """The name the Prometheus exporter gives it (dots to underscores, unit and _total
    suffixes as the OpenTelemetry Prometheus compatibility spec says)."""
    base = metric.name.replace(".", "_")
    units = {"ms": "_milliseconds", "s": "_seconds"}
    base += units.get(metric.unit, "")
    return base + ("_total" if metric.instrument == "counter" else "")
