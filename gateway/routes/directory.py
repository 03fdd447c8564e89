"""Directory routes: networks, jurisdictions, routing profiles, authorities,
contact points and lookup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from justnet.directory.v1 import directory_pb2
from justnet.federation.v1 import federation_pb2

from gateway import bodies, keys, render
from gateway.api import Api, if_match, json_response, page_request, raw_json_response, read_json
from gateway.paging import CURSOR, LIMIT, PAGE, only, page_of, page_schema, parse_page
from gateway.render import HeldAnswer
from gateway.resources import Resource, crud_routes
from gateway.schema import Obj, Param, parse_body, parse_query
from services.common import codes
from services.common.identity import Caller

api = Api()
TAG = "directory"

JURISDICTION = Param("jurisdiction", description="ISO 3166-1 alpha-2", max_len=8)
COMPETENCE = Param("competence", enum=codes.COMPETENCES, max_len=40)
LANGUAGE = Param("language", description="ISO 639-1", max_len=8)
NETWORK = Param("network", description="origin network code", max_len=16)
Q = Param("q", description="text in the name")
AUTHORITY_PARAMS = (JURISDICTION, COMPETENCE, NETWORK, Q, LIMIT, CURSOR)
CONTACT_PARAMS = (
    JURISDICTION,
    COMPETENCE,
    LANGUAGE,
    NETWORK,
    Q,
    Param("available_24_7", "boolean"),
    LIMIT,
    CURSOR,
)
LOOKUP_PARAMS = (
    JURISDICTION,
    COMPETENCE,
    LANGUAGE,
    Q,
    NETWORK,
    Param("urgent", "boolean", "rank 24/7 availability first"),
    LIMIT,
)


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _page(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": _ref(name)},
            "next_cursor": {"type": ["string", "null"]},
        },
        "required": ["items", "next_cursor"],
    }


def _md(request: web.Request) -> tuple[tuple[str, str], ...]:
    return request[keys.CALLER].metadata()


def _page_response(request: web.Request, kind: str, items: Any, cursor: str) -> web.Response:
    records = request.app[keys.FRAGMENTS].records(kind, items)
    return raw_json_response(
        b'{"items":' + records + b',"next_cursor":' + render.dumps(cursor or None) + b"}"
    )


def _stub(request: web.Request) -> Any:
    return request.app[keys.CLIENTS].directory


# ------------------------------------------------------------------ reference data


@api.route(
    "GET",
    "/api/v1/networks",
    summary="Networks known to this node",
    tag=TAG,
    query=PAGE,
    response=page_schema(_ref("Network")),
)
async def list_networks(request: web.Request) -> web.Response:
    q = parse_query(PAGE, request.query)
    reply = await _stub(request).ListNetworks(
        directory_pb2.ListNetworksRequest(), metadata=_md(request)
    )
    return json_response(page_of([render.network(n) for n in reply.items], q))


@api.route(
    "GET",
    "/api/v1/networks/{code}",
    summary="One network and its member states",
    tag=TAG,
    response=_ref("Network"),
    errors=(404,),
)
async def get_network(request: web.Request) -> web.Response:
    reply = await _stub(request).GetNetwork(
        directory_pb2.GetNetworkRequest(code=request.match_info["code"]), metadata=_md(request)
    )
    return json_response(render.network(reply))


@api.route(
    "GET",
    "/api/v1/jurisdictions",
    summary="Member states of the known networks",
    tag=TAG,
    query=(NETWORK, *PAGE),
    response=page_schema(_ref("Jurisdiction")),
)
async def list_jurisdictions(request: web.Request) -> web.Response:
    q = parse_page((NETWORK,), request.query)
    filters = only(request.query, "network")
    items = await jurisdictions_data(request.app, request[keys.CALLER], filters)
    return json_response(page_of(items, q))


async def jurisdictions_data(
    app: web.Application, caller: Caller, query: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The member states of the known networks, as `GET /api/v1/jurisdictions` lists them."""
    q = parse_query((NETWORK,), query)
    reply = await app[keys.CLIENTS].directory.ListJurisdictions(
        directory_pb2.ListJurisdictionsRequest(network=q["network"] or ""),
        metadata=caller.metadata(),
    )
    return [render.jurisdiction(j) for j in reply.items]


@api.route(
    "GET",
    "/api/v1/jurisdictions/{iso2}",
    tag=TAG,
    response=_ref("Jurisdiction"),
    summary="A state: networks, legal tradition, official languages, routing profile",
    errors=(400, 404),
)
async def get_jurisdiction(request: web.Request) -> web.Response:
    reply = await _stub(request).GetJurisdiction(
        directory_pb2.GetJurisdictionRequest(code=request.match_info["iso2"]), metadata=_md(request)
    )
    return json_response(render.jurisdiction(reply))


INSTRUMENT = {
    "type": "object",
    "properties": {
        "code": {"type": "string"},
        "title": {"type": "string"},
        "type": {"type": "string"},
        "parties": {"type": "array", "items": {"type": "string"}},
        "edited": {"type": "boolean"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "updated_by": {"type": ["string", "null"]},
    },
}
PARTY = Param("party", description="only instruments this state is a party to", max_len=8)


def _instrument(i: directory_pb2.Instrument) -> dict[str, Any]:
    return {
        "code": i.code,
        "title": i.title,
        "type": i.type,
        "parties": list(i.parties),
        "edited": i.edited,
        "updated_at": render.ts(i.updated_at),
        "updated_by": i.updated_by or None,
    }


@api.route(
    "GET",
    "/api/v1/instruments",
    summary="Legal instruments and their parties (the planner's legal bases)",
    tag=TAG,
    query=(PARTY,),
    response={"type": "object", "properties": {"items": {"type": "array", "items": INSTRUMENT}}},
)
async def list_instruments(request: web.Request) -> web.Response:
    q = parse_query((PARTY,), request.query)
    reply = await _stub(request).ListInstruments(
        directory_pb2.ListInstrumentsRequest(party=q["party"] or ""), metadata=_md(request)
    )
    return json_response({"items": [_instrument(i) for i in reply.items]})


@api.route(
    "PUT",
    "/api/v1/instruments/{code}",
    summary="Correct an instrument's parties on this node",
    tag=TAG,
    role="editor",
    body=bodies.INSTRUMENT,
    response=INSTRUMENT,
)
async def put_instrument(request: web.Request) -> web.Response:
    values = parse_body(bodies.INSTRUMENT, await read_json(request))
    reply = await _stub(request).PutInstrument(
        directory_pb2.PutInstrumentRequest(
            instrument=directory_pb2.Instrument(code=request.match_info["code"], **values)
        ),
        metadata=_md(request),
    )
    return json_response(_instrument(reply))


# ------------------------------------------------------------------ routing profiles


@api.route(
    "GET",
    "/api/v1/jurisdictions/{iso2}/routing-profile",
    tag=TAG,
    summary="How to send this state an MLA request",
    response=_ref("RoutingProfile"),
    errors=(400, 404),
    etag=True,
)
async def get_routing_profile(request: web.Request) -> web.Response:
    reply = await routing_profile_record(
        request.app, request[keys.CALLER], request.match_info["iso2"]
    )
    return json_response(render.routing_profile(reply), version=reply.meta.version)


@api.route(
    "PUT",
    "/api/v1/jurisdictions/{iso2}/routing-profile",
    tag=TAG,
    role="editor",
    summary="Create or replace a member state's routing profile",
    body=bodies.ROUTING_PROFILE,
    response=_ref("RoutingProfile"),
    errors=(404, 412),
    etag=True,
)
async def put_routing_profile(request: web.Request) -> web.Response:
    caller = request[keys.CALLER]
    body = await read_json(request)
    reply = await put_routing_profile_record(
        request.app, caller, request.match_info["iso2"], body, if_match(request)
    )
    return json_response(render.routing_profile(reply), version=reply.meta.version)


# Plain functions for the directory's records: the API handlers here and the console's
# pages (gateway.console.directory_pages) make the same calls with the same checks.


def _directory(app: web.Application) -> Any:
    return app[keys.CLIENTS].directory


def _directory_records(
    path: str, message: Any, field: str, noun: str, body: Obj, show: Any
) -> Resource[Any]:
    """A directory record type: its messages are named after it (CreateAuthorityRequest,
    UpdateAuthorityRequest with `field`), reads and deletes take the shared record ids."""
    rpc = message.DESCRIPTOR.name
    create, update = (
        getattr(directory_pb2, f"Create{rpc}Request"),
        getattr(directory_pb2, f"Update{rpc}Request"),
    )
    return Resource(
        path=path,
        schema=rpc,
        noun=noun,
        body=body,
        service=_directory,
        rpc=rpc,
        to_message=lambda values: message(**values),
        create_request=lambda record: create(**{field: record}),
        get_request=lambda record_id: directory_pb2.GetRecordRequest(id=record_id),
        update_request=lambda record, version: update(
            **{field: record, "expected_version": version}
        ),
        delete_request=lambda record_id, version: directory_pb2.DeleteRecordRequest(
            id=record_id, expected_version=version
        ),
        render=show,
    )


AUTHORITY_RECORDS: Resource[directory_pb2.Authority] = _directory_records(
    "/api/v1/authorities", directory_pb2.Authority, "authority", "an authority", bodies.AUTHORITY,
    render.authority,
)  # fmt: skip
CONTACT_POINT_RECORDS: Resource[directory_pb2.ContactPoint] = _directory_records(
    "/api/v1/contact-points", directory_pb2.ContactPoint, "contact_point", "a contact point",
    bodies.CONTACT_POINT, render.contact_point,
)  # fmt: skip


async def routing_profile_record(
    app: web.Application, caller: Caller, iso2: str
) -> directory_pb2.RoutingProfile:
    """`GET /api/v1/jurisdictions/{iso2}/routing-profile`."""
    reply: directory_pb2.RoutingProfile = await _directory(app).GetRoutingProfile(
        directory_pb2.GetRoutingProfileRequest(jurisdiction=iso2), metadata=caller.metadata()
    )
    return reply


async def put_routing_profile_record(
    app: web.Application, caller: Caller, iso2: str, body: Any, expected_version: int
) -> directory_pb2.RoutingProfile:
    """`PUT /api/v1/jurisdictions/{iso2}/routing-profile` (expected_version 0: no check)."""
    values = parse_body(bodies.ROUTING_PROFILE, body)
    values["jurisdiction"] = iso2
    profile = directory_pb2.RoutingProfile(
        jurisdiction=values["jurisdiction"],
        central_authority_id=values["central_authority_id"],
        accepted_languages=values["accepted_languages"],
        channels=[directory_pb2.Channel(**c) for c in values["channels"]],
        legal_bases=values["legal_bases"],
        measures=[directory_pb2.MeasureProfile(**m) for m in values["measures"]],
        acknowledgement_days=values["acknowledgement_days"],
        urgent_procedure=values["urgent_procedure"],
        visibility=values["visibility"],
    )
    reply: directory_pb2.RoutingProfile = await _directory(app).PutRoutingProfile(
        directory_pb2.PutRoutingProfileRequest(profile=profile, expected_version=expected_version),
        metadata=caller.metadata(),
    )
    return reply


# ------------------------------------------------------------------ authorities


@api.route(
    "GET",
    "/api/v1/authorities",
    summary="Authorities, local and replicated",
    tag=TAG,
    query=AUTHORITY_PARAMS,
    response=_page("Authority"),
)
async def list_authorities(request: web.Request) -> web.Response:
    reply = await authorities_page(request.app, request[keys.CALLER], request.query)
    return _page_response(request, "authority", reply.items, reply.next_cursor)


async def authorities_page(
    app: web.Application, caller: Caller, query: Mapping[str, str]
) -> directory_pb2.ListAuthoritiesResponse:
    """`GET /api/v1/authorities`: one page (render each with `render.authority`)."""
    q = parse_query(AUTHORITY_PARAMS, query)
    reply: directory_pb2.ListAuthoritiesResponse = await _directory(app).ListAuthorities(
        directory_pb2.ListAuthoritiesRequest(
            page=page_request(q),
            jurisdiction=q["jurisdiction"] or "",
            competence=q["competence"] or "",
            network=q["network"] or "",
            q=q["q"] or "",
        ),
        metadata=caller.metadata(),
    )
    return reply


crud_routes(api, AUTHORITY_RECORDS, tag=TAG, name="authority")


# ------------------------------------------------------------------ contact points


@api.route(
    "GET",
    "/api/v1/contact-points",
    summary="Contact points, local and replicated",
    tag=TAG,
    query=CONTACT_PARAMS,
    response=_page("ContactPoint"),
)
async def list_contact_points(request: web.Request) -> web.Response:
    reply = await contact_points_page(request.app, request[keys.CALLER], request.query)
    return _page_response(request, "contact_point", reply.items, reply.next_cursor)


async def contact_points_page(
    app: web.Application, caller: Caller, query: Mapping[str, str]
) -> directory_pb2.ListContactPointsResponse:
    """`GET /api/v1/contact-points`: one page (render each with `render.contact_point`)."""
    q = parse_query(CONTACT_PARAMS, query)
    msg = directory_pb2.ListContactPointsRequest(
        page=page_request(q),
        jurisdiction=q["jurisdiction"] or "",
        competence=q["competence"] or "",
        language=q["language"] or "",
        network=q["network"] or "",
        q=q["q"] or "",
    )
    if q["available_24_7"] is not None:
        msg.available_24_7 = q["available_24_7"]
    reply: directory_pb2.ListContactPointsResponse = await _directory(app).ListContactPoints(
        msg, metadata=caller.metadata()
    )
    return reply


crud_routes(api, CONTACT_POINT_RECORDS, tag=TAG, name="contact_point")


CONTACT_DETAILS = {
    "type": "object",
    "properties": {
        "origin": {"type": "string"},
        "contact_point_id": {"type": "string"},
        "email": {"type": "string"},
        "phone": {"type": "string"},
        "fetched_at": {"type": ["string", "null"], "format": "date-time"},
    },
}


@api.route(
    "GET",
    "/api/v1/contact-points/{id}/details",
    summary="A contact point's e-mail and phone, fetched from its owner if not replicated",
    tag=TAG,
    role="member",
    response=CONTACT_DETAILS,
    errors=(404, 503, 504),
)
async def contact_point_details(request: web.Request) -> web.Response:
    caller = request[keys.CALLER]
    return json_response(await contact_details_data(request.app, caller, request.match_info["id"]))


async def contact_details_data(
    app: web.Application, caller: Caller, record_id: str
) -> dict[str, Any]:
    """A contact point's e-mail and phone (`caller` must be at least a member)."""
    contact = await app[keys.CLIENTS].directory.GetContactPoint(
        directory_pb2.GetRecordRequest(id=record_id), metadata=caller.metadata()
    )
    own = app[keys.SETTINGS].network
    if contact.meta.origin == own or (contact.email and contact.phone):
        return {
            "origin": contact.meta.origin,
            "contact_point_id": contact.meta.id,
            "email": contact.email,
            "phone": contact.phone,
            "fetched_at": None,
        }
    # A replica whose owner kept the details off replication: ask the owner, who logs it.
    reply = await app[keys.CLIENTS].federation.FetchContactDetails(
        federation_pb2.FetchContactDetailsRequest(
            origin=contact.meta.origin, contact_point_id=contact.meta.id
        ),
        metadata=caller.metadata(),
        timeout=10.0,
    )
    return {
        "origin": reply.origin,
        "contact_point_id": reply.contact_point_id,
        "email": reply.email,
        "phone": reply.phone,
        "fetched_at": render.ts(reply.fetched_at),
    }


# ------------------------------------------------------------------ lookup


@api.route(
    "GET",
    "/api/v1/lookup",
    tag=TAG,
    query=LOOKUP_PARAMS,
    summary="Authorities and contact points across every known network, ranked",
    response={
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": _ref("LookupItem")},
            "networks_consulted": {"type": "array", "items": {"type": "string"}},
            "networks_unavailable": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["items", "networks_consulted", "networks_unavailable"],
    },
)
async def lookup(request: web.Request) -> web.Response:
    answer = await lookup_data(request.app, request[keys.CALLER], request.query)
    return raw_json_response(
        b'{"items":'
        + answer.items
        + b',"networks_consulted":'
        + render.dumps(answer.networks_consulted)
        + b',"networks_unavailable":'
        + render.dumps(answer.networks_unavailable)
        + b"}"
    )


@dataclass(frozen=True)
class LookupAnswer:
    items: bytes  # the JSON array of `GET /api/v1/lookup`'s items, rendered
    networks_consulted: list[str]
    networks_unavailable: list[str]


async def lookup_data(
    app: web.Application, caller: Caller, query: Mapping[str, str]
) -> LookupAnswer:
    """What `GET /api/v1/lookup?<query>` answers `caller`; repeated lookups are served
    from the gateway's memory while the directory's lookup token is unchanged."""
    q = parse_query(LOOKUP_PARAMS, query)
    answers = app[keys.LOOKUPS]
    key = (tuple(q.items()), caller.role, caller.network)
    held = answers.get(key)
    watch = app[keys.LOOKUP_WATCH]
    if held is None or not watch.current(held.token):
        held = await _revalidate(app, caller, q, key, held)
    # Answers come from local and replicated records; peers whose stream is down are
    # named, since what the node holds from them may be stale.
    consulted = set(held.consulted) | {app[keys.SETTINGS].network}
    unavailable: set[str] = set()
    states = await app[keys.CLIENTS].peer_states()
    for network, state in (states or {}).items():
        if state == "connected":
            consulted.add(network)
        else:
            unavailable.add(network)
    return LookupAnswer(held.items, sorted(consulted - unavailable), sorted(unavailable))


async def _revalidate(
    app: web.Application,
    caller: Caller,
    q: dict[str, Any],
    key: tuple[object, ...],
    held: HeldAnswer | None,
) -> HeldAnswer:
    """Asks the directory; it answers `not_modified` when the held answer is current."""
    epoch = app[keys.LOOKUP_WATCH].epoch
    reply = await app[keys.CLIENTS].directory_lookup(
        directory_pb2.LookupRequest(
            jurisdiction=q["jurisdiction"] or "",
            competence=q["competence"] or "",
            language=q["language"] or "",
            q=q["q"] or "",
            network=q["network"] or "",
            urgent=bool(q["urgent"]),
            limit=q["limit"] or 0,
            known_token=held.token if held else "",
        ),
        metadata=caller.metadata(),
    )
    if not (reply.not_modified and held):
        held = HeldAnswer(
            reply.token,
            app[keys.FRAGMENTS].lookup_items(reply.items),
            tuple(reply.networks_consulted),
        )
        app[keys.LOOKUPS].put(key, held)
    app[keys.LOOKUP_WATCH].confirmed(reply.token, epoch)
    return held
