"""Console pages for editors: this node's directory records (authorities, contact points,
routing profiles of the network's member states), their forms, deletion, export, and the
import of a CSV or JSON file with a check step.

Records are listed, read and written through the functions the HTTP API's handlers call
(`gateway.routes.directory`), with the same body checks, so a form's errors name the API's
fields and an edit sends the version it showed (the API's If-Match). The import reads the
file as `justnet import` does (`services.common.directory_files`) and sends it to the same
ImportDirectory call: first as a dry run that lists every row's errors and writes nothing,
then for real.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlencode

import grpc
from aiohttp import web
from justnet.directory.v1 import directory_pb2
from multidict import MultiDictProxy

from gateway import keys
from gateway import render as api_render
from gateway.console.i18n import _
from gateway.console.names import (
    applicability_tags,
    authority_kind_names,
    channel_names,
    competence_names,
    measure_names,
    visibility_choices,
)
from gateway.console.web import (
    PREFIX,
    field_errors,
    form,
    problem_text,
    render,
    require_person,
    see_other,
)
from gateway.resources import Resource
from gateway.routes.directory import (
    AUTHORITY_RECORDS,
    CONTACT_POINT_RECORDS,
    authorities_page,
    contact_points_page,
    jurisdictions_data,
    put_routing_profile_record,
    routing_profile_record,
)
from services.common import codes
from services.common import directory_files as files
from services.common.errors import DomainError, FieldError
from services.common.identity import Caller

routes = web.RouteTableDef()
BASE = f"{PREFIX}/directory"
AUTHORITIES = f"{BASE}/authorities"
CONTACTS = f"{BASE}/contact-points"
PROFILES = f"{BASE}/routing-profiles"
IMPORT = f"{BASE}/import"
PAGE_SIZE = "50"
EXPORT_PAGES = 200  # 500 records a page: up to 100,000 of each kind
EXTRA_CHANNEL_ROWS = 2


# ------------------------------------------------------------------ shared helpers


def _network(request: web.Request) -> str:
    return request.app[keys.SETTINGS].network


async def _jurisdictions(request: web.Request, who: Caller) -> list[tuple[str, str]]:
    """The network's member states (code, "code: name"), for selects and profiles."""
    own = _network(request)
    names: dict[str, str] = {}
    try:
        for j in await jurisdictions_data(request.app, who, {"network": own}):
            names[j["code"]] = j["name"]
    except grpc.aio.AioRpcError:
        pass
    members = list(request.app[keys.SETTINGS].jurisdictions) or sorted(names)
    return [(code, f"{code}: {names[code]}" if code in names else code) for code in members]


def _split(value: str) -> list[str]:
    """A list field typed as text: items separated by commas, spaces or new lines."""
    return [part for part in value.replace(",", " ").split() if part]


def _text(data: MultiDictProxy[Any], name: str) -> str:
    """A text field as typed (browsers send a textarea's line breaks as CR LF)."""
    return str(data.get(name, "")).replace("\r\n", "\n").strip()


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _version(data: MultiDictProxy[Any]) -> int:
    raw = str(data.get("version", "")).strip()
    return int(raw) if raw.isdigit() and len(raw) <= 18 else 0


def _code(exc: Exception) -> grpc.StatusCode | None:
    if isinstance(exc, grpc.aio.AioRpcError):
        return exc.code()
    if isinstance(exc, DomainError):
        return exc.code
    return None


@dataclass
class Outcome:
    """How a failed write is shown: field errors (400), a stale version (412), or a refusal."""

    errors: list[FieldError]
    stale: bool = False
    message: str = ""
    status: int = 400


def _outcome(exc: Exception) -> Outcome:
    errors = field_errors(exc)
    if errors is not None:
        return Outcome(errors)
    code = _code(exc)
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return Outcome([], stale=True, status=412)
    if code == grpc.StatusCode.PERMISSION_DENIED:  # e.g. a replica: only its owner edits it
        return Outcome([], message=problem_text(exc), status=403)
    if code in (grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS):
        return Outcome([], message=problem_text(exc), status=409)
    raise exc


def _form_state(
    request: web.Request,
    outcome: Outcome | None,
    record: dict[str, Any] | None,
    form_version: int | None,
) -> dict[str, Any]:
    """What a form shows of the last write: its errors, a stale version or a refusal (and the
    version it edits: the one shown, until the person reloads the record), or that it saved."""
    return {
        "form_version": form_version if form_version is not None else (record or {}).get("version"),
        "errors": outcome.errors if outcome else [],
        "stale": outcome.stale if outcome else False,
        "message": outcome.message if outcome else "",
        "saved": request.query.get("saved") == "1",
    }


def _query(values: Mapping[str, str]) -> str:
    kept = {k: v for k, v in values.items() if v}
    return "?" + urlencode(kept) if kept else ""


# ------------------------------------------------------------------ the two kinds of record


def _body(data: MultiDictProxy[Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The API's JSON body from the form (the API checks it, naming its fields)."""
    body: dict[str, Any] = {}
    for name in fields:
        if name == "competences":
            body[name] = [str(v) for v in data.getall(name, [])]
        elif name in files.LIST_FIELDS:  # languages, typed as text
            body[name] = _split(str(data.get(name, "")))
        elif name == "available_24_7":
            body[name] = data.get(name) == "1"
        else:
            body[name] = _text(data, name)
    return body


def _form_values(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in fields:
        value = record.get(name)
        if name == "competences":
            values[name] = list(value or [])
        elif name in files.LIST_FIELDS:
            values[name] = ", ".join(value or [])
        elif name == "available_24_7":
            values[name] = bool(value)
        else:
            values[name] = "" if value is None else value
    return values


async def _authority_choices(
    request: web.Request, who: Caller, current: str = ""
) -> list[tuple[str, str]]:
    """This node's authorities (the first 500), for a contact point's authority."""
    reply = await authorities_page(request.app, who, {"network": _network(request), "limit": "500"})
    choices = [(a.meta.id, f"{a.name} ({a.jurisdiction})") for a in reply.items]
    if current and current not in {c[0] for c in choices}:
        choices.append((current, current))
    return sorted(choices, key=lambda c: c[1].casefold())


async def _authority_form_choices(
    request: web.Request, who: Caller, values: dict[str, Any]
) -> dict[str, Any]:
    return {"kinds": authority_kind_names()}


async def _contact_form_choices(
    request: web.Request, who: Caller, values: dict[str, Any]
) -> dict[str, Any]:
    return {"authorities": await _authority_choices(request, who, str(values.get("authority_id")))}


@dataclass(frozen=True)
class Kind:
    """One kind of record as the editor's pages show it: both kinds share every page's flow."""

    name: str  # "authority" or "contact_point": the tab, and the delete page's kind
    base: str  # its pages' path
    fields: tuple[str, ...]  # the API body's fields, named as the import and export name them
    list_template: str
    form_template: str
    records: Resource[Any]  # the API's create, read, update and delete
    page: Callable[[web.Application, Caller, Mapping[str, str]], Awaitable[Any]]  # the API's list
    form_choices: Callable[[web.Request, Caller, dict[str, Any]], Awaitable[dict[str, Any]]]
    from_query: tuple[str, ...] = ()  # fields a new record's form takes from the query


AUTHORITY = Kind(
    "authority",
    AUTHORITIES,
    files.AUTHORITY_FIELDS,
    "directory_authorities.html",
    "directory_authority_form.html",
    AUTHORITY_RECORDS,
    authorities_page,
    _authority_form_choices,
)
CONTACT_POINT = Kind(
    "contact_point",
    CONTACTS,
    files.CONTACT_FIELDS,
    "directory_contact_points.html",
    "directory_contact_point_form.html",
    CONTACT_POINT_RECORDS,
    contact_points_page,
    _contact_form_choices,
    from_query=("authority_id",),  # "Add a contact point" on an authority's page
)
KINDS = (AUTHORITY, CONTACT_POINT)


# ------------------------------------------------------------------ lists


async def _list_page(request: web.Request, kind: Kind) -> web.Response:
    who = require_person(request, "editor")
    jurisdiction = request.query.get("jurisdiction", "")[:8]
    text = request.query.get("q", "")[:200]
    cursor = request.query.get("cursor", "")[:500]
    query = {
        "network": _network(request),
        "jurisdiction": jurisdiction,
        "q": text,
        "limit": PAGE_SIZE,
        "cursor": cursor,
    }
    query = {k: v for k, v in query.items() if v}
    errors: list[FieldError] = []
    items: list[dict[str, Any]] = []
    next_cursor = ""
    try:
        reply = await kind.page(request.app, who, query)
        items = [kind.records.render(r) for r in reply.items]
        next_cursor = reply.next_cursor
    except (DomainError, grpc.aio.AioRpcError) as exc:
        found = field_errors(exc)
        if found is None:
            raise
        errors = found
    filters = {"jurisdiction": jurisdiction, "q": text}
    context = {
        "tab": kind.name,
        "items": items,
        "filters": filters,
        "errors": errors,
        "jurisdictions": await _jurisdictions(request, who),
        "next_url": request.path + _query({**filters, "cursor": next_cursor})
        if next_cursor
        else "",
        "first_url": request.path + _query(filters) if cursor else "",
        "kinds": authority_kind_names(),
        "competences": competence_names(),
        "visibilities": visibility_choices(),
        "deleted": request.query.get("deleted", "")[:300],
    }
    return render(request, kind.list_template, context, status=400 if errors else 200)


@routes.get(BASE)
async def directory_home(request: web.Request) -> web.Response:
    require_person(request, "editor")
    return see_other(AUTHORITIES)


# ------------------------------------------------------------------ adding and editing


async def _form(
    request: web.Request,
    who: Caller,
    kind: Kind,
    values: dict[str, Any],
    *,
    record: dict[str, Any] | None = None,
    outcome: Outcome | None = None,
    form_version: int | None = None,
) -> web.Response:
    context = {
        **_form_state(request, outcome, record, form_version),
        "tab": kind.name,
        "values": values,
        "record": record,
        "jurisdictions": await _jurisdictions(request, who),
        **await kind.form_choices(request, who, values),
        "competences": competence_names(),
        "visibilities": visibility_choices(),
    }
    status = outcome.status if outcome else 200
    return render(request, kind.form_template, context, status=status)


async def _new(request: web.Request, kind: Kind) -> web.Response:
    who = require_person(request, "editor")
    start = {"visibility": "network"}
    start.update({name: request.query.get(name, "")[:64] for name in kind.from_query})
    return await _form(request, who, kind, _form_values(start, kind.fields))


async def _create(request: web.Request, kind: Kind) -> web.Response:
    who = require_person(request, "editor")
    data = await form(request)
    body = _body(data, kind.fields)
    try:
        reply = await kind.records.create(request.app, who, body)
    except (DomainError, grpc.aio.AioRpcError) as exc:
        values = _form_values(body, kind.fields)
        return await _form(request, who, kind, values, outcome=_outcome(exc))
    return see_other(f"{kind.base}/{reply.meta.id}?saved=1")


async def _edit(request: web.Request, kind: Kind) -> web.Response:
    who = require_person(request, "editor")
    record = await kind.records.read(request.app, who, request.match_info["id"])
    return await _form(request, who, kind, _form_values(record, kind.fields), record=record)


async def _update(request: web.Request, kind: Kind) -> web.Response:
    who = require_person(request, "editor")
    record_id = request.match_info["id"]
    data = await form(request)
    body = _body(data, kind.fields)
    version = _version(data)
    try:
        reply = await kind.records.update(request.app, who, record_id, body, version)
    except (DomainError, grpc.aio.AioRpcError) as exc:
        record = await kind.records.read(request.app, who, record_id)
        values = _form_values(body, kind.fields)
        # The form keeps the version the person edited until they reload the record.
        return await _form(
            request, who, kind, values, record=record, outcome=_outcome(exc), form_version=version
        )
    return see_other(f"{kind.base}/{reply.meta.id}?saved=1")


# ------------------------------------------------------------------ deleting


async def _delete_page(request: web.Request, kind: Kind) -> web.Response:
    who = require_person(request, "editor")
    record = await kind.records.read(request.app, who, request.match_info["id"])
    context = {
        "tab": kind.name,
        "record": record,
        "kind": kind.name,
        "back": f"{kind.base}/{record['id']}",
        "form_version": record["version"],
        "stale": False,
        "message": "",
    }
    return render(request, "directory_delete.html", context)


async def _delete(request: web.Request, kind: Kind) -> web.Response:
    who = require_person(request, "editor")
    record_id = request.match_info["id"]
    data = await form(request)
    version = _version(data)
    record = await kind.records.read(request.app, who, record_id)
    try:
        await kind.records.delete(request.app, who, record_id, version)
    except (DomainError, grpc.aio.AioRpcError) as exc:
        outcome = _outcome(exc)
        context = {
            "tab": kind.name,
            "record": record,
            "kind": kind.name,
            "back": f"{kind.base}/{record_id}",
            "form_version": version,
            "errors": outcome.errors,
            "stale": outcome.stale,
            "message": outcome.message,
        }
        return render(request, "directory_delete.html", context, status=outcome.status)
    return see_other(kind.base + _query({"deleted": str(record.get("name", ""))[:200]}))


# Each kind's pages: its list, a new record's form, a record's form, its deletion.
for _kind in KINDS:
    routes.get(_kind.base)(partial(_list_page, kind=_kind))
    routes.get(_kind.base + "/new")(partial(_new, kind=_kind))
    routes.post(_kind.base + "/new")(partial(_create, kind=_kind))
    routes.get(_kind.base + "/{id}")(partial(_edit, kind=_kind))
    routes.post(_kind.base + "/{id}")(partial(_update, kind=_kind))
    routes.get(_kind.base + "/{id}/delete")(partial(_delete_page, kind=_kind))
    routes.post(_kind.base + "/{id}/delete")(partial(_delete, kind=_kind))


# ------------------------------------------------------------------ routing profiles


async def _profile(request: web.Request, who: Caller, iso2: str) -> dict[str, Any] | None:
    try:
        return api_render.routing_profile(await routing_profile_record(request.app, who, iso2))
    except grpc.aio.AioRpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return None
        raise


@routes.get(PROFILES)
async def profiles_list(request: web.Request) -> web.Response:
    who = require_person(request, "editor")
    rows = []
    for code, label in await _jurisdictions(request, who):
        rows.append((code, label, await _profile(request, who, code)))
    names = {a[0]: a[1] for a in await _authority_choices(request, who)}
    context = {"tab": "routing_profile", "rows": rows, "authority_names": names}
    return render(request, "directory_profiles.html", context)


def _profile_values(profile: dict[str, Any] | None) -> dict[str, Any]:
    profile = profile or {}
    return {
        "central_authority_id": profile.get("central_authority_id") or "",
        "accepted_languages": ", ".join(profile.get("accepted_languages") or []),
        "channels": [
            {"kind": c.get("kind", ""), "address": c.get("address", ""), "formal": c.get("formal")}
            for c in profile.get("channels") or []
        ],
        "legal_bases": "\n".join(profile.get("legal_bases") or []),
        "measures": {
            m["code"]: {"applicability": m.get("applicability", ""), "notes": m.get("notes", "")}
            for m in profile.get("measures") or []
        },
        "acknowledgement_days": profile.get("acknowledgement_days", ""),
        "urgent_procedure": profile.get("urgent_procedure") or "",
        "visibility": profile.get("visibility") or "network",
    }


def _profile_body(data: MultiDictProxy[Any]) -> tuple[dict[str, Any], list[str]]:
    """The API's body from the form, and the measure code of each `measures[i]`."""
    channels = []
    for i in range(50):
        if f"channels-{i}-kind" not in data:
            break
        kind = str(data.get(f"channels-{i}-kind", "")).strip()
        address = _text(data, f"channels-{i}-address")
        formal = data.get(f"channels-{i}-formal") == "1"
        if kind or address:
            channels.append({"kind": kind, "address": address, "formal": formal})
    measures = []
    codes_sent = []
    for code in codes.MEASURES:
        applicability = str(data.get(f"measures-{code}-applicability", "")).strip()
        notes = _text(data, f"measures-{code}-notes")
        if applicability or notes:
            measures.append({"code": code, "applicability": applicability, "notes": notes})
            codes_sent.append(code)
    days: Any = str(data.get("acknowledgement_days", "")).strip()
    if days.isdigit() and len(days) < 10:
        days = int(days)
    elif not days:
        days = None
    body = {
        "central_authority_id": str(data.get("central_authority_id", "")).strip(),
        "accepted_languages": _split(str(data.get("accepted_languages", ""))),
        "channels": channels,
        "legal_bases": _lines(str(data.get("legal_bases", ""))),
        "measures": measures,
        "acknowledgement_days": days,
        "urgent_procedure": _text(data, "urgent_procedure"),
        "visibility": str(data.get("visibility", "")).strip(),
    }
    return body, codes_sent


def _named_measures(errors: list[FieldError], codes_sent: list[str]) -> list[FieldError]:
    """`measures[2].notes` names the third measure sent; say which one it is."""
    labels = measure_names()
    out = []
    for e in errors:
        if e.field.startswith("measures["):
            index = e.field[len("measures[") :].split("]")[0]
            if index.isdigit() and int(index) < len(codes_sent):
                code = codes_sent[int(index)]
                e = FieldError(e.field, f"{labels.get(code, code)}: {e.message}")
        out.append(e)
    return out


async def _profile_form(
    request: web.Request,
    who: Caller,
    iso2: str,
    values: dict[str, Any],
    profile: dict[str, Any] | None,
    outcome: Outcome | None = None,
    form_version: int | None = None,
) -> web.Response:
    label = dict(await _jurisdictions(request, who)).get(iso2, iso2)
    authorities = await authorities_page(
        request.app,
        who,
        {"network": _network(request), "jurisdiction": iso2, "limit": "500"},
    )
    choices = [(a.meta.id, a.name) for a in authorities.items]
    current = values["central_authority_id"]
    if current and current not in {c[0] for c in choices}:
        choices.append((current, current))
    channel_rows = list(values["channels"]) + [
        {"kind": "", "address": "", "formal": False} for _i in range(EXTRA_CHANNEL_ROWS)
    ]
    context = {
        "tab": "routing_profile",
        "iso2": iso2,
        "jurisdiction_label": label,
        **_form_state(request, outcome, profile, form_version),
        "values": values,
        "profile": profile,
        "channel_rows": channel_rows,
        "authorities": choices,
        "measures": measure_names(),
        "applicability": {code: words for code, (words, _colour) in applicability_tags().items()},
        "channel_kinds": channel_names(),
        "visibilities": visibility_choices(),
        "instruments": codes.INSTRUMENTS,
    }
    status = outcome.status if outcome else 200
    return render(request, "directory_profile_form.html", context, status=status)


def _member(request: web.Request, iso2: str) -> str:
    code = iso2.upper()
    if code not in request.app[keys.SETTINGS].jurisdictions:
        raise web.HTTPNotFound(
            reason=_("{code} is not a member state of {network}.").format(
                code=code[:8], network=_network(request)
            )
        )
    return code


@routes.get(PROFILES + "/{iso2}")
async def edit_profile(request: web.Request) -> web.Response:
    who = require_person(request, "editor")
    iso2 = _member(request, request.match_info["iso2"])
    profile = await _profile(request, who, iso2)
    return await _profile_form(request, who, iso2, _profile_values(profile), profile)


@routes.post(PROFILES + "/{iso2}")
async def save_profile(request: web.Request) -> web.Response:
    who = require_person(request, "editor")
    iso2 = _member(request, request.match_info["iso2"])
    data = await form(request)
    body, codes_sent = _profile_body(data)
    version = _version(data)
    try:
        await put_routing_profile_record(request.app, who, iso2, body, version)
    except (DomainError, grpc.aio.AioRpcError) as exc:
        outcome = _outcome(exc)
        outcome.errors = _named_measures(outcome.errors, codes_sent)
        profile = await _profile(request, who, iso2)
        values = {
            **body,
            "accepted_languages": ", ".join(body["accepted_languages"]),
            "legal_bases": "\n".join(body["legal_bases"]),
            "measures": {m["code"]: m for m in body["measures"]},
            "acknowledgement_days": str(data.get("acknowledgement_days", ""))[:20],
        }
        return await _profile_form(request, who, iso2, values, profile, outcome, version)
    return see_other(f"{PROFILES}/{iso2}?saved=1")


# ------------------------------------------------------------------ export


async def _all_records(request: web.Request, who: Caller) -> tuple[list[Any], list[Any]]:
    """This node's own records, every page, as `justnet export` reads them."""
    out: list[list[Any]] = []
    for kind in KINDS:
        items: list[Any] = []
        query = {"network": _network(request), "limit": "500"}
        for _page in range(EXPORT_PAGES):
            reply = await kind.page(request.app, who, query)
            items.extend(reply.items)
            if not reply.next_cursor:
                break
            query["cursor"] = reply.next_cursor
        out.append(items)
    authorities, contacts = out
    return authorities, contacts


@routes.get(BASE + "/export.{format:csv|json}")
async def export(request: web.Request) -> web.Response:
    who = require_person(request, "editor")
    authorities, contacts = await _all_records(request, who)
    fmt = request.match_info["format"]
    if fmt == "csv":
        text = files.export_csv(authorities, contacts)
        content_type = "text/csv"
    else:
        text = files.export_json(authorities, contacts)
        content_type = "application/json"
    response = web.Response(text=text, content_type=content_type, charset="utf-8")
    filename = f"{_network(request).lower()}-directory.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# ------------------------------------------------------------------ import


@dataclass(frozen=True)
class RowProblem:
    row: int
    where: str  # "line 3", "authorities[0]"
    column: str
    message: str


@dataclass(frozen=True)
class ImportResult:
    problems: list[RowProblem]
    created: int
    updated: int


def _parse(content: str, fmt: str) -> files.Parsed:
    if fmt == "json":
        return files.parse_json(content)
    return files.parse_csv(content)


def _format_of(filename: str, content: str) -> str:
    name = filename.lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith(".csv"):
        return "csv"
    return "json" if content.lstrip()[:1] in ("{", "[") else "csv"


def _where(row: int, fmt: str, labels: Mapping[int, str]) -> str:
    """Where a row is in the file: a CSV's line, a JSON item's path."""
    if row <= 0:
        return _("the file")
    if fmt == "csv":
        return _("line {line}").format(line=row)
    return labels.get(row, _("item {number}").format(number=row))


async def import_directory(
    app: web.Application, caller: Caller, content: str, fmt: str, dry_run: bool
) -> ImportResult:
    """`justnet import FILE [--dry-run]` for a file's text: every row is checked; nothing is
    written if any row is bad (the directory service checks and writes in one step)."""
    parsed = _parse(content, fmt)
    reply = await app[keys.CLIENTS].directory.ImportDirectory(
        directory_pb2.ImportDirectoryRequest(
            rows=parsed.rows, dry_run=dry_run or bool(parsed.errors)
        ),
        metadata=caller.metadata(),
        timeout=60.0,
    )
    found = [(e.row, e.column, e.message) for e in parsed.errors]
    found += [(e.row, e.field, e.message) for e in reply.errors]
    problems = [
        RowProblem(row, _where(row, fmt, parsed.labels), column, message)
        for row, column, message in sorted(found)
    ]
    if problems:
        return ImportResult(problems, 0, 0)
    return ImportResult([], reply.created, reply.updated)


def _import_page(request: web.Request, status: int = 200, **context: Any) -> web.Response:
    base: dict[str, Any] = {
        "tab": "import",
        "checked": False,
        "result": None,
        "content": "",
        "format": "",
        "filename": "",
        "done": None,
    }
    return render(request, "directory_import.html", {**base, **context}, status=status)


@routes.get(IMPORT)
async def import_page(request: web.Request) -> web.Response:
    require_person(request, "editor")
    done = None
    created, updated = request.query.get("created", ""), request.query.get("updated", "")
    if created.isdigit() and updated.isdigit():
        done = (int(created), int(updated))
    return _import_page(request, done=done)


def _decoded(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


@routes.post(IMPORT)
async def import_check(request: web.Request) -> web.Response:
    """The check: a dry run that lists every row's errors and writes nothing."""
    who = require_person(request, "editor")
    data = await form(request)
    upload = data.get("file")
    if not isinstance(upload, web.FileField) or not upload.filename:
        error = FieldError("file", _("Choose a CSV or JSON file"))
        return _import_page(request, 400, errors=[error])
    content = _decoded(upload.file.read())
    if content is None:
        error = FieldError("file", _("The file is not UTF-8 text"))
        return _import_page(request, 400, errors=[error])
    fmt = _format_of(upload.filename, content)
    result = await import_directory(request.app, who, content, fmt, dry_run=True)
    return _import_page(
        request,
        400 if result.problems else 200,
        checked=True,
        result=result,
        content=content,
        format=fmt,
        filename=upload.filename[:200],
    )


@routes.post(IMPORT + "/run")
async def import_run(request: web.Request) -> web.Response:
    """The import itself, of the content the check showed (carried in the form)."""
    who = require_person(request, "editor")
    data = await form(request)
    content = str(data.get("content", ""))
    fmt = "json" if data.get("format") == "json" else "csv"
    filename = str(data.get("filename", ""))[:200]
    if not content.strip():
        error = FieldError("file", _("Choose a CSV or JSON file"))
        return _import_page(request, 400, errors=[error])
    result = await import_directory(request.app, who, content, fmt, dry_run=False)
    if result.problems:  # the directory changed since the check
        return _import_page(
            request,
            400,
            checked=True,
            result=result,
            content=content,
            format=fmt,
            filename=filename,
        )
    return see_other(
        IMPORT + _query({"created": str(result.created), "updated": str(result.updated)})
    )
