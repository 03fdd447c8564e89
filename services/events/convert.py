"""Rows <-> protobuf messages for events and registrations."""

from __future__ import annotations

from datetime import datetime

from justnet.events.v1 import events_pb2

from services.common.db import decode_codes
from services.common.replication import record_meta
from services.common.timeutil import as_utc, to_timestamp
from services.events.models import EventRow, RegistrationRow
from services.events.validate import local_text, utc_text


def _local(value: str, tz: str) -> str:
    # Agenda times are stored as UTC text; shown, like the event, in its own offset.
    if not value:
        return ""
    return local_text(datetime.fromisoformat(value), tz)


def event(
    row: EventRow, local_network: str, confirmed: int = 0, waitlisted: int = 0
) -> events_pb2.Event:
    starts, ends = as_utc(row.starts_at), as_utc(row.ends_at)
    msg = events_pb2.Event(
        meta=record_meta(row, local_network),
        title=row.title,
        kind=row.kind,
        starts_at=local_text(starts, row.timezone),
        ends_at=local_text(ends, row.timezone),
        timezone=row.timezone,
        visibility=row.visibility,
        description=row.description,
        online_url=row.online_url,
        languages=decode_codes(row.languages),
        interpretation=decode_codes(row.interpretation),
        agenda=[
            events_pb2.AgendaItem(
                title=a["title"],
                starts_at=_local(a.get("starts_at", ""), row.timezone),
                description=a.get("description", ""),
            )
            for a in row.agenda or []
        ],
        documents=[events_pb2.Document(**d) for d in row.documents or []],
        capacity=row.capacity,
        starts_at_utc=utc_text(starts),
        ends_at_utc=utc_text(ends),
        confirmed=confirmed,
        waitlisted=waitlisted,
    )
    if row.venue_city or row.venue_country:
        msg.venue.city = row.venue_city
        msg.venue.country = row.venue_country
    if row.registration_deadline is not None:
        msg.registration_deadline = local_text(as_utc(row.registration_deadline), row.timezone)
    return msg


def registration(row: RegistrationRow, position: int = 0) -> events_pb2.Registration:
    msg = events_pb2.Registration(
        id=row.id,
        event_id=row.event_id,
        event_origin=row.event_origin,
        network=row.network,
        subject=row.subject,
        name=row.name,
        email=row.email,
        contact_point_id=row.contact_point_id,
        state=row.state,
        waitlist_position=position if row.state == "waitlisted" else 0,
        attended=row.attended,
        details_confirmed=row.details_confirmed,
        created_at=to_timestamp(row.created_at),
        updated_at=to_timestamp(row.updated_at),
        reason=row.reason,
        recorded_on_contact_point=row.recorded_on_contact_point,
        event_title=row.event_title,
    )
    attended_at = to_timestamp(row.attended_at)
    if attended_at is not None:
        msg.attended_at.CopyFrom(attended_at)
    return msg
