"""Follows the directory's lookup token so repeated lookups skip the gRPC round trip.

The gateway keeps rendered lookup answers under the token the directory gave with them
(`render.LookupAnswers`). While the token this watch last heard is the same, the answer
is current and is served from memory; otherwise (the stream is down, a write just went
through this gateway, or the token moved) the gateway revalidates with the directory as
before. The directory's own index follows its change log the same way, so this adds
no staleness beyond the stream's delivery time (well under a millisecond on one host),
and a write made through this gateway is never followed by an answer that misses it.
"""

from __future__ import annotations

import asyncio
import logging

import grpc
from justnet.directory.v1 import directory_pb2, directory_pb2_grpc

from services.common.backoff import backoff_seconds
from services.common.loops import background, cancel

log = logging.getLogger(__name__)
RETRY_CAP = 10.0


class LookupTokenWatch:
    def __init__(self, stub: directory_pb2_grpc.DirectoryServiceStub) -> None:
        self.stub = stub
        self.token = ""  # "" while the stream is down: revalidate every lookup
        # Writes through this gateway bump `epoch` as they start and again as they end;
        # answers are served from memory only once a revalidation that began after the
        # last bump confirmed the stream's token.
        self.epoch = 0
        self._confirmed = 0
        self._task: asyncio.Task[None] | None = None

    def current(self, held_token: str) -> bool:
        """True when an answer held under `held_token` may be served without asking."""
        return bool(self.token) and held_token == self.token and self._confirmed == self.epoch

    def wrote(self) -> None:
        self.epoch += 1

    def confirmed(self, token: str, epoch: int) -> None:
        """A revalidation that began at `epoch` answered `token`."""
        if token == self.token:
            self._confirmed = max(self._confirmed, epoch)

    def start(self) -> None:
        # A fresh context: the stream must not join the trace of whatever started it.
        self._task = background(self._follow(), "lookup-token-watch")

    async def stop(self) -> None:
        await cancel(self._task)

    async def _follow(self) -> None:
        failures = 0
        while True:
            stream = self.stub.WatchLookupToken(
                directory_pb2.WatchLookupTokenRequest(), timeout=None
            )
            try:
                async for message in stream:
                    self.token = message.token
                    failures = 0
            except grpc.aio.AioRpcError as exc:
                log.debug("lookup token stream: %s", exc.code().name)
            finally:
                self.token = ""
                stream.cancel()
            failures += 1
            await asyncio.sleep(backoff_seconds(failures, cap=RETRY_CAP))
