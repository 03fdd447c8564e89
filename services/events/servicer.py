"""gRPC requests in, logic calls, messages out; no rules live here.

Three services on one server: EventsService (the node's gateway), and for the node's
federation service the Mailbox (messages with peers) and ReplicaFeed (events shared
with peers: the kit's ReplicaFeedServicer, services/common/replication/feed.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc
from justnet.events.v1 import events_pb2, events_pb2_grpc

from services.common.identity import current_caller
from services.common.replication import Changes
from services.events.logic import EventsLogic

Ctx: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type hints


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

    async def CreateEvent(
        self, request: events_pb2.CreateEventRequest, context: Ctx
    ) -> events_pb2.Event:
        result = await self.logic.create(request.event, current_caller())
        self.changes.notify()
        return result

    async def GetEvent(self, request: events_pb2.GetEventRequest, context: Ctx) -> events_pb2.Event:
        return await self.logic.get(request.id, current_caller())

    async def UpdateEvent(
        self, request: events_pb2.UpdateEventRequest, context: Ctx
    ) -> events_pb2.Event:
        result = await self.logic.update(request.event, request.expected_version, current_caller())
        self.changes.notify()
        self.updates()  # more places may have moved peers' members up
        return result

    async def DeleteEvent(
        self, request: events_pb2.DeleteEventRequest, context: Ctx
    ) -> events_pb2.DeleteEventResponse:
        rid, version = await self.logic.delete(
            request.id, request.expected_version, current_caller()
        )
        self.changes.notify()
        self.updates()  # peers' registrants learn the event is off
        return events_pb2.DeleteEventResponse(id=rid, version=version)

    async def ListEvents(
        self, request: events_pb2.ListEventsRequest, context: Ctx
    ) -> events_pb2.ListEventsResponse:
        return await self.logic.list_events(request, current_caller())

    async def Register(
        self, request: events_pb2.RegisterRequest, context: Ctx
    ) -> events_pb2.Registration:
        return await self.logic.register(request, current_caller())

    async def GetRegistration(
        self, request: events_pb2.GetRegistrationRequest, context: Ctx
    ) -> events_pb2.Registration:
        return await self.logic.get_registration(request, current_caller())

    async def CancelRegistration(
        self, request: events_pb2.GetRegistrationRequest, context: Ctx
    ) -> events_pb2.Registration:
        result = await self.logic.cancel(request, current_caller())
        self.updates()
        return result

    async def ListRegistrations(
        self, request: events_pb2.ListRegistrationsRequest, context: Ctx
    ) -> events_pb2.ListRegistrationsResponse:
        return await self.logic.list_registrations(request, current_caller())

    async def MarkAttendance(
        self, request: events_pb2.MarkAttendanceRequest, context: Ctx
    ) -> events_pb2.Registration:
        return await self.logic.mark_attendance(request, current_caller())

    async def GetCalendar(
        self, request: events_pb2.GetCalendarRequest, context: Ctx
    ) -> events_pb2.Calendar:
        return await self.logic.calendar(request, current_caller())

    async def GetEventStatistics(
        self, request: events_pb2.EventStatisticsRequest, context: Ctx
    ) -> events_pb2.EventStatistics:
        return await self.logic.statistics(request, current_caller())


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
