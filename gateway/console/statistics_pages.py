"""Console page: statistics for a secretariat's plenary report (editors).

`/console/statistics` is a GET form (from, to, group by, direction), so a report is linkable
and printable; it calls the same functions as `GET /api/v1/statistics/*`
(`gateway/routes/statistics.py`) and draws their figures as SVG bar charts with the numbers
in tables beside them. `/console/statistics/{requests,directory,events}.csv` give the API's
CSV for the same filters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import grpc
from aiohttp import web

from gateway.console.charts import Chart, bar_chart
from gateway.console.events_pages import kind_labels
from gateway.console.i18n import _, format_number, format_percent
from gateway.console.lookup_pages import Jurisdictions, jurisdictions
from gateway.console.names import direction_names, status_tags
from gateway.console.web import PREFIX, field_errors, render, require_person
from gateway.routes import statistics as api
from services.common.errors import DomainError
from services.common.identity import Caller

routes = web.RouteTableDef()
PAGE = f"{PREFIX}/statistics"
FILTERS = ("from", "to", "group_by", "direction")


def _filters(query: Mapping[str, str]) -> dict[str, str]:
    """The form's fields as the API takes them (blank ones left out, as a client would)."""
    return {k: query[k] for k in FILTERS if query.get(k, "")}


def _period(filters: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in filters.items() if k in ("from", "to")}


def group_by_names() -> dict[str, str]:
    return {
        "jurisdiction": _("This network's state"),
        "counterpart": _("Other state"),
        "status": _("Status"),
        "month": _("Month of submission"),
    }


def _key_label(group_by: str, key: str, known: Jurisdictions) -> str:
    if group_by in ("jurisdiction", "counterpart"):
        return known.names.get(key, key)
    if group_by == "status":
        return status_tags().get(key, (key, ""))[0]
    return key


def direction_texts() -> dict[str, tuple[str, str]]:
    """Per direction: its requests' name, and its acknowledgement chart's title (whole
    sentences, so each language can agree its words)."""
    return {
        "incoming": (
            _("Incoming requests"),
            _("Incoming requests: median days to acknowledge"),
        ),
        "outgoing": (
            _("Outgoing requests"),
            _("Outgoing requests: median days to acknowledge"),
        ),
    }


def _days(value: float) -> str:
    return _("{days} d").format(days=format_number(value))


def request_charts(data: dict[str, Any], known: Jurisdictions) -> list[dict[str, Any]]:
    """Per direction: its groups (labelled) and two charts, requests and days to
    acknowledge (median)."""
    out = []
    for direction, (name, acknowledge_title) in direction_texts().items():
        groups = [g for g in data["groups"] if g["direction"] == direction]
        if not groups:
            continue
        labelled = [(_key_label(data["group_by"], g["key"], known), g) for g in groups]
        counts = bar_chart(
            f"chart-requests-{direction}",
            name,
            _("Requests submitted in the period, per group; the table below gives the numbers."),
            [(label, g["requests"]) for label, g in labelled],
            lambda v: format_number(int(v)),
        )
        timed = [(label, g["median_days_to_acknowledge"]) for label, g in labelled]
        acknowledge = bar_chart(
            f"chart-acknowledge-{direction}",
            acknowledge_title,
            _("Days from submission to the requested side's first answer, median per group."),
            [(label, v) for label, v in timed if v is not None],
            _days,
        )
        out.append(
            {
                "direction": direction,
                "name": name,
                "groups": labelled,
                "charts": [counts, acknowledge],
            }
        )
    return out


def directory_chart(data: dict[str, Any], known: Jurisdictions) -> Chart:
    return bar_chart(
        "chart-directory",
        _("Directory records confirmed within 12 months"),
        _("Share of this network's own records per state confirmed in the last 12 months."),
        [
            (known.names.get(g["jurisdiction"], g["jurisdiction"]), g["confirmed_share"])
            for g in data["groups"]
        ],
        format_percent,
        maximum=1.0,
    )


def events_chart(data: dict[str, Any]) -> Chart:
    kinds = kind_labels()
    return bar_chart(
        "chart-events",
        _("Registrations per network and kind of event"),
        _("Registrations for this network's events starting in the period."),
        [
            (f"{g['network']} · {kinds.get(g['kind'], g['kind'])}", g["registrations"])
            for g in data["groups"]
        ],
        lambda v: format_number(int(v)),
    )


async def _figures(app: web.Application, who: Caller, filters: dict[str, str]) -> dict[str, Any]:
    requests_data = await api.request_statistics_data(app, who, filters)
    events_data = await api.event_statistics_data(app, who, _period(filters))
    directory_data = await api.directory_statistics_data(app, who)
    known = await jurisdictions(app)
    return {
        "requests": requests_data,
        "request_sections": request_charts(requests_data, known),
        "directory": directory_data,
        "directory_chart": directory_chart(directory_data, known),
        "state_name": lambda code: known.names.get(code, code),
        "events": events_data,
        "events_chart": events_chart(events_data),
    }


@routes.get(PAGE)
async def statistics_page(request: web.Request) -> web.Response:
    who = require_person(request, "editor")
    filters = _filters(request.query)
    query = urlencode(filters)
    context: dict[str, Any] = {
        "filters": {k: request.query.get(k, "") for k in FILTERS},
        "group_by_options": list(group_by_names().items()),
        "direction_options": list(direction_names().items()),
        "group_by_names": group_by_names(),
        "kinds": kind_labels(),
        "csv_query": f"?{query}" if query else "",
        "field_labels": {
            "from": _("From"),
            "to": _("To"),
            "group_by": _("Group by"),
            "direction": _("Direction"),
        },
        "figures": None,
    }
    try:
        context["figures"] = await _figures(request.app, who, filters)
    except (DomainError, grpc.aio.AioRpcError) as exc:
        errors = field_errors(exc)
        if errors is None:
            raise
        return render(request, "statistics.html", {**context, "errors": errors}, status=400)
    return render(request, "statistics.html", context)


@routes.get(PAGE + "/{name:requests|directory|events}.csv")
async def statistics_csv(request: web.Request) -> web.Response:
    who = require_person(request, "editor")
    filters = _filters(request.query)
    name = request.match_info["name"]
    if name == "requests":
        text = api.request_csv(await api.request_statistics_data(request.app, who, filters))
    elif name == "directory":
        text = api.directory_csv(await api.directory_statistics_data(request.app, who))
    else:
        data = await api.event_statistics_data(request.app, who, _period(filters))
        text = api.event_csv(data)
    return api.csv_response(text, f"{name}-statistics")
