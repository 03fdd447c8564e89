"""`justnet demo`: a local federation of several networks' nodes on loopback.

Each node is created once in DATA_DIR/<NETWORK> (sample data for its member states),
every node trusts every other (mutual TLS, signed replication), and all of them run
until Ctrl-C or SIGTERM. Running the command again reuses the nodes and their data.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from services.cli import migrate, nodes
from services.cli.layout import DEFAULT_PROCESSES
from services.common import migrations
from services.common.db import create_engine
from services.common.settings import NodeSettings, SettingsError, load_settings

DEMO_READY_TIMEOUT = 180.0


ROLES = ("admin", "editor", "member")


@dataclass
class DemoNode:
    settings: NodeSettings
    tokens: dict[str, str]
    accounts: dict[str, dict[str, str]]  # role -> {"email", "password"}

    @property
    def console_url(self) -> str:
        return f"{self.settings.gateway.url}/console/"


async def prepare(network: str, data_dir: Path, base_port: int) -> NodeSettings:
    from services.directory import reference, sample
    from services.directory import service as directory

    config = data_dir / network / "justnet.toml"
    if config.exists():
        settings = load_settings(config)
        if settings.gateway.port != base_port:
            raise SettingsError(
                "--base-port",
                f"{config} uses gateway port {settings.gateway.port}, not {base_port}",
            )
        await migrate.migrate_all(settings)
        return settings
    known = reference.networks().get(network)
    if known is None:
        raise SettingsError("--nodes", f"{network} is not a network JustNet knows")
    members = list(known.current_members)
    nodes.write_node(data_dir / network, network, known.name, members, base_port)
    settings = load_settings(config)
    await migrate.migrate_all(settings)
    offline = await directory.open_offline(settings)
    try:
        await sample.load(offline.logic, network, members)
    finally:
        await offline.close()
    from services.events import sample as event_sample
    from services.events import service as events

    offline_events = await events.open_offline(settings)
    try:
        await event_sample.load(offline_events.store, network)
    finally:
        await offline_events.close()
    return settings


async def peer_all(all_settings: list[NodeSettings]) -> None:
    from services.common.keyring import load_identity
    from services.federation import service as federation
    from services.federation.peers import PeerStore

    descriptors = {s.network: federation.descriptor(s, load_identity(s)) for s in all_settings}
    for settings in all_settings:
        engine = create_engine(settings.federation.database_url, instrument=False)
        try:
            await migrations.require_head(engine, federation.PACKAGE_DIR, "federation")
            store = PeerStore(engine, settings.network)
            known = await store.peers()
            for network, descriptor in descriptors.items():
                if network == settings.network:
                    continue
                current = known.get(network)
                if current is None or current.fingerprint != descriptor.certificate_fingerprint:
                    await store.add(descriptor, "default", replace=True)
        finally:
            await engine.dispose()


async def credentials_for(settings: NodeSettings) -> DemoNode:
    """A service token per role, and a person per role with a fresh password each run (an
    administrator enrols a second factor at first sign-in, so that is reset too)."""
    from gateway.accounts import AccountStore
    from gateway.app import PACKAGE_DIR
    from gateway.auth import TokenStore

    engine = create_engine(settings.gateway.database_url, instrument=False)
    try:
        await migrations.require_head(engine, PACKAGE_DIR, "gateway")
        store = TokenStore(engine, settings.network)
        tokens = {role: (await store.create(role, f"demo-{role}"))[0] for role in ROLES}
        people = AccountStore(engine)
        accounts = {}
        for role in ROLES:
            email = f"{role}@{settings.network.lower()}.example.org"
            password = secrets.token_urlsafe(12)
            person = await people.by_email(email)
            if person is None:
                name = f"Demo {role} ({settings.network})"
                person = await people.add(email, name, role, password=password)
            else:
                await people.enable(person.id)
                await people.set_password(person.id, password)
                await people.reset_second_factor(person.id)
            accounts[role] = {"email": email, "password": password}
        return DemoNode(settings, tokens, accounts)
    finally:
        await engine.dispose()


async def prepare_all(networks: list[str], base_port: int, data_dir: Path) -> list[DemoNode]:
    """Each node made (or reused) with fresh credentials, and every node peered with every
    other."""
    demo: list[DemoNode] = []
    for i, network in enumerate(networks):
        settings = await prepare(network, data_dir, base_port + 10 * i)
        demo.append(await credentials_for(settings))
    await peer_all([d.settings for d in demo])
    return demo


def ready_json(demo: list[DemoNode]) -> str:
    nodes_json = [
        {
            "network": d.settings.network,
            "gateway_url": d.settings.gateway.url,
            "console_url": d.console_url,
            "admin_token": d.tokens["admin"],
            "editor_token": d.tokens["editor"],
            "member_token": d.tokens["member"],
            "accounts": d.accounts,
        }
        for d in demo
    ]
    return json.dumps({"nodes": nodes_json})


def announce(demo: list[DemoNode]) -> None:
    print(f"JustNet demo: {len(demo)} networks, all peered over mutual TLS", flush=True)
    for d in demo:
        print(f"\n{d.settings.network:<8} {d.settings.gateway.url}", flush=True)
        print(f"  console  {d.console_url}", flush=True)
        for role in ROLES:
            account = d.accounts[role]
            print(
                f"  {role:<7} token {d.tokens[role]}  "
                f"sign in {account['email']} / {account['password']}",
                flush=True,
            )
    first = demo[0].settings.gateway.url
    print(
        f"\ntry: curl '{first}/api/v1/lookup?jurisdiction=FR&competence=mla' "
        f"-H 'Authorization: Bearer {demo[0].tokens['member']}'",
        flush=True,
    )
    print("Press Ctrl-C to stop.", flush=True)


async def run_demo(
    networks: list[str],
    base_port: int,
    data_dir: Path,
    as_json: bool,
    processes: str = DEFAULT_PROCESSES,
) -> int:
    children: list[nodes.Child] = []
    with nodes.stop_on_signal() as stopping:
        try:
            demo = await prepare_all(networks, base_port, data_dir)
            per_node = 5 if processes == "each" else 1
            if not as_json:
                print(
                    f"starting {len(demo)} nodes ({per_node * len(demo)} processes) ...",
                    file=sys.stderr,
                )
            for d in demo:
                children += await nodes.spawn_node(d.settings, processes)
            ready = asyncio.gather(
                *(
                    nodes.wait_healthy(d.settings.gateway.url, children, DEMO_READY_TIMEOUT)
                    for d in demo
                )
            )
            if not await nodes.ready_unless_stopped(ready, stopping):
                return 0
            if as_json:
                print(ready_json(demo), flush=True)
            else:
                announce(demo)
            return await nodes.run_until_exit(children, stopping, "demo")
        finally:
            await nodes.stop_children(children)
