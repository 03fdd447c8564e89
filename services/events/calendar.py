"""iCalendar (RFC 5545) feeds, written with the `icalendar` library.

Each VEVENT carries DTSTART/DTEND in the event's own IANA zone (TZID) and the feed
includes the matching VTIMEZONE definitions, so calendar programs show local time and
compute the right instant on either side of a daylight-saving change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

import icalendar

from services.common.db import decode_codes
from services.common.timeutil import as_utc
from services.common.validation import country_name
from services.events.models import EventRow
from services.events.validate import zone

PRODID = "-//JustNet//events//EN"


def _vevent(row: EventRow, local_network: str) -> icalendar.Event:
    tz = zone(row.timezone) or UTC
    ev = icalendar.Event()
    ev.add("uid", f"{row.id}@{row.origin.lower()}.justnet")
    ev.add("summary", row.title)
    ev.add("dtstart", as_utc(row.starts_at).astimezone(tz))
    ev.add("dtend", as_utc(row.ends_at).astimezone(tz))
    ev.add("dtstamp", as_utc(row.updated_at))
    ev.add("created", as_utc(row.created_at))
    ev.add("last-modified", as_utc(row.updated_at))
    ev.add("sequence", max(row.version - 1, 0))  # RFC 5545: bumped on every revision
    ev.add("categories", [row.kind.upper().replace("_", "-")])
    ev.add("class", "PUBLIC" if row.visibility == "public" else "PRIVATE")
    if row.venue_city:
        place = row.venue_city
        if row.venue_country:
            place += f", {country_name(row.venue_country)}"
        ev.add("location", place)
    elif row.online_url:
        ev.add("location", "online")
    if row.online_url:
        ev.add("url", row.online_url)
    lines = [row.description] if row.description else []
    languages = decode_codes(row.languages)
    if languages:
        lines.append("Languages: " + ", ".join(languages))
    interpretation = decode_codes(row.interpretation)
    if interpretation:
        lines.append("Interpretation into: " + ", ".join(interpretation))
    for item in row.agenda or []:
        lines.append(f"- {item['title']}")
    for doc in row.documents or []:
        lines.append(f"Document: {doc['title']} <{doc['url']}>")
        ev.add("attach", doc["url"])
    if row.origin != local_network:
        lines.append(f"Organised by {row.origin} (shared with {local_network})")
    if lines:
        ev.add("description", "\n".join(lines))
    return ev


def render(rows: Iterable[EventRow], local_network: str) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"{local_network} events")
    for row in rows:
        cal.add_component(_vevent(row, local_network))
    cal.add_missing_timezones()  # VTIMEZONE for every TZID used (from the pinned tzdata)
    data: bytes = cal.to_ical()
    return data
