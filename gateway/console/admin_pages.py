"""Console pages for administrators: the federation's peers, the node's recent traces with a
span waterfall, the audit log, and people with their API tokens.

The peers, traces and audit pages call the same functions as `GET /api/v1/federation/peers`,
`GET /api/v1/admin/traces[/{trace_id}]` and `GET /api/v1/admin/audit`, so they show what the
API answers. People and tokens have no HTTP API; these pages use the account and token
stores as `justnet user ...` and `justnet token ...` do. Every change is a POST form (the
audit middleware records each one with its path, which names the person or the token);
one-time secrets (a set-password link, a new token) are shown once, in the answer to the
POST that made them, and stored nowhere but as hashes.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp
from opentelemetry import trace

from gateway import keys
from gateway.accounts import Person
from gateway.audit import AuditEntry
from gateway.console.i18n import _
from gateway.console.names import quarantine_reason_names, record_type_names, role_names
from gateway.console.web import (
    ACCOUNTS,
    PREFIX,
    field_errors,
    form,
    render,
    require_person,
    safe_next,
    see_other,
)
from gateway.models import TokenRow
from gateway.routes import admin as admin_api
from gateway.routes import federation_admin
from gateway.routes import node as node_api
from gateway.schema import parse_query
from services.common.errors import AlreadyExists, FieldError, InvalidInput, NotFound
from services.common.identity import ROLES, Caller, token_principal

routes = web.RouteTableDef()
ADMIN = f"{PREFIX}/admin"
PEOPLE = f"{ADMIN}/people"
WATERFALL_WIDTH = 1000  # the SVG's user units; the bar scales to the column
MAX_INDENT = 12


def _state_tags() -> dict[str, tuple[str, str]]:
    """A peer's or a feed's state: its words and its tag colour."""
    return {
        "connected": (_("connected"), "green"),
        "backing_off": (_("backing off"), "yellow"),
        "unreachable": (_("unreachable"), "red"),
        "refused": (_("refused"), "red"),
    }


# -------------------------------------------------------------------------------- peers


@routes.get(f"{ADMIN}/peers")
async def peers_page(request: web.Request) -> web.Response:
    who = require_person(request, "admin")
    data = await node_api.peers_data(request.app, who)
    held = await federation_admin.quarantine_data(request.app, who, {"limit": "50"})
    context = {
        **await node_api.keys_data(request.app),
        "section": "peers",
        "peers": data["items"],
        "states": _state_tags(),
        "quarantine": held["items"],
        "more_quarantined": held["next_cursor"] is not None,
        "reasons": quarantine_reason_names(),
        "record_types": {
            **record_type_names(),
            "routing_profile": _("Routing profile"),
            "event": _("Event"),
        },
    }
    return render(request, "admin_peers.html", context)


# -------------------------------------------------------------------------------- traces


@routes.get(f"{ADMIN}/traces")
async def traces_page(request: web.Request) -> web.Response:
    who = require_person(request, "admin")
    errors: list[FieldError] = []
    query = dict(request.query)
    asked = query.pop("trace_id", None)
    if asked is not None:  # the "open a trace" form
        try:
            trace_id = admin_api.check_trace_id(asked.strip())
        except InvalidInput as exc:
            errors = list(exc.errors)
        else:
            return see_other(f"{ADMIN}/traces/{trace_id}")
    limit = parse_query((admin_api.LIMIT,), query)["limit"] or 20
    data = await admin_api.traces_data(request.app, who, limit)
    context = {
        "section": "traces",
        "traces": data["items"],
        "unavailable": data["unavailable"],
        "asked": asked or "",
        "errors": errors,
    }
    return render(request, "admin_traces.html", context, status=400 if errors else 200)


def _ns(text: str) -> int:
    stamp = Timestamp()
    stamp.FromJsonString(text)
    return stamp.ToNanoseconds()


def waterfall(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The spans of a trace as rows: each after its parent, indented by depth, with its bar
    placed by its start offset and sized by its duration on a 0..WATERFALL_WIDTH scale."""
    spans: list[dict[str, Any]] = data["spans"]
    if not spans:
        return []
    ids = {s["span_id"] for s in spans}
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    roots = []
    for s in spans:  # the API gives them in start order; children keep it
        parent = s["parent_span_id"]
        if parent and parent in ids and parent != s["span_id"]:
            children[parent].append(s)
        else:
            roots.append(s)
    starts = {s["span_id"]: _ns(s["start"]) for s in spans}
    first = min(starts.values())
    total_ms = max(
        max((starts[s["span_id"]] - first) / 1e6 + s["duration_ms"] for s in spans), 1e-3
    )
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(span: dict[str, Any], depth: int) -> None:
        stack = [(span, depth)]
        while stack:
            s, d = stack.pop()
            if s["span_id"] in seen:
                continue
            seen.add(s["span_id"])
            offset_ms = (starts[s["span_id"]] - first) / 1e6
            x = offset_ms / total_ms * WATERFALL_WIDTH
            width = max(s["duration_ms"] / total_ms * WATERFALL_WIDTH, 2.0)
            x = min(x, WATERFALL_WIDTH - width)
            rows.append(
                {
                    "span": s,
                    "depth": d,
                    "indent": min(d, MAX_INDENT),
                    "offset_ms": offset_ms,
                    "x": round(x, 2),
                    "width": round(width, 2),
                    "error": s["status"] == "ERROR",
                }
            )
            stack.extend((c, d + 1) for c in reversed(children[s["span_id"]]))

    for root in roots:
        add(root, 0)
    for s in spans:  # a cycle of parents has no root: show its spans all the same
        add(s, 0)
    return rows


@routes.get(f"{ADMIN}/traces/{{trace_id}}")
async def trace_page(request: web.Request) -> web.Response:
    who = require_person(request, "admin")
    data = await admin_api.trace_data(request.app, who, request.match_info["trace_id"])
    context = {
        "section": "traces",
        "trace": data,
        "rows": waterfall(data),
        "width": WATERFALL_WIDTH,
        "statuses": {"OK": _("OK"), "UNSET": _("Unset"), "ERROR": _("Error")},
    }
    return render(request, "admin_trace.html", context)


# -------------------------------------------------------------------------------- audit


def _outcome(detail: str) -> tuple[str, str, bool]:
    """The audit middleware's detail is "<route>; status <n>" (or "; refused: <error>");
    entries that pages add themselves say what they did instead."""
    route, sep, outcome = detail.rpartition("; ")
    if sep and outcome.startswith(("status ", "refused")):
        return route, outcome, True
    return "", detail, False


@routes.get(f"{ADMIN}/audit")
async def audit_page(request: web.Request) -> web.Response:
    require_person(request, "admin")
    limit = parse_query((admin_api.AUDIT_LIMIT,), request.query)["limit"] or 100
    data = await admin_api.audit_data(request.app, limit)
    entries = []
    for item in data["items"]:
        route, outcome, is_status = _outcome(item["detail"])
        failed = outcome.startswith(("status 4", "status 5", "refused"))
        entries.append(
            {**item, "route": route, "outcome": outcome, "status": is_status, "failed": failed}
        )
    return render(request, "admin_audit.html", {"section": "audit", "entries": entries})


# -------------------------------------------------------------------------------- people


def _me(request: web.Request) -> Caller:
    return require_person(request, "admin")


def _record(request: web.Request, action: str, target: str, detail: str) -> None:
    """An audit entry beside the middleware's, naming what a POST created (its path
    cannot: the id is new)."""
    context = trace.get_current_span().get_span_context()
    request.app[keys.AUDIT].record(
        AuditEntry(
            caller=request[keys.CALLER],
            action=action,
            target=target,
            detail=detail,
            trace_id=f"{context.trace_id:032x}" if context.is_valid else "",
        )
    )


def _token_rows(
    tokens: list[TokenRow], people: dict[str, Person], only: str | None = None
) -> list[dict[str, Any]]:
    rows = []
    for t in reversed(tokens):  # newest first
        if only is not None and t.user_id != only:
            continue
        owner = people.get(t.user_id) if t.user_id else None
        rows.append(
            {
                "id": t.id,
                "name": t.name,
                # A person's token acts with the person's current role.
                "role": owner.role if owner else t.role,
                "owner": owner,
                "created_at": t.created_at,
                "revoked": t.revoked_at is not None,
            }
        )
    return rows


def _banner(request: web.Request, people: dict[str, Person], tokens: list[TokenRow]) -> str:
    """What the last action did (after its 303), from the query: never a secret."""
    done = request.query.get("done", "")
    person = people.get(request.query.get("person", ""))
    if done == "revoked":
        token = next((t for t in tokens if t.id == request.query.get("token")), None)
        return _("The token “{name}” is revoked.").format(name=token.name) if token else ""
    if person is None:
        return ""
    if done == "role":
        role = role_names().get(person.role, person.role)
        return _("The role of {name} is now {role}.").format(name=person.name, role=role)
    if done == "disabled":
        return _("{name} is disabled: their sessions and tokens stopped working.").format(
            name=person.name
        )
    if done == "enabled":
        return _(
            "{name} can sign in again. Tokens revoked when they were disabled stay revoked."
        ).format(name=person.name)
    if done == "second-factor":
        return _(
            "Two-step verification of {name} is reset: it is off until they set it up "
            "again (administrators must, when they next sign in)."
        ).format(name=person.name)
    return ""


async def _tokens_context(
    request: web.Request, only: str | None = None
) -> tuple[list[Person], dict[str, Any]]:
    """Everyone, and what the people page and a person's page share: the tokens table (every
    token, or `only` this person's), the roles' names and the banner after a change."""
    people = await request.app[ACCOUNTS].people()
    by_id = {p.id: p for p in people}
    tokens = await request.app[keys.TOKENS].all_tokens()
    return people, {
        "section": "people",
        "tokens": _token_rows(tokens, by_id, only=only),
        "roles": role_names(),
        "me": request[keys.CALLER].subject,
        "banner": _banner(request, by_id, tokens),
        "created": None,
    }


async def _people_context(request: web.Request) -> dict[str, Any]:
    people, shared = await _tokens_context(request)
    return {
        **shared,
        "people": people,
        "jurisdictions": list(request.app[keys.SETTINGS].jurisdictions),
        "invite": {"email": "", "name": "", "role": "member", "jurisdiction": ""},
        "new_token": {"token_name": "", "token_role": "member"},
    }


@routes.get(PEOPLE)
async def people_page(request: web.Request) -> web.Response:
    _me(request)
    return render(request, "admin_people.html", await _people_context(request))


@routes.post(PEOPLE)
async def invite(request: web.Request) -> web.Response:
    """Invite: add the person, then show their one-time set-password link (once)."""
    _me(request)
    data = await form(request)
    values = {k: str(data.get(k, ""))[:400] for k in ("email", "name", "role", "jurisdiction")}
    accounts = request.app[ACCOUNTS]
    try:
        person = await accounts.add(
            values["email"], values["name"], values["role"], values["jurisdiction"].upper()
        )
    except (InvalidInput, AlreadyExists) as exc:
        errors = field_errors(exc) or [
            FieldError("email", _("A person with this email address exists already"))
        ]
        context = {**await _people_context(request), "invite": values, "errors": errors}
        return render(request, "admin_people.html", context, status=400)
    secret = await accounts.password_link(person.id)
    _record(
        request,
        "invite",
        person.principal,
        f"invited {person.email} as {person.role} with a set-password link (24 h)",
    )
    link = f"{request.app[keys.SETTINGS].gateway.url}{PREFIX}/set-password?token={secret}"
    created = {"kind": "invite", "person": person, "link": link}
    return render(
        request, "admin_people.html", {**await _people_context(request), "created": created}
    )


@routes.get(f"{ADMIN}/tokens")
async def tokens_page(request: web.Request) -> web.Response:
    _me(request)
    return see_other(f"{PEOPLE}#tokens")


@routes.post(f"{ADMIN}/tokens")
async def create_token(request: web.Request) -> web.Response:
    """Create token: a named service token, a principal of its own; its value shown once."""
    _me(request)
    data = await form(request)
    values = {k: str(data.get(k, ""))[:400] for k in ("token_name", "token_role")}
    errors = []
    if not values["token_name"].strip():
        errors.append(FieldError("token_name", _("Enter a name that says what uses the token")))
    if values["token_role"] not in ROLES:
        errors.append(FieldError("token_role", _("Choose a role")))
    if errors:
        context = {**await _people_context(request), "new_token": values, "errors": errors}
        return render(request, "admin_people.html", context, status=400)
    token, info = await request.app[keys.TOKENS].create(values["token_role"], values["token_name"])
    _record(
        request,
        "create token",
        token_principal(info.id),
        f"service token “{info.name}” ({info.role})",
    )
    created = {"kind": "token", "token": token, "info": info, "person": None}
    return render(
        request, "admin_people.html", {**await _people_context(request), "created": created}
    )


@routes.post(f"{ADMIN}/tokens/{{token_id}}/revoke")
async def revoke_token(request: web.Request) -> web.Response:
    _me(request)
    data = await form(request)
    token_id = request.match_info["token_id"]
    if not await request.app[keys.TOKENS].revoke(token_id):
        raise NotFound(_("There is no active token {id}.").format(id=token_id))
    back = safe_next(str(data.get("next", "")), PEOPLE).split("?")[0].split("#")[0]
    return see_other(f"{back}?done=revoked&token={token_id}#tokens")


# -------------------------------------------------------------------------------- a person


async def _person_context(request: web.Request, person: Person) -> dict[str, Any]:
    _people, shared = await _tokens_context(request, only=person.id)
    return {
        **shared,
        "person": person,
        "codes_left": await request.app[ACCOUNTS].recovery_codes_left(person.id),
    }


async def _person(request: web.Request) -> Person:
    return await request.app[ACCOUNTS].require(request.match_info["user_id"])


def _is_me(request: web.Request, person: Person) -> bool:
    return bool(request[keys.CALLER].subject == person.principal)


def _person_url(person: Person, done: str) -> str:
    return f"{PEOPLE}/{person.id}?done={done}&person={person.id}"


@routes.get(f"{PEOPLE}/{{user_id}}")
async def person_page(request: web.Request) -> web.Response:
    _me(request)
    person = await _person(request)
    return render(request, "admin_person.html", await _person_context(request, person))


async def _refuse(request: web.Request, person: Person, error: FieldError) -> web.Response:
    context = {**await _person_context(request, person), "errors": [error]}
    return render(request, "admin_person.html", context, status=409)


@routes.post(f"{PEOPLE}/{{user_id}}/role")
async def change_role(request: web.Request) -> web.Response:
    _me(request)
    person = await _person(request)
    role = str((await form(request)).get("role", ""))[:20]
    if _is_me(request, person) and role != person.role:
        message = _("You cannot change your own role; another administrator can.")
        return await _refuse(request, person, FieldError("", message))
    try:
        person = await request.app[ACCOUNTS].set_role(person.id, role)
    except InvalidInput as exc:
        context = {**await _person_context(request, person), "errors": list(exc.errors)}
        return render(request, "admin_person.html", context, status=400)
    return see_other(_person_url(person, "role"))


@routes.post(f"{PEOPLE}/{{user_id}}/disable")
async def disable(request: web.Request) -> web.Response:
    _me(request)
    person = await _person(request)
    if _is_me(request, person):
        message = _("You cannot disable yourself; another administrator can.")
        return await _refuse(request, person, FieldError("", message))
    person = await request.app[ACCOUNTS].disable(person.id)
    return see_other(_person_url(person, "disabled"))


@routes.post(f"{PEOPLE}/{{user_id}}/enable")
async def enable(request: web.Request) -> web.Response:
    _me(request)
    person = await request.app[ACCOUNTS].enable((await _person(request)).id)
    return see_other(_person_url(person, "enabled"))


@routes.post(f"{PEOPLE}/{{user_id}}/second-factor/reset")
async def reset_second_factor(request: web.Request) -> web.Response:
    _me(request)
    person = await _person(request)
    await request.app[ACCOUNTS].reset_second_factor(person.id)
    return see_other(_person_url(person, "second-factor"))


@routes.post(f"{PEOPLE}/{{user_id}}/password-link")
async def new_password_link(request: web.Request) -> web.Response:
    """A new one-time set-password link (a forgotten password), shown once."""
    _me(request)
    person = await _person(request)
    if person.disabled:
        message = _("{name} is disabled; enable them first.").format(name=person.name)
        return await _refuse(request, person, FieldError("", message))
    secret = await request.app[ACCOUNTS].password_link(person.id)
    link = f"{request.app[keys.SETTINGS].gateway.url}{PREFIX}/set-password?token={secret}"
    created = {"kind": "link", "person": person, "link": link}
    context = {**await _person_context(request, person), "created": created}
    return render(request, "admin_person.html", context)


@routes.post(f"{PEOPLE}/{{user_id}}/tokens")
async def create_person_token(request: web.Request) -> web.Response:
    """A token that acts as this person (their role, their principal); shown once."""
    _me(request)
    person = await _person(request)
    try:
        token, info = await request.app[keys.TOKENS].create_for(person.id)
    except InvalidInput:
        message = _("{name} is disabled; enable them first.").format(name=person.name)
        return await _refuse(request, person, FieldError("", message))
    _record(request, "create token", token_principal(info.id), f"token of {person.principal}")
    created = {"kind": "token", "token": token, "info": info, "person": person}
    context = {**await _person_context(request, person), "created": created}
    return render(request, "admin_person.html", context)


@routes.get(f"{PEOPLE}/{{user_id}}/{{action:.+}}")
async def person_action_page(request: web.Request) -> web.Response:
    """The address of an action answered with a page (a one-time secret, or an error), when
    fetched again (a language switch, a bookmark): the person's page."""
    _me(request)
    return see_other(f"{PEOPLE}/{(await _person(request)).id}")
