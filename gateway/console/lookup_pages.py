"""Console pages: lookup across networks, and one record's page.

`/console/lookup` calls the same function as `GET /api/v1/lookup` (`directory.lookup_data`)
with the same query parameters, so it shows exactly what the API answers the person (an
anonymous visitor sees public records only) and repeated searches are served from the
gateway's memory like the API's. A record's page calls what `GET /api/v1/authorities/{id}`
and `GET /api/v1/contact-points/{id}` call; a contact point's e-mail and phone, when its
owner keeps them off replication, are fetched on demand through what
`GET /api/v1/contact-points/{id}/details` calls. The audit middleware records who looked
people up here as it does for the API (gateway.audit.LOOKUPS).

The form's select options come from the directory's jurisdictions (`GET
/api/v1/jurisdictions`); they are reference data, kept for a minute per application so a
search costs no more service calls than the API's.
"""

from __future__ import annotations

import json
import time
import unicodedata
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from aiohttp import web
from babel import Locale

from gateway import keys
from gateway.console import i18n
from gateway.console.i18n import _
from gateway.console.names import (
    authority_kind_names,
    competence_names,
    record_type_names,
    visibility_names,
)
from gateway.console.web import (
    PREFIX,
    caller,
    field_errors,
    problem_text,
    render,
    require_person,
)
from gateway.problems import GRPC_TO_HTTP
from gateway.routes import directory as directory_api
from services.common.errors import DomainError
from services.common.identity import ANONYMOUS

routes = web.RouteTableDef()
LOOKUP_PAGE = f"{PREFIX}/lookup"
AUTHORITY_PAGE = f"{LOOKUP_PAGE}/authorities"
CONTACT_PAGE = f"{LOOKUP_PAGE}/contact-points"
FORM_FIELDS = ("jurisdiction", "competence", "language", "urgent", "q")
JURISDICTIONS_TTL = 60.0  # seconds


# ------------------------------------------------------------------ names people read


def language_name(code: str) -> str:
    """A language's name in the page's language, e.g. "French (fr)"."""
    if not code:
        return ""
    try:
        name = Locale.parse(i18n.language()).languages.get(code)
    except (ValueError, TypeError):
        name = None
    return f"{name} ({code})" if name else code


# ------------------------------------------------------------------ jurisdictions


def _sort_key(text: str) -> str:
    """Alphabetical order as people expect it: "Côte d'Ivoire" among the C's."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class Jurisdictions:
    """What the forms need of `GET /api/v1/jurisdictions`: codes, names, languages."""

    names: dict[str, str]  # ISO2 -> name, as the directory gives it
    languages: tuple[str, ...]  # every official language of a known jurisdiction

    def options(self) -> list[tuple[str, str]]:
        return sorted(
            ((code, f"{name} ({code})") for code, name in self.names.items()),
            key=lambda option: _sort_key(option[1]),
        )

    def label(self, code: str | None) -> str:
        if not code:
            return ""
        name = self.names.get(code)
        return f"{name} ({code})" if name else code

    def language_options(self, current: str = "") -> list[tuple[str, str]]:
        found = set(self.languages) | ({current} if current else set())
        return sorted(
            ((code, language_name(code)) for code in found), key=lambda o: _sort_key(o[1])
        )


_KNOWN: weakref.WeakKeyDictionary[web.Application, tuple[float, Jurisdictions]] = (
    weakref.WeakKeyDictionary()
)


async def jurisdictions(app: web.Application) -> Jurisdictions:
    """The directory's jurisdictions (names and languages are the same for every caller)."""
    held = _KNOWN.get(app)
    if held is not None and held[0] > time.monotonic():
        return held[1]
    items = await directory_api.jurisdictions_data(app, ANONYMOUS, {})
    known = Jurisdictions(
        names={j["code"]: j["name"] for j in items},
        languages=tuple(sorted({lang for j in items for lang in j["official_languages"]})),
    )
    _KNOWN[app] = (time.monotonic() + JURISDICTIONS_TTL, known)
    return known


def names_context(known: Jurisdictions) -> dict[str, Any]:
    """What every lookup and route template uses to name codes."""
    return {
        "jurisdictions": known,
        "competence_names": competence_names(),
        "authority_kinds": authority_kind_names(),
        "record_types": record_type_names(),
        "visibilities": visibility_names(),
        "language_name": language_name,
    }


# ------------------------------------------------------------------ lookup


def _query(query: Mapping[str, str]) -> dict[str, str]:
    """The search as the API takes it: blank fields (as a form sends them) left out."""
    out: dict[str, str] = {}
    for key, value in query.items():
        if value != "":
            out.setdefault(key, value)
    return out


@routes.get(LOOKUP_PAGE)
async def lookup_page(request: web.Request) -> web.Response:
    who = caller(request)
    known = await jurisdictions(request.app)
    query = request.query
    searched = any(name in query for name in FORM_FIELDS)
    values = {name: query.get(name, "") for name in FORM_FIELDS}
    context: dict[str, Any] = {
        **names_context(known),
        "values": values,
        "urgent": values["urgent"].lower() in ("1", "true", "yes"),
        "competence_options": list(competence_names().items()),
        "language_options": known.language_options(values["language"]),
        "searched": searched,
        "answer": None,
        "items": [],
        "field_labels": {
            "jurisdiction": _("Jurisdiction"),
            "competence": _("Competence"),
            "language": _("Language"),
            "urgent": _("Urgent"),
            "available_24_7": _("Urgent"),
            "q": _("Search text"),
        },
    }
    if not searched:
        return render(request, "lookup_search.html", context)
    try:
        answer = await directory_api.lookup_data(request.app, who, _query(query))
    except (DomainError, grpc.aio.AioRpcError) as exc:
        errors = field_errors(exc)
        if errors is None:
            raise
        return render(request, "lookup_search.html", {**context, "errors": errors}, status=400)
    context["answer"] = answer
    context["items"] = json.loads(answer.items)
    return render(request, "lookup_search.html", context)


# ------------------------------------------------------------------ one record


@routes.get(AUTHORITY_PAGE + "/{id}")
async def authority_page(request: web.Request) -> web.Response:
    record = await directory_api.AUTHORITY_RECORDS.read(
        request.app, caller(request), request.match_info["id"]
    )
    known = await jurisdictions(request.app)
    context = {
        **names_context(known),
        "record": record,
        "record_type": "authority",
        "withheld": False,
        "details": None,
        "details_problem": "",
    }
    return render(request, "lookup_record.html", context)


async def _contact_point(
    request: web.Request,
    details: dict[str, Any] | None = None,
    problem: str = "",
    status: int = 200,
) -> web.Response:
    record = await directory_api.CONTACT_POINT_RECORDS.read(
        request.app, caller(request), request.match_info["id"]
    )
    known = await jurisdictions(request.app)
    # As the details call decides: only a replica's owner may keep them off replication.
    own = request.app[keys.SETTINGS].network
    withheld = record["origin"] != own and not (record["email"] and record["phone"])
    context = {
        **names_context(known),
        "record": record,
        "record_type": "contact_point",
        "withheld": withheld,
        "details": details,
        "details_problem": problem,
    }
    return render(request, "lookup_record.html", context, status=status)


@routes.get(CONTACT_PAGE + "/{id}")
async def contact_point_page(request: web.Request) -> web.Response:
    return await _contact_point(request)


@routes.get(CONTACT_PAGE + "/{id}/details")
async def contact_details_page(request: web.Request) -> web.Response:
    """`Show contact details`: what `GET /api/v1/contact-points/{id}/details` answers."""
    who = require_person(request, "member")
    try:
        details = await directory_api.contact_details_data(
            request.app, who, request.match_info["id"]
        )
    except (DomainError, grpc.aio.AioRpcError) as exc:
        status = _status(exc)
        if status == 404:
            raise
        message = _("The contact details could not be fetched: {reason}").format(
            reason=problem_text(exc)
        )
        return await _contact_point(request, problem=message, status=status)
    return await _contact_point(request, details=details)


def _status(exc: DomainError | grpc.aio.AioRpcError) -> int:
    code = exc.code if isinstance(exc, DomainError) else exc.code()
    return GRPC_TO_HTTP.get(code, (502, "", ""))[0]
