"""A delaying, resetting TCP relay for the network-fault tests.

The kernel on these machines has no `netem` qdisc, so latency and connection resets are
made here: each route listens on one address and forwards every connection to one target.
Every chunk read from either side is held back 150 ms +/- 30 ms (uniform, from a seeded
RNG) before it is written on, in order: a chunk never overtakes the one before it, so the
stream stays intact and only arrives late. Connections are also cut abruptly (RST on both
sides, as a middlebox that drops its state does): every `cut_every_connections`-th new
connection a random 0.2 to 3 s after it opened, and every `cut_every_seconds` one of the
open connections at random. A target that cannot be reached within `connect_timeout` gets
the client connection reset at once, so a caller sees the failure instead of a silent hang.

The relay runs its own asyncio loop in a daemon thread, so tests with synchronous clients
can use it; `add_route` and `stop` are called from the test's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import socket
import struct
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 65536
LATENCY = 0.150
JITTER = 0.030
CONNECT_TIMEOUT = 3.0
QUEUED_CHUNKS = 32


@dataclass
class RelayStats:
    connections: int = 0  # accepted
    connect_failures: int = 0  # target unreachable: the client was reset
    cuts: int = 0  # connections cut on purpose (both sides reset)
    chunks: int = 0
    bytes: int = 0
    delays: list[float] = field(default_factory=list)  # the first 10,000 chunk delays


@dataclass
class _Conn:
    number: int
    client: asyncio.StreamWriter
    target: asyncio.StreamWriter | None = None
    closed: bool = False


def _reset(writer: asyncio.StreamWriter) -> None:
    """Closes abruptly: SO_LINGER 0 makes the kernel send RST, not FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class DelayingRelay:
    def __init__(
        self,
        seed: int,
        latency: float = LATENCY,
        jitter: float = JITTER,
        cut_every_connections: int = 7,
        cut_every_seconds: float = 10.0,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.rng = random.Random(seed)
        self.latency = latency
        self.jitter = jitter
        self.cut_every_connections = cut_every_connections
        self.cut_every_seconds = cut_every_seconds
        self.connect_timeout = connect_timeout
        self.stats = RelayStats()
        self._numbers = itertools.count(1)
        self._live: dict[int, _Conn] = {}
        self._servers: list[asyncio.Server] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        if cut_every_seconds > 0:
            self._call(self._start_cutter())

    # -------------------------------------------------------------- from the test's thread

    def add_route(self, listen_host: str, target_host: str, target_port: int) -> int:
        """Listens on listen_host (a free port) and forwards to target; returns the port."""
        return self._call(self._listen(listen_host, (target_host, target_port)))

    def stop(self) -> None:
        """Closes every listener and connection and ends the loop's thread (bounded)."""
        if not self._loop.is_running():
            return
        with contextlib.suppress(Exception):
            self._call(self._shutdown(), timeout=10.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10.0)
        if not self._thread.is_alive():
            self._loop.close()

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -------------------------------------------------------------- in the relay's loop

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start_cutter(self) -> None:
        self._spawn(self._cutter())

    async def _listen(self, host: str, target: tuple[str, int]) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            # Ends normally when cancelled at shutdown: on Python 3.11 asyncio's own
            # callback for a cancelled connection handler raises and logs an error.
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay(reader, writer, target)

        server = await asyncio.start_server(handle, host, 0)
        self._servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        for conn in list(self._live.values()):
            self._cut(conn, count=False)
        # Every task of this loop: the connections' handlers too, not only the cutters.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _delay(self) -> float:
        d = self.latency + self.rng.uniform(-self.jitter, self.jitter)
        if len(self.stats.delays) < 10_000:
            self.stats.delays.append(d)
        return d

    def _cut(self, conn: _Conn, count: bool = True) -> None:
        if conn.closed:
            return
        conn.closed = True
        if count:
            self.stats.cuts += 1
        _reset(conn.client)
        if conn.target is not None:
            _reset(conn.target)
        self._live.pop(conn.number, None)

    async def _cutter(self) -> None:
        while True:
            await asyncio.sleep(self.cut_every_seconds)
            if self._live:
                number = self.rng.choice(sorted(self._live))
                self._cut(self._live[number])

    async def _cut_later(self, conn: _Conn, after: float) -> None:
        await asyncio.sleep(after)
        self._cut(conn)

    async def _relay(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: tuple[str, int]
    ) -> None:
        conn = _Conn(next(self._numbers), writer)
        self.stats.connections += 1
        self._live[conn.number] = conn
        try:
            try:
                async with asyncio.timeout(self.connect_timeout):
                    up_reader, up_writer = await asyncio.open_connection(*target)
            except (OSError, TimeoutError):
                self.stats.connect_failures += 1
                self._cut(conn, count=False)
                return
            conn.target = up_writer
            if conn.closed:  # cut while connecting
                _reset(up_writer)
                return
            if self.cut_every_connections and conn.number % self.cut_every_connections == 0:
                self._spawn(self._cut_later(conn, self.rng.uniform(0.2, 3.0)))
            await asyncio.gather(
                self._pipe(reader, up_writer, conn), self._pipe(up_reader, writer, conn)
            )
        finally:
            if not conn.closed:
                conn.closed = True
                self._live.pop(conn.number, None)
                for w in (writer, conn.target):
                    if w is not None:
                        w.transport.abort()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: _Conn
    ) -> None:
        """Copies one direction, each chunk held back by its own delay, order kept."""
        # Bounded, so a slow receiver (a throttled link) slows the sender down as TCP would.
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(maxsize=QUEUED_CHUNKS)

        async def deliver() -> None:
            while True:
                at, data = await queue.get()
                wait = at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    with contextlib.suppress(OSError, RuntimeError):
                        if writer.can_write_eof():
                            writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()

        sender = asyncio.ensure_future(deliver())
        last = 0.0
        try:
            while not conn.closed:
                data = await reader.read(CHUNK)
                at = max(last, time.monotonic() + self._delay())
                last = at
                if data:
                    self.stats.chunks += 1
                    self.stats.bytes += len(data)
                await queue.put((at, data))
                if not data:  # end of stream: passed on as a half-close, after the data
                    break
            await sender
        except (OSError, ConnectionError):
            self._cut(conn, count=False)
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError, ConnectionError):
                await sender
