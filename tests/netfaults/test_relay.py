"""The delaying relay itself, on loopback (no root needed): it delays each chunk by
150 ms +/- 30 ms, keeps the byte stream intact and in order, cuts connections with a
reset on both sides, and resets a client whose target cannot be reached."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.netfaults.relay import DelayingRelay


@pytest.fixture
def echo() -> Iterator[int]:
    """An echo server on loopback; its port."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stopping = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            while data := conn.recv(65536):
                conn.sendall(data)

    def accept() -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                conn, _ = server.accept()
                threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stopping.set()
    thread.join(timeout=5)
    server.close()


def relay_to(port: int, cut_every_seconds: float = 0.0) -> tuple[DelayingRelay, int]:
    """A relay from a loopback port to `port`; it cuts connections only on a timer."""
    relay = DelayingRelay(seed=7, cut_every_connections=0, cut_every_seconds=cut_every_seconds)
    return relay, relay.add_route("127.0.0.1", "127.0.0.1", port)


def recv_exactly(sock: socket.socket, size: int) -> bytes:
    out = b""
    while len(out) < size:
        chunk = sock.recv(size - len(out))
        if not chunk:
            raise ConnectionError("closed early")
        out += chunk
    return out


def test_each_chunk_is_delayed_and_the_stream_stays_intact(echo: int) -> None:
    relay, port = relay_to(echo)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            round_trips = []
            for i in range(10):
                started = time.monotonic()
                sock.sendall(b"ping %d" % i)
                assert recv_exactly(sock, len(b"ping %d" % i)) == b"ping %d" % i
                round_trips.append(time.monotonic() - started)
            # Two chunks each way (out and back), each 120-180 ms.
            assert all(0.24 <= rt < 0.36 + 0.15 for rt in round_trips), round_trips
            payload = os.urandom(2_000_000)
            sender = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
            sender.start()
            assert recv_exactly(sock, len(payload)) == payload
            sender.join(timeout=10)
        delays = relay.stats.delays
        assert all(0.12 <= d <= 0.18 for d in delays)
        assert 0.14 < sum(delays) / len(delays) < 0.16
    finally:
        relay.stop()


def test_connections_are_cut_with_a_reset(echo: int) -> None:
    relay, port = relay_to(echo, cut_every_seconds=0.5)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"hello")
            assert recv_exactly(sock, 5) == b"hello"
            with pytest.raises(ConnectionResetError):
                for _ in range(50):  # bounded: the cut comes within about half a second
                    sock.sendall(b"x")
                    recv_exactly(sock, 1)
        assert relay.stats.cuts >= 1
    finally:
        relay.stop()


def test_a_target_that_cannot_be_reached_resets_the_client() -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        dead = closed.getsockname()[1]  # nothing listens there once this closes
    relay, port = relay_to(dead)
    try:
        # The reset comes at connect or at the first read.
        with (
            pytest.raises(ConnectionResetError),
            socket.create_connection(("127.0.0.1", port), timeout=10) as sock,
        ):
            sock.sendall(b"hello")
            sock.recv(10)
        assert relay.stats.connect_failures == 1
    finally:
        relay.stop()
