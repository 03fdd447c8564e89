"""Creating a node's folder (`justnet init`) and running its processes (`justnet up`)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import tomli_w

from services.cli.layout import DEFAULT_PROCESSES
from services.common.internal import ensure_token
from services.common.keyring import first_keyring
from services.common.settings import (
    BASE_PORT_OFFSETS,
    DEFAULT_PEER_PORT,
    DEFAULT_PORTS,
    PEER_PORT_OFFSET,
    SERVICES,
    NodeSettings,
    SettingsError,
    load_settings,
)
from services.common.signing import (
    generate_signing_key,
    generate_tls_identity,
)

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
# `one` stops the five services one after another (services/cli/host.py), each within its
# own grace period, so its process is given longer.
STOP_TIMEOUT_ONE = 30.0


def write_node(
    data_dir: Path,
    network: str,
    name: str,
    jurisdictions: list[str],
    base_port: int | None,
    host: str = "127.0.0.1",
) -> Path:
    """Creates the node's folder: configuration, signing key, TLS key and certificate."""
    config = data_dir / "justnet.toml"
    if config.exists():
        raise SettingsError("--data-dir", f"{config} already exists; refusing to overwrite a node")
    ports = (
        {svc: base_port + off for svc, off in BASE_PORT_OFFSETS.items()}
        if base_port is not None
        else dict(DEFAULT_PORTS)
    )
    peer_port = base_port + PEER_PORT_OFFSET if base_port is not None else DEFAULT_PEER_PORT
    if max(ports.values()) > 65535 or peer_port > 65535:
        raise SettingsError("--base-port", f"{base_port} + 5 is past the last port, 65535")
    doc: dict[str, Any] = {
        "network": network,
        "name": name,
        "jurisdictions": jurisdictions,
        "data_dir": ".",
    }
    for svc in SERVICES:
        doc[svc] = {"host": host, "port": ports[svc]}
    doc["federation"]["peer_port"] = peer_port
    doc["telemetry"] = {"log_level": "INFO"}
    data_dir.mkdir(parents=True, exist_ok=True)
    # Validate before anything is written, so a bad value leaves no half-made node.
    tmp = data_dir / ".justnet.toml.new"
    tmp.write_text(tomli_w.dumps(doc), encoding="utf-8")
    try:
        load_settings(tmp)
    except SettingsError:
        tmp.unlink()
        raise
    keys = data_dir / "keys"
    key_pem, cert_pem = generate_tls_identity(network, ["localhost", host])
    first_keyring(keys, generate_signing_key(), key_pem, cert_pem)
    ensure_token(data_dir)
    tmp.replace(config)
    return config


@dataclass
class Child:
    service: str
    process: asyncio.subprocess.Process


async def _spawn(service: str, settings: NodeSettings) -> Child:
    args = [sys.executable, "-m", "services.cli", "serve", service]
    if settings.config_path is not None:
        args += ["--config", str(settings.config_path.resolve())]
    process = await asyncio.create_subprocess_exec(*args, env=dict(os.environ))
    return Child(service, process)


async def spawn_node(settings: NodeSettings, processes: str = DEFAULT_PROCESSES) -> list[Child]:
    """The node's processes: with `each`, five, services first and the gateway last; with
    `one`, one that starts them in that order."""
    ensure_token(settings.data_dir)  # a node made before the internal credential existed
    if processes == "one":
        return [await _spawn("all", settings)]
    children = []
    for svc in SERVICES:
        children.append(await _spawn(svc, settings))
    return children


async def wait_healthy(url: str, children: list[Child], within: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            for child in children:
                if child.process.returncode is not None:
                    raise RuntimeError(
                        f"the {child.service} process exited with status "
                        f"{child.process.returncode} while starting (see its log above)"
                    )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(f"{url}/api/v1/health") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the node did not become healthy within {within:.0f} s")


async def stop_children(children: list[Child]) -> None:
    for child in children:
        if child.process.returncode is None:
            child.process.send_signal(signal.SIGTERM)
    within = STOP_TIMEOUT_ONE if any(c.service == "all" for c in children) else STOP_TIMEOUT
    try:
        await asyncio.wait_for(asyncio.gather(*(c.process.wait() for c in children)), within)
    except TimeoutError:
        for child in children:
            if child.process.returncode is None:
                child.process.kill()
        await asyncio.gather(*(c.process.wait() for c in children))


@contextlib.contextmanager
def stop_on_signal() -> Iterator[asyncio.Event]:
    """An event set by SIGTERM or SIGINT while inside."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        yield stopping
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def ready_unless_stopped(ready: Awaitable[Any], stopping: asyncio.Event) -> bool:
    """Waits for `ready` (its error raised) or a stop signal; True when ready first."""
    ready_task = asyncio.ensure_future(ready)
    stop_wait = asyncio.ensure_future(stopping.wait())
    done, _ = await asyncio.wait({ready_task, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
    if stop_wait in done:
        ready_task.cancel()
        return False
    stop_wait.cancel()
    ready_task.result()
    return True


async def run_until_exit(children: list[Child], stopping: asyncio.Event, what: str) -> int:
    """Waits for a stop signal (0) or for a process to exit on its own (1, named)."""
    waiters: list[asyncio.Task[Any]] = [asyncio.create_task(c.process.wait()) for c in children]
    stop_wait = asyncio.create_task(stopping.wait())
    waiters.append(stop_wait)
    done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for task in waiters:
        task.cancel()
    if stop_wait in done:
        return 0
    crashed = [c.service for c in children if c.process.returncode is not None]
    print(
        f"justnet: {', '.join(crashed)} stopped unexpectedly; stopping the {what}", file=sys.stderr
    )
    return 1


def announce_node(settings: NodeSettings) -> None:
    print(f"JustNet node {settings.network} is up: {settings.gateway.url}", flush=True)
    print(f"  API:     {settings.gateway.url}/api/v1/openapi.json", flush=True)
    print(f"  health:  {settings.gateway.url}/api/v1/health", flush=True)
    print("  tokens:  justnet token create --role editor", flush=True)
    print("Press Ctrl-C to stop.", flush=True)


async def run_node(
    settings: NodeSettings, processes: str = DEFAULT_PROCESSES, announce: bool = True
) -> int:
    """Starts the node's services (in this process with `one`, in five others with `each`),
    waits until healthy, then until a signal (or, with `each`, a process's crash)."""
    from services.cli import host
    from services.cli import migrate as migrate_mod

    await migrate_mod.migrate_all(settings)
    if processes == "one":
        return await host.run_here(
            settings, (lambda: announce_node(settings)) if announce else None
        )
    children: list[Child] = []
    with stop_on_signal() as stopping:
        try:
            children += await spawn_node(settings, processes)
            if not await ready_unless_stopped(
                wait_healthy(settings.gateway.url, children), stopping
            ):
                return 0
            if announce:
                announce_node(settings)
            return await run_until_exit(children, stopping, "node")
        finally:
            await stop_children(children)
