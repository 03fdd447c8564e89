"""The federation's own metrics (ARCHITECTURE section 5): outbox depth per peer,
deliveries and failed delivery attempts, records held in quarantine per peer, kind and
reason. Names are declared in services.common.semconv; replication lag and replicas per
peer are read by the gateway from ListPeers.

The gauges read snapshots (the couriers refresh the depths, the quarantine store its
counts), so a scrape never touches a database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from opentelemetry.metrics import CallbackOptions, Observation

from services.common import semconv, telemetry


class FederationMetrics:
    def __init__(self) -> None:
        meter = telemetry.current().meter(__name__)
        self.depth: dict[str, int] = {}
        # (peer, kind, reason) -> records in quarantine; the quarantine store's snapshot
        self.quarantined: Callable[[], dict[tuple[str, str, str], int]] = dict
        meter.create_observable_gauge(
            semconv.QUARANTINED.name,
            [self._observe_quarantined],
            unit=semconv.QUARANTINED.unit,
            description=semconv.QUARANTINED.description,
        )
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

    def _observe_quarantined(self, options: CallbackOptions) -> Iterable[Observation]:
        return [
            Observation(
                n,
                {semconv.PEER: peer, semconv.RECORD_KIND: kind, semconv.QUARANTINE_REASON: reason},
            )
            for (peer, kind, reason), n in list(self.quarantined().items())
        ]

    def delivered(self, peer: str, kind: str, outcome: str) -> None:
        attrs = {semconv.PEER: peer, semconv.MESSAGE_KIND: kind, semconv.MESSAGE_STATE: outcome}
        self._deliveries.add(1, attrs)

    def delivery_failed(self, peer: str, kind: str, error_type: str) -> None:
        attrs = {semconv.PEER: peer, semconv.MESSAGE_KIND: kind, "error.type": error_type}
        self._failures.add(1, attrs)
