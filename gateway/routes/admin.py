"""Administration: the whole node's recent traces and the audit log (admin only)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from aiohttp import web
from justnet.common.v1 import telemetry_pb2

from gateway import keys, observe
from gateway.api import Api, json_response
from gateway.paging import CURSOR, page_of, page_schema
from gateway.schema import Param, parse_query
from services.common.errors import InvalidInput, NotFound
from services.common.identity import Caller
from services.common.timeutil import rfc3339

api = Api()
TRACE_ID = re.compile(r"^[0-9a-f]{32}$")

SPAN = {
    "type": "object",
    "properties": {
        "trace_id": {"type": "string"},
        "span_id": {"type": "string"},
        "parent_span_id": {"type": ["string", "null"]},
        "parent_is_remote": {"type": "boolean"},
        "service": {"type": "string"},
        "node": {"type": "string", "description": "the network code of the node"},
        "name": {"type": "string"},
        "kind": {"type": "string"},
        "start": {"type": "string", "format": "date-time"},
        "duration_ms": {"type": "number"},
        "status": {"type": "string", "enum": ["UNSET", "OK", "ERROR"]},
        "status_message": {"type": ["string", "null"]},
        "attributes": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
SPAN["required"] = list(SPAN["properties"])
TRACE_FIELDS: dict[str, Any] = {
    "trace_id": {"type": "string"},
    "root": {"type": "string", "description": "the name of the first span"},
    "start": {"type": "string", "format": "date-time"},
    "duration_ms": {"type": "number"},
    "spans": {"type": "integer"},
    "errors": {"type": "integer"},
    "services": {"type": "array", "items": {"type": "string"}},
}
TRACE = {"type": "object", "properties": TRACE_FIELDS, "required": list(TRACE_FIELDS)}
UNAVAILABLE = {
    "type": "array",
    "items": {"type": "string"},
    "description": "services that did not answer; their spans are missing",
}
LIMIT = Param("limit", "integer", "page size (default 20)", minimum=1, maximum=500)
TRACES_PAGE = 20
MAX_TRACES = 2000  # the recent traces paged through (each process keeps its recent spans)


def _span(s: telemetry_pb2.SpanRecord) -> dict[str, Any]:
    return {
        "trace_id": s.trace_id,
        "span_id": s.span_id,
        "parent_span_id": s.parent_span_id or None,
        "parent_is_remote": s.parent_is_remote,
        "service": s.service,
        "node": s.network,
        "name": s.name,
        "kind": s.kind,
        "start": s.start.ToJsonString(),
        "duration_ms": s.duration_us / 1000,
        "status": s.status.code or "UNSET",
        "status_message": s.status.message or None,
        "attributes": dict(sorted(s.attributes.items())),
    }


def _end_ns(s: telemetry_pb2.SpanRecord) -> int:
    return s.start.ToNanoseconds() + s.duration_us * 1000


def _trace(trace_id: str, spans: list[telemetry_pb2.SpanRecord]) -> dict[str, Any]:
    first = min(spans, key=lambda s: s.start.ToNanoseconds())
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if not s.parent_span_id or s.parent_span_id not in ids]
    root = min(roots or spans, key=lambda s: s.start.ToNanoseconds())
    start = first.start.ToNanoseconds()
    return {
        "trace_id": trace_id,
        "root": root.name,
        "start": first.start.ToJsonString(),
        "duration_ms": (max(_end_ns(s) for s in spans) - start) / 1e6,
        "spans": len(spans),
        "errors": sum(1 for s in spans if s.status.code == "ERROR"),
        "services": sorted({s.service for s in spans}),
    }


@api.route(
    "GET",
    "/api/v1/admin/traces",
    summary="Recent traces of the whole node (every process), newest first",
    tag="admin",
    role="admin",
    query=(LIMIT, CURSOR),
    response=page_schema(TRACE, unavailable=UNAVAILABLE),
)
async def list_traces(request: web.Request) -> web.Response:
    q = parse_query((LIMIT, CURSOR), request.query)
    data = await traces_data(request.app, request[keys.CALLER], MAX_TRACES)
    return json_response(
        {**page_of(data["items"], q, TRACES_PAGE), "unavailable": data["unavailable"]}
    )


async def traces_data(app: web.Application, caller: Caller, limit: int) -> dict[str, Any]:
    """The recent traces of every process of the node (the API's and the console's answer)."""
    gathered = await observe.gather_spans(app[keys.CLIENTS], caller)
    by_trace: dict[str, list[telemetry_pb2.SpanRecord]] = defaultdict(list)
    for span in gathered.spans:
        by_trace[span.trace_id].append(span)
    traces = [_trace(t, spans) for t, spans in by_trace.items()]
    traces.sort(key=lambda t: t["start"], reverse=True)
    return {"items": traces[:limit], "unavailable": gathered.unavailable}


@api.route(
    "GET",
    "/api/v1/admin/traces/{trace_id}",
    summary="One trace: its spans from every process of the node, in start order",
    tag="admin",
    role="admin",
    response={
        "type": "object",
        "properties": {
            **TRACE_FIELDS,
            "spans": {"type": "array", "items": SPAN},
            "unavailable": UNAVAILABLE,
        },
        "required": [*TRACE_FIELDS, "unavailable"],
    },
    errors=(400, 404),
)
async def get_trace(request: web.Request) -> web.Response:
    caller = request[keys.CALLER]
    return json_response(await trace_data(request.app, caller, request.match_info["trace_id"]))


def check_trace_id(text: str) -> str:
    """A trace id as the API takes it (32 hex digits, any case), lower-cased."""
    trace_id = text.lower()
    if not TRACE_ID.match(trace_id):
        raise InvalidInput.one("trace_id", "must be 32 hexadecimal digits (the X-Trace-Id header)")
    return trace_id


async def trace_data(app: web.Application, caller: Caller, trace_id: str) -> dict[str, Any]:
    """One trace's spans from every process of the node, in start order."""
    trace_id = check_trace_id(trace_id)
    gathered = await observe.gather_spans(app[keys.CLIENTS], caller, trace_id)
    if not gathered.spans:
        raise NotFound(f"no recent spans of trace {trace_id} on this node")
    return {
        "trace_id": trace_id,
        **_trace(trace_id, gathered.spans),
        "spans": [_span(s) for s in gathered.spans],
        "unavailable": gathered.unavailable,
    }


AUDIT_LIMIT = Param("limit", "integer", "at most this many (default 100)", minimum=1, maximum=1000)


@api.route(
    "GET",
    "/api/v1/admin/audit",
    summary="Who changed or looked up what, newest first",
    tag="admin",
    role="admin",
    query=(AUDIT_LIMIT,),
    response={
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "at": {"type": "string", "format": "date-time"},
                        "subject": {
                            "type": "string",
                            "description": "principal id: user:<id> or token:<id>",
                        },
                        "subject_name": {"type": "string", "description": "display name then"},
                        "role": {"type": "string"},
                        "action": {"type": "string"},
                        "target": {"type": "string"},
                        "detail": {"type": "string"},
                        "trace_id": {"type": ["string", "null"]},
                    },
                },
            }
        },
    },
)
async def audit(request: web.Request) -> web.Response:
    limit = parse_query((AUDIT_LIMIT,), request.query)["limit"] or 100
    return json_response(await audit_data(request.app, limit))


async def audit_data(app: web.Application, limit: int) -> dict[str, Any]:
    """The newest audit entries (the API's and the console's answer)."""
    await app[keys.AUDIT].flush(app)  # include what is still queued
    rows = await app[keys.TOKENS].audit_entries(limit)
    return {
        "items": [
            {
                "at": rfc3339(r.at),
                "subject": r.subject,
                "subject_name": r.subject_name,
                "role": r.role,
                "action": r.action,
                "target": r.target,
                "detail": r.detail,
                "trace_id": r.trace_id or None,
            }
            for r in rows
        ]
    }
