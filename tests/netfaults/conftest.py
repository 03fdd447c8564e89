"""Fixtures of the network-fault tests: three nodes in their own network namespaces.

They need root and `ip netns` (iproute2). Elsewhere they skip and say why; with CI=true
(CI runs as root) that is a failure instead, so CI cannot pass without running them.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.netfaults import netns
from tests.netfaults.cluster import Cluster

NETWORKS = ["SEAJUST", "EJN", "WACAP"]
THROTTLE = {"EJN": "1mbit"}  # a slow wide-area link, from the start
# The relay's delays and cuts come from this seed (NETFAULTS_SEED overrides it).
SEED = int(os.environ.get("NETFAULTS_SEED", "1307"))


def require_namespaces() -> None:
    reason = netns.unavailable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the network-fault tests, but: {reason}")
    pytest.skip(reason)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_namespaces()
    root: Path = tmp_path_factory.mktemp("netfaults")
    made = Cluster(root, NETWORKS, SEED, THROTTLE)
    # A timeout's SIGTERM interrupts the test like Ctrl-C, so this teardown still runs
    # (namespaces of a run killed outright are deleted by the next run).
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        try:
            made.start()
        except BaseException:
            made.stop()
            raise
        yield made
        problems = made.stop()
        assert not problems, "\n".join(problems)
    finally:
        signal.signal(signal.SIGTERM, previous)
