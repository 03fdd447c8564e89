"""`justnet up --processes one`: the node's five services in the `justnet up` process
itself, each still its own gRPC service on its own port; the API, health, traces per
service and SIGTERM behave as with a process per service. (`justnet demo` runs `justnet
serve all` per node: tests/e2e/test_demo.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.common.settings import SERVICES
from tests.e2e.conftest import (
    ROLES,
    _stop,
    child_pids,
    free_port_block,
    launch,
    run_justnet,
    serve_processes,
)


def _stopped_services(log: Path) -> list[str]:
    stopped = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("logger") == "services.cli.host" and entry["message"].startswith("stopped"):
            stopped.append(entry["service"])
    return stopped


def test_one_process_serves_the_whole_node_and_stops_on_sigterm(tmp_path: Path) -> None:
    data_dir = tmp_path / "seajust"
    base_port = free_port_block()
    made = run_justnet(
        "init", "--network", "SEAJUST", "--sample-data", "--data-dir", data_dir,
        "--base-port", str(base_port), cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    node, reader = launch(tmp_path, data_dir / "justnet.toml", base_port, "one")
    try:
        # `justnet up` itself hosts the node: it starts no other process.
        assert child_pids(node.process.pid) == []
        for role in ROLES:
            made = node.justnet("token", "create", "--role", role)
            assert made.returncode == 0, made.stderr
            node.tokens[role] = made.stdout.strip()

        health = node.get("/api/v1/health")
        assert health.status_code == 200, health.text
        assert health.json()["services"] == {service: "SERVING" for service in SERVICES}
        # Each service still answers on its own port (gateway N, directory N+1, ...).
        described = node.justnet("node-info", "--json")
        assert described.returncode == 0, described.stderr

        found = node.get("/api/v1/lookup", "member", params={"jurisdiction": "TH"})
        assert found.status_code == 200, found.text
        assert found.json()["items"]

        # Route planning crosses services: gateway -> requests -> directory.
        route = {"requesting_jurisdiction": "TH", "requested_jurisdiction": "VN", "language": "en"}
        planned = node.request("POST", "/api/v1/routes", role="member", json=route)
        assert planned.status_code == 200, planned.text
        trace = node.get(f"/api/v1/admin/traces/{planned.headers['X-Trace-Id']}", "admin")
        assert trace.status_code == 200, trace.text
        spans = trace.json()["spans"]
        assert {"gateway", "requests", "directory"} <= {s["service"] for s in spans}
        # One process, one resource: every span names its service in an attribute too.
        assert all(s["attributes"]["justnet.service"] == s["service"] for s in spans)
        servers = {s["service"] for s in spans if s["kind"] == "SERVER"}
        assert {"gateway", "requests", "directory"} <= servers
        assert node.errors_in_log() == []
    except BaseException:
        _stop(node)
        raise
    problems = _stop(node)
    reader.join(timeout=5)
    assert not problems, "\n".join(problems) + node.log.read_text(errors="replace")[-3000:]
    assert serve_processes(node.config) == []
    assert _stopped_services(node.log) == list(reversed(SERVICES))
    assert node.errors_in_log() == []


@pytest.mark.parametrize("processes", ["none", ""])
def test_up_refuses_an_unknown_process_layout(tmp_path: Path, processes: str) -> None:
    done = run_justnet("up", "--processes", processes, "--config", tmp_path / "justnet.toml")
    assert done.returncode == 2
    assert "--processes" in done.stderr
