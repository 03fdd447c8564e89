"""gRPC in, logic calls, messages out: the requests API and the Mailbox for peers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeAlias

from justnet.common.v1 import exchange_pb2 as xpb
from justnet.common.v1 import exchange_pb2_grpc
from justnet.requests.v1 import requests_pb2 as pb
from justnet.requests.v1 import requests_pb2_grpc

from services.common.errors import InvalidInput
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

    async def DeleteDraft(
        self, request: pb.DeleteDraftRequest, context: Ctx
    ) -> pb.DeleteDraftReply:
        await self.logic.documents.delete_draft(
            request.id, request.expected_version, current_caller()
        )
        return pb.DeleteDraftReply()

    async def AddDocument(
        self, request_iterator: AsyncIterator[pb.DocumentUpload], context: Ctx
    ) -> pb.Document:
        """The first message names the document, the others carry its bytes; reading
        stops past the node's limit (the rest is never held in memory)."""
        info: pb.DocumentInfo | None = None
        parts: list[bytes] = []
        size = 0
        limit = self.logic.documents.max_bytes
        async for upload in request_iterator:
            if info is None:
                if upload.WhichOneof("part") != "info":
                    raise InvalidInput.one("info", "the first message names the document")
                info = upload.info
                continue
            size += len(upload.data)
            if size > limit:
                break
            parts.append(upload.data)
        if info is None:
            raise InvalidInput.one("info", "the first message names the document")
        return await self.logic.documents.add(info, b"".join(parts), size > limit, current_caller())

    async def ListDocuments(
        self, request: pb.ListDocumentsRequest, context: Ctx
    ) -> pb.ListDocumentsResponse:
        items = await self.logic.documents.list_of(request.request_id, current_caller())
        return pb.ListDocumentsResponse(items=items)

    async def ReadDocument(
        self, request: pb.ReadDocumentRequest, context: Ctx
    ) -> AsyncIterator[pb.DocumentContent]:
        document, chunks = await self.logic.documents.read(
            request.request_id, request.document_id, current_caller()
        )
        yield pb.DocumentContent(document=document)
        async for data in chunks:
            yield pb.DocumentContent(data=data)


class MailboxServicer(exchange_pb2_grpc.MailboxServicer):
    """Called by this node's federation service only (admin identity of this node)."""

    def __init__(self, logic: RequestsLogic) -> None:
        self.logic = logic

    async def Receive(self, request: xpb.InboundMessage, context: Ctx) -> xpb.InboundReply:
        return await self.logic.receive(request, current_caller())

    async def Settled(self, request: xpb.DeliveryOutcome, context: Ctx) -> xpb.SettledAck:
        await self.logic.settled(request, current_caller())
        return xpb.SettledAck()
