"""gRPC requests in, logic calls, messages out; no rules live here.

Three services on one server: EventsService (the node's gateway), and for the node's
federation service the Mailbox (messages with peers) and ReplicaFeed (events shared
with peers).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeAlias

from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc
from justnet.events.v1 import events_pb2 as pb
from justnet.events.v1 import events_pb2_grpc

from services.common.identity import current_caller
from services.common.timeutil import to_timestamp
from services.common.waiting import wait_event
from services.events.logic import EventsLogic

Ctx: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type hints
FEED_BATCH = 500


class Changes:
    """Wakes change-feed streams at once after a write in this process."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    @property
    def current(self) -> asyncio.Event:
        return self._event


def _nothing() -> None:
    pass


class EventsServicer(events_pb2_grpc.EventsServiceServicer):
    def __init__(
        self, logic: EventsLogic, changes: Changes, updates: Callable[[], None] = _nothing
    ) -> None:
        self.logic = logic
        self.changes = changes
        # Wakes the task that tells peer networks about their members' registrations.
        self.updates = updates

    async def CreateEvent(self, request: pb.CreateEventRequest, context: Ctx) -> pb.Event:
        result = await self.logic.create(request.event, current_caller())
        self.changes.notify()
        return result

    async def GetEvent(self, request: pb.GetEventRequest, context: Ctx) -> pb.Event:
        return await self.logic.get(request.id, current_caller())

    async def UpdateEvent(self, request: pb.UpdateEventRequest, context: Ctx) -> pb.Event:
        result = await self.logic.update(request.event, request.expected_version, current_caller())
        self.changes.notify()
        self.updates()  # more places may have moved peers' members up
        return result

    async def DeleteEvent(
        self, request: pb.DeleteEventRequest, context: Ctx
    ) -> pb.DeleteEventResponse:
        rid, version = await self.logic.delete(
            request.id, request.expected_version, current_caller()
        )
        self.changes.notify()
        self.updates()  # peers' registrants learn the event is off
        return pb.DeleteEventResponse(id=rid, version=version)

    async def ListEvents(
        self, request: pb.ListEventsRequest, context: Ctx
    ) -> pb.ListEventsResponse:
        return await self.logic.list_events(request, current_caller())

    async def Register(self, request: pb.RegisterRequest, context: Ctx) -> pb.Registration:
        return await self.logic.register(request, current_caller())

    async def GetRegistration(
        self, request: pb.GetRegistrationRequest, context: Ctx
    ) -> pb.Registration:
        return await self.logic.get_registration(request, current_caller())

    async def CancelRegistration(
        self, request: pb.GetRegistrationRequest, context: Ctx
    ) -> pb.Registration:
        result = await self.logic.cancel(request, current_caller())
        self.updates()
        return result

    async def ListRegistrations(
        self, request: pb.ListRegistrationsRequest, context: Ctx
    ) -> pb.ListRegistrationsResponse:
        return await self.logic.list_registrations(request, current_caller())

    async def MarkAttendance(
        self, request: pb.MarkAttendanceRequest, context: Ctx
    ) -> pb.Registration:
        return await self.logic.mark_attendance(request, current_caller())

    async def GetCalendar(self, request: pb.GetCalendarRequest, context: Ctx) -> pb.Calendar:
        return await self.logic.calendar(request, current_caller())


class EventsMailbox(exchange_pb2_grpc.MailboxServicer):
    def __init__(self, logic: EventsLogic, updates: Callable[[], None] = _nothing) -> None:
        self.logic = logic
        self.updates = updates

    async def Receive(
        self, request: exchange_pb2.InboundMessage, context: Ctx
    ) -> exchange_pb2.InboundReply:
        reply = await self.logic.receive(request, current_caller())
        self.updates()  # a peer's cancellation may have moved someone up
        return reply

    async def Settled(
        self, request: exchange_pb2.DeliveryOutcome, context: Ctx
    ) -> exchange_pb2.SettledAck:
        await self.logic.settled(request, current_caller())
        return exchange_pb2.SettledAck()


class EventsFeed(exchange_pb2_grpc.ReplicaFeedServicer):
    def __init__(self, logic: EventsLogic, changes: Changes, poll_seconds: float = 0.2) -> None:
        self.logic = logic
        self.changes = changes
        self.poll_seconds = poll_seconds

    async def WatchChanges(
        self, request: exchange_pb2.FeedWatchRequest, context: Ctx
    ) -> AsyncIterator[exchange_pb2.FeedChange]:
        self.logic.require_admin(current_caller())
        seq = max(request.since_seq, 0)
        origin = self.logic.network if request.local_only else ""
        store = self.logic.store
        while True:
            changed = self.changes.current
            batch = await store.changes_since(seq, FEED_BATCH, origin)
            for row in batch:
                seq = row.seq
                yield exchange_pb2.FeedChange(
                    seq=row.seq,
                    kind=row.kind,
                    record_id=row.record_id,
                    origin=row.origin,
                    version=row.version,
                    deleted=row.deleted,
                    visibility=row.visibility,
                    at=to_timestamp(row.at),
                    payload=row.payload,
                )
            if len(batch) == FEED_BATCH:
                continue
            if not request.follow:
                return
            # Woken at once by a write here; the timeout covers other processes' writes.
            await wait_event(changed, self.poll_seconds)

    async def ApplyReplicaBatch(
        self, request: exchange_pb2.FeedApplyBatchRequest, context: Ctx
    ) -> exchange_pb2.FeedApplyBatchResponse:
        result = await self.logic.apply_replica_batch(request, current_caller())
        if result.applied:
            self.changes.notify()
        return result

    async def GetReplicationCursor(
        self, request: exchange_pb2.FeedCursorRequest, context: Ctx
    ) -> exchange_pb2.FeedCursor:
        return await self.logic.replication_cursor(request.origin, current_caller())

    async def DropReplicas(
        self, request: exchange_pb2.FeedDropRequest, context: Ctx
    ) -> exchange_pb2.FeedDropResponse:
        removed = await self.logic.drop_replicas(request.origin, current_caller())
        if removed:
            self.changes.notify()
        return exchange_pb2.FeedDropResponse(removed=removed)
