"""A JustNet node on Docker as Kubernetes would run it, for tests/image.

`Manifests` renders an overlay (`kubectl kustomize`) and turns each JustNet workload into
`docker run` options: its arguments, its environment (the ConfigMap, the Secrets, the
downward API), its user and groups, read-only root, dropped capabilities, no privilege
escalation, memory limit, grace period and volumes (emptyDir as tmpfs, the keys Secret as a
read-only folder). Containers join a user network under their Service's name, so the
ConfigMap's addresses (`directory:50051`, ...) resolve as in a cluster; each has a fixed
address, as a Service has.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[2]
HTTP_TIMEOUT = 10.0
# the last octet of each process's address on the test network (dynamic ones get .128-.254)
ADDRESSES = {"directory": 10, "requests": 11, "events": 12, "federation": 13, "gateway": 14}


def docker(
    *args: str, timeout: float = 120, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, input=stdin
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"`docker {shlex.join(args)[:300]}` exited {done.returncode}:\n{done.stderr[-3000:]}"
        )
    return done


def wait_for(check: Callable[[], Any], what: str, within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except requests.RequestException as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.25)
    raise AssertionError(f"timed out after {within:.0f} s waiting for {what}; last: {last!r}")


# ------------------------------------------------------------------ the network


@dataclass(frozen=True)
class Network:
    """A user-defined bridge network of one test run; containers and the network carry the
    label justnet.test=<name>."""

    name: str
    subnet: ipaddress.IPv4Network

    @property
    def gateway(self) -> str:
        """The host's address on the network: the containers reach the host here."""
        return str(self.subnet.network_address + 1)

    def address(self, process: str) -> str:
        return str(self.subnet.network_address + ADDRESSES[process])

    def containers(self) -> list[str]:
        found = docker("ps", "-aq", "--filter", f"label=justnet.test={self.name}").stdout
        return found.split()


def _host_routes() -> list[ipaddress.IPv4Network]:
    out = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    return [
        ipaddress.IPv4Network(m, strict=False)
        for m in re.findall(r"\b\d+\.\d+\.\d+\.\d+/\d+\b", out)
    ]


def create_network(name: str) -> Network:
    """A /24 in 10.200-250.x.0 that no host route and no other Docker network uses, with a
    fixed part (.2-.127) for the processes and a dynamic part for one-off containers."""
    # what an interrupted run left behind (stopped containers, unused networks, an hour old)
    for kind in ("container", "network"):
        docker(kind, "prune", "--force", "--filter", "label=justnet.test",
               "--filter", "until=1h", check=False)  # fmt: skip
    rng = random.Random()
    error = ""
    for _ in range(20):
        subnet = ipaddress.IPv4Network(f"10.{rng.randint(200, 250)}.{rng.randint(0, 255)}.0/24")
        if any(subnet.overlaps(route) for route in _host_routes()):
            continue
        done = docker(
            "network", "create", "--driver", "bridge",
            "--subnet", str(subnet),
            "--ip-range", f"{subnet.network_address + 128}/25",
            "--gateway", str(subnet.network_address + 1),
            "--label", f"justnet.test={name}",
            name,
            check=False,
        )  # fmt: skip
        if done.returncode == 0:
            return Network(name, subnet)
        error = done.stderr
    raise AssertionError(f"could not create a Docker network: {error}")


def remove_network(network: Network) -> None:
    ids = network.containers()
    if ids:
        docker("rm", "-f", *ids, check=False, timeout=60)
    docker("network", "rm", network.name, check=False)


# ------------------------------------------------------------------ the manifests


def kubectl() -> str | None:
    return shutil.which("kubectl") or shutil.which("kubectl", path=str(Path(sys.executable).parent))


def _memory(quantity: str) -> str:
    """A Kubernetes memory quantity (512Mi, 1Gi) as docker's --memory value."""
    units = {"Ki": "k", "Mi": "m", "Gi": "g"}
    number, unit = re.fullmatch(r"(\d+)([KMG]i)", quantity).groups()  # type: ignore[union-attr]
    return number + units[unit]


@dataclass
class Manifests:
    """The JustNet workloads of a rendered overlay, and the Secrets the operator would make."""

    overlay: str
    secrets: dict[str, dict[str, str]]
    secret_folders: dict[str, Path]  # secret volumes: the folder holding the Secret's files
    docs: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        found = kubectl()
        assert found is not None
        out = subprocess.run(
            [found, "kustomize", str(ROOT / "deploy" / "k8s" / "overlays" / self.overlay)],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
        self.docs = [d for d in yaml.safe_load_all(out) if d]

    @property
    def namespace(self) -> str:
        namespace: str = self.docs[0]["metadata"]["namespace"]
        return namespace

    def workload(self, kind: str, name: str) -> dict[str, Any]:
        [found] = [d for d in self.docs if d["kind"] == kind and d["metadata"]["name"] == name]
        return found

    def config_maps(self) -> dict[str, dict[str, str]]:
        return {
            d["metadata"]["name"]: d.get("data", {}) for d in self.docs if d["kind"] == "ConfigMap"
        }

    def run_options(
        self,
        kind: str,
        name: str,
        container_name: str,
        overrides: Mapping[str, str | None] = {},
    ) -> tuple[list[str], list[str]]:
        """`docker run` options for the workload's container, and its arguments. An
        override of None removes the variable."""
        pod = self.workload(kind, name)["spec"]["template"]
        spec = pod["spec"]
        [container] = spec["containers"]
        env = self._environment(container, pod["metadata"]["labels"], container_name)
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        pod_security = spec.get("securityContext", {})
        security = container.get("securityContext", {})
        user = security.get("runAsUser", pod_security.get("runAsUser"))
        group = security.get("runAsGroup", pod_security.get("runAsGroup"))
        options = ["--user", f"{user}:{group}"]
        if "fsGroup" in pod_security:
            options += ["--group-add", str(pod_security["fsGroup"])]
        if security.get("readOnlyRootFilesystem"):
            options.append("--read-only")
        if "ALL" in security.get("capabilities", {}).get("drop", []):
            options += ["--cap-drop", "ALL"]
        if security.get("allowPrivilegeEscalation") is False:
            options += ["--security-opt", "no-new-privileges"]
        options += ["--memory", _memory(container["resources"]["limits"]["memory"])]
        options += ["--stop-timeout", str(spec.get("terminationGracePeriodSeconds", 30))]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for mount in container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            if "emptyDir" in volume:
                options += ["--tmpfs", f"{mount['mountPath']}:rw,nosuid,nodev,mode=1777"]
            elif "secret" in volume:
                folder = self.secret_folders[volume["secret"]["secretName"]]
                options += ["--volume", f"{folder}:{mount['mountPath']}:ro"]
            else:
                raise AssertionError(
                    f"{name}: volume {mount['name']} has no Docker equivalent here"
                )
        for key, value in sorted(env.items()):
            options += ["--env", f"{key}={value}"]
        return options, list(container.get("args", []))

    def _environment(
        self, container: dict[str, Any], labels: dict[str, str], pod_name: str
    ) -> dict[str, str]:
        maps = self.config_maps()
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                env.update(maps[source["configMapRef"]["name"]])
            else:
                env.update(self.secrets[source["secretRef"]["name"]])
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = re.sub(
                    r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), var["value"]
                )
                continue
            source = var["valueFrom"]
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                value = self.secrets.get(ref["name"], {}).get(ref["key"])
                if value is None:
                    assert ref.get("optional"), f"Secret {ref['name']}/{ref['key']} is required"
                    continue
            else:
                path = source["fieldRef"]["fieldPath"]
                label = re.fullmatch(r"metadata\.labels\['(.+)'\]", path)
                fields = {"metadata.name": pod_name, "metadata.namespace": self.namespace}
                value = labels[label.group(1)] if label else fields[path]
            env[var["name"]] = value
        return env


# ------------------------------------------------------------------ the node


@dataclass
class ContainerNode:
    """One node's processes, each in a container of the image, on `network`."""

    network: Network
    image: str
    manifests: Manifests
    run: str  # the prefix of the containers' names
    overrides: dict[str, str | None]
    tokens: dict[str, str] = field(default_factory=dict)

    def container(self, process: str) -> str:
        return f"{self.run}-{process}"

    @property
    def url(self) -> str:
        return f"http://{self.network.address('gateway')}:8080"

    def start(self, process: str) -> None:
        options, args = self.manifests.run_options(
            "Deployment", process, self.container(process), self.overrides
        )
        docker(
            "run", "--detach",
            "--name", self.container(process),
            "--label", f"justnet.test={self.network.name}",
            "--network", self.network.name,
            "--network-alias", process,
            "--ip", self.network.address(process),
            *options, self.image, *args,
        )  # fmt: skip

    def run_job(
        self, name: str, overrides: Mapping[str, str | None] = {}
    ) -> subprocess.CompletedProcess[str]:
        """The Job's container to completion (bounded), as its Pod would run it."""
        options, args = self.manifests.run_options(
            "Job", name, f"{self.run}-{name}", {**self.overrides, **overrides}
        )
        return docker(
            "run", "--rm",
            "--name", f"{self.run}-{name}",
            "--label", f"justnet.test={self.network.name}",
            "--network", self.network.name,
            *options, self.image, *args,
            check=False, timeout=180,
        )  # fmt: skip

    def exec(self, process: str, *command: str, stdin: str | None = None) -> str:
        """`kubectl exec deploy/<process> -- COMMAND`: stdout of a command in its container."""
        flags = ["--interactive"] if stdin is not None else []
        return docker("exec", *flags, self.container(process), *command, stdin=stdin).stdout

    def healthy(self) -> bool:
        """The gateway's /api/v1/health is 200 (every process serves). Raises when a
        container has exited: no point waiting for it."""
        names = [self.container(p) for p in ADDRESSES]
        running = docker("inspect", "--format", "{{.State.Running}}", *names).stdout.split()
        exited = [p for p, up in zip(ADDRESSES, running, strict=True) if up != "true"]
        if exited:
            raise AssertionError(f"exited: {', '.join(exited)}\n{self.logs()}")
        try:
            response = requests.get(self.url + "/api/v1/health", timeout=HTTP_TIMEOUT)
        except requests.RequestException:
            return False
        return response.status_code == 200

    def state(self, process: str) -> dict[str, Any]:
        out = docker("inspect", "--format", "{{json .State}}", self.container(process)).stdout
        state: dict[str, Any] = json.loads(out)
        state["RestartCount"] = int(
            docker(
                "inspect", "--format", "{{.RestartCount}}", self.container(process)
            ).stdout.strip()
        )
        return state

    def logs(self, lines: int = 40) -> str:
        parts = []
        for process in ADDRESSES:
            done = docker("logs", "--tail", str(lines), self.container(process), check=False)
            parts.append(f"--- {process}\n{done.stdout}{done.stderr}")
        return "\n".join(parts)

    def errors_in_logs(self) -> list[str]:
        """ERROR and CRITICAL lines (JSON logs) and tracebacks in every container's log."""
        found = []
        for process in ADDRESSES:
            done = docker("logs", self.container(process), check=False)
            for line in (done.stdout + done.stderr).splitlines():
                level = ""
                with contextlib.suppress(ValueError, AttributeError):
                    level = json.loads(line).get("level", "")
                if level in ("ERROR", "CRITICAL") or line.startswith("Traceback"):
                    found.append(f"{process}: {line[:1000]}")
        return found

    def request(
        self, method: str, path: str, role: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return requests.request(
            method, self.url + path, headers=headers, timeout=HTTP_TIMEOUT, **kwargs
        )


def skip_or_fail(reason: str) -> None:
    """Skips, saying why; under CI=true fails instead (CI must run the image test)."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (under CI=true the image test must run: see scripts/test)")
    pytest.skip(reason)
