"""Console pages: the events calendar (a list of upcoming events and a month view), one
event with its registration, and the registrations an editor of the owning network sees.

Every page calls the functions the HTTP API's handlers call (`gateway.routes.events`), so
it shows what `GET /api/v1/events` answers the same person; registering goes through the
same Register call, which sends a registration for a peer's event to its owner.

The person's own registrations for an event are the API's list with mine=true (the same
`registrations_data`): the events service picks them by the person's network and principal,
so one made from another browser, or through the API with one of their tokens, shows too.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import grpc
from aiohttp import web
from babel.dates import format_date as babel_format_date
from babel.dates import format_time as babel_format_time
from babel.dates import get_day_names
from justnet.directory.v1 import directory_pb2

from gateway import bodies, keys
from gateway.console import i18n
from gateway.console.i18n import _
from gateway.console.web import (
    PREFIX,
    caller,
    field_errors,
    form,
    problem_text,
    render,
    require_person,
    see_other,
)
from gateway.routes.events import (
    attendance_data,
    cancel_registration_data,
    event_calendar,
    event_data,
    events_data,
    register_data,
    registrations_data,
)
from services.common.errors import DomainError, FieldError
from services.common.timeutil import utcnow

routes = web.RouteTableDef()
EVENTS = f"{PREFIX}/events"
MONTH_PAGES = 10  # pages of 500 events at most in one month's view
FILTER_NAMES = ("network", "kind", "from", "to")
ACTIVE = ("confirmed", "waitlisted", "pending")


def kind_labels() -> dict[str, str]:
    return {
        "plenary": _("Plenary"),
        "training": _("Training"),
        "working_group": _("Working group"),
        "study_visit": _("Study visit"),
        "meeting": _("Meeting"),
    }


def state_labels() -> dict[str, str]:
    return {
        "confirmed": _("Confirmed"),
        "waitlisted": _("On the waiting list"),
        "pending": _("Waiting for an answer"),
        "cancelled": _("Cancelled"),
        "refused": _("Refused"),
        "failed": _("Not delivered"),
    }


STATE_COLOURS = {
    "confirmed": "green",
    "waitlisted": "yellow",
    "pending": "blue",
    "cancelled": "grey",
    "refused": "red",
    "failed": "red",
}


def local_time(value: str | None, zone: str) -> str:
    """An event's time in its own time zone, named ("27 Oct 2027, 09:00 (Asia/Vientiane)")."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    try:
        tz: Any = ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        tz = moment.tzinfo or UTC
    lang = i18n.language()
    local = moment.astimezone(tz)
    day = babel_format_date(local, "medium", locale=lang)
    hour = babel_format_time(local, "short", tzinfo=tz, locale=lang)
    return f"{day}, {hour} ({zone})"


def _local_date(value: str | None) -> date | None:
    """The calendar day of an RFC 3339 time as written (the event's own offset)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


# ------------------------------------------------------------------ the person's registrations


async def _my_registrations(request: web.Request, event_id: str) -> list[dict[str, Any]]:
    """The person's registrations for the event, as the API answers them with mine=true:
    active ones first, then the newest."""
    who = caller(request)
    if not who.at_least("member"):
        return []
    data = await registrations_data(request.app, who, event_id, {"mine": "true"})
    items: list[dict[str, Any]] = data["items"]
    items.sort(key=lambda r: str(r["created_at"] or ""), reverse=True)
    items.sort(key=lambda r: r["state"] not in ACTIVE)
    return items


# ------------------------------------------------------------------ the list


async def _networks(request: web.Request) -> list[tuple[str, str]]:
    """Known networks for the filter (what GET /api/v1/networks lists)."""
    try:
        reply = await request.app[keys.CLIENTS].directory.ListNetworks(
            directory_pb2.ListNetworksRequest(), metadata=caller(request).metadata()
        )
    except grpc.aio.AioRpcError:
        return []
    return sorted((n.code, n.code) for n in reply.items)


def _filters(request: web.Request) -> dict[str, str]:
    return {name: request.query.get(name, "")[:40] for name in FILTER_NAMES}


def _query_string(values: dict[str, str]) -> str:
    kept = {k: v for k, v in values.items() if v}
    return "?" + urlencode(kept) if kept else ""


def _subscribe_url(request: web.Request, filters: dict[str, str]) -> str:
    base = request.app[keys.SETTINGS].gateway.url.rstrip("/")
    return f"{base}/api/v1/events.ics{_query_string(filters)}"


@routes.get(f"{EVENTS}.ics")
async def events_ics(request: web.Request) -> web.Response:
    """The events the person sees, as iCalendar (the API's feed, with their session)."""
    content = await event_calendar(request.app, caller(request), query=_filters_only(request))
    return _calendar(content, "events.ics")


def _filters_only(request: web.Request) -> dict[str, str]:
    return {k: v for k, v in _filters(request).items() if v}


def _calendar(content: bytes, filename: str) -> web.Response:
    response = web.Response(body=content, content_type="text/calendar", charset="utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@routes.get(EVENTS)
async def events_page(request: web.Request) -> web.Response:
    if request.query.get("view") == "month":
        return await _month_page(request)
    who = caller(request)
    filters = _filters(request)
    if "from" not in request.query:
        filters["from"] = utcnow().date().isoformat()  # upcoming: ending today or later
    query = {k: v for k, v in filters.items() if v}
    cursor = request.query.get("cursor", "")[:500]
    if cursor:
        query["cursor"] = cursor
    errors: list[FieldError] = []
    data: dict[str, Any] = {"items": [], "next_cursor": None}
    try:
        data = await events_data(request.app, who, query)
    except (DomainError, grpc.aio.AioRpcError) as exc:
        found = field_errors(exc)
        if found is None:
            raise
        errors = found
    next_url = ""
    if data["next_cursor"]:
        next_url = EVENTS + _query_string({**filters, "cursor": data["next_cursor"]})
    context = {
        "view": "list",
        "filters": filters,
        "events": data["items"],
        "next_url": next_url,
        "errors": errors,
        "kinds": kind_labels(),
        "networks": await _networks(request),
        "own_network": request.app[keys.SETTINGS].network,
        "subscribe_url": _subscribe_url(request, filters),
        "download_url": f"{EVENTS}.ics{_query_string(filters)}",
        "month_url": EVENTS + _query_string({**filters, "from": "", "to": "", "view": "month"}),
        "local_time": local_time,
    }
    return render(request, "events_list.html", context, status=400 if errors else 200)


# ------------------------------------------------------------------ the month view


@dataclass
class Day:
    day: date | None
    events: list[dict[str, Any]] = field(default_factory=list)


def _month_of(raw: str) -> date | None:
    try:
        year, month = raw.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        return None


def _shift(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


async def _month_page(request: web.Request) -> web.Response:
    filters = _filters(request)
    errors: list[FieldError] = []
    raw = request.query.get("month", "")[:10]
    first = _month_of(raw) if raw else utcnow().date().replace(day=1)
    if first is None or not 1900 <= first.year <= 9998:
        errors.append(FieldError("month", _("Enter a month as YYYY-MM, for example 2027-03")))
        first = utcnow().date().replace(day=1)
    following = _shift(first, 1)
    keep = {k: v for k, v in filters.items() if v and k in ("network", "kind")}
    events = await _month_events(request, keep, first, following, errors)
    lang = i18n.language()
    short = get_day_names("abbreviated", locale=lang)
    wide = get_day_names("wide", locale=lang)
    context = {
        "view": "month",
        "filters": filters,
        "month": first,
        "month_title": babel_format_date(first, "LLLL y", locale=lang),
        "month_value": first.strftime("%Y-%m"),
        "weeks": _weeks(first, following, events),
        "weekdays": [(short[i], wide[i]) for i in range(7)],
        "count": len(events),
        "errors": errors,
        "kinds": kind_labels(),
        "networks": await _networks(request),
        "today": utcnow().date(),
        "prev_url": EVENTS
        + _query_string({**keep, "view": "month", "month": _shift(first, -1).strftime("%Y-%m")}),
        "next_url": EVENTS
        + _query_string({**keep, "view": "month", "month": following.strftime("%Y-%m")}),
        "list_url": EVENTS + _query_string({**keep, "from": first.isoformat()}),
        "subscribe_url": _subscribe_url(request, keep),
    }
    return render(request, "events_month.html", context, status=400 if errors else 200)


async def _month_events(
    request: web.Request,
    keep: dict[str, str],
    first: date,
    following: date,
    errors: list[FieldError],
) -> list[dict[str, Any]]:
    """The month's events (up to MONTH_PAGES pages); bad filters become field errors."""
    query = {**keep, "from": first.isoformat(), "to": following.isoformat(), "limit": "500"}
    events: list[dict[str, Any]] = []
    try:
        for _page in range(MONTH_PAGES):
            data = await events_data(request.app, caller(request), query)
            events += data["items"]
            if not data["next_cursor"]:
                break
            query["cursor"] = data["next_cursor"]
    except (DomainError, grpc.aio.AioRpcError) as exc:
        found = field_errors(exc)
        if found is None:
            raise
        errors += found
    return events


def _weeks(first: date, following: date, events: list[dict[str, Any]]) -> list[list[Day]]:
    """The month's weeks; a day shows the events under way on it, by the event's own
    calendar."""
    by_day: dict[date, list[dict[str, Any]]] = {}
    for event in events:
        start = _local_date(event["starts_at"]) or first
        end = _local_date(event["ends_at"]) or start
        day = max(start, first)
        while day <= end and day < following:
            by_day.setdefault(day, []).append(event)
            day += timedelta(days=1)
    return [
        [Day(d, by_day.get(d, [])) if d.month == first.month else Day(None) for d in week]
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    ]


# ------------------------------------------------------------------ one event


def _event_url(event_id: str) -> str:
    return f"{EVENTS}/{event_id}"


def _open_for_registration(event: dict[str, Any]) -> bool:
    closes = str(event.get("registration_deadline") or event.get("ends_at") or "")
    try:
        return bool(closes) and datetime.fromisoformat(closes) > utcnow()
    except ValueError:
        return True  # the service decides


async def _event_page(
    request: web.Request,
    event_id: str,
    *,
    errors: list[FieldError] | None = None,
    values: dict[str, str] | None = None,
    message: str = "",
    status: int = 200,
) -> web.Response:
    who = caller(request)
    event = await event_data(request.app, who, event_id)
    mine = await _my_registrations(request, event_id)
    registrations: list[dict[str, Any]] | None = None
    if who.at_least("editor"):
        try:
            registrations = (await registrations_data(request.app, who, event_id, {}))["items"]
        except grpc.aio.AioRpcError as exc:
            if exc.code() not in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND):
                raise
    own = request.app[keys.SETTINGS].network
    context = {
        "event": event,
        "mine": mine,
        "registered": any(r["state"] in ACTIVE for r in mine),
        "registrations": registrations,
        "owned_here": event["origin"] == own,
        "own_network": own,
        "open": _open_for_registration(event),
        "values": values or {"name": who.name, "email": "", "contact_point_id": ""},
        "errors": errors or [],
        "message": message,
        "kinds": kind_labels(),
        "states": state_labels(),
        "colours": STATE_COLOURS,
        "local_time": local_time,
        "ics_url": f"{EVENTS}/{event_id}.ics",
        "api_url": f"/api/v1/events/{event_id}",
    }
    return render(request, "events_event.html", context, status=status)


# Declared before /events/{id}, which would otherwise take "<id>.ics" as an id.
@routes.get(EVENTS + "/{id}.ics")
async def event_ics(request: web.Request) -> web.Response:
    event_id = request.match_info["id"]
    content = await event_calendar(request.app, caller(request), event_id)
    return _calendar(content, f"{event_id}.ics")


@routes.get(EVENTS + "/{id}")
async def event_page(request: web.Request) -> web.Response:
    return await _event_page(request, request.match_info["id"])


@routes.post(EVENTS + "/{id}/register")
async def register(request: web.Request) -> web.Response:
    who = require_person(request, "member")
    event_id = request.match_info["id"]
    data = await form(request)
    values = {name: str(data.get(name, "")).strip() for name in bodies.REGISTRATION.fields}
    # Empty optional fields are left out, as a JSON client would.
    body = {k: v for k, v in values.items() if v or k == "name"}
    try:
        await register_data(request.app, who, event_id, body)
    except (DomainError, grpc.aio.AioRpcError) as exc:
        errors = field_errors(exc)
        status = 400
        if errors is None:
            code = exc.code() if isinstance(exc, grpc.aio.AioRpcError) else exc.code
            if code not in (grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS):
                raise
            errors = [FieldError("", _("You are already registered for this event."))]
            status = 409
        return await _event_page(request, event_id, errors=errors, values=values, status=status)
    return see_other(_event_url(event_id) + "#registration")


@routes.post(EVENTS + "/{id}/registrations/{registration_id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    who = require_person(request, "member")
    event_id = request.match_info["id"]
    registration_id = request.match_info["registration_id"]
    await cancel_registration_data(request.app, who, event_id, registration_id)
    mine = any(r["id"] == registration_id for r in await _my_registrations(request, event_id))
    return see_other(_event_url(event_id) + ("#registration" if mine else "#registrations"))


@routes.post(EVENTS + "/{id}/registrations/{registration_id}/attendance")
async def attendance(request: web.Request) -> web.Response:
    who = require_person(request, "editor")
    event_id = request.match_info["id"]
    data = await form(request)
    body = {
        "attended": data.get("attended") == "1",
        "details_confirmed": data.get("details_confirmed") == "1",
    }
    try:
        await attendance_data(
            request.app, who, event_id, request.match_info["registration_id"], body
        )
    except (DomainError, grpc.aio.AioRpcError) as exc:
        errors = field_errors(exc)
        if errors is None:
            return await _event_page(request, event_id, message=problem_text(exc), status=409)
        return await _event_page(request, event_id, errors=errors, status=400)
    return see_other(f"{EVENTS}/{event_id}#registrations")
