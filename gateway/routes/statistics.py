"""Statistics for a secretariat's report (editors): requests, directory, events. Each
service computes its own by SQL aggregation; these routes only ask and render, as JSON or,
with `Accept: text/csv`, as CSV (cells that could start a spreadsheet formula escaped as
the directory export does)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message
from justnet.directory.v1 import directory_pb2
from justnet.events.v1 import events_pb2
from justnet.requests.v1 import requests_pb2

from gateway import keys
from gateway.api import Api, json_response
from gateway.openapi import message_schema
from gateway.schema import Param, parse_query
from services.common.directory_files import escape_cell
from services.common.identity import Caller

api = Api()
TAG = "statistics"
CSV = "text/csv"
GROUPS = ("jurisdiction", "counterpart", "status", "month")
DIRECTIONS = ("incoming", "outgoing")
PERIOD = (
    Param("from", max_len=10, description="YYYY-MM-DD, inclusive (UTC); empty: no bound"),
    Param("to", max_len=10, description="YYYY-MM-DD, inclusive (UTC); empty: no bound"),
)
REQUEST_PARAMS = (
    *PERIOD,
    Param(
        "group_by",
        enum=GROUPS,
        max_len=12,
        description="jurisdiction (this network's state; the default), counterpart (the "
        "other side's state), status, month (of submission)",
    ),
    Param("direction", enum=DIRECTIONS, max_len=8, description="empty: both, split"),
)
TIMINGS = (
    "median_days_to_acknowledge",
    "p90_days_to_acknowledge",
    "median_days_to_execute",
    "p90_days_to_execute",
)
_NN: dict[str, Any] = {"type": ["number", "null"]}
REQUEST_GROUP = message_schema(
    requests_pb2.RequestStatisticsGroup,
    {
        "direction": {"type": "string", "enum": list(DIRECTIONS)},
        **{
            name: {**_NN, "description": "days; null when no request had that step"}
            for name in TIMINGS
        },
    },
    required=TIMINGS,
)
REQUEST_STATISTICS = message_schema(
    requests_pb2.RequestStatistics,
    {"groups": {"type": "array", "items": REQUEST_GROUP}},
    required=("computed_at",),
)
DIRECTORY_STATISTICS = message_schema(directory_pb2.DirectoryStatistics, required=("computed_at",))
EVENT_STATISTICS = message_schema(events_pb2.EventStatistics)
CSV_SCHEMA = {"type": "string", "description": "one header row, then one row per group"}


def _dict(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = json_format.MessageToDict(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return out


def wants_csv(request: web.Request) -> bool:
    """Content negotiation between JSON (the default) and CSV, by the Accept header's
    quality values; a tie goes to JSON."""
    best = {"application/json": 0.0, CSV: 0.0}
    for part in request.headers.get("Accept", "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if media.lower() in best:
            best[media.lower()] = max(best[media.lower()], q)
    return best[CSV] > best["application/json"]


def csv_text(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([escape_cell(_cell(row.get(c))) for c in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _fields(message: type[Message]) -> list[str]:
    return [f.name for f in message.DESCRIPTOR.fields]


def csv_response(text: str, name: str) -> web.Response:
    response = web.Response(text=text, content_type=CSV, charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _answer(
    request: web.Request, data: dict[str, Any], as_csv: Callable[[dict[str, Any]], str], name: str
) -> web.Response:
    if not wants_csv(request):
        return json_response(data)
    return csv_response(as_csv(data), name)


# ------------------------------------------------------------------ requests


async def request_statistics_data(
    app: web.Application, caller: Caller, query: Mapping[str, str]
) -> dict[str, Any]:
    q = parse_query(REQUEST_PARAMS, query)
    msg = requests_pb2.RequestStatisticsRequest(
        from_date=q["from"] or "",
        to_date=q["to"] or "",
        group_by=q["group_by"] or "",
        direction=q["direction"] or "",
    )
    reply = await app[keys.CLIENTS].requests.GetRequestStatistics(msg, metadata=caller.metadata())
    data = _dict(reply)
    for group, converted in zip(reply.groups, data["groups"], strict=True):
        for name in TIMINGS:
            converted[name] = getattr(group, name) if group.HasField(name) else None
    return data


def request_csv(data: dict[str, Any]) -> str:
    """One row per group, its column named by what it groups by."""
    figures = [
        f for f in _fields(requests_pb2.RequestStatisticsGroup) if f not in ("direction", "key")
    ]
    rows = [
        {"direction": g["direction"], data["group_by"]: g["key"]} | {f: g[f] for f in figures}
        for g in data["groups"]
    ]
    return csv_text(["direction", data["group_by"], *figures], rows)


def directory_csv(data: dict[str, Any]) -> str:
    return csv_text(_fields(directory_pb2.DirectoryStatisticsGroup), data["groups"])


def event_csv(data: dict[str, Any]) -> str:
    return csv_text(_fields(events_pb2.EventStatisticsGroup), data["groups"])


@api.route(
    "GET",
    "/api/v1/statistics/requests",
    summary="Requests this node holds, per group and direction: counts, days to acknowledge "
    "and to execute (median, p90), overdue and refused shares",
    tag=TAG,
    role="editor",
    query=REQUEST_PARAMS,
    response=REQUEST_STATISTICS,
    alternatives={CSV: CSV_SCHEMA},
)
async def request_statistics(request: web.Request) -> web.Response:
    data = await request_statistics_data(request.app, request[keys.CALLER], request.query)
    return _answer(request, data, request_csv, "request-statistics")


# ------------------------------------------------------------------ directory


async def directory_statistics_data(app: web.Application, caller: Caller) -> dict[str, Any]:
    reply = await app[keys.CLIENTS].directory.GetDirectoryStatistics(
        directory_pb2.DirectoryStatisticsRequest(), metadata=caller.metadata()
    )
    return _dict(reply)


@api.route(
    "GET",
    "/api/v1/statistics/directory",
    summary="This network's own directory records per state: how many, the share confirmed "
    "within 12 months, contact points whose term ended without a successor",
    tag=TAG,
    role="editor",
    response=DIRECTORY_STATISTICS,
    alternatives={CSV: CSV_SCHEMA},
)
async def directory_statistics(request: web.Request) -> web.Response:
    data = await directory_statistics_data(request.app, request[keys.CALLER])
    return _answer(request, data, directory_csv, "directory-statistics")


# ------------------------------------------------------------------ events


async def event_statistics_data(
    app: web.Application, caller: Caller, query: Mapping[str, str]
) -> dict[str, Any]:
    q = parse_query(PERIOD, query)
    msg = events_pb2.EventStatisticsRequest(from_date=q["from"] or "", to_date=q["to"] or "")
    reply = await app[keys.CLIENTS].events.GetEventStatistics(msg, metadata=caller.metadata())
    return _dict(reply)


@api.route(
    "GET",
    "/api/v1/statistics/events",
    summary="Registrations and attendance at this network's own events starting in the "
    "period, per registrants' network and kind of event",
    tag=TAG,
    role="editor",
    query=PERIOD,
    response=EVENT_STATISTICS,
    alternatives={CSV: CSV_SCHEMA},
)
async def event_statistics(request: web.Request) -> web.Response:
    data = await event_statistics_data(request.app, request[keys.CALLER], request.query)
    return _answer(request, data, event_csv, "event-statistics")
