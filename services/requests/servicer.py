"""gRPC in, logic calls, messages out: the requests API and the Mailbox for peers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeAlias

from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc
from justnet.requests.v1 import requests_pb2, requests_pb2_grpc

from services.common.errors import InvalidInput
from services.common.identity import current_caller
from services.requests.logic import RequestsLogic

Ctx: TypeAlias = Any  # grpc.aio.ServicerContext; grpc ships no type hints


class RequestsServicer(requests_pb2_grpc.RequestsServiceServicer):
    def __init__(self, logic: RequestsLogic) -> None:
        self.logic = logic

    async def PlanRoute(
        self, request: requests_pb2.PlanRouteRequest, context: Ctx
    ) -> requests_pb2.Route:
        return await self.logic.plan_route(request, current_caller())

    async def CreateRequest(
        self, request: requests_pb2.CreateRequestRequest, context: Ctx
    ) -> requests_pb2.Request:
        return await self.logic.create(request.request, current_caller())

    async def UpdateDraft(
        self, request: requests_pb2.UpdateDraftRequest, context: Ctx
    ) -> requests_pb2.Request:
        return await self.logic.update_draft(request, current_caller())

    async def GetRequest(
        self, request: requests_pb2.GetRequestRequest, context: Ctx
    ) -> requests_pb2.Request:
        return await self.logic.get(request.id, current_caller())

    async def ListRequests(
        self, request: requests_pb2.ListRequestsRequest, context: Ctx
    ) -> requests_pb2.ListRequestsResponse:
        items, cursor = await self.logic.list_requests(
            current_caller(),
            request.status,
            request.direction,
            request.page.limit,
            request.page.cursor,
        )
        return requests_pb2.ListRequestsResponse(items=items, next_cursor=cursor)

    async def Submit(
        self, request: requests_pb2.SubmitRequest, context: Ctx
    ) -> requests_pb2.Request:
        return await self.logic.submit(request.id, current_caller())

    async def ChangeStatus(
        self, request: requests_pb2.ChangeStatusRequest, context: Ctx
    ) -> requests_pb2.Request:
        return await self.logic.change_status(request, current_caller())

    async def GetHistory(
        self, request: requests_pb2.GetHistoryRequest, context: Ctx
    ) -> requests_pb2.History:
        return await self.logic.history(request.id, current_caller())

    async def ListOverdue(
        self, request: requests_pb2.ListOverdueRequest, context: Ctx
    ) -> requests_pb2.ListRequestsResponse:
        items, cursor = await self.logic.overdue(
            current_caller(), request.page.limit, request.page.cursor
        )
        return requests_pb2.ListRequestsResponse(items=items, next_cursor=cursor)

    async def GetRequestStatistics(
        self, request: requests_pb2.RequestStatisticsRequest, context: Ctx
    ) -> requests_pb2.RequestStatistics:
        return await self.logic.statistics(request, current_caller())

    async def DeleteDraft(
        self, request: requests_pb2.DeleteDraftRequest, context: Ctx
    ) -> requests_pb2.DeleteDraftReply:
        await self.logic.documents.delete_draft(
            request.id, request.expected_version, current_caller()
        )
        return requests_pb2.DeleteDraftReply()

    async def AddDocument(
        self, request_iterator: AsyncIterator[requests_pb2.DocumentUpload], context: Ctx
    ) -> requests_pb2.Document:
        """The first message names the document, the others carry its bytes; reading
        stops past the node's limit (the rest is never held in memory)."""
        info: requests_pb2.DocumentInfo | None = None
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
        self, request: requests_pb2.ListDocumentsRequest, context: Ctx
    ) -> requests_pb2.ListDocumentsResponse:
        items = await self.logic.documents.list_of(request.request_id, current_caller())
        return requests_pb2.ListDocumentsResponse(items=items)

    async def ReadDocument(
        self, request: requests_pb2.ReadDocumentRequest, context: Ctx
    ) -> AsyncIterator[requests_pb2.DocumentContent]:
        document, chunks = await self.logic.documents.read(
            request.request_id, request.document_id, current_caller()
        )
        yield requests_pb2.DocumentContent(document=document)
        async for data in chunks:
            yield requests_pb2.DocumentContent(data=data)


class MailboxServicer(exchange_pb2_grpc.MailboxServicer):
    """Called by this node's federation service only (admin identity of this node)."""

    def __init__(self, logic: RequestsLogic) -> None:
        self.logic = logic

    async def Receive(
        self, request: exchange_pb2.InboundMessage, context: Ctx
    ) -> exchange_pb2.InboundReply:
        return await self.logic.receive(request, current_caller())

    async def Settled(
        self, request: exchange_pb2.DeliveryOutcome, context: Ctx
    ) -> exchange_pb2.SettledAck:
        await self.logic.settled(request, current_caller())
        return exchange_pb2.SettledAck()
