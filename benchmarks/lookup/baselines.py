"""Baseline servers for the lookup benchmark; each mode runs as its own process.

    python baselines.py bare --port P
        aiohttp, one route returning a small JSON object.
    python baselines.py grpc-server --port P
        a trivial grpc.aio server: only the library health service (Check).
    python baselines.py grpc-hop --port P --grpc-target 127.0.0.1:Q
        aiohttp, one route that makes one empty unary grpc.aio call (health Check)
        to the grpc-server, then returns a small JSON object.

No OpenTelemetry, no middlewares, no access log: the floor that the gateway's own
aiohttp -> grpc.aio -> handler path is compared with. Every route answers any path,
so the benchmark can send the same rotated lookup URLs to all three targets.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import grpc
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

HOST = "127.0.0.1"
BODY = {"status": "ok", "items": []}


async def _wait_for_signal() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _run_app(app: web.Application, port: int) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, HOST, port, shutdown_timeout=1.0).start()
    print(f"ready http://{HOST}:{port}", flush=True)
    try:
        await _wait_for_signal()
    finally:
        await runner.cleanup()


async def bare(port: int) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(BODY)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    await _run_app(app, port)


async def grpc_server(port: int) -> None:
    server = grpc.aio.server()
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    if server.add_insecure_port(f"{HOST}:{port}") == 0:
        raise OSError(f"could not bind {HOST}:{port}")
    await server.start()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    print(f"ready grpc {HOST}:{port}", flush=True)
    try:
        await _wait_for_signal()
    finally:
        await server.stop(1.0)


async def grpc_hop(port: int, target: str) -> None:
    channel = grpc.aio.insecure_channel(target)
    stub = health_pb2_grpc.HealthStub(channel)
    request_msg = health_pb2.HealthCheckRequest()

    async def handler(request: web.Request) -> web.Response:
        reply = await stub.Check(request_msg, timeout=3.0)
        return web.json_response({**BODY, "upstream": reply.status})

    async def close_channel(app: web.Application) -> None:
        await channel.close()

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    app.on_cleanup.append(close_channel)
    await _run_app(app, port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("bare", "grpc-server", "grpc-hop"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--grpc-target", default="")
    args = parser.parse_args()
    if args.mode == "bare":
        asyncio.run(bare(args.port))
    elif args.mode == "grpc-server":
        asyncio.run(grpc_server(args.port))
    else:
        if not args.grpc_target:
            parser.error("grpc-hop needs --grpc-target")
        asyncio.run(grpc_hop(args.port, args.grpc_target))


if __name__ == "__main__":
    main()
