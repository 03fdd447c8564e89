"""The federation's metrics (ARCHITECTURE section 5): replication lag and replicas per
peer, outbox depth per peer, deliveries and delivery failures.

Gauges are read from snapshots the loops refresh, so a scrape never touches a database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from opentelemetry.metrics import CallbackOptions, Observation

from services.common import telemetry

LAG = "justnet.federation.replication.lag"
RECORDS = "justnet.federation.replication.records"
QUEUE_DEPTH = "justnet.federation.outbox.depth"
DELIVERIES = "justnet.federation.deliveries"
DELIVERY_FAILURES = "justnet.federation.delivery.failures"
PEER = "justnet.peer.network"
KIND = "justnet.message.kind"


class FederationMetrics:
    def __init__(self) -> None:
        meter = telemetry.current().meter("justnet.federation")
        self.lag: dict[str, float] = {}
        self.records: dict[str, int] = {}
        self.depth: dict[str, int] = {}
        meter.create_observable_gauge(
            LAG, [self._observe(self.lag)], unit="s", description="Replication lag per peer"
        )
        meter.create_observable_gauge(
            RECORDS,
            [self._observe(self.records)],
            unit="{record}",
            description="Replicas held per origin network",
        )
        meter.create_observable_gauge(
            QUEUE_DEPTH,
            [self._observe(self.depth)],
            unit="{message}",
            description="Messages waiting for delivery per peer",
        )
        self._deliveries = meter.create_counter(
            DELIVERIES, unit="{message}", description="Messages settled per peer and outcome"
        )
        self._failures = meter.create_counter(
            DELIVERY_FAILURES, unit="{attempt}", description="Failed delivery attempts per peer"
        )

    @staticmethod
    def _observe(
        values: Mapping[str, float],
    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(options: CallbackOptions) -> Iterable[Observation]:
            return [Observation(v, {PEER: k}) for k, v in list(values.items())]

        return callback

    def delivered(self, peer: str, kind: str, outcome: str) -> None:
        self._deliveries.add(1, {PEER: peer, KIND: kind, "justnet.message.state": outcome})

    def delivery_failed(self, peer: str, kind: str) -> None:
        self._failures.add(1, {PEER: peer, KIND: kind})
