"""Hands queued event messages to federation (FederationService.Send).

Federation keeps its own durable outbox per peer (one message in flight, retries with
backoff, signed receipts); this loop only covers the hop to federation itself, which
may be restarting. Send is idempotent by message id, so a repeat after a lost answer
is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import grpc
from justnet.common.v1 import exchange_pb2 as xpb
from justnet.federation.v1 import federation_pb2 as fpb
from justnet.federation.v1 import federation_pb2_grpc

from services.common.identity import Caller
from services.common.timeutil import as_utc, utcnow
from services.common.waiting import wait_event
from services.requests.logic import KIND, RequestsLogic

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 60.0
IDLE_SECONDS = 1.0


class Dispatcher:
    def __init__(
        self, logic: RequestsLogic, federation: federation_pb2_grpc.FederationServiceStub
    ) -> None:
        self.logic = logic
        self.store = logic.store
        self.federation = federation
        self.service = Caller("admin", logic.network, "requests").metadata()

    async def run(self) -> None:
        while True:
            try:
                await self.once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database is busy or gone: try again shortly
                log.exception("requests outbox: dispatch failed")
            await self._wait()

    async def _wait(self) -> None:
        changed = self.logic.outbox_changed
        timeout = IDLE_SECONDS
        due = await self.store.next_due()
        if due is not None:
            timeout = min(max((as_utc(due) - utcnow()).total_seconds(), 0.0), IDLE_SECONDS)
        await wait_event(changed, timeout)
        changed.clear()

    async def once(self) -> int:
        handed = 0
        for message in await self.store.due_messages(utcnow()):
            try:
                delivery = await self.federation.Send(
                    fpb.SendRequest(
                        destination=message.destination,
                        message_id=message.message_id,
                        kind=KIND,
                        payload=message.payload,
                    ),
                    metadata=self.service,
                    timeout=5.0,
                )
            except grpc.aio.AioRpcError as exc:
                attempts = message.attempts + 1
                if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                    # Federation will never take it (e.g. an unknown destination).
                    await self.store.update_message(
                        message.message_id,
                        handed_over=True,
                        attempts=attempts,
                        state="failed",
                        last_error=(exc.details() or exc.code().name)[:500],
                        settled_at=utcnow(),
                    )
                    continue
                backoff = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** min(attempts, 10))
                await self.store.update_message(
                    message.message_id,
                    attempts=attempts,
                    last_error=f"federation: {exc.code().name} {exc.details() or ''}"[:500],
                    next_attempt_at=utcnow() + timedelta(seconds=backoff),
                )
                continue
            handed += 1
            await self.store.update_message(
                message.message_id, handed_over=True, attempts=message.attempts + 1, last_error=""
            )
            if delivery.state in ("delivered", "refused", "failed"):
                # Already settled (a repeat of a message federation had finished).
                await self.logic.settled(
                    xpb.DeliveryOutcome(delivery=delivery), Caller("admin", self.logic.network)
                )
        return handed
