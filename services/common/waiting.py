"""Bounded waits that never swallow a cancellation.

On Python 3.11, `asyncio.wait_for` returns the inner result when a cancellation arrives
just as the inner awaitable completes, so a task told to stop can go on running (and
whoever awaits it waits forever). `asyncio.timeout` accounts for cancellations properly;
every bounded wait in a loop goes through here or uses it directly.
"""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Waits for `event` at most `seconds`; True if it was set."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def serving(channel: grpc.aio.Channel, seconds: float) -> bool:
    """Waits until the service behind `channel` reports SERVING (gRPC health), at most
    `seconds`; True if it did. For start order: a process that depends on another waits
    for it instead of failing and backing off."""
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        async with asyncio.timeout(seconds):
            while True:
                try:
                    reply = await stub.Check(
                        health_pb2.HealthCheckRequest(), timeout=1.0, wait_for_ready=True
                    )
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return True
                except grpc.aio.AioRpcError:
                    pass
                await asyncio.sleep(0.1)
    except TimeoutError:
        return False
