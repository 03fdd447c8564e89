"""gRPC in, logic calls, messages out: the requests API and the Mailbox for peers."""

from __future__ import annotations

from typing import Any, TypeAlias

from justnet.common.v1 import exchange_pb2 as xpb
from justnet.common.v1 import exchange_pb2_grpc
from justnet.requests.v1 import requests_pb2 as pb
from justnet.requests.v1 import requests_pb2_grpc

from services.common.identity import current_caller
from services.requests.logic import RequestsLogic

Ctx: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type hints


class RequestsServicer(requests_pb2_grpc.RequestsServiceServicer):
    def __init__(self, logic: RequestsLogic) -> None:
        self.logic = logic

    async def PlanRoute(self, request: pb.PlanRouteRequest, context: Ctx) -> pb.Route:
        return await self.logic.plan_route(request, current_caller())

    async def CreateRequest(self, request: pb.CreateRequestRequest, context: Ctx) -> pb.Request:
        return await self.logic.create(request.request, current_caller())

    async def UpdateDraft(self, request: pb.UpdateDraftRequest, context: Ctx) -> pb.Request:
        return await self.logic.update_draft(request, current_caller())

    async def GetRequest(self, request: pb.GetRequestRequest, context: Ctx) -> pb.Request:
        return await self.logic.get(request.id, current_caller())

    async def ListRequests(
        self, request: pb.ListRequestsRequest, context: Ctx
    ) -> pb.ListRequestsResponse:
        items, cursor = await self.logic.list_requests(
            current_caller(),
            request.status,
            request.direction,
            request.page.limit,
            request.page.cursor,
        )
        return pb.ListRequestsResponse(items=items, next_cursor=cursor)

    async def Submit(self, request: pb.SubmitRequest, context: Ctx) -> pb.Request:
        return await self.logic.submit(request.id, current_caller())

    async def ChangeStatus(self, request: pb.ChangeStatusRequest, context: Ctx) -> pb.Request:
        return await self.logic.change_status(request, current_caller())

    async def GetHistory(self, request: pb.GetHistoryRequest, context: Ctx) -> pb.History:
        return await self.logic.history(request.id, current_caller())

    async def ListOverdue(
        self, request: pb.ListOverdueRequest, context: Ctx
    ) -> pb.ListRequestsResponse:
        items, cursor = await self.logic.overdue(
            current_caller(), request.page.limit, request.page.cursor
        )
        return pb.ListRequestsResponse(items=items, next_cursor=cursor)

    async def GetRequestStatistics(
        self, request: pb.RequestStatisticsRequest, context: Ctx
    ) -> pb.RequestStatistics:
        return await self.logic.statistics(request, current_caller())


class MailboxServicer(exchange_pb2_grpc.MailboxServicer):
    """Called by this node's federation service only (admin identity of this node)."""

    def __init__(self, logic: RequestsLogic) -> None:
        self.logic = logic

    async def Receive(self, request: xpb.InboundMessage, context: Ctx) -> xpb.InboundReply:
        return await self.logic.receive(request, current_caller())

    async def Settled(self, request: xpb.DeliveryOutcome, context: Ctx) -> xpb.SettledAck:
        await self.logic.settled(request, current_caller())
        return xpb.SettledAck()
