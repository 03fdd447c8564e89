"""Node routes: health, node descriptor, OpenAPI document, metrics, federation peers."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from aiohttp import web
from justnet.federation.v1 import federation_pb2
from prometheus_client import CONTENT_TYPE_LATEST

from gateway import bodies, key_expiry, keys, observe, render
from gateway.api import Api, json_response, read_json
from gateway.auth import require_scraper
from gateway.paging import PAGE, page_of, page_schema
from gateway.schema import parse_body, parse_query
from services.common.errors import InvalidInput
from services.common.identity import Caller
from services.common.version import VERSION

api = Api()

PEER = {
    "type": "object",
    "properties": {
        "network": {"type": "string"},
        "endpoint": {"type": "string"},
        "state": {"type": "string", "enum": ["connected", "backing_off", "unreachable", "refused"]},
        "cursor": {"type": "integer"},
        "lag_seconds": {"type": ["number", "null"]},
        "last_success_at": {"type": ["string", "null"], "format": "date-time"},
        "last_error": {"type": ["string", "null"]},
        "records": {"type": "integer"},
        "jurisdictions": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the states the peer's descriptor lists",
        },
        "accepted_jurisdictions": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the states this node applies the peer's records for; the rest "
            "go to GET /api/v1/federation/quarantine",
        },
        "quarantined": {"type": "integer", "description": "its records held in quarantine"},
        "key_id": {"type": "string", "description": "its signing key this node holds as current"},
        "key_valid_until": {"type": ["string", "null"], "format": "date-time"},
        "certificate_fingerprint": {"type": "string"},
        "certificate_valid_until": {"type": ["string", "null"], "format": "date-time"},
        "feeds": {
            "type": "array",
            "description": "each replicated feed (directory, events) and its own cursor",
            "items": {
                "type": "object",
                "properties": {
                    "feed": {"type": "string"},
                    "state": {"type": "string"},
                    "cursor": {"type": "integer"},
                    "records": {"type": "integer"},
                    "last_error": {"type": ["string", "null"]},
                },
            },
        },
    },
}


def _peer(p: federation_pb2.PeerStatus) -> dict[str, Any]:
    return {
        "network": p.network,
        "endpoint": p.endpoint,
        "state": p.state,
        "cursor": p.cursor,
        "lag_seconds": p.lag_seconds if p.HasField("last_success_at") else None,
        "last_success_at": render.ts(p.last_success_at),
        "last_error": p.last_error or None,
        "records": p.records,
        "jurisdictions": list(p.jurisdictions),
        "accepted_jurisdictions": list(p.accepted_jurisdictions),
        "quarantined": p.quarantined,
        "key_id": p.key_id,
        "key_valid_until": render.ts(p.key_valid_until),
        "certificate_fingerprint": p.certificate_fingerprint,
        "certificate_valid_until": render.ts(p.certificate_valid_until),
        "feeds": [
            {
                "feed": f.feed,
                "state": f.state,
                "cursor": f.cursor,
                "records": f.records,
                "last_error": f.last_error or None,
            }
            for f in p.feeds
        ],
    }


async def _peers(app: web.Application) -> list[federation_pb2.PeerStatus] | None:
    clients = app[keys.CLIENTS]
    try:
        # The brief states are public on /api/v1/node: the gateway asks as itself.
        reply = await clients.federation.ListPeers(
            federation_pb2.ListPeersRequest(brief=True),
            metadata=clients.own.metadata(),
            timeout=2.0,
        )
    except grpc.aio.AioRpcError:
        return None
    return list(reply.peers)


async def _node_info(app: web.Application) -> federation_pb2.NodeDescriptor | None:
    clients = app[keys.CLIENTS]
    try:
        info: federation_pb2.NodeDescriptor = await clients.federation.GetNodeInfo(
            federation_pb2.GetNodeInfoRequest(), metadata=clients.own.metadata(), timeout=2.0
        )
    except grpc.aio.AioRpcError:
        return None
    return info


async def keys_data(app: web.Application) -> dict[str, Any]:
    """This node's key and certificate, and what expires within 30 days (the console's
    peers page; /api/v1/node says the same)."""
    info, peers = await asyncio.gather(_node_info(app), _peers(app))
    return {
        "keys": key_expiry.own_keys(info) if info is not None else None,
        "warnings": key_expiry.warnings(info, peers or []),
    }


@api.route(
    "GET",
    "/api/v1/health",
    summary="Whether every service of this node is serving",
    tag="node",
    response={
        "type": "object",
        "properties": {
            "status": {"type": "string", "enum": ["ok", "degraded"]},
            "services": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
)
async def health(request: web.Request) -> web.Response:
    services = await request.app[keys.CLIENTS].health()
    services["gateway"] = "SERVING"
    ok = all(s == "SERVING" for s in services.values())
    return json_response(
        {"status": "ok" if ok else "degraded", "services": services}, status=200 if ok else 503
    )


@api.route(
    "GET",
    "/api/v1/node",
    summary="This node: network, version, member states, peers",
    tag="node",
    response={
        "type": "object",
        "properties": {
            "network": {"type": "string"},
            "name": {"type": "string"},
            "version": {"type": "string"},
            "jurisdictions": {"type": "array", "items": {"type": "string"}},
            "peers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "network": {"type": "string"},
                        "state": {"type": "string"},
                        "lag_seconds": {"type": ["number", "null"]},
                    },
                },
            },
            "keys": key_expiry.KEYS,
            "warnings": {
                "type": "array",
                "items": key_expiry.WARNING,
                "description": "keys and certificates (this node's and its peers') that "
                "expire within 30 days, soonest first",
            },
            "peers_unavailable": {
                "type": "boolean",
                "description": "present (true) when the federation service did not answer: "
                "`peers` is then empty, not known to be",
            },
        },
        "required": ["network", "name", "version", "jurisdictions", "peers"],
    },
)
async def node(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    info, peers = await asyncio.gather(_node_info(request.app), _peers(request.app))
    body: dict[str, Any] = {
        "network": settings.network,
        "name": settings.name,
        "version": VERSION,
        "jurisdictions": list(settings.jurisdictions),
        "peers": [
            {
                "network": p.network,
                "state": p.state,
                "lag_seconds": p.lag_seconds if p.HasField("last_success_at") else None,
            }
            for p in (peers or [])
        ],
        "keys": key_expiry.own_keys(info) if info is not None else None,
        "warnings": key_expiry.warnings(info, peers or []),
    }
    if peers is None:
        body["peers_unavailable"] = True
    return json_response(body)


@api.route(
    "GET",
    "/api/v1/federation/peers",
    summary="Replication state of every peer",
    tag="federation",
    role="admin",
    query=PAGE,
    response=page_schema(PEER),
)
async def federation_peers(request: web.Request) -> web.Response:
    q = parse_query(PAGE, request.query)
    data = await peers_data(request.app, request[keys.CALLER])
    return json_response(page_of(data["items"], q))


async def peers_data(app: web.Application, caller: Caller) -> dict[str, Any]:
    """Every peer's replication state (the API's and the console's answer)."""
    reply = await app[keys.CLIENTS].federation.ListPeers(
        federation_pb2.ListPeersRequest(), metadata=caller.metadata()
    )
    return {"items": [_peer(p) for p in reply.peers]}


@api.route(
    "POST",
    "/api/v1/federation/peers",
    summary="Trust a peer node from its descriptor",
    tag="federation",
    role="admin",
    body=bodies.PEER_DESCRIPTOR,
    success=201,
    response={
        "type": "object",
        "properties": {
            "network": {"type": "string"},
            "endpoint": {"type": "string"},
            "jurisdictions": {"type": "array", "items": {"type": "string"}},
            "accepted_jurisdictions": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["network", "endpoint", "jurisdictions", "accepted_jurisdictions"],
    },
    errors=(409,),
)
async def add_peer(request: web.Request) -> web.Response:
    caller = request[keys.CALLER]
    values = parse_body(bodies.PEER_DESCRIPTOR, await read_json(request))
    share = values.pop("share") or "default"
    replace = bool(values.pop("replace"))
    accepted = values.pop("accepted_jurisdictions")
    old_keys = values.pop("old_keys")
    previous = values.pop("previous_certificates")
    times = {f: values.pop(f) for f in ("key_valid_until", "key_valid_from")}
    values.pop("certificate_valid_until")  # read from the certificate itself
    values.pop("announcements")  # a new peer trusts the descriptor it was given
    descriptor = federation_pb2.NodeDescriptor(**values)
    for i, key in enumerate(old_keys):
        old = descriptor.old_keys.add(key_id=key["key_id"], public_key=key["public_key"])
        _timestamp(old.expired_at, key["expired_at"], f"old_keys[{i}].expired_at")
        if key["valid_from"]:
            _timestamp(old.valid_from, key["valid_from"], f"old_keys[{i}].valid_from")
    for i, cert in enumerate(previous):
        entry = descriptor.previous_certificates.add(certificate_pem=cert["certificate_pem"])
        field = f"previous_certificates[{i}].accepted_until"
        _timestamp(entry.accepted_until, cert["accepted_until"], field)
    for field, text in times.items():
        if text:
            _timestamp(getattr(descriptor, field), text, field)
    reply = await request.app[keys.CLIENTS].federation.AddPeer(
        federation_pb2.AddPeerRequest(
            descriptor=descriptor, share=share, replace=replace, accepted_jurisdictions=accepted
        ),
        metadata=caller.metadata(),
    )
    response = json_response(
        {
            "network": reply.network,
            "endpoint": reply.endpoint,
            "jurisdictions": list(reply.jurisdictions),
            "accepted_jurisdictions": list(reply.accepted_jurisdictions),
        },
        status=201,
    )
    # The new peer's own path (its DELETE): the audit log names it, not the collection.
    response.headers["Location"] = f"/api/v1/federation/peers/{reply.network}"
    return response


@api.route(
    "GET",
    "/api/v1/federation/contact-requests",
    summary="Who in peer networks fetched this node's contact details on demand",
    tag="federation",
    role="admin",
    query=PAGE,
    response=page_schema(
        {
            "type": "object",
            "properties": {
                "at": {"type": ["string", "null"], "format": "date-time"},
                "network": {"type": "string", "description": "the requester's"},
                "requester": {"type": "string"},
                "requester_role": {"type": "string"},
                "contact_point_id": {"type": "string"},
                "outcome": {"type": "string"},
            },
            "required": [
                "at",
                "network",
                "requester",
                "requester_role",
                "contact_point_id",
                "outcome",
            ],
        }
    ),
)
async def contact_requests(request: web.Request) -> web.Response:
    caller = request[keys.CALLER]
    q = parse_query(PAGE, request.query)
    # The federation keeps the newest 500 at most in one answer; pages are cut from it.
    reply = await request.app[keys.CLIENTS].federation.ListContactDetailRequests(
        federation_pb2.ListContactDetailRequestsRequest(limit=500),
        metadata=caller.metadata(),
    )
    items = [
        {
            "at": render.ts(r.at),
            "network": r.network,
            "requester": r.requester,
            "requester_role": r.requester_role,
            "contact_point_id": r.contact_point_id,
            "outcome": r.outcome,
        }
        for r in reply.items
    ]
    return json_response(page_of(items, q))


def _timestamp(target: Any, text: str, field: str) -> None:
    try:
        target.FromJsonString(text)
    except ValueError:
        raise InvalidInput.one(field, "must be an RFC 3339 time") from None


@api.route(
    "DELETE",
    "/api/v1/federation/peers/{code}",
    summary="Stop trusting a peer",
    tag="federation",
    role="admin",
    success=204,
    errors=(404,),
)
async def remove_peer(request: web.Request) -> web.Response:
    caller = request[keys.CALLER]
    await request.app[keys.CLIENTS].federation.RemovePeer(
        federation_pb2.RemovePeerRequest(network=request.match_info["code"]),
        metadata=caller.metadata(),
    )
    return web.Response(status=204)


@api.route(
    "GET",
    "/api/v1/openapi.json",
    summary="This document",
    tag="node",
    response={"type": "object", "description": "an OpenAPI 3.1 document"},
)
async def openapi(request: web.Request) -> web.Response:
    return json_response(request.app[keys.OPENAPI])


@api.route(
    "GET",
    "/metrics",
    summary="Prometheus metrics of every process of the node (an admin token or the "
    "node's scrape token, gateway.scrape_token)",
    tag="node",
    role="admin",
    content_type="text/plain",
    response={"type": "string"},
)
async def metrics(request: web.Request) -> web.Response:
    # Every process of the node, each sample labelled justnet_service (gateway/observe.py).
    # An admin token or the scrape token (gateway.scrape_token) only.
    require_scraper(request)
    body = await observe.node_metrics(request.app[keys.CLIENTS])
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response
