"""Routing and request routes: the planner, drafts, submission, status, history."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message
from justnet.common.v1 import common_pb2
from justnet.requests.v1 import requests_pb2 as pb

from gateway import bodies, keys
from gateway.api import Api, if_match, json_response, read_json
from gateway.auth import require
from gateway.schema import Param, parse_body, parse_query
from services.common import codes

api = Api()
TAG = "requests"
LIST_PARAMS = (
    Param("status", enum=codes.REQUEST_STATUSES, max_len=32),
    Param("direction", enum=("incoming", "outgoing"), max_len=8),
    Param("limit", "integer", "page size (default 50)", minimum=1, maximum=500),
    Param("cursor", description="next_cursor from the previous page", max_len=100),
)
PAGE_PARAMS = LIST_PARAMS[2:]

_OBJ: dict[str, Any] = {"type": "object"}
_STRS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
ROUTE = {
    "type": "object",
    "properties": {
        "destination_network": {"type": ["string", "null"]},
        "destination_is_local": {"type": "boolean"},
        "central_authority": _OBJ,
        "channels": {"type": "array", "items": _OBJ},
        "legal_bases": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "title": {"type": "string"},
                    "kind": {"type": "string"},
                    "last_resort": {"type": "boolean"},
                    "listed_by_requested_state": {"type": "boolean"},
                },
            },
        },
        "accepted_languages": _STRS,
        "translation_required": {"type": "boolean"},
        "measures": {"type": "array", "items": _OBJ},
        "contacts": {"type": "array", "items": _OBJ},
        "warnings": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
DELIVERY = {
    "type": "object",
    "properties": {
        "state": {"type": "string", "enum": ["none", "local", "pending", "delivered", "failed"]},
        "receipt": _OBJ,
        "receipt_verified": {"type": "boolean"},
        "reason": {"type": ["string", "null"]},
    },
}
REQUEST = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "origin": {"type": "string"},
        "version": {"type": "integer"},
        "direction": {"type": "string", "enum": ["incoming", "outgoing"]},
        "status": {"type": "string", "enum": list(codes.REQUEST_STATUSES)},
        "route": ROUTE,
        "delivery": DELIVERY,
        "acknowledgement_due": {"type": ["string", "null"], "format": "date-time"},
        "overdue": {"type": "boolean"},
    },
}
PAGE = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": REQUEST}, "next_cursor": {}},
}
HISTORY = {
    "type": "object",
    "properties": {
        "request_id": {"type": "string"},
        "verified": {"type": "boolean"},
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "seq": {"type": "integer"},
                    "status": {"type": "string"},
                    "author": {"type": "string"},
                    "at": {"type": "string", "format": "date-time"},
                    "signature": {"type": "string", "description": "base64 Ed25519"},
                    "hash": {"type": "string", "description": "hex sha256"},
                    "verified": {"type": "boolean"},
                },
            },
        },
    },
}


def _dict(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = json_format.MessageToDict(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return out


def _route(msg: pb.Route) -> dict[str, Any]:
    out = _dict(msg)
    out["destination_network"] = msg.destination_network or None
    if not msg.HasField("central_authority"):
        out["central_authority"] = None
    return out


def _request(msg: pb.Request) -> dict[str, Any]:
    out = _dict(msg)
    out["route"] = _route(msg.route)
    for key in ("submitted_at", "acknowledgement_due"):
        out.setdefault(key, None)
    return out


def _md(request: web.Request) -> tuple[tuple[str, str], ...]:
    return request[keys.CALLER].metadata()


def _stub(request: web.Request) -> Any:
    return request.app[keys.CLIENTS].requests


@api.route(
    "POST",
    "/api/v1/routes",
    summary="Plan a route: destination node, authority, legal bases, languages, warnings",
    tag=TAG,
    body=bodies.ROUTE_QUERY,
    response=ROUTE,
)
async def plan_route(request: web.Request) -> web.Response:
    values = parse_body(bodies.ROUTE_QUERY, await read_json(request))
    reply = await _stub(request).PlanRoute(pb.PlanRouteRequest(**values), metadata=_md(request))
    return json_response(_route(reply))


@api.route(
    "POST",
    "/api/v1/requests",
    summary="Create a draft MLA request (routed at once)",
    tag=TAG,
    role="member",
    body=bodies.REQUEST,
    response=REQUEST,
    success=201,
    etag=True,
)
async def create_request(request: web.Request) -> web.Response:
    require(request, "member")
    values = parse_body(bodies.REQUEST, await read_json(request))
    reply = await _stub(request).CreateRequest(
        pb.CreateRequestRequest(request=pb.RequestInput(**values)), metadata=_md(request)
    )
    response = json_response(_request(reply), status=201, version=reply.version)
    response.headers["Location"] = f"/api/v1/requests/{reply.id}"
    return response


@api.route(
    "GET",
    "/api/v1/requests",
    summary="Requests this caller may see, newest first",
    tag=TAG,
    role="member",
    query=LIST_PARAMS,
    response=PAGE,
)
async def list_requests(request: web.Request) -> web.Response:
    require(request, "member")
    q = parse_query(LIST_PARAMS, request.query)
    reply = await _stub(request).ListRequests(
        pb.ListRequestsRequest(
            page=common_pb2.PageRequest(limit=q["limit"] or 0, cursor=q["cursor"] or ""),
            status=q["status"] or "",
            direction=q["direction"] or "",
        ),
        metadata=_md(request),
    )
    return json_response(
        {"items": [_request(r) for r in reply.items], "next_cursor": reply.next_cursor or None}
    )


@api.route(
    "GET",
    "/api/v1/requests/overdue",
    summary="Requests past their acknowledgement due time or requested execution date",
    tag=TAG,
    role="member",
    query=PAGE_PARAMS,
    response=PAGE,
)
async def list_overdue(request: web.Request) -> web.Response:
    require(request, "member")
    q = parse_query(PAGE_PARAMS, request.query)
    reply = await _stub(request).ListOverdue(
        pb.ListOverdueRequest(
            page=common_pb2.PageRequest(limit=q["limit"] or 0, cursor=q["cursor"] or "")
        ),
        metadata=_md(request),
    )
    return json_response(
        {"items": [_request(r) for r in reply.items], "next_cursor": reply.next_cursor or None}
    )


@api.route(
    "GET",
    "/api/v1/requests/{id}",
    summary="One request, with its delivery state and signed receipt",
    tag=TAG,
    role="member",
    response=REQUEST,
    errors=(404,),
    etag=True,
)
async def get_request(request: web.Request) -> web.Response:
    require(request, "member")
    reply = await _stub(request).GetRequest(
        pb.GetRequestRequest(id=request.match_info["id"]), metadata=_md(request)
    )
    return json_response(_request(reply), version=reply.version)


@api.route(
    "POST",
    "/api/v1/requests/{id}/submit",
    summary="Sign the submission and deliver the request to the destination node",
    tag=TAG,
    role="member",
    response=REQUEST,
    errors=(404, 409),
    etag=True,
)
async def submit_request(request: web.Request) -> web.Response:
    require(request, "member")
    reply = await _stub(request).Submit(
        pb.SubmitRequest(id=request.match_info["id"]), metadata=_md(request)
    )
    return json_response(_request(reply), version=reply.version)


@api.route(
    "POST",
    "/api/v1/requests/{id}/status",
    summary="Change the status (each side sets its own statuses); delivered to the other side",
    tag=TAG,
    role="member",
    body=bodies.STATUS_CHANGE,
    response=REQUEST,
    errors=(404, 409, 412),
    etag=True,
)
async def change_status(request: web.Request) -> web.Response:
    require(request, "member")
    values = parse_body(bodies.STATUS_CHANGE, await read_json(request))
    reply = await _stub(request).ChangeStatus(
        pb.ChangeStatusRequest(
            id=request.match_info["id"],
            status=values["status"],
            note=values["note"],
            expected_version=if_match(request),
        ),
        metadata=_md(request),
    )
    return json_response(_request(reply), version=reply.version)


@api.route(
    "GET",
    "/api/v1/requests/{id}/history",
    summary="The signed event chain, each event with its author node and `verified`",
    tag=TAG,
    role="member",
    response=HISTORY,
    errors=(404,),
)
async def history(request: web.Request) -> web.Response:
    require(request, "member")
    reply = await _stub(request).GetHistory(
        pb.GetHistoryRequest(id=request.match_info["id"]), metadata=_md(request)
    )
    events = []
    for e in reply.events:
        item = _dict(e)
        item["hash"] = e.hash.hex()
        item["prev_hash"] = e.prev_hash.hex() or None
        item["problem"] = e.problem or None
        if not e.HasField("delivery"):
            item["delivery"] = None
        events.append(item)
    return json_response(
        {"request_id": reply.request_id, "verified": reply.verified, "events": events}
    )
