"""Linux network namespaces for the network-fault tests: one per node, two veth links each.

Node i gets namespace `jnf-<pid>-<tag>-<network>` with loopback up and two veth pairs to the
root namespace, each its own /24 in a 10.X.0.0/16 block that no interface or route of
this machine uses (the block itself answers "unreachable" from the root namespace, so
nothing meant for a node leaves the machine while its link is down):

- `wan` (10.X.(i+1).2, host side .1): the only way to other nodes. A namespace has routes
  to its own two /24s only, none to another node, so peer traffic goes through the relay,
  which listens on the host side; the link can be set down (a partition) and rate limited
  with `tc qdisc tbf`;
- `mgmt` (10.X.(i+101).2, host side .1): the test's own HTTP calls to the node's gateway,
  never faulted (a node's own users still reach it while its wide-area link is down).

The veth pairs, their addresses and qdiscs go when the namespaces are deleted; `destroy`
deletes those and the block's route. Namespaces (and routes) of earlier runs whose process
is gone are deleted before a new topology is made.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

IP_TIMEOUT = 20.0
# Marks this module's `unreachable 10.X.0.0/16` routes (see Topology.create).
ROUTE_PROTO = "213"
NAME = re.compile(r"^jnf-(\d+)-[0-9a-f]{4}-[A-Z0-9]+$")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Runs `ip ARGS` (bounded); raises with its message when it fails and `check`."""
    done = subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done


def tc(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["tc", *args], capture_output=True, text=True, timeout=IP_TIMEOUT, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"tc {' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done


def unavailable() -> str | None:
    """Why network namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add); CI runs as root"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (Debian: apt-get install iproute2)"
    probe = f"jnf-{os.getpid()}-{secrets.token_hex(2)}-PROBE"
    made = ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` fails here: {made.stderr.strip()}"
    try:
        veth = ip(
            "-n", probe, "link", "add", "a0", "type", "veth", "peer", "name", "a1", check=False
        )
        if veth.returncode != 0:
            return f"veth links cannot be made here: {veth.stderr.strip()}"
    finally:
        ip("netns", "del", probe, check=False)
    return None


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def delete_stale() -> list[str]:
    """Deletes namespaces of earlier runs whose creating process is gone; returns them."""
    listed = ip("netns", "list", check=False).stdout.split("\n")
    gone = []
    for line in listed:
        name = line.split(" ", 1)[0].strip()
        match = NAME.match(name)
        if match and not _alive(int(match.group(1))):
            for pid in ip("netns", "pids", name, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
            ip("netns", "del", name, check=False)
            gone.append(name)
    # A safety route whose block no interface uses any more (its run died) goes too.
    addresses = ip("-4", "-o", "addr", "show", check=False).stdout
    routes = ip("-4", "route", "show", "proto", ROUTE_PROTO, check=False).stdout
    for line in routes.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "unreachable":
            block = parts[1].split("/", 1)[0].rsplit(".", 2)[0]  # "10.X"
            if f" {block}." not in addresses:
                ip("route", "del", "unreachable", parts[1], check=False)
                gone.append(parts[1])
    return gone


def _free_block(attempts: int = 100) -> int:
    """X such that nothing on this machine uses 10.X.0.0/16."""
    used = (
        ip("-4", "-o", "addr", "show", check=False).stdout
        + ip("-4", "route", "show", "table", "all", check=False).stdout
    )
    for _ in range(attempts):
        x = 64 + secrets.randbelow(128)
        if f"10.{x}." not in used:
            return x
    raise RuntimeError("found no unused 10.X.0.0/16 block for the test namespaces")


@dataclass
class NodeNet:
    network: str
    namespace: str
    wan_host_if: str  # the wan link's root-namespace end
    wan_address: str  # the node's own address (peer port)
    wan_host_address: str  # the root namespace's end: relays listen here
    mgmt_address: str  # the gateway
    mgmt_host_if: str

    def link_down(self) -> None:
        """Both ends of the wan link down: the node is cut off from its peers."""
        ip("-n", self.namespace, "link", "set", "wan", "down")
        ip("link", "set", self.wan_host_if, "down")

    def link_up(self) -> None:
        ip("link", "set", self.wan_host_if, "up")
        ip("-n", self.namespace, "link", "set", "wan", "up")

    def throttle(self, rate: str, burst: str = "32kb", latency: str = "400ms") -> None:
        """A token bucket on both ends of the wan link: `rate` each way."""
        spec = ["root", "tbf", "rate", rate, "burst", burst, "latency", latency]
        tc("qdisc", "replace", "dev", self.wan_host_if, *spec)
        tc("-n", self.namespace, "qdisc", "replace", "dev", "wan", *spec)

    def qdisc_stats(self) -> str:
        """`tc -s qdisc` of both ends of the wan link (sent bytes, drops, overlimits)."""
        outside = tc("-s", "qdisc", "show", "dev", self.wan_host_if, check=False).stdout
        inside = tc("-n", self.namespace, "-s", "qdisc", "show", "dev", "wan", check=False).stdout
        return f"root end: {outside.strip()}\nnode end: {inside.strip()}"


class Topology:
    """The namespaces and links of one test run (see the module docstring)."""

    def __init__(self, networks: list[str]) -> None:
        self.tag = secrets.token_hex(2)
        self.block = 0
        self.nodes: list[NodeNet] = []
        self.networks = networks

    def create(self) -> None:
        delete_stale()
        self.block = _free_block()
        for i, network in enumerate(self.networks):
            ns = f"jnf-{os.getpid()}-{self.tag}-{network}"
            ip("netns", "add", ns)
            node = NodeNet(
                network=network,
                namespace=ns,
                wan_host_if=f"jf{self.tag}w{i}",
                wan_address=f"10.{self.block}.{i + 1}.2",
                wan_host_address=f"10.{self.block}.{i + 1}.1",
                mgmt_address=f"10.{self.block}.{i + 101}.2",
                mgmt_host_if=f"jf{self.tag}m{i}",
            )
            self.nodes.append(node)
            ip("-n", ns, "link", "set", "lo", "up")
            for host_if, inner, address, host_address in (
                (node.wan_host_if, "wan", node.wan_address, node.wan_host_address),
                (node.mgmt_host_if, "mgmt", node.mgmt_address, f"10.{self.block}.{i + 101}.1"),
            ):
                ip("link", "add", host_if, "type", "veth", "peer", "name", inner, "netns", ns)
                ip("addr", "add", f"{host_address}/24", "dev", host_if)
                ip("link", "set", host_if, "up")
                ip("-n", ns, "addr", "add", f"{address}/24", "dev", inner)
                ip("-n", ns, "link", "set", inner, "up")
        # While a host end is down its /24 route is gone, and the machine's default route
        # would carry the relay's connections elsewhere: the block answers "unreachable"
        # instead, as a router would.
        ip("route", "add", "unreachable", f"10.{self.block}.0.0/16", "proto", ROUTE_PROTO)

    def destroy(self) -> list[str]:
        """Kills what still runs in the namespaces and deletes them; returns what failed."""
        problems = []
        if self.block:
            ip("route", "del", "unreachable", f"10.{self.block}.0.0/16", check=False)
        for node in self.nodes:
            for pid in ip("netns", "pids", node.namespace, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
                    problems.append(f"process {pid} was still running in {node.namespace}")
            done = ip("netns", "del", node.namespace, check=False)
            if done.returncode != 0:
                problems.append(f"ip netns del {node.namespace}: {done.stderr.strip()}")
            # The veth pairs go with the namespace; a host end left behind is deleted.
            if Path(f"/sys/class/net/{node.wan_host_if}").exists():
                ip("link", "del", node.wan_host_if, check=False)
            if Path(f"/sys/class/net/{node.mgmt_host_if}").exists():
                ip("link", "del", node.mgmt_host_if, check=False)
        return problems
