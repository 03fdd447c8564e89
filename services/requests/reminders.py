"""`RequestReminders.ListDue`: open requests with a due date before a given time, for the
gateway's reminders (gateway/notify/). Only this node's services may ask; the answer is
one indexed query per page, run by the notifier a few times an hour, not a table scan per
request."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

from justnet.requests.v1 import reminders_pb2, reminders_pb2_grpc, requests_pb2
from sqlalchemy import and_, or_, select

from services.common.errors import InvalidInput
from services.common.identity import current_caller
from services.common.ids import is_id
from services.common.timeutil import from_timestamp
from services.requests import chain
from services.requests.logic import RequestsLogic
from services.requests.models import RequestRow
from services.requests.store import DEFAULT_LIMIT, MAX_LIMIT

Ctx: TypeAlias = Any  # grpc.aio.ServicerContext


async def due_before(
    logic: RequestsLogic, before: datetime, limit: int, cursor: str
) -> tuple[list[RequestRow], str]:
    """Submitted and not closed, without a conflict, and the acknowledgement (while
    `submitted`) or the requested execution date due before `before`; newest id first."""
    limit = min(max(limit or DEFAULT_LIMIT, 1), MAX_LIMIT)
    conditions = [
        RequestRow.status.not_in(("draft", *chain.TERMINAL)),
        RequestRow.conflict == "",
        or_(
            and_(RequestRow.status == "submitted", RequestRow.acknowledgement_due < before),
            and_(RequestRow.deadline != "", RequestRow.deadline <= before.date().isoformat()),
        ),
    ]
    if cursor:
        if not is_id(cursor):
            raise InvalidInput.one("page.cursor", "not a cursor returned by this API")
        conditions.append(RequestRow.id < cursor)
    stmt = select(RequestRow).where(*conditions).order_by(RequestRow.id.desc()).limit(limit + 1)
    async with logic.store.sessions() as session:
        rows = list((await session.scalars(stmt)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, rows[-1].id if more and rows else ""


class RemindersServicer(reminders_pb2_grpc.RequestRemindersServicer):
    def __init__(self, logic: RequestsLogic) -> None:
        self.logic = logic

    async def ListDue(
        self, request: reminders_pb2.ListDueRequest, context: Ctx
    ) -> requests_pb2.ListRequestsResponse:
        self.logic.require_service(current_caller())
        if not request.HasField("before"):
            raise InvalidInput.one("before", "required")
        rows, cursor = await due_before(
            self.logic, from_timestamp(request.before), request.page.limit, request.page.cursor
        )
        items = [await self.logic.to_message(r) for r in rows]
        return requests_pb2.ListRequestsResponse(items=items, next_cursor=cursor)
