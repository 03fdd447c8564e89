"""The federation's own metrics (ARCHITECTURE section 5): outbox depth per peer,
deliveries and failed delivery attempts, and how long each key and certificate (this
node's and its peers') has before it expires. Names are declared in services.common.semconv;
replication lag, replicas and quarantined records per peer are read by the gateway from
ListPeers.

The depth gauge reads a snapshot the couriers refresh, so a scrape never touches a
database.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from datetime import datetime

from opentelemetry.metrics import CallbackOptions, Observation

from services.common import semconv, telemetry
from services.common.timeutil import utcnow

# (kind, owner network) -> when it expires; read from memory at each collection.
Expiries = Callable[[], dict[tuple[str, str], datetime]]


# A meter keeps the first callback registered under a name, so the gauges read every
# running instance (one in a node; several when tests start nodes in one process).
_live: weakref.WeakSet[FederationMetrics] = weakref.WeakSet()


def _observe_depth(options: CallbackOptions) -> Iterable[Observation]:
    return [
        Observation(n, {semconv.PEER: peer})
        for metrics in list(_live)
        for peer, n in list(metrics.depth.items())
    ]


def _observe_expiry(options: CallbackOptions) -> Iterable[Observation]:
    now = utcnow()
    return [
        Observation(
            round((at - now).total_seconds()), {semconv.KEY_KIND: kind, semconv.KEY_OWNER: owner}
        )
        for metrics in list(_live)
        for (kind, owner), at in metrics.expiries().items()
    ]


class FederationMetrics:
    def __init__(self) -> None:
        meter = telemetry.current().meter(__name__)
        self.depth: dict[str, int] = {}
        self.expiries: Expiries = dict
        _live.add(self)
        meter.create_observable_gauge(
            semconv.KEY_EXPIRY.name,
            [_observe_expiry],
            unit=semconv.KEY_EXPIRY.unit,
            description=semconv.KEY_EXPIRY.description,
        )
        meter.create_observable_gauge(
            semconv.QUEUE_DEPTH.name,
            [_observe_depth],
            unit=semconv.QUEUE_DEPTH.unit,
            description=semconv.QUEUE_DEPTH.description,
        )
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

    def stop(self) -> None:
        """A stopped service reports nothing more."""
        _live.discard(self)

    def delivered(self, peer: str, kind: str, outcome: str) -> None:
        attrs = {semconv.PEER: peer, semconv.MESSAGE_KIND: kind, semconv.MESSAGE_STATE: outcome}
        self._deliveries.add(1, attrs)

    def delivery_failed(self, peer: str, kind: str, error_type: str) -> None:
        attrs = {semconv.PEER: peer, semconv.MESSAGE_KIND: kind, "error.type": error_type}
        self._failures.add(1, attrs)
