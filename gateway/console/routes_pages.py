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
from gateway.console.names import (
    applicability_tags,
    basis_kind_names,
    channel_names,
    measure_names,
    reason_names,
    warning_names,
)
from gateway.console.web import PREFIX, caller, field_errors, render
from gateway.routes import requests as requests_api
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
        "applicability": applicability_tags(),
        "basis_kinds": basis_kind_names(),
        "warning_names": warning_names(),
        "reason_names": reason_names(),
        "names_of": _names_of,
        "plan": None,
        "field_labels": {
            "requesting_jurisdiction": _("From"),
            "requested_jurisdiction": _("To"),
            "measures": _("Measures"),
            "language": _("Language"),
            "urgency": _("Urgent"),
        },
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
