"""Property-based fuzzing of the running gateway from its own OpenAPI document.

Schemathesis generates requests for every operation the node documents, valid ones
(`positive`) and invalid ones (`negative`), and each is sent twice: anonymously (as
generated; negative cases may carry a garbage Authorization header, never a real token)
and with the editor token. Only two properties are checked, the ones that must hold
for *any* input (API.md section 3): no 5xx ("a 5xx is never the answer to bad input"),
and every response is JSON (or the documented type) on success and
`application/problem+json` on error. Generation is seeded, so a failure reproduces;
FUZZ_SEED and FUZZ_EXAMPLES change the seed and the examples per case.

Statuses an operation answers but its OpenAPI entry does not list are printed (-rP),
not failed: a 4xx outside the list is legitimate, only worth a look.

Hostile inputs that random generation rarely or only sometimes produces are sent
explicitly at the end of the file; each of those tests failed on a real bug when written.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from tests.e2e.conftest import RunningNode

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))  # per operation, mode and variant
SEED = int(os.environ.get("FUZZ_SEED", "20261127"))
MIN_REQUESTS = 1000
BUDGET_SECONDS = 150.0  # stop sending (and fail on the count) rather than run for ever
REQUEST_TIMEOUT = 10.0

# API.md section 3, "Node and health" and "Directory": path -> methods.
REQUIRED_ROUTES: dict[str, set[str]] = {
    "/api/v1/health": {"get"},
    "/api/v1/node": {"get"},
    "/api/v1/openapi.json": {"get"},
    "/metrics": {"get"},
    "/api/v1/networks": {"get"},
    "/api/v1/networks/{code}": {"get"},
    "/api/v1/jurisdictions": {"get"},
    "/api/v1/jurisdictions/{iso2}": {"get"},
    "/api/v1/jurisdictions/{iso2}/routing-profile": {"get", "put"},
    "/api/v1/authorities": {"get", "post"},
    "/api/v1/authorities/{id}": {"get", "put", "delete"},
    "/api/v1/contact-points": {"get", "post"},
    "/api/v1/contact-points/{id}": {"get", "put", "delete"},
    "/api/v1/lookup": {"get"},
}
# The filters API.md lists for each list route.
REQUIRED_QUERY: dict[str, set[str]] = {
    "/api/v1/authorities": {"jurisdiction", "competence", "network", "q", "limit", "cursor"},
    "/api/v1/contact-points": {
        "jurisdiction",
        "competence",
        "language",
        "network",
        "q",
        "available_24_7",
        "limit",
        "cursor",
    },
    "/api/v1/lookup": {"jurisdiction", "competence", "language", "q"},
}


def fetch_openapi(node: RunningNode) -> dict[str, Any]:
    resp = node.get("/api/v1/openapi.json")
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    doc: dict[str, Any] = resp.json()
    return doc


def test_openapi_document_is_valid_and_describes_every_directory_route(
    node: RunningNode,
) -> None:
    doc = fetch_openapi(node)
    validate(doc)  # raises on an invalid OpenAPI 3.1 document
    missing = {
        f"{method.upper()} {path}"
        for path, methods in REQUIRED_ROUTES.items()
        for method in methods
        if method not in doc["paths"].get(path, {})
    }
    assert not missing, f"routes of API.md missing from the OpenAPI document: {sorted(missing)}"
    for path, wanted in REQUIRED_QUERY.items():
        declared = {
            p["name"] for p in doc["paths"][path]["get"]["parameters"] if p["in"] == "query"
        }
        assert wanted <= declared, (path, sorted(wanted - declared))
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            assert operation.get("operationId"), f"{method.upper()} {path} has no operationId"
            assert operation.get("responses"), f"{method.upper()} {path} has no responses"


# ------------------------------------------------------------------ response properties


def response_problem(resp: requests.Response, documented: dict[str, Any]) -> str | None:
    """What is wrong with the response's type or body, or None."""
    status = resp.status_code
    content_type = resp.headers.get("Content-Type", "")
    media = content_type.split(";")[0].strip().lower()
    if status == 204:
        return "a 204 with a body" if resp.content else None
    if status >= 400:
        if media != "application/problem+json":
            return f"Content-Type {content_type!r} on an error, not application/problem+json"
        try:
            body = resp.json()
        except ValueError:
            return "an application/problem+json body that is not JSON"
        if not isinstance(body, dict) or body.get("status") != status:
            return f"a problem document without status {status}"
        absent = [k for k in ("type", "title", "detail") if k not in body]
        return f"a problem document without {absent}" if absent else None
    content = documented.get(str(status), {}).get("content", {})
    if media not in content:
        return f"Content-Type {content_type!r} on {status}; documented: {sorted(content)}"
    if media.endswith("json"):
        try:
            resp.json()
        except ValueError:
            return f"a {media} body that is not JSON"
    return None


def describe(resp: requests.Response, role: str) -> str:
    req = resp.request
    body = req.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="backslashreplace")
    auth = req.headers.get("Authorization")
    shown_auth = "<editor token>" if role == "editor" else repr(auth)
    text = resp.text[:300].replace("\n", " ")
    return (
        f"{req.method} {req.url} [{role}; Authorization: {shown_auth}]"
        + (f" body={str(body)[:300]!r}" if body else "")
        + f"\n    -> {resp.status_code} {resp.headers.get('Content-Type', '')!r}: {text}"
    )


# ------------------------------------------------------------------ the fuzz run


@dataclass
class FuzzReport:
    sent: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    wrong_content: list[str] = field(default_factory=list)
    not_sendable: int = 0  # cases the HTTP client refused to encode (not counted as sent)
    exhausted: list[str] = field(default_factory=list)  # nothing to negate, e.g. no parameters
    invalid: list[str] = field(default_factory=list)  # operations schemathesis could not read
    # statuses an operation answered but does not list: one example each (reported, not failed)
    undocumented: dict[str, str] = field(default_factory=dict)
    node_errors: list[str] = field(default_factory=list)
    out_of_time: bool = False
    seconds: float = 0.0


def _known_path_values(node: RunningNode) -> dict[str, str]:
    """Path parameters that name real records, so generated cases also reach past 404."""
    editor = node.headers("editor")
    authority = requests.post(
        f"{node.url}/api/v1/authorities",
        json={
            "jurisdiction": "TH",
            "name": "Fuzz Target Authority",
            "kind": "court",
            "competences": ["mla"],
            "visibility": "public",
        },
        headers=editor,
        timeout=REQUEST_TIMEOUT,
    )
    assert authority.status_code == 201, authority.text
    contact = requests.post(
        f"{node.url}/api/v1/contact-points",
        json={
            "authority_id": authority.json()["id"],
            "jurisdiction": "TH",
            "name": "Fuzz Target Contact",
            "languages": ["th"],
            "visibility": "public",
        },
        headers=editor,
        timeout=REQUEST_TIMEOUT,
    )
    assert contact.status_code == 201, contact.text
    return {
        "code": "SEAJUST",
        "iso2": "TH",
        "/api/v1/authorities/{id}": authority.json()["id"],
        "/api/v1/contact-points/{id}": contact.json()["id"],
    }


@pytest.fixture(scope="module")
def fuzz(node: RunningNode) -> Iterator[FuzzReport]:
    report = FuzzReport()
    log_start = node.log_size()
    known = _known_path_values(node)
    schema = schemathesis.openapi.from_url(f"{node.url}/api/v1/openapi.json")
    session = requests.Session()
    started = time.monotonic()

    def send(case: Any, label: str, role: str) -> None:
        kwargs = case.as_transport_kwargs(base_url=node.url)
        headers = dict(kwargs.pop("headers", {}) or {})
        if role == "editor":
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            headers.update(node.headers("editor"))
        try:
            resp = session.request(**kwargs, headers=headers, timeout=REQUEST_TIMEOUT)
        except (requests.ConnectionError, requests.Timeout) as exc:
            report.sent += 1  # it went out, and the node dropped or ignored it
            report.by_operation[label] += 1
            report.server_errors.append(
                f"{label}: {kwargs['method']} {kwargs['url']} [{role}] -> no response: {exc}"
            )
            return
        except (UnicodeError, ValueError, requests.exceptions.InvalidHeader):
            report.not_sendable += 1  # e.g. a header value outside latin-1: never sent
            return
        report.sent += 1
        report.by_operation[label] += 1
        report.statuses[resp.status_code] += 1
        if resp.status_code >= 500:
            report.server_errors.append(f"{label}: {describe(resp, role)}")
        documented = case.operation.definition.raw.get("responses", {})
        if str(resp.status_code) not in documented:
            report.undocumented.setdefault(f"{label} -> {resp.status_code}", describe(resp, role))
        problem = response_problem(resp, documented)
        if problem:
            report.wrong_content.append(f"{label}: {problem}\n    {describe(resp, role)}")

    def fuzz_one(strategy: Any, label: str) -> None:
        @seed(SEED)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case: Any) -> None:
            if time.monotonic() - started > BUDGET_SECONDS:
                report.out_of_time = True
                return
            for role in ("anonymous", "editor"):
                send(case, label, role)

        run()

    for result in schema.get_all_operations():
        if isinstance(result, Err):
            report.invalid.append(str(result.err()))
            continue
        operation = result.ok()
        fixed = {
            p.name: known.get(operation.path, known.get(p.name, ""))
            for p in operation.path_parameters
        }
        variants: list[tuple[GenerationMode, dict[str, str] | None]] = [
            (mode, None) for mode in GenerationMode
        ]
        if fixed:
            variants += [(mode, fixed) for mode in GenerationMode]
        for mode, path_parameters in variants:
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
            try:
                fuzz_one(strategy, operation.label)
            except Unsatisfiable:
                report.exhausted.append(f"{operation.label} ({mode.value}, {path_parameters})")
    report.seconds = time.monotonic() - started
    session.close()
    report.node_errors = node.errors_in_log(log_start)
    yield report


def _listing(items: list[str], limit: int = 15) -> str:
    shown = "\n".join(items[:limit])
    more = f"\n... and {len(items) - limit} more" if len(items) > limit else ""
    return shown + more


def test_fuzz_sent_enough_requests_to_every_operation(fuzz: FuzzReport, node: RunningNode) -> None:
    summary = (
        f"{fuzz.sent} requests in {fuzz.seconds:.0f} s; statuses {dict(fuzz.statuses)}; "
        f"{fuzz.not_sendable} not sendable; per operation {dict(fuzz.by_operation)}"
    )
    print(summary)
    print(
        "statuses the OpenAPI document does not list (reported, not failed):\n"
        + "\n".join(f"{k}: e.g. {v}" for k, v in sorted(fuzz.undocumented.items()))
    )
    assert not fuzz.out_of_time, f"the fuzz ran out of its {BUDGET_SECONDS:.0f} s: {summary}"
    assert not fuzz.invalid, fuzz.invalid
    assert fuzz.sent >= MIN_REQUESTS, summary
    operations = {
        f"{method.upper()} {path}"
        for path, methods in fetch_openapi(node)["paths"].items()
        for method in methods
    }
    # Schemathesis leaves out the operation that serves the schema itself; the document
    # is fetched and validated by test_openapi_document_is_valid_and_describes_every_...
    operations.discard("GET /api/v1/openapi.json")
    assert set(fuzz.by_operation) == operations, summary
    # Both kinds of data were generated and both kinds of answer came back.
    assert any(400 <= s < 500 for s in fuzz.statuses), summary
    assert any(200 <= s < 300 for s in fuzz.statuses), summary


def test_fuzz_found_no_server_errors(fuzz: FuzzReport, node: RunningNode) -> None:
    assert not fuzz.server_errors, (
        f"{len(fuzz.server_errors)} of {fuzz.sent} requests got a 5xx:\n"
        + _listing(fuzz.server_errors)
        + "\nnode log:\n"
        + _listing(fuzz.node_errors, 5)
    )
    health = node.get("/api/v1/health")
    assert health.status_code == 200, f"after the fuzz: {health.status_code} {health.text}"


def test_fuzz_responses_are_json_or_problem_json(fuzz: FuzzReport) -> None:
    assert not fuzz.wrong_content, (
        f"{len(fuzz.wrong_content)} of {fuzz.sent} responses had the wrong type:\n"
        + _listing(fuzz.wrong_content)
    )


# ------------------------------------------------------------------ hostile inputs

LONE_SURROGATE = "\ud800"  # valid JSON ("\\ud800"), but not a Unicode scalar value
AUTHORITY = {"jurisdiction": "TH", "name": "Hostile Input Office", "kind": "court"}


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()  # ensure_ascii: a lone surrogate becomes \ud800


HOSTILE_BODIES = {
    "lone surrogate in authority name": (
        "POST",
        "/api/v1/authorities",
        _json({**AUTHORITY, "name": "x" + LONE_SURROGATE}),
    ),
    "lone surrogate in contact point name": (
        "POST",
        "/api/v1/contact-points",
        _json(
            {
                "jurisdiction": "TH",
                "name": LONE_SURROGATE,
                "authority_id": "3b5d50be-28ec-4aae-9795-c95df8853eb7",
            }
        ),
    ),
    "lone surrogate in routing profile": (
        "PUT",
        "/api/v1/jurisdictions/TH/routing-profile",
        _json({"urgent_procedure": LONE_SURROGATE}),
    ),
    "deeply nested JSON array": ("POST", "/api/v1/authorities", b"[" * 50_000 + b"]" * 50_000),
    "deeply nested JSON object": (
        "POST",
        "/api/v1/authorities",
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE_BODIES))
def test_hostile_bodies_get_400_not_a_server_error(node: RunningNode, case: str) -> None:
    method, path, body = HOSTILE_BODIES[case]
    log_start = node.log_size()
    resp = node.request(
        method, path, "editor", data=body, headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400, (
        f"{method} {path} ({case}) -> {resp.status_code} {resp.text[:300]}\n"
        + _listing(node.errors_in_log(log_start), 3)
    )
    assert response_problem(resp, {}) is None, resp.headers


@pytest.mark.parametrize(
    "authorization",
    [b"Bearer \xff\xfe", "Bearer jn_caf\u00e9".encode("latin-1"), b"Bearer \xc3\xa9"],
    ids=["invalid-utf8", "latin1", "utf8"],
)
def test_non_ascii_tokens_get_401_not_a_server_error(
    node: RunningNode, authorization: bytes
) -> None:
    log_start = node.log_size()
    resp = requests.get(
        f"{node.url}/api/v1/authorities",
        headers={"Authorization": authorization},
        timeout=REQUEST_TIMEOUT,
    )
    assert resp.status_code == 401, (
        f"GET /api/v1/authorities with Authorization: {authorization!r} -> "
        f"{resp.status_code} {resp.text[:300]}\n" + _listing(node.errors_in_log(log_start), 3)
    )
    assert response_problem(resp, {}) is None, resp.headers


def test_an_overlong_query_gets_a_problem_document(node: RunningNode) -> None:
    # `q` has no maxLength in the OpenAPI document, so clients may send any length.
    resp = node.get("/api/v1/authorities", params={"q": "a" * 9000})
    assert 400 <= resp.status_code < 500, resp.status_code
    assert response_problem(resp, {}) is None, (
        resp.status_code,
        resp.headers.get("Content-Type"),
        resp.text[:200],
    )


def test_many_bad_legal_bases_get_400_not_429(node: RunningNode) -> None:
    # Found by the fuzz (at random: the size sits between gRPC's soft and hard metadata
    # limits there); 50 unknown codes, which the schema allows, always exceed the hard one.
    body = {"legal_bases": [f"NOT_AN_INSTRUMENT_{i}" for i in range(50)]}
    resp = node.request("PUT", "/api/v1/jurisdictions/TH/routing-profile", "editor", json=body)
    assert resp.status_code == 400, f"{resp.status_code} {resp.text[:400]}"
    assert response_problem(resp, {}) is None, resp.headers
    fields = {e["field"] for e in resp.json().get("errors", [])}
    assert {f"legal_bases[{i}]" for i in range(50)} <= fields, sorted(fields)
