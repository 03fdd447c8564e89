"""Console pages for MLA requests: the person's requests (with filters and paging), the
draft form (new and edit), and one request with its signed history and the actions the
person may take.

Every page calls the same functions as the HTTP API (`gateway.routes.requests`): the list
is `GET /api/v1/requests`, a new draft `POST /api/v1/requests`, an edit
`PUT /api/v1/requests/{id}` with the version read as If-Match, a submission
`POST .../submit`, a status change `POST .../status` (with If-Match), the history
`GET .../history`, the documents `GET .../documents`, an upload `POST .../documents` and a
download `GET .../documents/{doc_id}`. Form input goes through the same body and query
schemas, so errors name the API's fields. Which actions a page offers follows the service's
own rules (the lifecycle, codes.REQUEST_TRANSITIONS, and who acts for which side); the
service still decides, and a refusal (403, 409, 412) is shown on the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import grpc
from aiohttp import web
from babel import Locale
from multidict import MultiDictProxy

from gateway import keys
from gateway.console import i18n
from gateway.console.i18n import _
from gateway.console.names import (
    action_names,
    delivery_tags,
    direction_names,
    document_kind_names,
    measure_names,
    status_tags,
    urgency_names,
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
from gateway.problems import GRPC_TO_HTTP
from gateway.routes import directory as directory_api
from gateway.routes import documents as documents_api
from gateway.routes import requests as requests_api
from services.common import codes
from services.common.errors import DomainError, FieldError
from services.common.identity import Caller

routes = web.RouteTableDef()
BASE = f"{PREFIX}/requests"
# The text fields of a draft as the form posts them (the API's names).
TEXT_FIELDS = (
    "requesting_jurisdiction",
    "requested_jurisdiction",
    "urgency",
    "language",
    "title",
    "reference",
    "summary",
    "deadline",
)
# Statuses a person sets with a button (submission has its own).
CHANGES = frozenset(codes.REQUEST_STATUS_CHANGES)
# The service's refusals shown on the page rather than as an error page.
REFUSALS = (403, 409, 412)
DONE = ("created", "saved", "submitted", "status", "attached")
UPLOAD_FIELDS = ("title", "kind", "language")


# ------------------------------------------------------------------------------ words


def done_messages() -> dict[str, str]:
    return {
        "created": _("The draft is saved. Check it, then submit it."),
        "saved": _("Your changes to the draft are saved."),
        "submitted": _("The request is submitted and on its way to the requested side."),
        "status": _("The status is changed; the other side is told."),
        "attached": _("The document is attached to the draft."),
    }


def refusal_titles() -> dict[int, str]:
    return {
        403: _("You may not do this"),
        409: _("This change is not possible now"),
        412: _(
            "Someone else changed this request since you opened the page. "
            "The page now shows it as it is; check it and try again."
        ),
    }


def _locale() -> Locale:
    return Locale.parse(i18n.language())


def state_name(code: str) -> str:
    """A state's name in the page's language, with its code."""
    name = _locale().territories.get(code) if code else None
    return _("{name} ({code})").format(name=name, code=code) if name else code


def language_name(code: str) -> str:
    return str(_locale().languages.get(code) or code)


def _words() -> dict[str, Any]:
    return {
        "statuses": status_tags(),
        "deliveries": delivery_tags(),
        "directions": direction_names(),
        "urgencies": urgency_names(),
        "measure_names": measure_names(),
        "state_name": state_name,
        "language_name": language_name,
    }


# ------------------------------------------------------------------------------ rules


def may_act_for_requester(req: Mapping[str, Any], who: Caller) -> bool:
    """As the service: the member who created it, or an editor of this node."""
    return who.at_least("editor") or who.owns(str(req.get("owner", "")))


def may_edit(req: Mapping[str, Any], who: Caller) -> bool:
    return (
        req["status"] == "draft"
        and req["direction"] == "outgoing"
        and may_act_for_requester(req, who)
    )


def allowed_changes(req: Mapping[str, Any], who: Caller) -> list[str]:
    """The statuses this person may set now (services/requests/logic.change_status's rules:
    the lifecycle, the side each status belongs to, and who acts for that side)."""
    if req["status"] == "draft" or req.get("conflict"):
        return []
    local = req["requesting_network"] == req["requested_network"]
    ours = "requesting" if req["direction"] == "outgoing" else "requested"
    out = []
    for status in codes.REQUEST_TRANSITIONS.get(req["status"], ()):
        if status not in CHANGES:
            continue
        side = "requesting" if status in codes.REQUESTING_STATUSES else "requested"
        if not local and side != ours:
            continue
        if side == "requesting" and not may_act_for_requester(req, who):
            continue
        if side == "requested" and not who.at_least("editor"):
            continue
        out.append(status)
    return out


def _refusal_status(exc: Exception) -> int | None:
    """The HTTP status of a service refusal shown on the page (403, 409, 412), else None."""
    if isinstance(exc, DomainError):
        status = GRPC_TO_HTTP.get(exc.code, (0, "", ""))[0]
    elif isinstance(exc, grpc.aio.AioRpcError):
        status = GRPC_TO_HTTP.get(exc.code(), (0, "", ""))[0]
    else:
        return None
    return status if status in REFUSALS else None


def _version(value: object) -> int:
    """The If-Match version a form carries (0: no check, as without If-Match)."""
    text = str(value or "")
    return int(text) if text.isdigit() and len(text) <= 18 else 0


# ------------------------------------------------------------------------------ list


@routes.get(BASE)
async def list_page(request: web.Request) -> web.Response:
    who = require_person(request)
    query = {k: v for k, v in request.query.items() if v != ""}
    errors: list[FieldError] = []
    try:
        data = await requests_api.list_requests_data(request.app, who, query)
    except Exception as exc:  # bad filters or cursor, from the gateway or the service
        found = field_errors(exc)
        if found is None:
            raise
        errors = found
        data = {"items": [], "next_cursor": None}
    filters = {k: query.get(k, "") for k in ("direction", "status")}
    next_url = None
    if data["next_cursor"]:
        kept = {k: v for k, v in query.items() if k in ("direction", "status", "limit")}
        next_url = f"{BASE}?{urlencode({**kept, 'cursor': data['next_cursor']})}"
    first_url = None
    if query.get("cursor"):
        kept = {k: v for k, v in query.items() if k in ("direction", "status", "limit")}
        first_url = f"{BASE}?{urlencode(kept)}" if kept else BASE
    context = {
        **_words(),
        "requests": data["items"],
        "filters": filters,
        "status_options": [(s, words[0]) for s, words in status_tags().items()],
        "direction_options": list(direction_names().items()),
        "next_url": next_url,
        "first_url": first_url,
        "errors": errors,
        "deleted": request.query.get("done") == "deleted",
    }
    return render(request, "requests_list.html", context, status=400 if errors else 200)


# ------------------------------------------------------------------------------ draft form


def _body(data: MultiDictProxy[Any]) -> dict[str, Any]:
    """A draft's form as the JSON body of POST/PUT /api/v1/requests (the same names)."""
    body: dict[str, Any] = {k: str(data.get(k, "")) for k in TEXT_FIELDS}
    body["measures"] = [str(m) for m in data.getall("measures", [])]
    offences = str(data.get("offences", ""))
    body["offences"] = [line.strip() for line in offences.splitlines() if line.strip()]
    body["confidential"] = data.get("confidential") == "1"
    return body


def _values(source: Mapping[str, Any]) -> dict[str, Any]:
    """What the form shows: a request as the API gives it, or a posted body."""
    values = {k: source.get(k) or "" for k in TEXT_FIELDS}
    values["urgency"] = values["urgency"] or "normal"
    values["measures"] = list(source.get("measures") or [])
    values["offences"] = "\n".join(source.get("offences") or [])
    values["confidential"] = bool(source.get("confidential"))
    return values


async def _form_context(
    request: web.Request, who: Caller, values: dict[str, Any]
) -> dict[str, Any]:
    """The choices of the draft form: the states the node knows (as GET /api/v1/jurisdictions
    lists them) and their official languages, named in the page's language."""
    states = await directory_api.jurisdictions_data(request.app, who, {})
    state_options = sorted(
        ((j["code"], state_name(j["code"])) for j in states), key=lambda o: o[1].casefold()
    )
    known = {code for code, _name in state_options}
    for field in ("requesting_jurisdiction", "requested_jurisdiction"):
        code = values.get(field)
        if code and code not in known:  # keep what the person chose, even if unknown here
            state_options.append((code, code))
            known.add(code)
    languages = {"en", "fr"}
    for j in states:
        languages.update(j.get("official_languages") or [])
    if values.get("language"):
        languages.add(values["language"])
    language_options = sorted(
        ((code, language_name(code)) for code in languages), key=lambda o: o[1].casefold()
    )
    own = request.app[keys.SETTINGS].jurisdictions
    return {
        **_words(),
        "values": values,
        "state_options": state_options,
        "language_options": language_options,
        "measure_options": list(measure_names().items()),
        "urgency_options": list(urgency_names().items()),
        "own_states": ", ".join(state_name(c) for c in own),
        "problem": None,
        "field_labels": {
            "title": _("Title"),
            "reference": _("Reference"),
            "requesting_jurisdiction": _("Requesting jurisdiction"),
            "requested_jurisdiction": _("Requested jurisdiction"),
            "measures": _("Measures"),
            "urgency": _("Urgency"),
            "language": _("Language"),
            "offences": _("Offences"),
            "summary": _("Summary"),
            "deadline": _("Deadline"),
        },
    }


@routes.get(f"{BASE}/new")
async def new_page(request: web.Request) -> web.Response:
    who = require_person(request)
    own = request.app[keys.SETTINGS].jurisdictions
    values = _values({"requesting_jurisdiction": own[0] if len(own) == 1 else ""})
    context = await _form_context(request, who, values)
    return render(request, "requests_form.html", {**context, "request_id": None, "version": ""})


@routes.post(f"{BASE}/new")
async def create(request: web.Request) -> web.Response:
    who = require_person(request)
    body = _body(await form(request))
    try:
        created = await requests_api.create_request_data(request.app, who, body)
    except Exception as exc:
        errors = field_errors(exc)
        if errors is None:
            raise
        context = await _form_context(request, who, _values(body))
        context.update({"request_id": None, "version": "", "errors": errors})
        return render(request, "requests_form.html", context, status=400)
    return see_other(f"{BASE}/{created['id']}?done=created")


@routes.get(BASE + "/{id}/edit")
async def edit_page(request: web.Request) -> web.Response:
    who = require_person(request)
    rid = request.match_info["id"]
    req = await requests_api.get_request_data(request.app, who, rid)
    if not may_edit(req, who):
        return see_other(f"{BASE}/{rid}")
    context = await _form_context(request, who, _values(req))
    context.update({"request_id": rid, "version": req["version"], "request_title": req["title"]})
    return render(request, "requests_form.html", context)


@routes.post(BASE + "/{id}/edit")
async def edit(request: web.Request) -> web.Response:
    who = require_person(request)
    rid = request.match_info["id"]
    data = await form(request)
    body = _body(data)
    version = str(data.get("version", ""))
    try:
        await requests_api.update_request_data(request.app, who, rid, body, _version(version))
    except Exception as exc:
        errors = field_errors(exc)
        refused = _refusal_status(exc)
        if errors is None and refused is None:
            raise
        req = await requests_api.get_request_data(request.app, who, rid)
        context = await _form_context(request, who, _values(body))
        context.update({"request_id": rid, "version": version, "request_title": req["title"]})
        if refused is not None:
            context["problem"] = {"title": refusal_titles()[refused], "detail": problem_text(exc)}
            if refused == 412:
                context["version"] = req["version"]  # the person saw the banner: now current
            return render(request, "requests_form.html", context, status=refused)
        context["errors"] = errors
        return render(request, "requests_form.html", context, status=400)
    return see_other(f"{BASE}/{rid}?done=saved")


# ------------------------------------------------------------------------------ one request


async def _request_page(
    request: web.Request,
    who: Caller,
    rid: str,
    *,
    status: int = 200,
    problem: dict[str, str] | None = None,
    errors: list[FieldError] | None = None,
    notes: Mapping[str, str] | None = None,
    posted: str = "",
    upload: Mapping[str, str] | None = None,
) -> web.Response:
    """`notes`: the note typed per action, shown again; `posted`: the action whose form
    had bad input (its note field takes the API's id `note`, so the error summary links
    to it)."""
    req = await requests_api.get_request_data(request.app, who, rid)
    history = await requests_api.history_data(request.app, who, rid)
    docs = await documents_api.list_documents_data(request.app, who, rid)
    done = request.query.get("done", "")
    context = {
        **_words(),
        "req": req,
        "history": history,
        "changes": allowed_changes(req, who),
        "action_names": action_names(),
        "may_edit": may_edit(req, who),
        "documents": docs["items"],
        "kind_names": document_kind_names(),
        "upload": upload or {},
        "done": done_messages().get(done, "") if done in DONE else "",
        "problem": problem,
        "errors": errors or [],
        "notes": notes or {},
        "posted": posted,
    }
    return render(request, "requests_request.html", context, status=status)


@routes.get(BASE + "/{id}")
async def request_page(request: web.Request) -> web.Response:
    who = require_person(request)
    return await _request_page(request, who, request.match_info["id"])


@routes.post(BASE + "/{id}/submit")
async def submit(request: web.Request) -> web.Response:
    who = require_person(request)
    rid = request.match_info["id"]
    try:
        await requests_api.submit_request_data(request.app, who, rid)
    except Exception as exc:
        refused = _refusal_status(exc)
        if refused is None:
            raise
        problem = {"title": refusal_titles()[refused], "detail": problem_text(exc)}
        return await _request_page(request, who, rid, status=refused, problem=problem)
    return see_other(f"{BASE}/{rid}?done=submitted")


@routes.post(BASE + "/{id}/status")
async def change_status(request: web.Request) -> web.Response:
    who = require_person(request)
    rid = request.match_info["id"]
    data = await form(request)
    new = str(data.get("status", ""))
    body = {"status": new, "note": str(data.get("note", ""))}
    try:
        await requests_api.change_status_data(
            request.app, who, rid, body, _version(data.get("version"))
        )
    except Exception as exc:
        errors = field_errors(exc)
        refused = _refusal_status(exc)
        if errors is None and refused is None:
            raise
        notes = {new: body["note"]}
        if refused is not None:
            problem = {"title": refusal_titles()[refused], "detail": problem_text(exc)}
            return await _request_page(
                request, who, rid, status=refused, problem=problem, notes=notes, posted=new
            )
        return await _request_page(
            request, who, rid, status=400, errors=errors, notes=notes, posted=new
        )
    return see_other(f"{BASE}/{rid}?done=status")


# ------------------------------------------------------------------------------ documents


@routes.post(BASE + "/{id}/documents")
async def attach(request: web.Request) -> web.Response:
    """The upload form (multipart, with its CSRF token): what the API's upload does."""
    who = require_person(request)
    rid = request.match_info["id"]
    data = await form(request)
    posted = {name: str(data.get(name, "")) for name in UPLOAD_FIELDS}
    upload = documents_api.Upload(posted, "", "", b"", False)
    file = data.get("file")
    if isinstance(file, web.FileField):
        upload.filename = file.filename
        upload.declared_type = file.content_type
        upload.data = file.file.read(documents_api.max_bytes(request.app) + 1)
    try:
        await documents_api.add_document_data(request.app, who, rid, upload)
    except Exception as exc:
        errors = field_errors(exc)
        refused = _refusal_status(exc)
        if errors is None and refused is None:
            raise
        if refused is not None:
            problem = {"title": refusal_titles()[refused], "detail": problem_text(exc)}
            return await _request_page(
                request, who, rid, status=refused, problem=problem, upload=posted
            )
        return await _request_page(request, who, rid, status=400, errors=errors, upload=posted)
    return see_other(f"{BASE}/{rid}?done=attached#documents")


@routes.get(BASE + "/{id}/documents/{doc_id}")
async def document(request: web.Request) -> web.StreamResponse:
    who = require_person(request)
    return await documents_api.download(
        request, who, request.match_info["id"], request.match_info["doc_id"]
    )


@routes.post(BASE + "/{id}/delete")
async def delete(request: web.Request) -> web.Response:
    """`DELETE /api/v1/requests/{id}` with the version the page showed as If-Match."""
    who = require_person(request)
    rid = request.match_info["id"]
    data = await form(request)
    try:
        await documents_api.delete_request_data(
            request.app, who, rid, _version(data.get("version"))
        )
    except Exception as exc:
        refused = _refusal_status(exc)
        if refused is None:
            raise
        problem = {"title": refusal_titles()[refused], "detail": problem_text(exc)}
        return await _request_page(request, who, rid, status=refused, problem=problem)
    return see_other(f"{BASE}?done=deleted")
