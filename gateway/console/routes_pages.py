"""Console page: plan a route for a mutual legal assistance request.

`/console/routes` is a GET form (planning changes nothing, so a plan is linkable and
printable); it checks its input with the API's `bodies.ROUTE_QUERY` and calls the same
function as `POST /api/v1/routes` (`requests.plan_route_data`), so it shows the plan the
API gives, and its errors name the same fields.
"""

from __future__ import annotations

from typing import Any

import grpc
from aiohttp import web

from gateway.console.i18n import _
from gateway.console.lookup_pages import jurisdictions, names_context
from gateway.console.web import PREFIX, caller, field_errors, render
from gateway.routes import requests as requests_api
from services.common import codes
from services.common.errors import DomainError

routes = web.RouteTableDef()
ROUTES_PAGE = f"{PREFIX}/routes"
FORM_FIELDS = (
    "requesting_jurisdiction",
    "requested_jurisdiction",
    "measures",
    "language",
    "urgency",
)


def measure_names() -> dict[str, str]:
    names = {
        "service_of_documents": _("Service of documents"),
        "witness_statement": _("Witness statement"),
        "search_and_seizure": _("Search and seizure"),
        "banking_records": _("Banking records"),
        "freezing": _("Freezing of assets"),
        "confiscation": _("Confiscation"),
        "electronic_evidence": _("Electronic evidence"),
        "preservation_of_data": _("Preservation of data"),
        "hearing_by_videoconference": _("Hearing by videoconference"),
        "transfer_of_persons_in_custody": _("Transfer of persons in custody"),
        "location_of_persons": _("Location of persons"),
    }
    return {code: names.get(code, code) for code in codes.MEASURES}


def channel_names() -> dict[str, str]:
    return {
        "post": _("Post"),
        "email": _("Email"),
        "email_encrypted": _("Encrypted email"),
        "fax": _("Fax"),
        "e_codex": "e-CODEX",
        "iber_a": "Iber@",
        "ejn_sc": _("EJN secure connection"),
        "globe": "GlobE",
        "interpol": "INTERPOL",
        "diplomatic": _("Diplomatic channel"),
        "justnet": "JustNet",
    }


def applicability_names() -> dict[str, tuple[str, str]]:
    """A measure's applicability: its words and its tag colour."""
    return {
        "yes": (_("Available"), "green"),
        "partial": (_("Partly available"), "yellow"),
        "no": (_("Not available"), "red"),
        "unknown": (_("Not known"), "grey"),
    }


def basis_kind_names() -> dict[str, str]:
    return {
        "bilateral": _("Bilateral treaty"),
        "regional": _("Regional treaty"),
        "multilateral": _("Multilateral convention"),
        "reciprocity": _("Reciprocity"),
    }


def warning_names() -> dict[str, str]:
    return {
        "no_peer": _("No node covers this state"),
        "no_routing_profile": _("No routing profile"),
        "stale_data": _("Data may be out of date"),
        "no_24_7_contact": _("No 24/7 contact"),
        "measure_unavailable": _("Measure not available"),
        "measure_unknown": _("Measure not known"),
        "translation_required": _("Translation needed"),
        "reciprocity_only": _("Reciprocity only"),
        "not_a_member": _("Not a member"),
    }


def reason_names() -> dict[str, str]:
    return {
        "competence": _("competence"),
        "language": _("language"),
        "available_24_7": _("available 24/7"),
    }


def _names_of(values: list[str], names: dict[str, str]) -> str:
    return ", ".join(names.get(v, v) for v in values)


def _body(query: Any) -> dict[str, Any]:
    """The form as the API's JSON body (a blank field is left out, as a client would)."""
    body: dict[str, Any] = {
        "requesting_jurisdiction": query.get("requesting_jurisdiction", ""),
        "requested_jurisdiction": query.get("requested_jurisdiction", ""),
    }
    measures = [m for m in query.getall("measures", []) if m]
    if measures:
        body["measures"] = measures
    if query.get("language"):
        body["language"] = query["language"]
    if query.get("urgency"):
        body["urgency"] = query["urgency"]
    return body


@routes.get(ROUTES_PAGE)
async def routes_page(request: web.Request) -> web.Response:
    known = await jurisdictions(request.app)
    query = request.query
    planned = any(name in query for name in FORM_FIELDS)
    values = {
        "requesting_jurisdiction": query.get("requesting_jurisdiction", ""),
        "requested_jurisdiction": query.get("requested_jurisdiction", ""),
        "measures": query.getall("measures", []),
        "language": query.get("language", ""),
        "urgent": query.get("urgency", "") == "urgent",
    }
    context: dict[str, Any] = {
        **names_context(known),
        "values": values,
        "language_options": known.language_options(query.get("language", "")),
        "measure_names": measure_names(),
        "channel_names": channel_names(),
        "applicability": applicability_names(),
        "basis_kinds": basis_kind_names(),
        "warning_names": warning_names(),
        "reason_names": reason_names(),
        "names_of": _names_of,
        "plan": None,
    }
    if not planned:
        return render(request, "routes_plan.html", context)
    try:
        plan = await requests_api.plan_route_data(request.app, caller(request), _body(query))
    except (DomainError, grpc.aio.AioRpcError) as exc:
        errors = field_errors(exc)
        if errors is None:
            raise
        return render(request, "routes_plan.html", {**context, "errors": errors}, status=400)
    context["plan"] = plan
    return render(request, "routes_plan.html", context)
