"""Routing and request routes: the planner, drafts, submission, status, history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from google.protobuf.message import Message
from justnet.requests.v1 import requests_pb2

from gateway import bodies, keys
from gateway.api import Api, if_match, json_response, page_request, read_json
from gateway.openapi import message_schema, nullable
from gateway.paging import CURSOR, LIMIT
from gateway.schema import Param, parse_body, parse_query
from services.common import codes
from services.common.identity import Caller

api = Api()
TAG = "requests"
LIST_PARAMS = (
    Param("status", enum=codes.REQUEST_STATUSES, max_len=32),
    Param("direction", enum=("incoming", "outgoing"), max_len=8),
    LIMIT,
    CURSOR,
)
PAGE_PARAMS = LIST_PARAMS[2:]

_S: dict[str, Any] = {"type": "string"}
_NS: dict[str, Any] = {"type": ["string", "null"]}
_NTS: dict[str, Any] = {"type": ["string", "null"], "format": "date-time"}
# The answers are the services' messages as MessageToDict gives them (_dict), so their
# schemas are made from the same messages, with what the handlers change after it.
ROUTE = message_schema(
    requests_pb2.Route,
    {
        "destination_network": {
            **_NS,
            "description": "null when no node this one knows covers the requested state",
        },
        "central_authority": nullable(message_schema(requests_pb2.AuthorityRef)),
    },
    required=("central_authority",),
)
DELIVERY = message_schema(
    requests_pb2.DeliveryState,
    {
        "state": {
            "type": "string",
            "enum": ["none", "local", "pending", "delivered", "failed"],
            "description": "none: a draft; local: both sides are this node",
        },
        "reason": {**_S, "description": "why the destination refused it"},
    },
)
REQUEST = message_schema(
    requests_pb2.Request,
    {
        "version": {"type": "integer", "description": "the ETag's number"},
        "direction": {"type": "string", "enum": ["incoming", "outgoing"]},
        "status": {"type": "string", "enum": list(codes.REQUEST_STATUSES)},
        "owner": {**_S, "description": "principal id of its creator (requesting node only)"},
        "route": ROUTE,
        "delivery": DELIVERY,
        "submitted_at": _NTS,
        "acknowledgement_due": _NTS,
    },
    required=("route", "submitted_at", "acknowledgement_due"),
)
PAGE = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": REQUEST}, "next_cursor": _NS},
    "required": ["items", "next_cursor"],
}
HISTORY_ENTRY = message_schema(
    requests_pb2.HistoryEntry,
    {
        "author": {**_S, "description": "the network whose node signed the event"},
        "signature": {**_S, "description": "base64 Ed25519"},
        "hash": {**_S, "description": "hex sha256 of the signed event"},
        "prev_hash": {**_NS, "description": "hex sha256 of the previous event"},
        "problem": {**_NS, "description": "why it did not verify"},
        "delivery": nullable(DELIVERY),
        "documents": {
            "type": "array",
            "description": "the documents this signed event adds",
            "items": message_schema(
                requests_pb2.DocumentRef,
                {"sha256": {**_S, "description": "hex sha256"}, "size": {"type": "integer"}},
            ),
        },
    },
    required=("hash", "prev_hash", "problem", "delivery"),
)
HISTORY = message_schema(
    requests_pb2.History, {"events": {"type": "array", "items": HISTORY_ENTRY}}
)


def _dict(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = json_format.MessageToDict(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return out


def _route(msg: requests_pb2.Route, converted: dict[str, Any] | None = None) -> dict[str, Any]:
    out = _dict(msg) if converted is None else converted
    out["destination_network"] = msg.destination_network or None
    if not msg.HasField("central_authority"):
        out["central_authority"] = None
    return out


# A request's JSON is a pure function of its message, and converting one (MessageToDict) was
# 39 % of the gateway's time on a requests page: answers are kept by the message's bytes.
# Callers only read what _request returns (json_response, templates).
_REQUESTS: dict[bytes, dict[str, Any]] = {}
_REQUESTS_BOUND = 4096


def _request(msg: requests_pb2.Request) -> dict[str, Any]:
    key = msg.SerializeToString(deterministic=True)
    found = _REQUESTS.get(key)
    if found is not None:
        return found
    out = _dict(msg)
    out["version"] = msg.version  # an integer, as every record's (MessageToDict: a string)
    out["route"] = _route(msg.route, out.get("route"))
    for name in ("submitted_at", "acknowledgement_due"):
        out.setdefault(name, None)
    if len(_REQUESTS) >= _REQUESTS_BOUND:
        _REQUESTS.clear()
    _REQUESTS[key] = out
    return out


@api.route(
    "POST",
    "/api/v1/routes",
    summary="Plan a route: destination node, authority, legal bases, languages, warnings",
    tag=TAG,
    body=bodies.ROUTE_QUERY,
    response=ROUTE,
)
async def plan_route(request: web.Request) -> web.Response:
    body = await read_json(request)
    return json_response(await plan_route_data(request.app, request[keys.CALLER], body))


async def plan_route_data(app: web.Application, caller: Caller, body: Any) -> dict[str, Any]:
    """The planner's answer (what `POST /api/v1/routes` gives and the console shows);
    `body` as POSTed (JSON types), checked with bodies.ROUTE_QUERY."""
    values = parse_body(bodies.ROUTE_QUERY, body)
    reply = await app[keys.CLIENTS].requests.PlanRoute(
        requests_pb2.PlanRouteRequest(**values), metadata=caller.metadata()
    )
    return _route(reply)


# Each handler's work is a plain function of (app, caller, input) so the console's pages
# call exactly what the API calls and show what it answers.


def _service(app: web.Application) -> Any:
    return app[keys.CLIENTS].requests


async def _answer(call: Any, msg: Message, caller: Caller) -> dict[str, Any]:
    """A call of the requests service that answers a request, rendered as the API does."""
    return _request(await call(msg, metadata=caller.metadata()))


def _page(reply: Any) -> dict[str, Any]:
    return {"items": [_request(r) for r in reply.items], "next_cursor": reply.next_cursor or None}


async def create_request_data(app: web.Application, caller: Caller, body: Any) -> dict[str, Any]:
    """`body`: as POSTed (JSON types), checked with bodies.REQUEST."""
    values = parse_body(bodies.REQUEST, body)
    msg = requests_pb2.CreateRequestRequest(request=requests_pb2.RequestInput(**values))
    return await _answer(_service(app).CreateRequest, msg, caller)


async def list_requests_data(
    app: web.Application, caller: Caller, query: Mapping[str, str]
) -> dict[str, Any]:
    q = parse_query(LIST_PARAMS, query)
    msg = requests_pb2.ListRequestsRequest(
        page=page_request(q), status=q["status"] or "", direction=q["direction"] or ""
    )
    return _page(await _service(app).ListRequests(msg, metadata=caller.metadata()))


async def list_overdue_data(
    app: web.Application, caller: Caller, query: Mapping[str, str]
) -> dict[str, Any]:
    q = parse_query(PAGE_PARAMS, query)
    msg = requests_pb2.ListOverdueRequest(page=page_request(q))
    return _page(await _service(app).ListOverdue(msg, metadata=caller.metadata()))


async def get_request_data(app: web.Application, caller: Caller, request_id: str) -> dict[str, Any]:
    return await _answer(
        _service(app).GetRequest, requests_pb2.GetRequestRequest(id=request_id), caller
    )


async def update_request_data(
    app: web.Application, caller: Caller, request_id: str, body: Any, expected_version: int
) -> dict[str, Any]:
    """`body`: every field of a draft, checked with bodies.REQUEST as for a new one."""
    values = parse_body(bodies.REQUEST, body)
    msg = requests_pb2.UpdateDraftRequest(
        id=request_id,
        request=requests_pb2.RequestInput(**values),
        expected_version=expected_version,
    )
    return await _answer(_service(app).UpdateDraft, msg, caller)


async def submit_request_data(
    app: web.Application, caller: Caller, request_id: str
) -> dict[str, Any]:
    return await _answer(_service(app).Submit, requests_pb2.SubmitRequest(id=request_id), caller)


async def change_status_data(
    app: web.Application, caller: Caller, request_id: str, body: Any, expected_version: int
) -> dict[str, Any]:
    """`body`: {"status", "note"}, checked with bodies.STATUS_CHANGE."""
    values = parse_body(bodies.STATUS_CHANGE, body)
    msg = requests_pb2.ChangeStatusRequest(
        id=request_id,
        status=values["status"],
        note=values["note"],
        expected_version=expected_version,
    )
    return await _answer(_service(app).ChangeStatus, msg, caller)


async def history_data(app: web.Application, caller: Caller, request_id: str) -> dict[str, Any]:
    reply = await _service(app).GetHistory(
        requests_pb2.GetHistoryRequest(id=request_id), metadata=caller.metadata()
    )
    events = []
    for e in reply.events:
        item = _dict(e)
        item["hash"] = e.hash.hex()
        item["prev_hash"] = e.prev_hash.hex() or None
        item["problem"] = e.problem or None
        if not e.HasField("delivery"):
            item["delivery"] = None
        for ref, out in zip(e.documents, item["documents"], strict=True):
            out["sha256"] = ref.sha256.hex()
            out["size"] = ref.size
        events.append(item)
    return {"request_id": reply.request_id, "verified": reply.verified, "events": events}


def _version(data: dict[str, Any]) -> int:
    return int(data["version"])


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
    data = await create_request_data(request.app, request[keys.CALLER], await read_json(request))
    response = json_response(data, status=201, version=_version(data))
    response.headers["Location"] = f"/api/v1/requests/{data['id']}"
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
    return json_response(await list_requests_data(request.app, request[keys.CALLER], request.query))


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
    return json_response(await list_overdue_data(request.app, request[keys.CALLER], request.query))


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
    data = await get_request_data(request.app, request[keys.CALLER], request.match_info["id"])
    return json_response(data, version=_version(data))


@api.route(
    "PUT",
    "/api/v1/requests/{id}",
    summary="Replace every field of a draft (routed again); only its creator or an editor, "
    "only while it is a draft",
    tag=TAG,
    role="member",
    body=bodies.REQUEST,
    response=REQUEST,
    errors=(404, 409, 412),
    etag=True,
)
async def update_request(request: web.Request) -> web.Response:
    body = await read_json(request)
    data = await update_request_data(
        request.app, request[keys.CALLER], request.match_info["id"], body, if_match(request)
    )
    return json_response(data, version=_version(data))


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
    data = await submit_request_data(request.app, request[keys.CALLER], request.match_info["id"])
    return json_response(data, version=_version(data))


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
    body = await read_json(request)
    parse_body(bodies.STATUS_CHANGE, body)  # body errors before a malformed If-Match's
    data = await change_status_data(
        request.app, request[keys.CALLER], request.match_info["id"], body, if_match(request)
    )
    return json_response(data, version=_version(data))


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
    return json_response(
        await history_data(request.app, request[keys.CALLER], request.match_info["id"])
    )
