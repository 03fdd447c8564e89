"""Federation administration routes: the quarantine of records peers sent that this node
did not apply (ARCHITECTURE section 4, "A peer speaks only for its states")."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from justnet.federation.v1 import federation_pb2

from gateway import keys, render
from gateway.api import Api, json_response
from gateway.paging import CURSOR, LIMIT
from gateway.schema import Param, parse_query
from services.common.identity import Caller

api = Api()
PEER = Param("peer", description="only the records this peer network sent", max_len=16)
QUARANTINE_PARAMS = (PEER, LIMIT, CURSOR)

_S: dict[str, Any] = {"type": "string"}
QUARANTINED = {
    "type": "object",
    "properties": {
        "peer": {"type": "string", "description": "the network that sent it (its origin)"},
        "feed": {"type": "string", "enum": ["directory", "events"]},
        "kind": {
            "type": "string",
            "enum": ["authority", "contact_point", "routing_profile", "event"],
        },
        "record_id": _S,
        "version": {"type": "integer"},
        "jurisdiction": {
            "type": ["string", "null"],
            "description": "the state the record is about (an event's venue country)",
        },
        "reason": {
            "type": "string",
            "enum": [
                "jurisdiction_not_accepted",
                "last_verified_in_future",
                "refused",
                "unreadable",
            ],
        },
        "detail": _S,
        "received_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


def _item(r: federation_pb2.QuarantinedRecord) -> dict[str, Any]:
    return {
        "peer": r.peer,
        "feed": r.feed,
        "kind": r.kind,
        "record_id": r.record_id,
        "version": r.version,
        "jurisdiction": r.jurisdiction or None,
        "reason": r.reason,
        "detail": r.detail,
        "received_at": render.ts(r.received_at),
    }


@api.route(
    "GET",
    "/api/v1/federation/quarantine",
    summary="Records peers sent that this node did not apply, newest first",
    tag="federation",
    role="admin",
    query=QUARANTINE_PARAMS,
    response={
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": QUARANTINED},
            "next_cursor": {"type": ["string", "null"]},
        },
        "required": ["items", "next_cursor"],
    },
)
async def federation_quarantine(request: web.Request) -> web.Response:
    caller = request[keys.CALLER]
    return json_response(await quarantine_data(request.app, caller, request.query))


async def quarantine_data(app: web.Application, caller: Caller, query: Any) -> dict[str, Any]:
    """One page of the quarantine (the API's answer; a console page can share it)."""
    q = parse_query(QUARANTINE_PARAMS, query)
    reply = await app[keys.CLIENTS].federation.ListQuarantine(
        federation_pb2.ListQuarantineRequest(
            limit=q["limit"] or 0, cursor=q["cursor"] or "", peer=q["peer"] or ""
        ),
        metadata=caller.metadata(),
    )
    return {"items": [_item(r) for r in reply.items], "next_cursor": reply.next_cursor or None}
