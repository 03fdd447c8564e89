"""The federation's own metrics (ARCHITECTURE section 5), names in services.common.semconv:

- per peer: outbox depth, replication lag, replicas held (the directory feed's) and
  quarantined records per kind and reason (gauges);
- how long each key and certificate (this node's and its peers') has before it expires;
- deliveries per outcome and failed delivery attempts (counters).

A scrape never touches a database: every gauge reads what the federation keeps in memory.
The outbox depth is a snapshot the couriers refresh (at their next pass, once a second, after
a message is queued, settled or given up on, and every `DEPTH_SECONDS` regardless); lag is
the subscriptions' live state; replicas held come from `ReplicaCounts` (replicas.py),
recounted after each change; quarantined records from the counts `QuarantineStore` updates
with every change to the quarantine.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from opentelemetry.metrics import CallbackOptions, Observation

from services.common import semconv, telemetry
from services.common.timeutil import utcnow

# (kind, owner network) -> when it expires; read from memory at each collection.
Expiries = Callable[[], dict[tuple[str, str], datetime]]


@dataclass(frozen=True)
class PeerGauges:
    """Where the per-peer gauges read from (all in memory)."""

    peers: Callable[[], Iterable[str]]  # the current peers
    lag: Callable[[str], float | None]  # seconds behind a peer (None: not known)
    records: Callable[[str], int | None]  # replicas held from a peer (None: not known)
    quarantined: Callable[[], dict[tuple[str, str, str], int]]  # (peer, kind, reason) -> n


# A meter keeps the first callback registered under a name, so the gauges are registered
# once and read every running instance (one in a node; several when tests start nodes in
# one process).
_live: weakref.WeakSet[FederationMetrics] = weakref.WeakSet()
_gauges_registered = False


class FederationMetrics:
    def __init__(self) -> None:
        meter = telemetry.current().meter(__name__)
        self.depth: dict[str, int] = {}
        # A message was queued or settled: the couriers recount at their next pass.
        self.depth_stale = False
        self.expiries: Expiries = dict
        self.peer_gauges: PeerGauges | None = None
        _live.add(self)
        _register_gauges()
        self._deliveries = meter.create_counter(
            semconv.DELIVERIES.name,
            unit=semconv.DELIVERIES.unit,
            description=semconv.DELIVERIES.description,
        )
        self._failures = meter.create_counter(
            semconv.DELIVERY_FAILURES.name,
            unit=semconv.DELIVERY_FAILURES.unit,
            description=semconv.DELIVERY_FAILURES.description,
        )

    async def stop(self) -> None:
        """A stopped service reports nothing more."""
        _live.discard(self)

    def delivered(self, peer: str, kind: str, outcome: str) -> None:
        self.depth_stale = True
        attrs = {semconv.PEER: peer, semconv.MESSAGE_KIND: kind, semconv.MESSAGE_STATE: outcome}
        self._deliveries.add(1, attrs)

    def delivery_failed(self, peer: str, kind: str, error_type: str) -> None:
        attrs = {semconv.PEER: peer, semconv.MESSAGE_KIND: kind, "error.type": error_type}
        self._failures.add(1, attrs)

    # ------------------------------------------------------------ gauge readings

    def _depth(self) -> Iterator[Observation]:
        for peer, n in list(self.depth.items()):
            yield Observation(n, {semconv.PEER: peer})

    def _expiry(self) -> Iterator[Observation]:
        now = utcnow()
        for (kind, owner), at in self.expiries().items():
            yield Observation(
                round((at - now).total_seconds()),
                {semconv.KEY_KIND: kind, semconv.KEY_OWNER: owner},
            )

    def _lag(self) -> Iterator[Observation]:
        if self.peer_gauges is not None:
            for peer in list(self.peer_gauges.peers()):
                lag = self.peer_gauges.lag(peer)
                if lag is not None:
                    yield Observation(lag, {semconv.PEER: peer})

    def _records(self) -> Iterator[Observation]:
        if self.peer_gauges is not None:
            for peer in list(self.peer_gauges.peers()):
                n = self.peer_gauges.records(peer)
                if n is not None:
                    yield Observation(n, {semconv.PEER: peer})

    def _quarantined(self) -> Iterator[Observation]:
        if self.peer_gauges is not None:
            peers = set(self.peer_gauges.peers())
            for (peer, kind, reason), n in list(self.peer_gauges.quarantined().items()):
                if peer in peers:
                    yield Observation(
                        n,
                        {
                            semconv.PEER: peer,
                            semconv.RECORD_KIND: kind,
                            semconv.QUARANTINE_REASON: reason,
                        },
                    )


def _observer(
    read: Callable[[FederationMetrics], Iterator[Observation]],
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def observe(options: CallbackOptions) -> Iterable[Observation]:
        return [o for metrics in list(_live) for o in read(metrics)]

    return observe


def _register_gauges() -> None:
    global _gauges_registered
    if _gauges_registered:
        return
    _gauges_registered = True
    meter = telemetry.current().meter(__name__)
    for metric, read in (
        (semconv.KEY_EXPIRY, FederationMetrics._expiry),
        (semconv.QUEUE_DEPTH, FederationMetrics._depth),
        (semconv.REPLICATION_LAG, FederationMetrics._lag),
        (semconv.PEER_RECORDS, FederationMetrics._records),
        (semconv.QUARANTINED, FederationMetrics._quarantined),
    ):
        meter.create_observable_gauge(
            metric.name, [_observer(read)], unit=metric.unit, description=metric.description
        )
