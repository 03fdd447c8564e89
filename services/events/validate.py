"""Checks an incoming event and returns the normalised column values.

Every error names the API field; nothing is written unless the whole event passes.
Times: a value with an offset is an instant; one without is local time in the event's
IANA zone (a time skipped by a daylight-saving change is refused). Stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from justnet.events.v1 import events_pb2

from services.common.ids import is_id
from services.common.validation import Validator

KINDS = ("plenary", "training", "working_group", "study_visit", "meeting")
REGISTRATION_STATES = ("confirmed", "waitlisted", "cancelled", "pending", "refused", "failed")
ACTIVE_STATES = ("confirmed", "waitlisted", "pending")
MAX_CAPACITY = 100_000
TITLE_MAX = 300


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo | None:
    """The IANA zone `name` (from the pinned tzdata), or None when there is none."""
    if name not in _zones():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def timezone(v: Validator, field: str, value: str) -> ZoneInfo | None:
    value = value.strip()
    if not value:
        v.fail(field, "is required (an IANA time zone, e.g. Asia/Bangkok)")
        return None
    found = zone(value)
    if found is None:
        v.fail(field, f"{value[:60]!r} is not an IANA time zone (e.g. Europe/Vienna)")
    return found


def instant(
    v: Validator, field: str, value: str, tz: ZoneInfo | None, *, required: bool = True
) -> datetime | None:
    """An RFC 3339 date-time (or local time in `tz`) as an aware UTC datetime."""
    value = value.strip()
    if not value:
        if required:
            v.fail(field, "is required (RFC 3339, e.g. 2026-03-29T09:00:00+02:00)")
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        v.fail(field, f"{value[:60]!r} is not an RFC 3339 date-time")
        return None
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    if tz is None:
        return None  # the zone's own error is reported already
    local = parsed.replace(tzinfo=tz)
    # A wall time that a daylight-saving change skips does not survive a round trip.
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != parsed:
        v.fail(field, f"{value} does not exist in {tz.key} (skipped by a daylight-saving change)")
        return None
    return local.astimezone(UTC)


def local_text(value: datetime, tz_name: str) -> str:
    """RFC 3339 in the event's own offset."""
    tz = zone(tz_name) or UTC
    return value.astimezone(tz).isoformat()


def utc_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event(msg: events_pb2.Event, v: Validator) -> dict[str, Any]:
    tz = timezone(v, "timezone", msg.timezone)
    starts = instant(v, "starts_at", msg.starts_at, tz)
    ends = instant(v, "ends_at", msg.ends_at, tz)
    if starts is not None and ends is not None and ends <= starts:
        v.fail("ends_at", "must be after starts_at")
    deadline = instant(v, "registration_deadline", msg.registration_deadline, tz, required=False)
    if deadline is not None and ends is not None and deadline > ends:
        v.fail("registration_deadline", "must not be after ends_at")
    if msg.capacity < 0:
        v.fail("capacity", "must not be negative (0 means no limit)")
    elif msg.capacity > MAX_CAPACITY:
        v.fail("capacity", f"must be at most {MAX_CAPACITY}")
    city, country, online_url = _venue(msg, v)
    agenda = _agenda(msg, v, tz)
    documents = _documents(msg, v)
    return {
        "title": v.text("title", msg.title, required=True, max_len=TITLE_MAX),
        "kind": v.choice("kind", msg.kind, KINDS),
        "description": v.text("description", msg.description, max_len=5000),
        "timezone": tz.key if tz else msg.timezone,
        "starts_at": starts,
        "ends_at": ends,
        "venue_city": city,
        "venue_country": country,
        "online_url": online_url,
        "languages": v.languages("languages", msg.languages),
        "interpretation": v.languages("interpretation", msg.interpretation),
        "agenda": agenda,
        "documents": documents,
        "capacity": msg.capacity,
        "registration_deadline": deadline,
        "visibility": v.visibility("visibility", msg.visibility),
    }


def _venue(msg: events_pb2.Event, v: Validator) -> tuple[str, str, str]:
    """City, country and online URL: a place, a link, or both."""
    city = v.text("venue.city", msg.venue.city, max_len=200)
    country = v.country("venue.country", msg.venue.country, required=bool(city))
    if country and not city:
        v.fail("venue.city", "is required with venue.country")
    online_url = v.url("online_url", msg.online_url)
    if not city and not country and not online_url:
        v.fail("venue", "give a venue (city and country) or an online_url")
    return city, country, online_url


def _agenda(msg: events_pb2.Event, v: Validator, tz: ZoneInfo | None) -> list[dict[str, str]]:
    if len(msg.agenda) > 200:
        v.fail("agenda", "must have at most 200 items")
    agenda = []
    for i, item in enumerate(msg.agenda[:200]):
        at = instant(v, f"agenda[{i}].starts_at", item.starts_at, tz, required=False)
        agenda.append(
            {
                "title": v.text(f"agenda[{i}].title", item.title, required=True, max_len=300),
                "starts_at": utc_text(at) if at else "",
                "description": v.text(f"agenda[{i}].description", item.description, max_len=2000),
            }
        )
    return agenda


def _documents(msg: events_pb2.Event, v: Validator) -> list[dict[str, str]]:
    """Documents of an event are links (title, URL, language)."""
    if len(msg.documents) > 100:
        v.fail("documents", "must have at most 100 items")
    documents = []
    for i, doc in enumerate(msg.documents[:100]):
        url = v.url(f"documents[{i}].url", doc.url)
        if not url:
            v.fail(f"documents[{i}].url", "is required (documents are links)")
        documents.append(
            {
                "title": v.text(f"documents[{i}].title", doc.title, required=True, max_len=300),
                "url": url,
                "language": v.language(f"documents[{i}].language", doc.language),
            }
        )
    return documents


def registrant(v: Validator, name: str, email: str, contact_point_id: str) -> tuple[str, str, str]:
    name = v.text("name", name, required=True, max_len=300)
    email = v.email("email", email)
    contact_point_id = contact_point_id.strip()
    if contact_point_id and not is_id(contact_point_id):
        v.fail("contact_point_id", f"{contact_point_id[:60]!r} is not a contact point id")
    return name, email, contact_point_id
