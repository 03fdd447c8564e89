"""Property-based fuzzing of the running gateway from its own OpenAPI document, per role.

Schemathesis generates requests for every operation the node documents, valid ones
(`positive`) and invalid ones (`negative`), and each is sent as every caller in turn:
anonymous (as generated; negative cases may carry a garbage Authorization header, never
a real token), then with a member, an editor and an admin token the fuzz makes for
itself. Before an operation's generated cases, a few valid requests are sent the same
way (creating, changing, peering with a node made for the purpose and removing it), so
that every operation answers some role a 2xx and every kind of success body is checked.
For *any* input these must hold (API.md section 3):

- no 5xx ("a 5xx is never the answer to bad input");
- every response is JSON (or the documented type) on success and
  `application/problem+json` on error, and its body conforms to the schema its
  operation documents for that status (schemathesis' response-schema conformance),
  with every object closed: a field served but not documented breaks it too;
- no 2xx to a caller below the operation's minimum role, which the document states
  (`x-justnet-role`, generated from the route registry that enforces it); such a
  caller gets exactly 401 when anonymous and 403 otherwise, and a real token never
  gets 401.

The document itself must be valid, every reference in it must resolve, every role must
be stated, and every success body described (no object without members).

A generated path can reach another route than the one it was made for (an empty or
dotted id, `{id}` = "overdue"): each response is judged against the operation the
node's router (aiohttp's, fed the document's paths in order) gives its request line.
The fuzz's tokens are its own and no generated value names them; each must still hold
its role when the run ends, so no case can quietly turn the later ones anonymous.

Generation is seeded, so a failure reproduces; FUZZ_SEED and FUZZ_EXAMPLES change the
seed and the examples per case. The run is bounded: about 8,000 requests (2,000 cases,
each as four callers) in about a minute and a half, and a time budget after which it
stops and fails.

Statuses an operation answers but its OpenAPI entry does not list are printed (-rP),
not failed: a 4xx outside the list is legitimate, only worth a look.

Hostile inputs that random generation rarely or only sometimes produces are sent
explicitly at the end of the file; each of those tests failed on a real bug when written.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err
from schemathesis.core.transport import Response as CheckedResponse
from yarl import URL

from tests.e2e.conftest import RunningNode, free_port_block, run_justnet
from tests.openapi_schemas import closed

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))  # per operation, mode and variant
SEED = int(os.environ.get("FUZZ_SEED", "20261127"))
ROLES = ("anonymous", "member", "editor", "admin")  # lowest first; each case goes to all
RANK = {role: rank for rank, role in enumerate(ROLES)}
MIN_REQUESTS = 4000  # over all roles
BUDGET_SECONDS = 200.0  # stop sending (and fail on the count) rather than run for ever
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
    "/api/v1/statistics/requests": {"get"},
    "/api/v1/statistics/directory": {"get"},
    "/api/v1/statistics/events": {"get"},
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
    "/api/v1/statistics/requests": {"from", "to", "group_by"},
    "/api/v1/statistics/events": {"from", "to"},
}


def fetch_openapi(node: RunningNode) -> dict[str, Any]:
    resp = node.get("/api/v1/openapi.json")
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    doc: dict[str, Any] = resp.json()
    return doc


def _refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("$ref"), str):
            yield value["$ref"]
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def test_openapi_document_is_valid_and_describes_every_directory_route(
    node: RunningNode,
) -> None:
    doc = fetch_openapi(node)
    validate(doc)  # raises on an invalid OpenAPI 3.1 document
    # validate() does not follow references. Found by the fuzz, which sent no body at
    # all to the operations whose body schema was missing (POST /api/v1/routes, ...).
    schemas = doc["components"]["schemas"]
    dangling = {
        ref
        for ref in _refs(doc)
        if not ref.startswith("#/components/schemas/")
        or ref.removeprefix("#/components/schemas/") not in schemas
    }
    assert not dangling, f"references to schemas the document does not have: {sorted(dangling)}"
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
            label = f"{method.upper()} {path}"
            assert operation.get("operationId"), f"{label} has no operationId"
            assert operation.get("responses"), f"{label} has no responses"
            # The minimum role, as the registry enforces it; the security requirements agree.
            role = operation.get("x-justnet-role")
            assert role in ROLES, f"{label}: x-justnet-role {role!r}"
            anonymous_allowed = {} in operation["security"]
            assert anonymous_allowed == (role == "anonymous"), (label, operation["security"])
            if role != "anonymous":
                assert {"401", "403"} <= set(operation["responses"]), label


def loose_parts(schema: Any, doc: dict[str, Any], where: str, seen: frozenset[str]) -> list[str]:
    """Where `schema` leaves a response's shape undescribed: no schema, an object
    without members (a map states what its values are), an array without items."""
    if not isinstance(schema, dict) or not schema:
        return [f"{where}: no schema"]
    ref = schema.get("$ref")
    if ref:
        if ref in seen:
            return []
        target: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return loose_parts(target, doc, ref, seen | {ref})
    found = []
    for key in ("anyOf", "oneOf", "allOf"):
        for i, option in enumerate(schema.get(key, [])):
            found += loose_parts(option, doc, f"{where}/{key}/{i}", seen)
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    if "object" in types:
        members = schema.get("properties")
        values = schema.get("additionalProperties")
        if not members and not isinstance(values, dict):
            found.append(f"{where}: an object without members")
        for name, member in (members or {}).items():
            found += loose_parts(member, doc, f"{where}/{name}", seen)
        if isinstance(values, dict):
            found += loose_parts(values, doc, f"{where}/*", seen)
    if "array" in types:
        found += loose_parts(schema.get("items"), doc, f"{where}/items", seen)
    return found


def test_openapi_document_describes_every_success_body(node: RunningNode) -> None:
    # A 2xx whose body the document does not describe cannot be checked by the fuzz.
    # The document itself is the OpenAPI specification's to describe (validated above).
    doc = fetch_openapi(node)
    loose = []
    for path, methods in doc["paths"].items():
        if path == "/api/v1/openapi.json":
            continue
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2") or status == "204":
                    continue
                for media, content in response.get("content", {}).items():
                    where = f"{method.upper()} {path} {status} {media}"
                    if media.endswith("json"):
                        loose += loose_parts(content.get("schema"), doc, where, frozenset())
                    elif "schema" not in content:
                        loose.append(f"{where}: no schema")
    assert not loose, "\n".join(loose)


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


def role_problem(status: int, role: str, needed: str) -> str | None:
    """What is wrong with `status` as the answer to `role` on an operation that needs
    `needed`, or None. The registry checks the role before the handler reads anything,
    so below it the answer does not depend on the input."""
    if RANK[role] < RANK[needed]:
        expected = 401 if role == "anonymous" else 403
        if 200 <= status < 300:
            return f"a {status} to {role}, below the operation's role {needed}"
        if status != expected:
            return f"{status}, not {expected}, to {role} (the operation needs {needed})"
    elif role != "anonymous" and status == 401:
        return f"a 401 to a real {role} token"
    return None


def describe(resp: requests.Response, role: str) -> str:
    req = resp.request
    body = req.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="backslashreplace")
    auth = req.headers.get("Authorization")
    shown_auth = repr(auth) if role == "anonymous" else f"<{role} token>"
    text = resp.text[:300].replace("\n", " ")
    return (
        f"{req.method} {req.url} [{role}; Authorization: {shown_auth}]"
        + (f" body={str(body)[:300]!r}" if body else "")
        + f"\n    -> {resp.status_code} {resp.headers.get('Content-Type', '')!r}: {text}"
    )


async def _never_called(request: web.Request) -> web.Response:
    raise AssertionError("the fuzz's router only resolves")


class Router:
    """The documented operation a request line reaches on the node: aiohttp's router,
    given the document's paths in the document's order (the order the node registers
    them), and each operation's minimum role as the document states it."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.app = web.Application()
        self.role: dict[str, str] = {}
        self.label: dict[str, str] = {}
        for path, methods in doc["paths"].items():
            for method, operation in methods.items():
                name = operation["operationId"]
                self.app.router.add_route(method.upper(), path, _never_called, name=name)
                self.role[name] = operation["x-justnet-role"]
                self.label[name] = f"{method.upper()} {path}"
        self.loop = asyncio.new_event_loop()

    def resolve(self, method: str, url: str) -> str | None:
        """The operationId the node runs for `method url`, None for its 404 or 405."""
        parts = urlsplit(url)
        rel_url = URL.build(path=parts.path, query_string=parts.query, encoded=True)
        request = make_mocked_request(method, "/").clone(rel_url=rel_url)
        info = self.loop.run_until_complete(self.app.router.resolve(request))
        if info.http_exception is not None:
            return None
        name: str | None = info.route.name
        return name

    def close(self) -> None:
        self.loop.close()


# ------------------------------------------------------------------ the fuzz run


@dataclass(repr=False)  # a failed assertion shows the listing, not every counter
class FuzzReport:
    sent: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    by_role: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    statuses_by_role: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    rerouted: int = 0  # requests a generated path sent to another operation (or none)
    # (operation label, role) -> statuses, for the operations each request actually reached
    reached: dict[tuple[str, str], Counter[int]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    server_errors: list[str] = field(default_factory=list)
    wrong_content: list[str] = field(default_factory=list)
    # one kind of break (operation, what broke, where in the schema) -> how many, an example
    schema_breaks: Counter[str] = field(default_factory=Counter)
    schema_break_examples: dict[str, str] = field(default_factory=dict)
    # one kind of role break (operation, caller, what it got) -> how many, an example
    role_breaks: Counter[str] = field(default_factory=Counter)
    role_break_examples: dict[str, str] = field(default_factory=dict)
    not_sendable: int = 0  # cases the HTTP client refused to encode (not counted as sent)
    exhausted: list[str] = field(default_factory=list)  # nothing to negate, e.g. no parameters
    invalid: list[str] = field(default_factory=list)  # operations schemathesis could not read
    # statuses an operation answered but does not list: one example each (reported, not failed)
    undocumented: dict[str, str] = field(default_factory=dict)
    node_errors: list[str] = field(default_factory=list)
    roles_after: dict[str, str] = field(default_factory=dict)  # token role -> role it has now
    out_of_time: bool = False
    seconds: float = 0.0


AUTHORITY_BODY = {
    "jurisdiction": "TH",
    "name": "Fuzz Target Authority",
    "kind": "court",
    "competences": ["mla"],
    "visibility": "public",
}
EVENT_BODY = {
    "title": "Fuzz Target Plenary",
    "kind": "plenary",
    "starts_at": "2030-10-27T09:00:00",
    "ends_at": "2030-10-29T17:00:00",
    "timezone": "Asia/Bangkok",
    "venue": {"city": "Bangkok", "country": "TH"},
    "capacity": 100,
    "visibility": "public",
}
ROUTE_BODY = {
    "requesting_jurisdiction": "TH",
    "requested_jurisdiction": "MY",
    "measures": ["banking_records"],
    "language": "en",
}
DRAFT_BODY = {**ROUTE_BODY, "title": "Fuzz target request", "summary": "Bank records."}


def _contact_body(authority_id: str) -> dict[str, Any]:
    return {
        "authority_id": authority_id,
        "jurisdiction": "TH",
        "name": "Fuzz Target Contact",
        "languages": ["th"],
        "email": "fuzz.contact@justnet.example",
        "visibility": "public",
    }


@dataclass
class Targets:
    """What the fuzz aims at: path parameters that name real records, per path, so
    generated cases also reach past 404 (a record a DELETE may remove serves that path
    alone); and valid requests per operation, sent as every role before its generated
    cases, so the bodies of successes that random data rarely earns are checked too."""

    paths: dict[str, dict[str, str]]
    explicit: dict[str, list[dict[str, Any]]]


PEER_NETWORK = "EJN"


def _peer_descriptor(node: RunningNode) -> dict[str, Any]:
    """The descriptor of another network's node, made and never started: what an admin
    posts to peer with it."""
    data_dir = node.data_dir.parent / "fuzz-peer"
    made = run_justnet(
        "init",
        "--network",
        PEER_NETWORK,
        "--data-dir",
        data_dir,
        "--base-port",
        str(free_port_block()),
        cwd=node.data_dir.parent,
    )
    assert made.returncode == 0, made.stderr
    info = run_justnet("node-info", "--config", data_dir / "justnet.toml", "--json")
    assert info.returncode == 0, info.stderr
    descriptor: dict[str, Any] = json.loads(info.stdout)
    return descriptor


def _targets(node: RunningNode, tokens: dict[str, str]) -> Targets:
    def post(path: str, role: str, body: dict[str, Any]) -> requests.Response:
        resp = requests.post(
            f"{node.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {tokens[role]}"},
            timeout=REQUEST_TIMEOUT,
        )
        assert resp.status_code in (200, 201), f"POST {path}: {resp.status_code} {resp.text}"
        return resp

    def created(path: str, role: str, body: dict[str, Any]) -> str:
        record_id: str = post(path, role, body).json()["id"]
        return record_id

    def authority() -> str:
        return created("/api/v1/authorities", "editor", AUTHORITY_BODY)

    def contact_point() -> str:
        return created("/api/v1/contact-points", "editor", _contact_body(authority()))

    def submitted() -> str:
        request_id = created("/api/v1/requests", "member", DRAFT_BODY)
        post(f"/api/v1/requests/{request_id}/submit", "member", {})
        return request_id

    registered_event = created("/api/v1/events", "editor", EVENT_BODY)
    registration = created(
        f"/api/v1/events/{registered_event}/registrations", "member", {"name": "Fuzz Member"}
    )
    traced = post("/api/v1/routes", "member", ROUTE_BODY).headers["X-Trace-Id"]
    authority_id, contact_id, contacts_authority_id = authority(), contact_point(), authority()
    event_id = created("/api/v1/events", "editor", EVENT_BODY)
    draft_id = created("/api/v1/requests", "member", DRAFT_BODY)
    registrations = {"id": registered_event, "registration_id": registration}
    paths = {
        "/api/v1/networks/{code}": {"code": "SEAJUST"},
        "/api/v1/jurisdictions/{iso2}": {"iso2": "TH"},
        "/api/v1/jurisdictions/{iso2}/routing-profile": {"iso2": "TH"},
        "/api/v1/instruments/{code}": {"code": "UNTOC"},
        "/api/v1/authorities/{id}": {"id": authority_id},
        "/api/v1/contact-points/{id}": {"id": contact_id},
        "/api/v1/contact-points/{id}/details": {"id": contact_point()},
        "/api/v1/events/{id}": {"id": event_id},
        "/api/v1/events/{id}.ics": {"id": registered_event},
        "/api/v1/events/{id}/registrations": {"id": registered_event},
        "/api/v1/events/{id}/registrations/{registration_id}": registrations,
        "/api/v1/events/{id}/registrations/{registration_id}/attendance": registrations,
        "/api/v1/requests/{id}": {"id": draft_id},
        "/api/v1/requests/{id}/history": {"id": submitted()},
        "/api/v1/requests/{id}/submit": {"id": created("/api/v1/requests", "member", DRAFT_BODY)},
        "/api/v1/requests/{id}/status": {"id": submitted()},
        "/api/v1/admin/traces/{trace_id}": {"trace_id": traced},
        "/api/v1/federation/peers/{code}": {"code": PEER_NETWORK},
    }

    def at(path: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"path_parameters": paths[path], "body": body, "media_type": "application/json"}

    explicit = {
        "POST /api/v1/routes": [{"body": ROUTE_BODY, "media_type": "application/json"}],
        "POST /api/v1/authorities": [{"body": AUTHORITY_BODY, "media_type": "application/json"}],
        "PUT /api/v1/authorities/{id}": [at("/api/v1/authorities/{id}", AUTHORITY_BODY)],
        "POST /api/v1/contact-points": [
            {"body": _contact_body(contacts_authority_id), "media_type": "application/json"}
        ],
        "PUT /api/v1/contact-points/{id}": [
            at("/api/v1/contact-points/{id}", _contact_body(contacts_authority_id))
        ],
        "POST /api/v1/events": [{"body": EVENT_BODY, "media_type": "application/json"}],
        "PUT /api/v1/events/{id}": [at("/api/v1/events/{id}", EVENT_BODY)],
        "POST /api/v1/requests": [{"body": DRAFT_BODY, "media_type": "application/json"}],
        "PUT /api/v1/requests/{id}": [at("/api/v1/requests/{id}", DRAFT_BODY)],
        "POST /api/v1/requests/{id}/status": [
            at("/api/v1/requests/{id}/status", {"status": "withdrawn", "note": "fuzz"})
        ],
        # Peered, then removed at once (DELETE comes next in the document's order).
        "POST /api/v1/federation/peers": [
            {"body": _peer_descriptor(node), "media_type": "application/json"}
        ],
        "DELETE /api/v1/federation/peers/{code}": [
            {"path_parameters": paths["/api/v1/federation/peers/{code}"]}
        ],
    }
    return Targets(paths, explicit)


def _fuzz_tokens(node: RunningNode) -> dict[str, str]:
    """A token per role for the fuzz alone: no other test shares them, and no value the
    fuzz generates names them."""
    tokens = {}
    for role in ROLES[1:]:
        made = node.justnet("token", "create", "--role", role, "--name", f"fuzz-{role}")
        assert made.returncode == 0, made.stderr
        tokens[role] = made.stdout.strip()
    return tokens


# Requests that tell a token's role without changing anything: the lowest role each
# answers a non-401/403 to (the instrument body is refused as a 400 after the role check).
ROLE_PROBES = (
    ("member", "GET", "/api/v1/requests", None),
    ("editor", "PUT", "/api/v1/instruments/UNTOC", {"title": 1}),
    ("admin", "GET", "/api/v1/federation/peers", None),
)


def role_of_token(node: RunningNode, token: str) -> str:
    """The role `token` holds now, as the node treats it."""
    held = "anonymous"
    for role, method, path, body in ROLE_PROBES:
        resp = requests.request(
            method,
            node.url + path,
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=REQUEST_TIMEOUT,
        )
        if resp.status_code in (401, 403):
            break
        held = role
    return held


@pytest.fixture(scope="module")
def fuzz(node: RunningNode) -> Iterator[FuzzReport]:
    report = FuzzReport()
    log_start = node.log_size()
    tokens = _fuzz_tokens(node)
    for role, token in tokens.items():
        assert role_of_token(node, token) == role, role  # the probes tell the roles apart
    targets = _targets(node, tokens)
    doc = fetch_openapi(node)
    router = Router(doc)
    schema = schemathesis.openapi.from_url(f"{node.url}/api/v1/openapi.json")
    # Responses are checked against the closed copy (requests come from the document).
    checked = schemathesis.openapi.from_dict(
        {**doc, "paths": closed(doc["paths"]), "components": closed(doc["components"])}
    )
    session = requests.Session()
    started = time.monotonic()

    def role_break(kind: str, resp: requests.Response, role: str) -> None:
        report.role_breaks[kind] += 1
        report.role_break_examples.setdefault(kind, describe(resp, role))

    def check(resp: requests.Response, case: Any, role: str, reached: str | None) -> None:
        status = resp.status_code
        label = router.label[reached] if reached else "no operation"
        report.reached[(label, role)][status] += 1
        if status >= 500:
            report.server_errors.append(f"{label}: {describe(resp, role)}")
        if reached is None:
            # The router's own 404 or 405: only a problem document is right.
            if 200 <= status < 300:
                role_break(f"a {status} to {role} from no operation", resp, role)
            problem = response_problem(resp, {})
            if problem:
                report.wrong_content.append(f"{label}: {problem}\n    {describe(resp, role)}")
            return
        operation = checked.find_operation_by_id(reached)
        documented = operation.definition.raw.get("responses", {})
        if str(status) not in documented:
            report.undocumented.setdefault(f"{label} -> {status}", describe(resp, role))
        problem = response_problem(resp, documented)
        if problem:
            report.wrong_content.append(f"{label}: {problem}\n    {describe(resp, role)}")
        try:
            operation.validate_response(CheckedResponse.from_requests(resp, verify=True))
        except (Failure, FailureGroup) as exc:
            for failure in exc.exceptions if isinstance(exc, FailureGroup) else (exc,):
                kind = f"{label} -> {status}: {_break_kind(failure)}"
                report.schema_breaks[kind] += 1
                report.schema_break_examples.setdefault(
                    kind, f"{failure.message[:800]}\n    {describe(resp, role)}"
                )
        problem = role_problem(status, role, router.role[reached])
        if problem:
            role_break(f"{label}: {problem}", resp, role)

    def send(case: Any, label: str, role: str) -> None:
        kwargs = case.as_transport_kwargs(base_url=node.url)
        headers = dict(kwargs.pop("headers", {}) or {})
        if role != "anonymous":
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            headers["Authorization"] = f"Bearer {tokens[role]}"
        try:
            resp = session.request(**kwargs, headers=headers, timeout=REQUEST_TIMEOUT)
        except (requests.ConnectionError, requests.Timeout) as exc:
            report.sent += 1  # it went out, and the node dropped or ignored it
            report.by_operation[label] += 1
            report.by_role[role] += 1
            report.server_errors.append(
                f"{label}: {kwargs['method']} {kwargs['url']} [{role}] -> no response: {exc}"
            )
            return
        except (UnicodeError, ValueError, requests.exceptions.InvalidHeader):
            report.not_sendable += 1  # e.g. a header value outside latin-1: never sent
            return
        report.sent += 1
        report.by_operation[label] += 1
        report.by_role[role] += 1
        report.statuses[resp.status_code] += 1
        report.statuses_by_role[role][resp.status_code] += 1
        reached = router.resolve(resp.request.method or "", resp.request.url or "")
        if reached != case.operation.definition.raw.get("operationId"):
            report.rerouted += 1
        check(resp, case, role, reached)

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
            for role in ROLES:
                send(case, label, role)

        run()

    try:
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                report.invalid.append(str(result.err()))
                continue
            operation = result.ok()
            for explicit in targets.explicit.get(operation.label, []):
                case = operation.Case(**explicit)
                for role in ROLES:
                    send(case, operation.label, role)
            fixed = targets.paths.get(operation.path)
            variants: list[tuple[GenerationMode, dict[str, str] | None]] = [
                (mode, None) for mode in GenerationMode
            ]
            if fixed:
                variants += [(mode, fixed) for mode in GenerationMode]
            for mode, path_parameters in variants:
                strategy = operation.as_strategy(
                    generation_mode=mode, path_parameters=path_parameters
                )
                try:
                    fuzz_one(strategy, operation.label)
                except Unsatisfiable:
                    report.exhausted.append(f"{operation.label} ({mode.value}, {path_parameters})")
        report.seconds = time.monotonic() - started
    finally:
        session.close()
        router.close()
        # The peer must not outlive the fuzz, whatever happened (other tests share the node).
        requests.delete(
            f"{node.url}/api/v1/federation/peers/{PEER_NETWORK}",
            headers={"Authorization": f"Bearer {tokens['admin']}"},
            timeout=REQUEST_TIMEOUT,
        )
    report.roles_after = {role: role_of_token(node, token) for role, token in tokens.items()}
    report.node_errors = node.errors_in_log(log_start)
    yield report


def _break_kind(failure: Failure) -> str:
    """What broke and where in the schema, without the value: one line per kind."""
    lines = [line.strip() for line in failure.message.splitlines() if line.strip()]
    where = next((line for line in lines if line.startswith("Schema at")), "")
    return f"{failure.title}: {lines[0] if lines else ''} {where}".strip()


def _listing(items: list[str], limit: int = 15) -> str:
    shown = "\n".join(items[:limit])
    more = f"\n... and {len(items) - limit} more" if len(items) > limit else ""
    return shown + more


def test_fuzz_sent_enough_requests_to_every_operation(fuzz: FuzzReport, node: RunningNode) -> None:
    summary = (
        f"{fuzz.sent} requests in {fuzz.seconds:.0f} s; per role {dict(fuzz.by_role)}; "
        f"statuses {dict(fuzz.statuses)}; "
        + "; ".join(f"{r}: {dict(c)}" for r, c in fuzz.statuses_by_role.items())
        + f"; {fuzz.rerouted} reached another operation or none; "
        f"{fuzz.not_sendable} not sendable; per operation {dict(fuzz.by_operation)}"
    )
    print(summary)
    answered = {
        label
        for (label, _), statuses in fuzz.reached.items()
        if any(200 <= s < 300 for s in statuses)
    }
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
    # Every success body was checked against its schema at least once.
    assert not operations - answered, f"no role got a 2xx from {sorted(operations - answered)}"
    # Both kinds of data were generated and both kinds of answer came back, for everyone.
    for role in ROLES:
        statuses = fuzz.statuses_by_role[role]
        assert any(400 <= s < 500 for s in statuses), (role, summary)
        assert any(200 <= s < 300 for s in statuses), (role, summary)


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


def test_fuzz_responses_conform_to_their_documented_schema(fuzz: FuzzReport) -> None:
    assert not fuzz.schema_breaks, (
        f"{fuzz.schema_breaks.total()} of {fuzz.sent} responses broke their documented schema, "
        f"{len(fuzz.schema_breaks)} kinds:\n"
        + _listing(
            [
                f"{count} x {kind}\n  e.g. {fuzz.schema_break_examples[kind]}"
                for kind, count in fuzz.schema_breaks.most_common()
            ],
            40,
        )
    )


def test_fuzz_no_caller_got_past_its_role(fuzz: FuzzReport) -> None:
    assert not fuzz.role_breaks, (
        f"{fuzz.role_breaks.total()} of {fuzz.sent} answers did not fit the caller's role, "
        f"{len(fuzz.role_breaks)} kinds:\n"
        + _listing(
            [
                f"{count} x {kind}\n  e.g. {fuzz.role_break_examples[kind]}"
                for kind, count in fuzz.role_breaks.most_common()
            ],
            40,
        )
    )


def test_fuzz_refused_every_role_below_each_operation(fuzz: FuzzReport, node: RunningNode) -> None:
    # The check above had something to check: each protected operation was reached by
    # every role below it, and refused.
    unrefused = []
    for path, methods in fetch_openapi(node)["paths"].items():
        for method, operation in methods.items():
            label = f"{method.upper()} {path}"
            for role in ROLES[: RANK[operation["x-justnet-role"]]]:
                refusal = 401 if role == "anonymous" else 403
                if not fuzz.reached[(label, role)][refusal]:
                    unrefused.append(f"{label} as {role}: {dict(fuzz.reached[(label, role)])}")
    assert not unrefused, "\n".join(unrefused)


def test_fuzz_tokens_kept_their_roles(fuzz: FuzzReport) -> None:
    assert fuzz.roles_after == {role: role for role in ROLES[1:]}, fuzz.roles_after


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
