"""`justnet serve SERVICE`: one process in the foreground, as a container runs it;
`justnet serve all`: the whole node in one process (services/cli/host.py)."""

from __future__ import annotations

from opentelemetry.exporter.prometheus import PrometheusMetricReader

from services.common import telemetry
from services.common.internal import ENV, InternalCredential, token_path
from services.common.settings import SERVICES, NodeSettings, SettingsError

ALL = "all"


def prepare(service: str, settings: NodeSettings) -> None:
    """What every process of a node does first: check the internal credential, then set
    up its telemetry (`service` is `all` for a process hosting the five)."""
    # Without the node's internal credential the services would trust none of the node's
    # calls (services/common/internal.py): a process that has none does not start.
    if not InternalCredential(settings.data_dir).value():
        raise SettingsError(
            ENV,
            f"missing: set it or write {token_path(settings.data_dir)} (justnet init and "
            "justnet up make one); every process of the node must read the same one",
        )
    # Every process keeps its metrics for Prometheus text (the gateway's /metrics gathers
    # them over NodeTelemetry) and its recent spans for /api/v1/admin/traces: one process
    # hosting the whole node keeps as many as the five processes would together.
    hosted = len(SERVICES) if service == ALL else 1
    telemetry.setup(
        "node" if service == ALL else service,
        settings.network,
        metric_readers=[PrometheusMetricReader()],
        log_level=settings.telemetry.log_level,
        keep_spans=settings.telemetry.keep_spans * hosted,
        sample_ratio=settings.telemetry.sample_ratio,
    )


async def serve(service: str, settings: NodeSettings) -> None:
    prepare(service, settings)
    if service == ALL:
        from services.cli.host import serve_all

        await serve_all(settings)
    elif service == "gateway":
        from gateway import service as gateway

        await gateway.serve(settings)
    elif service == "directory":
        from services.directory import service as directory

        await directory.serve(settings)
    elif service == "requests":
        from services.requests import service as requests

        await requests.serve(settings)
    elif service == "events":
        from services.events import service as events

        await events.serve(settings)
    else:
        from services.federation import service as federation

        await federation.serve(settings)
