"""Events routes: the calendar, registrations, attendance and iCalendar feeds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web
from google.protobuf.message import Message
from justnet.events.v1 import events_pb2

from gateway import bodies, keys, render
from gateway.api import Api, json_response, page_request, read_json
from gateway.paging import CURSOR, LIMIT, PAGE, only, page_of, page_schema, parse_page
from gateway.resources import Resource, crud_routes
from gateway.schema import Param, parse_body, parse_query
from services.common.identity import Caller

api = Api()
TAG = "events"

FILTERS = (
    Param("network", description="organising network code", max_len=16),
    Param("kind", enum=bodies.EVENT_KINDS, max_len=32),
    Param("from", description="events ending on or after (YYYY-MM-DD or RFC 3339)", max_len=40),
    Param("to", description="events starting before (YYYY-MM-DD or RFC 3339)", max_len=40),
)
LIST_PARAMS = (*FILTERS, LIMIT, CURSOR)
STATE = Param(
    "state",
    enum=("confirmed", "waitlisted", "cancelled", "pending", "refused", "failed"),
    max_len=16,
)
MINE = Param(
    "mine",
    "boolean",
    "only the caller's own registrations for the event (any member may ask)",
)
ICS = "text/calendar"
REGISTRATION = {"$ref": "#/components/schemas/Registration"}
EVENT = {"$ref": "#/components/schemas/Event"}


def _events(app: web.Application) -> Any:
    return app[keys.CLIENTS].events


# Plain functions: the API handlers below and the console's pages (gateway.console) make
# the same calls with the same checks, so a page shows exactly what the API answers.


async def event_calendar(
    app: web.Application, caller: Caller, event_id: str = "", query: Mapping[str, str] | None = None
) -> bytes:
    """iCalendar text for one event, or for the events the filters select."""
    if event_id:
        msg = events_pb2.GetCalendarRequest(event_id=event_id)
    else:
        q = parse_query(FILTERS, query or {})
        msg = events_pb2.GetCalendarRequest(
            network=q["network"] or "",
            kind=q["kind"] or "",
            to=q["to"] or "",
            **{"from": q["from"] or ""},
        )
    reply = await _events(app).GetCalendar(msg, metadata=caller.metadata())
    content: bytes = reply.content
    return content


async def events_data(
    app: web.Application, caller: Caller, query: Mapping[str, str]
) -> dict[str, Any]:
    """`GET /api/v1/events`: one page of the events the caller may see."""
    q = parse_query(LIST_PARAMS, query)
    reply = await _events(app).ListEvents(
        events_pb2.ListEventsRequest(
            page=page_request(q),
            network=q["network"] or "",
            kind=q["kind"] or "",
            to=q["to"] or "",
            **{"from": q["from"] or ""},
        ),
        metadata=caller.metadata(),
    )
    return {
        "items": [render.event(e) for e in reply.items],
        "next_cursor": reply.next_cursor or None,
    }


async def event_data(app: web.Application, caller: Caller, event_id: str) -> dict[str, Any]:
    """`GET /api/v1/events/{id}` (its `version` is the ETag)."""
    return await EVENT_RECORDS.read(app, caller, event_id)


async def _registration(call: Any, msg: Message, caller: Caller) -> dict[str, Any]:
    """A call of the events service that answers a registration, rendered as the API does."""
    return render.registration(await call(msg, metadata=caller.metadata()))


async def register_data(
    app: web.Application, caller: Caller, event_id: str, body: Any
) -> dict[str, Any]:
    """`POST /api/v1/events/{id}/registrations`: the body checked as the API checks it."""
    values = parse_body(bodies.REGISTRATION, body)
    msg = events_pb2.RegisterRequest(event_id=event_id, **values)
    return await _registration(_events(app).Register, msg, caller)


async def registrations_data(
    app: web.Application, caller: Caller, event_id: str, query: Mapping[str, str]
) -> dict[str, Any]:
    """`GET /api/v1/events/{id}/registrations`: all of them for editors of the owning
    network; with `mine=true`, the caller's own (the events service decides)."""
    q = parse_query((STATE, MINE), query)
    reply = await _events(app).ListRegistrations(
        events_pb2.ListRegistrationsRequest(
            event_id=event_id, state=q["state"] or "", mine=bool(q["mine"])
        ),
        metadata=caller.metadata(),
    )
    return {"items": [render.registration(r) for r in reply.items]}


async def registration_data(
    app: web.Application, caller: Caller, event_id: str, registration_id: str
) -> dict[str, Any]:
    """`GET /api/v1/events/{id}/registrations/{registration_id}`."""
    msg = events_pb2.GetRegistrationRequest(event_id=event_id, id=registration_id)
    return await _registration(_events(app).GetRegistration, msg, caller)


async def cancel_registration_data(
    app: web.Application, caller: Caller, event_id: str, registration_id: str
) -> dict[str, Any]:
    """`DELETE /api/v1/events/{id}/registrations/{registration_id}`."""
    msg = events_pb2.GetRegistrationRequest(event_id=event_id, id=registration_id)
    return await _registration(_events(app).CancelRegistration, msg, caller)


async def attendance_data(
    app: web.Application, caller: Caller, event_id: str, registration_id: str, body: Any
) -> dict[str, Any]:
    """`POST /api/v1/events/{id}/registrations/{registration_id}/attendance`."""
    values = parse_body(bodies.ATTENDANCE, body)
    msg = events_pb2.MarkAttendanceRequest(event_id=event_id, id=registration_id, **values)
    return await _registration(_events(app).MarkAttendance, msg, caller)


def _event_message(values: dict[str, Any]) -> events_pb2.Event:
    msg = events_pb2.Event(
        title=values["title"],
        kind=values["kind"],
        description=values["description"],
        starts_at=values["starts_at"],
        ends_at=values["ends_at"],
        timezone=values["timezone"],
        online_url=values["online_url"],
        languages=values["languages"],
        interpretation=values["interpretation"],
        agenda=[events_pb2.AgendaItem(**a) for a in values["agenda"]],
        documents=[events_pb2.Document(**d) for d in values["documents"]],
        capacity=values["capacity"],
        registration_deadline=values["registration_deadline"],
        visibility=values["visibility"],
    )
    venue = values["venue"]
    if venue:
        msg.venue.city = venue["city"]
        msg.venue.country = venue["country"]
    return msg


def _calendar_response(content: bytes, filename: str) -> web.Response:
    response = web.Response(body=content, content_type=ICS, charset="utf-8")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# Registered before /api/v1/events/{id}, which would otherwise take "<id>.ics" as an id.
@api.route(
    "GET",
    "/api/v1/events/{id}.ics",
    summary="One event as iCalendar (RFC 5545)",
    tag=TAG,
    response={"type": "string"},
    errors=(404,),
    content_type=ICS,
)
async def get_event_ics(request: web.Request) -> web.Response:
    event_id = request.match_info["id"]
    content = await event_calendar(request.app, request[keys.CALLER], event_id)
    return _calendar_response(content, f"{event_id}.ics")


@api.route(
    "GET",
    "/api/v1/events.ics",
    summary="The events the caller may see as an iCalendar feed (RFC 5545)",
    tag=TAG,
    query=FILTERS,
    response={"type": "string"},
    content_type=ICS,
)
async def list_events_ics(request: web.Request) -> web.Response:
    content = await event_calendar(request.app, request[keys.CALLER], query=request.query)
    return _calendar_response(content, "events.ics")


@api.route(
    "GET",
    "/api/v1/events",
    summary="Events, local and shared by peer networks, by start time",
    tag=TAG,
    query=LIST_PARAMS,
    response={
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": EVENT},
            "next_cursor": {"type": ["string", "null"]},
        },
        "required": ["items", "next_cursor"],
    },
)
async def list_events(request: web.Request) -> web.Response:
    return json_response(await events_data(request.app, request[keys.CALLER], request.query))


EVENT_RECORDS: Resource[events_pb2.Event] = Resource(
    path="/api/v1/events",
    schema="Event",
    noun="an event",
    body=bodies.EVENT,
    service=_events,
    rpc="Event",
    to_message=lambda values: _event_message(values),
    create_request=lambda record: events_pb2.CreateEventRequest(event=record),
    get_request=lambda record_id: events_pb2.GetEventRequest(id=record_id),
    update_request=lambda record, version: events_pb2.UpdateEventRequest(
        event=record, expected_version=version
    ),
    delete_request=lambda record_id, version: events_pb2.DeleteEventRequest(
        id=record_id, expected_version=version
    ),
    render=render.event,
)
crud_routes(
    api,
    EVENT_RECORDS,
    tag=TAG,
    name="event",
    update_summary="Replace an event (more places move the waitlist up)",
    delete_summary="Remove an event and its registrations",
)


@api.route(
    "POST",
    "/api/v1/events/{id}/registrations",
    summary="Register for an event: confirmed, waitlisted, or pending for a peer's event",
    tag=TAG,
    role="member",
    body=bodies.REGISTRATION,
    response=REGISTRATION,
    success=201,
    errors=(404, 409),
)
async def register(request: web.Request) -> web.Response:
    caller = request[keys.CALLER]
    body = await read_json(request)
    placed = await register_data(request.app, caller, request.match_info["id"], body)
    response = json_response(placed, status=201)
    response.headers["Location"] = (
        f"/api/v1/events/{placed['event_id']}/registrations/{placed['id']}"
    )
    return response


@api.route(
    "GET",
    "/api/v1/events/{id}/registrations",
    summary="Registrations: editors of the owning network list all (for a peer's event, "
    "this network's own members'); members list their own with mine=true",
    tag=TAG,
    role="member",
    query=(STATE, MINE, *PAGE),
    response=page_schema(REGISTRATION),
    errors=(404,),
)
async def list_registrations(request: web.Request) -> web.Response:
    caller = request[keys.CALLER]  # a member; editors without mine: the service checks
    q = parse_page((STATE, MINE), request.query)
    filters = only(request.query, "state", "mine")
    data = await registrations_data(request.app, caller, request.match_info["id"], filters)
    return json_response(page_of(data["items"], q))


@api.route(
    "GET",
    "/api/v1/events/{id}/registrations/{registration_id}",
    summary="One registration (the registrant or an editor)",
    tag=TAG,
    role="member",
    response=REGISTRATION,
    errors=(404,),
)
async def get_registration(request: web.Request) -> web.Response:
    caller = request[keys.CALLER]
    return json_response(
        await registration_data(
            request.app, caller, request.match_info["id"], request.match_info["registration_id"]
        )
    )


@api.route(
    "DELETE",
    "/api/v1/events/{id}/registrations/{registration_id}",
    summary="Cancel a registration; the first waitlisted moves up",
    tag=TAG,
    role="member",
    response=REGISTRATION,
    errors=(404,),
)
async def cancel_registration(request: web.Request) -> web.Response:
    caller = request[keys.CALLER]
    return json_response(
        await cancel_registration_data(
            request.app, caller, request.match_info["id"], request.match_info["registration_id"]
        )
    )


@api.route(
    "POST",
    "/api/v1/events/{id}/registrations/{registration_id}/attendance",
    summary="Mark attendance; recorded on the person's contact point in the directory",
    tag=TAG,
    role="editor",
    body=bodies.ATTENDANCE,
    response=REGISTRATION,
    errors=(404,),
)
async def mark_attendance(request: web.Request) -> web.Response:
    caller = request[keys.CALLER]
    body = await read_json(request)
    return json_response(
        await attendance_data(
            request.app,
            caller,
            request.match_info["id"],
            request.match_info["registration_id"],
            body,
        )
    )
