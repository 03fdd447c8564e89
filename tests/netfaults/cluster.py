"""Three real nodes, each in its own network namespace, peered through the delaying relay.

Each node is made and run the way an operator does it: `justnet init --sample-data`,
`justnet token create`, `justnet node-info --json` and `justnet peer add --descriptor`,
then `ip netns exec <namespace> justnet up`, so its five processes run inside its
namespace (each namespace has its own ports, so every node keeps the default ones). The
configuration is changed in two places only: the gateway listens on the node's management
address and the peer port on its wan address (netns.py). Each node reaches a peer at the
relay's route for that ordered pair (the descriptor's `peer_endpoint` is rewritten), which
listens on the root namespace's end of the node's own wan link and forwards to the peer's
wan address.

`Cluster.stop` is safe to call at any point of `start` and after a failure: SIGTERM to
each `justnet up` (it stops its processes), SIGKILL to the process group after a bound,
then the relay and the namespaces go.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests
import tomli_w

from tests.e2e.conftest import clean_env, justnet_executable
from tests.netfaults.netns import NodeNet, Topology
from tests.netfaults.relay import DelayingRelay

START_TIMEOUT = 120.0  # three nodes' fifteen processes starting together on two cores
STOP_TIMEOUT = 30.0
COMMAND_TIMEOUT = 60.0
HTTP_TIMEOUT = 30.0
ROLES = ("admin", "editor", "member")


def justnet(*args: str | Path, timeout: float = COMMAND_TIMEOUT) -> str:
    """Runs a `justnet` command to completion (bounded); its stdout, or it raises."""
    done = subprocess.run(
        [justnet_executable(), *map(str, args)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"justnet {' '.join(map(str, args))}: {done.stderr[-2000:]}")
    return done.stdout


@dataclass
class Node:
    network: str
    net: NodeNet
    config: Path
    log: Path
    peer_port: int = 0
    url: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_file: IO[bytes] | None = None

    def call(
        self, method: str, path: str, role: str | None = "editor", **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        return requests.request(
            method, self.url + path, headers=headers, timeout=HTTP_TIMEOUT, **kwargs
        )

    def get_json(self, path: str, role: str | None = "editor", **params: Any) -> Any:
        resp = self.call("GET", path, role, params=params)
        if resp.status_code != 200:
            raise AssertionError(f"{self.network} GET {path}: {resp.status_code} {resp.text}")
        return resp.json()

    def items(self, path: str, role: str = "editor", **params: Any) -> list[dict[str, Any]]:
        """Every item of a list, following `next_cursor` (bounded)."""
        out: list[dict[str, Any]] = []
        cursor = None
        for _ in range(100):
            more: dict[str, str] = {"cursor": cursor} if cursor else {}
            page = self.get_json(path, role, limit=500, **params, **more)
            out += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return out
        raise AssertionError(f"{self.network} {path}: more than 100 pages")

    def peer_states(self) -> dict[str, dict[str, Any]]:
        return {p["network"]: p for p in self.items("/api/v1/federation/peers", role="admin")}

    def log_tail(self, size: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-size:]
        return ""


class Cluster:
    def __init__(
        self, root: Path, networks: list[str], seed: int, throttle: dict[str, str]
    ) -> None:
        self.root = root
        self.topology = Topology(networks)
        self.relay: DelayingRelay | None = None
        self.seed = seed
        self.throttle = throttle  # network -> tbf rate of its wan link, from the start
        self.nodes: list[Node] = []

    def node(self, network: str) -> Node:
        return next(n for n in self.nodes if n.network == network)

    def start(self) -> None:
        self.topology.create()
        for net in self.topology.nodes:
            if net.network in self.throttle:
                net.throttle(self.throttle[net.network])
        self.relay = DelayingRelay(self.seed)
        for net in self.topology.nodes:
            self.nodes.append(self._init(net))
        self._peer_all()
        for node in self.nodes:
            self._up(node)
        self._wait_healthy()

    def _init(self, net: NodeNet) -> Node:
        data_dir = self.root / net.network.lower()
        justnet("init", "--network", net.network, "--sample-data", "--data-dir", data_dir)
        config = data_dir / "justnet.toml"
        doc = tomllib.loads(config.read_text(encoding="utf-8"))
        doc["gateway"]["host"] = net.mgmt_address
        doc["federation"]["peer_host"] = net.wan_address
        config.write_text(tomli_w.dumps(doc), encoding="utf-8")
        node = Node(net.network, net, config, self.root / f"{net.network.lower()}.log")
        node.url = f"http://{net.mgmt_address}:{doc['gateway']['port']}"
        node.peer_port = int(doc["federation"]["peer_port"])
        for role in ROLES:
            out = justnet(
                "token", "create", "--role", role, "--name", f"netfaults-{role}", "--config", config
            )
            node.tokens[role] = out.strip()
        return node

    def _peer_all(self) -> None:
        assert self.relay is not None
        for dst in self.nodes:
            descriptor = json.loads(justnet("node-info", "--json", "--config", dst.config))
            for src in self.nodes:
                if src is dst:
                    continue
                port = self.relay.add_route(
                    src.net.wan_host_address, dst.net.wan_address, dst.peer_port
                )
                descriptor["peer_endpoint"] = f"{src.net.wan_host_address}:{port}"
                path = self.root / f"{dst.network}-for-{src.network}.json"
                path.write_text(json.dumps(descriptor), encoding="utf-8")
                justnet("peer", "add", "--descriptor", path, "--config", src.config)

    def _up(self, node: Node) -> None:
        node.log_file = node.log.open("wb")
        node.process = subprocess.Popen(
            [
                *("ip", "netns", "exec", node.net.namespace),
                *(justnet_executable(), "up", "--config", str(node.config)),
            ],
            env=clean_env(),
            stdout=node.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, with the five it starts
        )

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        waiting = list(self.nodes)
        while waiting and time.monotonic() < deadline:
            for node in list(waiting):
                assert node.process is not None
                if node.process.poll() is not None:
                    raise AssertionError(
                        f"`justnet up` of {node.network} exited with status "
                        f"{node.process.returncode}:\n{node.log_tail()}"
                    )
                with contextlib.suppress(requests.RequestException):
                    if requests.get(node.url + "/api/v1/health", timeout=5).status_code == 200:
                        waiting.remove(node)
            time.sleep(0.5)
        if waiting:
            raise AssertionError(
                f"not healthy within {START_TIMEOUT:.0f} s: "
                + ", ".join(f"{n.network}\n{n.log_tail()}" for n in waiting)
            )

    def stop(self) -> list[str]:
        """Stops everything this cluster started; returns what did not stop cleanly."""
        problems: list[str] = []
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.send_signal(signal.SIGTERM)
        for node in self.nodes:
            process = node.process
            if process is None:
                continue
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                problems.append(
                    f"{node.network}: `justnet up` ignored SIGTERM for {STOP_TIMEOUT:.0f} s"
                )
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # it and the processes it started
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
            if process.returncode not in (0, None):
                problems.append(f"{node.network}: `justnet up` exited with {process.returncode}")
            if node.log_file is not None:
                node.log_file.close()
        if self.relay is not None:
            self.relay.stop()
        problems += self.topology.destroy()
        return problems
