"""The `justnet` command as a new user runs it: init, up, node-info, token, import, export.

Every test here runs the real console script as a subprocess; most use the session's
running node (see conftest.py), whose teardown checks that SIGTERM stops it cleanly.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.e2e.conftest import SEAJUST, RunningNode, run_justnet

pytestmark = pytest.mark.slow

SERVICES = {"directory", "requests", "events", "federation", "gateway"}
VISIBLE_WITHIN = 10.0  # the directory process polls its change log every second


def wait_for(
    probe: Callable[[], Any], within: float = VISIBLE_WITHIN, what: str = "condition"
) -> Any:
    """Calls `probe` until it returns something truthy; fails after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not seen within {within:.0f} s (last: {result!r})")
        time.sleep(0.2)


def names(node: RunningNode, path: str, q: str, role: str | None = None) -> list[str]:
    resp = node.get(path, role, params={"q": q, "limit": 500})
    assert resp.status_code == 200, resp.text
    return sorted(item["name"] for item in resp.json()["items"])


def exported(node: RunningNode) -> dict[str, list[dict[str, Any]]]:
    result = node.justnet("export", "--format", "json")
    assert result.returncode == 0, result.stderr
    data: dict[str, list[dict[str, Any]]] = json.loads(result.stdout)
    return data


def exported_names(node: RunningNode) -> set[str]:
    data = exported(node)
    return {r["name"] for r in data["authorities"] + data["contact_points"]}


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def marker() -> str:
    """A word no sample record contains, so `q=` finds only this test's records."""
    return "Zq" + uuid.uuid4().hex[:10]


# ------------------------------------------------------------------ init and configuration


def test_init_refuses_to_overwrite_an_existing_node(spare_config: Path) -> None:
    before = {p: p.read_bytes() for p in spare_config.parent.rglob("*") if p.is_file()}
    result = run_justnet(
        "init", "--network", "SEAJUST", "--data-dir", spare_config.parent, "--base-port", "23000"
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "--data-dir" in result.stderr
    after = {p: p.read_bytes() for p in spare_config.parent.rglob("*") if p.is_file()}
    assert after == before, "init changed files of the existing node"


def test_init_of_an_unknown_network_needs_jurisdictions(tmp_path: Path) -> None:
    result = run_justnet("init", "--network", "NEWNET", "--data-dir", tmp_path / "n")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "--jurisdictions" in result.stderr
    assert not (tmp_path / "n" / "justnet.toml").exists()


@pytest.mark.parametrize("codes", ["TH,QQ", "XX", "THA", "T1"])
def test_init_rejects_codes_that_are_not_iso_3166(tmp_path: Path, codes: str) -> None:
    result = run_justnet(
        "init", "--network", "NEWNET", "--jurisdictions", codes, "--data-dir", tmp_path / "n"
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "--jurisdictions" in result.stderr
    assert not (tmp_path / "n" / "justnet.toml").exists()


@pytest.mark.parametrize("command", ["up", "migrate"])
def test_a_bad_setting_from_the_environment_is_named(spare_config: Path, command: str) -> None:
    result = run_justnet(
        command, "--config", spare_config, env={"JUSTNET_GATEWAY_PORT": "abc"}, timeout=30
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "JUSTNET_GATEWAY_PORT" in result.stderr


@pytest.mark.parametrize("command", ["up", "migrate"])
def test_a_bad_setting_in_justnet_toml_is_named(
    spare_config: Path, tmp_path: Path, command: str
) -> None:
    text = spare_config.read_text()
    bad, count = re.subn(r"(\[gateway\]\s*\nhost = [^\n]*\nport = )\d+", r'\1"abc"', text)
    assert count == 1, text
    config = tmp_path / "justnet.toml"
    config.write_text(bad)
    result = run_justnet(command, "--config", config, timeout=30)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "gateway.port" in result.stderr


# ------------------------------------------------------------------ keys rotate


def _fresh_node(tmp_path: Path) -> Path:
    data_dir = tmp_path / "rotating"
    created = run_justnet("init", "--network", "SEAJUST", "--data-dir", data_dir)
    assert created.returncode == 0, created.stderr
    return data_dir / "justnet.toml"


def _descriptor(config: Path) -> dict[str, Any]:
    result = run_justnet("node-info", "--json", "--config", config)
    assert result.returncode == 0, result.stderr
    info: dict[str, Any] = json.loads(result.stdout)
    return info


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--overlap", "7x"], "--overlap"),
        (["--activate-after", "soon"], "--activate-after"),
        (["--activate-after", "8d"], "--activate-after"),  # not within the 7 d overlap
    ],
)
def test_keys_rotate_refuses_a_bad_duration_and_changes_nothing(
    tmp_path: Path, args: list[str], option: str
) -> None:
    config = _fresh_node(tmp_path)
    keys = config.parent / "keys"
    before = {p: p.read_bytes() for p in keys.rglob("*") if p.is_file()}
    result = run_justnet("keys", "rotate", *args, "--config", config)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert option in result.stderr
    assert {p: p.read_bytes() for p in keys.rglob("*") if p.is_file()} == before


def test_keys_rotate_makes_a_new_key_and_certificate_announced_by_the_old(
    tmp_path: Path,
) -> None:
    config = _fresh_node(tmp_path)
    before = _descriptor(config)
    result = run_justnet(
        "keys", "rotate", "--activate-after", "10m", "--overlap", "3d", "--config", config
    )
    assert result.returncode == 0, result.stderr
    after = _descriptor(config)
    assert after["key_id"] != before["key_id"] and after["key_id"] in result.stdout
    assert after["certificate_fingerprint"] != before["certificate_fingerprint"]
    assert after["certificate_fingerprint"] in result.stdout
    # The old key stays published for the overlap, the old certificate too, and the
    # announcement that links them is signed by the old key.
    [old] = [k for k in after["old_keys"] if k["key_id"] == before["key_id"]]
    assert old["public_key"] == before["public_key"]
    [previous] = after["previous_certificates"]
    assert previous["certificate_pem"] == before["certificate_pem"]
    [announcement] = after["announcements"]
    assert announcement["key_id"] == before["key_id"]
    assert previous["accepted_until"] == old["expired_at"]


# ------------------------------------------------------------------ node-info and tokens


def test_node_info_json_is_one_descriptor(node: RunningNode) -> None:
    result = node.justnet("node-info", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    info = json.loads(lines[0])
    assert isinstance(info, dict)
    assert info["network"] == "SEAJUST"
    assert info["peer_endpoint"].endswith(f":{node.base_port + 5}")
    assert info["jurisdictions"] == SEAJUST

    public_key = base64.b64decode(info["public_key"], validate=True)
    assert len(public_key) == 32  # a raw Ed25519 key
    assert info["key_id"].startswith("ed25519:")
    assert info["key_id"] == "ed25519:" + hashlib.sha256(public_key).hexdigest()[:16]

    assert re.fullmatch(r"sha256:[0-9a-f]{64}", info["certificate_fingerprint"])
    cert = x509.load_pem_x509_certificate(info["certificate_pem"].encode())
    assert info["certificate_fingerprint"] == "sha256:" + cert.fingerprint(hashes.SHA256()).hex()
    crt = (node.data_dir / "keys" / "tls.crt").read_bytes()
    assert x509.load_pem_x509_certificate(crt).fingerprint(hashes.SHA256()) == cert.fingerprint(
        hashes.SHA256()
    )


def test_tokens_work_and_unknown_tokens_do_not(node: RunningNode) -> None:
    assert len(set(node.tokens.values())) == 3
    assert node.get("/api/v1/federation/peers", "admin").status_code == 200
    assert node.get("/api/v1/federation/peers", "editor").status_code == 403
    resp = node.request(
        "GET", "/api/v1/authorities", headers={"Authorization": "Bearer jn_not-a-token"}
    )
    assert resp.status_code == 401
    assert resp.headers["Content-Type"].startswith("application/problem+json")


# ------------------------------------------------------------------ the running node


def test_health_reports_all_five_services_serving(node: RunningNode) -> None:
    resp = node.get("/api/v1/health")
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    assert re.fullmatch(r"[0-9a-f]{32}", resp.headers["X-Trace-Id"])
    body = resp.json()
    assert body["status"] == "ok"
    assert body["services"] == {service: "SERVING" for service in SERVICES}


def test_node_descriptor(node: RunningNode) -> None:
    resp = node.get("/api/v1/node")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["network"] == "SEAJUST"
    assert body["jurisdictions"] == SEAJUST
    assert body["version"]
    assert body["peers"] == []


def test_lookup_shows_anonymous_callers_only_public_records(node: RunningNode) -> None:
    def lookup(role: str | None) -> list[dict[str, Any]]:
        resp = node.get("/api/v1/lookup", role, params={"jurisdiction": "TH", "limit": 500})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["networks_consulted"] == ["SEAJUST"]
        assert body["networks_unavailable"] == []
        assert all(item["origin"] == "SEAJUST" for item in body["items"])
        items: list[dict[str, Any]] = body["items"]
        return items

    anonymous, member, editor = lookup(None), lookup("member"), lookup("editor")
    assert anonymous, "the sample data has public TH records"
    assert {i["visibility"] for i in anonymous} == {"public"}
    seen_by_member = {i["visibility"] for i in member}
    assert {"public", "network", "federation"} <= seen_by_member, seen_by_member
    assert "private" not in seen_by_member
    assert "private" in {i["visibility"] for i in editor}
    assert {i["id"] for i in anonymous} < {i["id"] for i in member} < {i["id"] for i in editor}
    assert "contact_point" in {i["record_type"] for i in member}


# ------------------------------------------------------------------ import and export

BAD_IMPORT_HEADER = [
    "record_type",
    "jurisdiction",
    "name",
    "kind",
    "competences",
    "accepted_languages",
    "email",
    "visibility",
    "available_24_7",
]


def test_import_with_bad_rows_reports_each_and_writes_nothing(
    node: RunningNode, tmp_path: Path
) -> None:
    m = marker()
    rows = [
        ["authority", "TH", f"{m} Good One", "prosecution", "mla;extradition", "th;en",
         "one@th.justnet.example", "public", "false"],
        ["authority", "XX", f"{m} Bad Jurisdiction", "prosecution", "mla", "en",
         "two@th.justnet.example", "public", "false"],
        ["authority", "TH", f"{m} Bad Kind And Email", "wizard", "mla", "en",
         "not-an-email", "public", "false"],
        ["authority", "VN", f"{m} Good Two", "court", "mla", "vi",
         "four@vn.justnet.example", "network", "false"],
        ["authority", "TH", f"{m} Bad Flag", "court", "mla", "th",
         "five@th.justnet.example", "public", "maybe"],
        ["authority", "TH", f"{m} Bad Competence", "court", "mla;magic", "th",
         "six@th.justnet.example", "public", "false"],
    ]  # fmt: skip
    path = write_csv(tmp_path / "directory.csv", BAD_IMPORT_HEADER, rows)
    result = node.justnet("import", path)
    assert result.returncode == 1, (result.stdout, result.stderr)
    # Header is line 1, so the bad rows are lines 3, 4, 6 and 7.
    for line, column in [
        (3, "jurisdiction"),
        (4, "kind"),
        (4, "email"),
        (6, "available_24_7"),
        (7, "competences"),
    ]:
        assert re.search(rf"line {line}, column {column}\b", result.stderr), (
            line,
            column,
            result.stderr,
        )
    for good in (2, 5):
        assert f"line {good}," not in result.stderr, result.stderr
    assert "nothing was imported" in result.stderr

    # Nothing was written: not in the database ...
    assert not {n for n in exported_names(node) if m in n}
    # ... and not in the running node, once it has caught up with a later import.
    sentinel = marker()
    later = write_csv(
        tmp_path / "sentinel.csv",
        BAD_IMPORT_HEADER,
        [["authority", "TH", f"{sentinel} Office", "court", "mla", "th",
          "sentinel@th.justnet.example", "public", "false"]],
    )  # fmt: skip
    done = node.justnet("import", later)
    assert done.returncode == 0, done.stderr
    wait_for(
        lambda: names(node, "/api/v1/authorities", sentinel),
        what="the sentinel import in the running node",
    )
    assert names(node, "/api/v1/authorities", m, "editor") == []
    assert names(node, "/api/v1/lookup", m, "editor") == []


GOOD_IMPORT_HEADER = [
    "record_type",
    "id",
    "jurisdiction",
    "name",
    "kind",
    "competences",
    "accepted_languages",
    "email",
    "phone",
    "visibility",
    "authority_id",
    "title",
    "languages",
]


def test_import_dry_run_then_import_then_reimport_of_the_export(
    node: RunningNode, tmp_path: Path
) -> None:
    th = node.get("/api/v1/authorities", params={"jurisdiction": "TH"}).json()["items"]
    assert th, "the sample data has a public TH authority"
    m = marker()
    rows = [
        ["authority", "", "TH", f"{m} Public Office", "prosecution", "mla;extradition", "th;en",
         "office@th.justnet.example", "+66 2 142 1444", "public", "", "", ""],
        ["authority", "", "VN", f"{m} Network Court", "court", "mla", "vi",
         "court@vn.justnet.example", "", "network", "", "", ""],
        ["contact_point", "", "TH", f"{m} Duty Prosecutor", "", "mla", "",
         "duty@th.justnet.example", "", "network", th[0]["id"], "Prosecutor", "th;en"],
    ]  # fmt: skip
    path = write_csv(tmp_path / "good.csv", GOOD_IMPORT_HEADER, rows)
    records_before = exported(node)

    dry = node.justnet("import", path, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "3 to create, 0 to update" in dry.stdout, dry.stdout
    assert exported(node) == records_before, "--dry-run wrote something"

    real = node.justnet("import", path)
    assert real.returncode == 0, real.stderr
    assert "3 created, 0 updated" in real.stdout, real.stdout

    # The running node sees them within a few seconds, with the visibility rules applied.
    wait_for(
        lambda: names(node, "/api/v1/authorities", m) == [f"{m} Public Office"],
        what="the imported public authority (anonymous)",
    )
    both = [f"{m} Network Court", f"{m} Public Office"]
    wait_for(
        lambda: names(node, "/api/v1/authorities", m, "member") == both,
        what="the imported authorities (member)",
    )
    wait_for(
        lambda: names(node, "/api/v1/contact-points", m, "member") == [f"{m} Duty Prosecutor"],
        what="the imported contact point (member)",
    )
    assert names(node, "/api/v1/contact-points", m) == []  # network-only: not for anonymous

    # Export -> file -> import updates the same records instead of duplicating them.
    data = exported(node)
    total = len(data["authorities"]) + len(data["contact_points"])
    assert total == (len(records_before["authorities"]) + len(records_before["contact_points"]) + 3)
    dump = tmp_path / "export.json"
    dump.write_text(json.dumps(data), encoding="utf-8")
    again = node.justnet("import", dump)
    assert again.returncode == 0, again.stderr
    assert f"imported: 0 created, {total} updated" in again.stdout, again.stdout
    after = exported(node)
    assert len(after["authorities"]) + len(after["contact_points"]) == total
    time.sleep(1.5)  # one change-log poll of the running directory process
    assert names(node, "/api/v1/authorities", m, "editor") == both
    assert names(node, "/api/v1/contact-points", m, "editor") == [f"{m} Duty Prosecutor"]


def test_export_csv_parses_and_has_a_record_type_column(node: RunningNode) -> None:
    result = node.justnet("export", "--format", "csv")
    assert result.returncode == 0, result.stderr
    reader = csv.DictReader(io.StringIO(result.stdout))
    rows = list(reader)
    assert reader.fieldnames is not None
    assert "record_type" in reader.fieldnames
    assert "id" in reader.fieldnames
    assert {r["record_type"] for r in rows} == {"authority", "contact_point"}
    assert all(r["id"] and r["name"] and r["jurisdiction"] for r in rows)
    data = exported(node)
    assert len(rows) == len(data["authorities"]) + len(data["contact_points"])
    # No cell a spreadsheet would run as a formula: phones (E.164, "+...") get an apostrophe.
    cells = [v for r in rows for v in r.values()]
    assert not [v for v in cells if v[:1] in ("=", "+", "-", "@", "\t", "\r")]
    phones = {a["phone"] for a in data["authorities"] if a["phone"]}
    assert phones and phones <= {r["phone"][1:] for r in rows if r["phone"].startswith("'+")}
