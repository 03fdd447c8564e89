"""Events rules: who may change and see what, registrations, attendance, and messages
with peer nodes (replicas are the replica-feed kit's: services/events/kinds.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import grpc
from justnet.common.v1 import exchange_pb2
from justnet.directory.v1 import directory_pb2
from justnet.events.v1 import events_pb2

from services.common import statistics as st
from services.common.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ReadOnlyReplica,
    Unauthenticated,
    Unavailable,
)
from services.common.identity import Caller
from services.common.ids import is_id, new_id
from services.common.paging import MAX_LIMIT
from services.common.timeutil import as_utc, from_timestamp, utcnow
from services.common.validation import Validator
from services.common.visibility import can_see
from services.events import calendar, convert, validate
from services.events.messages import (
    CANCELLATION_KIND,
    REGISTRATION_KIND,
    UPDATE_KIND,
    UPDATE_STATES,
)
from services.events.models import EventRow, HandoffRow, RegistrationRow
from services.events.statistics import EventStatistics
from services.events.store import EventFilter, EventsStore, Placed, person_key

log = logging.getLogger(__name__)
# Who may see an event from another network at all, and so register from there.
SHARED_VISIBILITIES = ("public", "federation")


class DirectoryPort(Protocol):
    async def record_attendance(
        self, request: directory_pb2.RecordAttendanceRequest, caller: Caller
    ) -> directory_pb2.ContactPoint: ...


@dataclass
class Peers:
    """The gRPC neighbours: the directory (attendance). Messages for peers go through the
    hand-off table (services/events/messages.py), not a call."""

    directory: DirectoryPort


def _period(v: Validator, field: str, value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        v.fail(field, f"{value[:60]!r} is not a date (YYYY-MM-DD) or RFC 3339 date-time")
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class EventsLogic:
    def __init__(self, store: EventsStore, peers: Peers) -> None:
        self.store = store
        self.peers = peers
        self.network = store.local_network
        self.statistics_queries = EventStatistics(store.engine, self.network)

    # ------------------------------------------------------------ permissions

    def require_editor(self, caller: Caller) -> None:
        if not caller.authenticated:
            raise Unauthenticated("an editor token is required")
        if not (caller.at_least("editor") and caller.network == self.network):
            raise PermissionDenied(f"only editors of {self.network} can change its events")

    async def statistics(
        self, req: events_pb2.EventStatisticsRequest, caller: Caller
    ) -> events_pb2.EventStatistics:
        if not caller.authenticated:
            raise Unauthenticated("an editor token is required")
        if not (caller.at_least("editor") and caller.network == self.network):
            raise PermissionDenied(f"statistics are for editors of {self.network}")
        v = Validator()
        period = st.period(req.from_date, req.to_date, v)
        v.raise_if_errors()
        return await self.statistics_queries.compute(period)

    def require_member(self, caller: Caller, doing: str = "to register") -> None:
        if not caller.authenticated:
            raise Unauthenticated(f"a member token is required {doing}")

    def require_admin(self, caller: Caller) -> None:
        if not (caller.at_least("admin") and caller.network == self.network):
            raise PermissionDenied("only this node's administrators and services may do this")

    # ------------------------------------------------------------ events

    async def _visible(self, event_id: str, caller: Caller) -> EventRow:
        row = await self.store.get(event_id) if is_id(event_id) else None
        # Not visible and absent look the same, so ids of restricted events do not leak.
        if row is None or not can_see(caller, row.origin, row.visibility, self.network):
            raise NotFound(f"no event {event_id}")
        return row

    async def _message(self, row: EventRow) -> events_pb2.Event:
        counts = await self.store.counts([row.id]) if row.origin == self.network else {}
        return convert.event(row, self.network, *counts.get(row.id, (0, 0)))

    async def get(self, event_id: str, caller: Caller) -> events_pb2.Event:
        return await self._message(await self._visible(event_id, caller))

    def _filter(self, v: Validator, network: str, kind: str, start: str, end: str) -> EventFilter:
        flt = EventFilter(
            network=network.strip().upper(),
            kind=v.choice("kind", kind, validate.KINDS) if kind.strip() else "",
            start=_period(v, "from", start),
            end=_period(v, "to", end),
        )
        if flt.start and flt.end and flt.end <= flt.start:
            v.fail("to", "must be after from")
        return flt

    async def list_events(
        self, req: events_pb2.ListEventsRequest, caller: Caller
    ) -> events_pb2.ListEventsResponse:
        v = Validator()
        flt = self._filter(v, req.network, req.kind, getattr(req, "from"), req.to)
        if req.page.limit < 0 or req.page.limit > MAX_LIMIT:
            v.fail("limit", f"must be between 1 and {MAX_LIMIT}")
        v.raise_if_errors()
        page = await self.store.list_events(caller, flt, req.page.limit, req.page.cursor)
        counts = await self.store.counts([r.id for r in page.rows if r.origin == self.network])
        items = [convert.event(r, self.network, *counts.get(r.id, (0, 0))) for r in page.rows]
        return events_pb2.ListEventsResponse(items=items, next_cursor=page.next_cursor)

    async def create(self, msg: events_pb2.Event, caller: Caller) -> events_pb2.Event:
        self.require_editor(caller)
        v = Validator()
        values = validate.event(msg, v)
        v.raise_if_errors()
        return await self._message(await self.store.create("event", new_id(), values))

    async def update(
        self, msg: events_pb2.Event, expected: int, caller: Caller
    ) -> events_pb2.Event:
        self.require_editor(caller)
        current = await self._visible(msg.meta.id, caller)
        if current.origin != self.network:
            raise ReadOnlyReplica(current.origin)
        v = Validator()
        values = validate.event(msg, v)
        v.raise_if_errors()
        return await self._message(await self.store.update_event(msg.meta.id, values, expected))

    async def delete(self, event_id: str, expected: int, caller: Caller) -> tuple[str, int]:
        self.require_editor(caller)
        current = await self._visible(event_id, caller)
        if current.origin != self.network:
            raise ReadOnlyReplica(current.origin)
        return await self.store.delete_event(event_id, expected)

    async def calendar(
        self, req: events_pb2.GetCalendarRequest, caller: Caller
    ) -> events_pb2.Calendar:
        if req.event_id:
            rows = [await self._visible(req.event_id, caller)]
        else:
            v = Validator()
            flt = self._filter(v, req.network, req.kind, getattr(req, "from"), req.to)
            v.raise_if_errors()
            rows, cursor = [], ""
            while True:  # a feed holds every matching event, not one page
                page = await self.store.list_events(caller, flt, MAX_LIMIT, cursor)
                rows += page.rows
                cursor = page.next_cursor
                if not cursor or len(rows) >= 5000:
                    break
        return events_pb2.Calendar(content=calendar.render(rows, self.network), events=len(rows))

    # ------------------------------------------------------------ registrations

    async def register(
        self, req: events_pb2.RegisterRequest, caller: Caller
    ) -> events_pb2.Registration:
        self.require_member(caller)
        event = await self._visible(req.event_id, caller)
        v = Validator()
        name, email, contact = validate.registrant(v, req.name, req.email, req.contact_point_id)
        v.raise_if_errors()
        if event.origin == self.network:
            placed = await self.store.register(
                event.id,
                registration_id=new_id(),
                network=caller.network,
                subject=caller.subject,
                name=name,
                email=email,
                contact_point_id=contact,
            )
            return convert.registration(placed.row, placed.position)
        return await self._register_remote(event, caller, name, email, contact)

    async def _register_remote(
        self, event: EventRow, caller: Caller, name: str, email: str, contact: str
    ) -> events_pb2.Registration:
        """Kept here as pending; the owner's answer arrives through Mailbox.Settled."""
        if event.visibility not in SHARED_VISIBILITIES:
            raise PermissionDenied(f"{event.origin} does not take registrations from peers")
        now = utcnow()
        deadline = as_utc(event.registration_deadline or event.ends_at)
        if now > deadline:
            field = "registration_deadline" if event.registration_deadline else "ends_at"
            raise InvalidInput.one(field, f"registration closed at {deadline.isoformat()}")
        row = RegistrationRow(
            id=new_id(),
            event_id=event.id,
            event_origin=event.origin,
            network=caller.network,
            subject=caller.subject,
            person_key=person_key(self.network, caller.network, caller.subject, name, contact),
            name=name,
            email=email,
            contact_point_id=contact,
            state="pending",
            queue_no=0,
            event_title=event.title,
            created_at=now,
            updated_at=now,
        )
        # Kept here and queued for the owner in one transaction (messages.registration).
        await self.store.add_pending(row)
        return convert.registration(row)

    async def _own_registration(
        self, event_id: str, registration_id: str, caller: Caller
    ) -> tuple[RegistrationRow, int]:
        """The registration, if the caller is its registrant or an editor here."""
        self.require_member(caller)
        found = await self.store.registration(registration_id) if is_id(registration_id) else None
        if found is None or found[0].event_id != event_id:
            raise NotFound(f"no registration {registration_id}")
        row, position = found
        editor = caller.at_least("editor") and caller.network == self.network
        registrant = caller.network == row.network and caller.owns(row.subject)
        if not (editor or registrant):
            raise NotFound(f"no registration {registration_id}")
        return row, position

    async def get_registration(
        self, req: events_pb2.GetRegistrationRequest, caller: Caller
    ) -> events_pb2.Registration:
        row, position = await self._own_registration(req.event_id, req.id, caller)
        return convert.registration(row, position)

    async def cancel(
        self, req: events_pb2.GetRegistrationRequest, caller: Caller
    ) -> events_pb2.Registration:
        """Cancels at once. For a peer's event the owner is told by a message written with
        the cancellation (services/events/messages.py), so a federation outage delays it
        only."""
        row, _ = await self._own_registration(req.event_id, req.id, caller)
        return convert.registration(await self.store.cancel(row.id))

    async def list_registrations(
        self, req: events_pb2.ListRegistrationsRequest, caller: Caller
    ) -> events_pb2.ListRegistrationsResponse:
        """Editors of the owning network list all; with `mine`, any member lists their own."""
        if req.mine:
            self.require_member(caller, "to list one's registrations")
        else:
            self.require_editor(caller)
        event = await self._visible(req.event_id, caller)
        v = Validator()
        state = (
            v.choice("state", req.state, validate.REGISTRATION_STATES) if req.state.strip() else ""
        )
        v.raise_if_errors()
        if req.mine:
            # The caller's network and one of their principal ids, never a name. For a
            # peer's event these are the rows this node keeps of its members' registrations.
            rows = await self.store.list_registrations(
                event.id, state, caller.network, caller.owner_ids()
            )
        else:
            # A peer's event: this node's editors see their own members' registrations.
            network = "" if event.origin == self.network else self.network
            rows = await self.store.list_registrations(event.id, state, network)
        return events_pb2.ListRegistrationsResponse(
            items=[convert.registration(r, position) for r, position in rows]
        )

    async def mark_attendance(
        self, req: events_pb2.MarkAttendanceRequest, caller: Caller
    ) -> events_pb2.Registration:
        self.require_editor(caller)
        event = await self._visible(req.event_id, caller)
        if event.origin != self.network:
            raise ReadOnlyReplica(event.origin)
        found = await self.store.registration(req.id) if is_id(req.id) else None
        if found is None or found[0].event_id != event.id:
            raise NotFound(f"no registration {req.id}")
        row = found[0]
        if req.attended and row.state != "confirmed":
            raise InvalidInput.one("attended", f"the registration is {row.state}, not confirmed")
        recorded = False
        if req.attended and row.contact_point_id and row.network == self.network:
            # The directory first: if it fails, nothing here changes and a retry is safe
            # (the note is added once per event).
            year = as_utc(event.starts_at).astimezone(validate.zone(event.timezone) or UTC).year
            note = f"met at {event.title} {year}"
            if str(year) in event.title:
                note = f"met at {event.title}"
            try:
                await self.peers.directory.record_attendance(
                    directory_pb2.RecordAttendanceRequest(
                        contact_point_id=row.contact_point_id,
                        event_id=event.id,
                        note=note,
                        details_confirmed=req.details_confirmed,
                    ),
                    caller,
                )
                recorded = True
            except grpc.aio.AioRpcError as exc:
                if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED):
                    raise InvalidInput.one(
                        "contact_point_id",
                        f"contact point {row.contact_point_id} is not one of {self.network}'s "
                        f"in the directory ({exc.details()})",
                    ) from None
                raise Unavailable(
                    f"the directory did not record attendance: {exc.details()}"
                ) from None
        updated = await self.store.mark_attendance(
            row.id, req.attended, req.details_confirmed, recorded
        )
        return convert.registration(updated)

    # ------------------------------------------------------------ mailbox

    async def receive(
        self, msg: exchange_pb2.InboundMessage, caller: Caller
    ) -> exchange_pb2.InboundReply:
        """A peer's member registers or cancels; idempotent by (origin, message_id)."""
        self.require_admin(caller)
        origin = msg.origin.strip().upper()
        if not origin or origin == self.network or not msg.message_id:
            raise InvalidInput.one("origin", "a message names its peer origin and message_id")
        if msg.kind == REGISTRATION_KIND:
            return await self._receive_registration(origin, msg)
        if msg.kind == CANCELLATION_KIND:
            return await self._receive_cancellation(origin, msg)
        if msg.kind == UPDATE_KIND:
            return await self._receive_update(origin, msg)
        return exchange_pb2.InboundReply(accepted=False, reason=f"unknown kind {msg.kind!r}")

    def _refuse(self, reason: str) -> exchange_pb2.InboundReply:
        return exchange_pb2.InboundReply(accepted=False, reason=reason)

    def _reply(self, placed: Placed | tuple[RegistrationRow, int]) -> exchange_pb2.InboundReply:
        row, position = (placed.row, placed.position) if isinstance(placed, Placed) else placed
        body = events_pb2.RegistrationReply(
            state=row.state, waitlist_position=position, registration_id=row.id
        )
        return exchange_pb2.InboundReply(accepted=True, reply=body.SerializeToString())

    async def _receive_registration(
        self, origin: str, msg: exchange_pb2.InboundMessage
    ) -> exchange_pb2.InboundReply:
        body = events_pb2.RegistrationMessage()
        try:
            body.ParseFromString(msg.payload)
        except Exception:
            return self._refuse("payload is not an events.v1.RegistrationMessage")
        earlier = await self.store.by_message(origin, msg.message_id)
        if earlier is not None:  # the same message again: the same answer
            found = await self.store.registration(earlier.id)
            assert found is not None
            return self._reply(found)
        event = await self.store.get(body.event_id) if is_id(body.event_id) else None
        if (
            event is None
            or event.origin != self.network
            or event.visibility not in SHARED_VISIBILITIES
        ):
            return self._refuse(f"no event {body.event_id} open to other networks")
        v = Validator()
        name, email, contact = validate.registrant(v, body.name, body.email, body.contact_point_id)
        if v.errors:
            return self._refuse("; ".join(f"{e.field}: {e.message}" for e in v.errors))
        # Judged by when the member registered, not when delivery got through.
        if body.HasField("registered_at"):
            when = from_timestamp(body.registered_at)
        else:
            when = from_timestamp(msg.sent_at) if msg.HasField("sent_at") else utcnow()
        try:
            placed = await self.store.register(
                event.id,
                registration_id=new_id(),
                network=origin,
                subject=body.subject[:200],
                name=name,
                email=email,
                contact_point_id=contact,
                message_id=msg.message_id[:100],
                now=min(when, utcnow()),
            )
        except (InvalidInput, NotFound, Conflict) as exc:
            return self._refuse(exc.message)
        return self._reply(placed)

    async def _receive_cancellation(
        self, origin: str, msg: exchange_pb2.InboundMessage
    ) -> exchange_pb2.InboundReply:
        body = events_pb2.CancellationMessage()
        try:
            body.ParseFromString(msg.payload)
        except Exception:
            return self._refuse("payload is not an events.v1.CancellationMessage")
        row = await self.store.by_message(origin, body.registration_id)
        if row is None or row.event_id != body.event_id:
            return self._refuse(f"no registration {body.registration_id} from {origin}")
        cancelled = await self.store.cancel(row.id, by_peer=True)
        return self._reply((cancelled, 0))

    async def _receive_update(
        self, origin: str, msg: exchange_pb2.InboundMessage
    ) -> exchange_pb2.InboundReply:
        """The owner changed one of this node's members' registrations."""
        body = events_pb2.RegistrationUpdate()
        try:
            body.ParseFromString(msg.payload)
        except Exception:
            return self._refuse("payload is not an events.v1.RegistrationUpdate")
        if body.state not in UPDATE_STATES:
            return self._refuse(f"state {body.state[:20]!r} is not one of {UPDATE_STATES}")
        found = (
            await self.store.registration(body.registration_id)
            if is_id(body.registration_id)
            else None
        )
        # Only the event's owner may change a registration for its event.
        if (
            found is None
            or found[0].event_origin != origin
            or found[0].event_id != body.event_id
            or found[0].network != self.network
        ):
            return self._refuse(f"no registration {body.registration_id[:36]} for {origin}")
        row = await self.store.settle(body.registration_id, body.state, 0, "")
        assert row is not None
        reply = events_pb2.RegistrationReply(state=row.state, registration_id=row.id)
        return exchange_pb2.InboundReply(accepted=True, reply=reply.SerializeToString())

    async def refused_by_federation(self, row: HandoffRow, reason: str) -> None:
        """Federation will never take a message (its destination is no longer a peer):
        a registration waiting for that owner's answer fails; an update is dropped."""
        if row.kind == REGISTRATION_KIND:
            await self.store.settle(row.message_id, "failed", 0, f"federation: {reason}"[:500])
        else:
            log.warning(
                "dropped %s %s for %s: %s", row.kind, row.message_id, row.destination, reason
            )

    async def settled(self, outcome: exchange_pb2.DeliveryOutcome, caller: Caller) -> None:
        """The owner's answer to one of this node's messages; idempotent."""
        self.require_admin(caller)
        delivery = outcome.delivery
        if delivery.kind != REGISTRATION_KIND:
            return  # cancellations and updates need no follow-up here
        if delivery.state == "pending":
            return
        registration_id = delivery.message_id
        if delivery.state == "delivered" and delivery.receipt_body.accepted:
            if not delivery.receipt_verified:
                await self.store.settle(
                    registration_id, "failed", 0, "the owner's receipt did not verify"
                )
                return
            reply = events_pb2.RegistrationReply()
            try:
                reply.ParseFromString(delivery.receipt_body.reply)
            except Exception:
                reply = events_pb2.RegistrationReply()
            if reply.state not in ("confirmed", "waitlisted", "cancelled"):
                await self.store.settle(
                    registration_id, "failed", 0, f"unexpected answer {reply.state!r}"
                )
                return
            await self.store.settle(registration_id, reply.state, reply.waitlist_position, "")
        elif delivery.state in ("refused",) or (
            delivery.state == "delivered" and not delivery.receipt_body.accepted
        ):
            reason = delivery.receipt_body.reason or delivery.last_error or "refused by the owner"
            await self.store.settle(registration_id, "refused", 0, reason)
        else:
            await self.store.settle(
                registration_id, "failed", 0, delivery.last_error or "not delivered"
            )
