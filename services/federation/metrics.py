"""The federation's own metrics (ARCHITECTURE section 5): outbox depth per peer,
deliveries and failed delivery attempts. Names are declared in services.common.semconv;
replication lag, replicas and quarantined records per peer are read by the gateway from
ListPeers.

The depth gauge reads a snapshot the couriers refresh, so a scrape never touches a
database.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.metrics import CallbackOptions, Observation

from services.common import semconv, telemetry


class FederationMetrics:
    def __init__(self) -> None:
        meter = telemetry.current().meter(__name__)
        self.depth: dict[str, int] = {}
        meter.create_observable_gauge(
            semconv.QUEUE_DEPTH.name,
            [self._observe_depth],
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

    def _observe_depth(self, options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(n, {semconv.PEER: peer}) for peer, n in list(self.depth.items())]

    def delivered(self, peer: str, kind: str, outcome: str) -> None:
        attrs = {semconv.PEER: peer, semconv.MESSAGE_KIND: kind, semconv.MESSAGE_STATE: outcome}
        self._deliveries.add(1, attrs)

    def delivery_failed(self, peer: str, kind: str, error_type: str) -> None:
        attrs = {semconv.PEER: peer, semconv.MESSAGE_KIND: kind, "error.type": error_type}
        self._failures.add(1, attrs)
