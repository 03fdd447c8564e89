"""The `justnet` command. Thin: it parses arguments and calls each service's entry point.

Exit status: 0 success, 2 bad usage or configuration (naming the setting), 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from services.cli import layout as nodes_layout
from services.common.errors import InvalidInput
from services.common.settings import (
    NETWORK_CODE,
    SERVICES,
    NodeSettings,
    SettingsError,
    load_settings,
)

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from gateway.accounts import Person


class UsageError(Exception):
    """Bad arguments: exit status 2."""


def _config_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="the node's justnet.toml (default: $JUSTNET_CONFIG or ./justnet-data/justnet.toml)",
    )


def _processes_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--processes",
        choices=nodes_layout.PROCESSES,
        default=nodes_layout.DEFAULT_PROCESSES,
        help="one: each node's five services in one process; each: a process per service "
        f"(default: {nodes_layout.DEFAULT_PROCESSES})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="justnet", description="Run a JustNet node.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_running(sub)
    _add_node_info(sub)
    _add_token(sub)
    _add_user(sub)
    _add_peer(sub)
    _add_keys(sub)
    _add_data(sub)
    return parser


def _add_running(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """init, up, serve, migrate, demo."""
    p = sub.add_parser("init", help="create a node: configuration, keys, databases")
    p.add_argument("--network", required=True, help="network code, e.g. SEAJUST")
    p.add_argument("--name", default="", help="the network's full name")
    p.add_argument("--data-dir", type=Path, default=Path("justnet-data"))
    p.add_argument(
        "--jurisdictions",
        default="",
        help="ISO 3166-1 codes of member states, comma-separated (default: the network's members)",
    )
    p.add_argument(
        "--base-port",
        type=int,
        default=None,
        help="gateway N, directory N+1, requests N+2, events N+3, federation N+4 and N+5",
    )
    p.add_argument("--host", default="127.0.0.1", help="address the processes listen on")
    p.add_argument("--sample-data", action="store_true", help="load the sample directory")

    p = sub.add_parser("up", help="migrate and start every process of the node")
    _processes_arg(p)
    _config_arg(p)

    p = sub.add_parser("serve", help="run one process in the foreground")
    p.add_argument(
        "service", choices=(*SERVICES, "all"), help="one service, or all five in this process"
    )
    _config_arg(p)

    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("service", nargs="?", choices=SERVICES)
    _config_arg(p)

    p = sub.add_parser("demo", help="a local federation of several networks' nodes")
    p.add_argument("--nodes", default="SEAJUST,EJN,WACAP,CASC,GLJCN")
    p.add_argument("--base-port", type=int, default=8080, help="node i uses N+10*i")
    p.add_argument("--data-dir", type=Path, default=Path("justnet-demo"))
    p.add_argument("--json", action="store_true", help="one JSON line on stdout when ready")
    _processes_arg(p)


def _add_node_info(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """node-info."""
    p = sub.add_parser("node-info", help="print this node's descriptor for peers")
    p.add_argument("--json", action="store_true")
    _config_arg(p)


def _add_token(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """token create, list, revoke."""
    p = sub.add_parser("token", help="API tokens")
    tsub = p.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    tc = tsub.add_parser("create", help="print a new token once")
    owner = tc.add_mutually_exclusive_group(required=True)
    owner.add_argument("--role", choices=("admin", "editor", "member"), help="a service token")
    owner.add_argument("--user", metavar="EMAIL", help="a token that acts as this person")
    tc.add_argument("--name", default="", help="the service token's name")
    _config_arg(tc)
    tl = tsub.add_parser("list", help="list tokens (never their values)")
    _config_arg(tl)
    tr = tsub.add_parser("revoke", help="revoke a token by id")
    tr.add_argument("id")
    _config_arg(tr)


def _add_user(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """user add, list, disable."""
    p = sub.add_parser("user", help="people who use the console and the API")
    usub = p.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    ua = usub.add_parser("add", help="add a person (prints a one-time link to set a password)")
    ua.add_argument("--email", required=True)
    ua.add_argument("--name", required=True)
    ua.add_argument("--role", required=True, choices=("admin", "editor", "member"))
    ua.add_argument("--jurisdiction", default="", metavar="AA")
    ua.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    _config_arg(ua)
    ul = usub.add_parser("list", help="list people")
    ul.add_argument("--json", action="store_true")
    _config_arg(ul)
    ud = usub.add_parser("disable", help="disable a person: their sessions and tokens stop")
    ud.add_argument("email")
    _config_arg(ud)


def _add_peer(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """peer add, list, remove."""
    p = sub.add_parser("peer", help="peer nodes of other networks")
    psub = p.add_subparsers(dest="peer_command", required=True, metavar="ACTION")
    pa = psub.add_parser("add", help="trust a peer from its descriptor (justnet node-info --json)")
    pa.add_argument("--descriptor", type=Path, required=True)
    pa.add_argument(
        "--share",
        default="default",
        help="sharing policy: default, no_personal_details, public_only, routing_only",
    )
    pa.add_argument("--replace", action="store_true", help="update an existing peer")
    pa.add_argument(
        "--jurisdictions",
        metavar="AA,BB",
        help="apply the peer's records only for these states (some its descriptor lists; "
        "default: all of them); records for other states go to the quarantine",
    )
    _config_arg(pa)
    pl = psub.add_parser("list", help="list peers")
    _config_arg(pl)
    pr = psub.add_parser("remove", help="stop trusting a peer and drop its records")
    pr.add_argument("network")
    _config_arg(pr)


def _add_keys(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """keys rotate."""
    p = sub.add_parser("keys", help="the node's signing keys")
    ksub = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    kr = ksub.add_parser(
        "rotate",
        help="new signing key and TLS certificate, announced to peers by the old key; "
        "old signatures keep verifying",
    )
    kr.add_argument(
        "--activate-after",
        metavar="DURATION",
        default="15m",
        help="keep using the old key and certificate this long while peers learn the new "
        "ones (e.g. 30s, 15m, 1h; default 15m)",
    )
    kr.add_argument(
        "--overlap",
        metavar="DURATION",
        default="7d",
        help="peers accept the old key and certificate this long, then only the new (default 7d)",
    )
    _config_arg(kr)


def _add_data(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """import, export."""
    p = sub.add_parser("import", help="import authorities and contact points (CSV or JSON)")
    p.add_argument("file", type=Path)
    p.add_argument("--dry-run", action="store_true", help="check every row, write nothing")
    _config_arg(p)

    p = sub.add_parser("export", help="export this node's own authorities and contact points")
    p.add_argument("--format", choices=("csv", "json"), default="json")
    _config_arg(p)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on bad usage
    try:
        return asyncio.run(dispatch(args))
    except (SettingsError, UsageError) as exc:
        print(f"justnet: {exc}", file=sys.stderr)
        return 2
    except InvalidInput as exc:
        print(f"justnet: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line for the user; details are in the service logs
        print(f"justnet: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _settings(args: argparse.Namespace) -> NodeSettings:
    return load_settings(args.config)


async def dispatch(args: argparse.Namespace) -> int:
    handler = {
        "init": cmd_init,
        "up": cmd_up,
        "serve": cmd_serve,
        "migrate": cmd_migrate,
        "node-info": cmd_node_info,
        "token": cmd_token,
        "user": cmd_user,
        "import": cmd_import,
        "demo": cmd_demo,
        "peer": cmd_peer,
        "keys": cmd_keys,
        "export": cmd_export,
    }[args.command]
    result: int = await handler(args)
    return result


async def cmd_init(args: argparse.Namespace) -> int:
    from services.cli import migrate, nodes
    from services.common.validation import country_code
    from services.directory import reference, sample
    from services.directory import service as directory

    network = args.network.strip().upper()
    if not NETWORK_CODE.match(network):
        raise UsageError(
            f"--network: {args.network!r} is not a network code (A-Z, 0-9, 2-16 chars)"
        )
    known = reference.networks().get(network)
    if args.jurisdictions:
        codes = [c.strip().upper() for c in args.jurisdictions.split(",") if c.strip()]
        bad = [c for c in codes if country_code(c) is None]
        if bad:
            raise UsageError(f"--jurisdictions: {', '.join(bad)} not ISO 3166-1 alpha-2 codes")
    elif known is not None:
        codes = list(known.current_members)
    else:
        raise UsageError(
            f"--jurisdictions: {network} is not a network JustNet knows "
            f"({', '.join(reference.networks())}); list its member states"
        )
    name = args.name or (known.name if known else network)
    if args.base_port is not None and not 1024 <= args.base_port <= 65530:
        raise UsageError("--base-port: must be between 1024 and 65530")
    config = nodes.write_node(args.data_dir, network, name, codes, args.base_port, args.host)
    settings = load_settings(config)
    await migrate.migrate_all(settings)
    print(f"created node {network} in {settings.data_dir}", file=sys.stderr)
    if args.sample_data:
        offline = await directory.open_offline(settings)
        try:
            records, profiles = await sample.load(offline.logic, network, codes)
        finally:
            await offline.close()
        events_added = await _load_sample_events(settings, network)
        print(
            f"loaded sample data: {records} records, {profiles} routing profiles, "
            f"{events_added} events",
            file=sys.stderr,
        )
    print(f"start it with: justnet up --config {config}", file=sys.stderr)
    return 0


async def _load_sample_events(settings: NodeSettings, network: str) -> int:
    from services.events import sample as event_sample
    from services.events import service as events

    offline = await events.open_offline(settings)
    try:
        return await event_sample.load(offline.store, network)
    finally:
        await offline.close()


async def cmd_up(args: argparse.Namespace) -> int:
    from services.cli import nodes

    return await nodes.run_node(_settings(args), args.processes)


async def cmd_serve(args: argparse.Namespace) -> int:
    from services.cli.serve import serve

    await serve(args.service, _settings(args))
    return 0


async def cmd_migrate(args: argparse.Namespace) -> int:
    from services.cli import migrate

    results = await migrate.migrate_all(_settings(args), args.service)
    for service, revision in results.items():
        print(f"{service}: {revision or 'no migrations'}")
    return 0


async def cmd_node_info(args: argparse.Namespace) -> int:
    from google.protobuf import json_format

    from services.common.keyring import load_identity
    from services.federation.service import descriptor

    settings = _settings(args)
    info = descriptor(settings, load_identity(settings))
    data = json_format.MessageToDict(info, preserving_proto_field_name=True)
    if args.json:
        print(json.dumps(data))
    else:
        for key, value in data.items():
            if key in ("certificate_pem", "announcements", "previous_certificates"):
                continue
            if key == "old_keys":
                value = [f"{k['key_id']} (until {k['expired_at']})" for k in value]
            print(f"{key}: {', '.join(value) if isinstance(value, list) else value}")
        for cert in data.get("previous_certificates", []):
            print(f"previous certificate accepted until: {cert['accepted_until']}")
    return 0


@contextlib.asynccontextmanager
async def _gateway_engine(settings: NodeSettings) -> AsyncIterator[AsyncEngine]:
    """The gateway's database (people, tokens), which must be migrated already."""
    from gateway.app import PACKAGE_DIR
    from services.common import migrations
    from services.common.db import create_engine

    engine = create_engine(settings.gateway.database_url, instrument=False)
    try:
        await migrations.require_head(engine, PACKAGE_DIR, "gateway")
        yield engine
    finally:
        await engine.dispose()


async def cmd_token(args: argparse.Namespace) -> int:
    from gateway.accounts import AccountStore
    from gateway.auth import TokenStore

    settings = _settings(args)
    async with _gateway_engine(settings) as engine:
        store = TokenStore(engine, settings.network)
        if args.token_command == "create":
            if args.user:
                person = await AccountStore(engine).by_email(args.user)
                if person is None or person.disabled:
                    raise UsageError(f"--user: no active person {args.user}")
                token, info = await store.create_for(person.id)
            else:
                token, info = await store.create(args.role, args.name)
            print(f"created {info.role} token {info.id} ({info.principal})", file=sys.stderr)
            print(token)
        elif args.token_command == "list":
            for row in await store.all_tokens():
                state = "revoked" if row.revoked_at else "active"
                print(f"{row.id}  {row.role:<6}  {state:<7}  {row.name}")
        elif not await store.revoke(args.id):
            print(f"justnet: no active token {args.id}", file=sys.stderr)
            return 1
    return 0


async def cmd_user(args: argparse.Namespace) -> int:
    from gateway.accounts import AccountStore

    settings = _settings(args)
    async with _gateway_engine(settings) as engine:
        accounts = AccountStore(engine)
        if args.user_command == "add":
            password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
            person = await accounts.add(
                args.email, args.name, args.role, args.jurisdiction, password=password
            )
            print(f"added {person.role} {person.email} ({person.principal})", file=sys.stderr)
            if password is None:
                secret = await accounts.password_link(person.id)
                print(f"{settings.gateway.url}/console/set-password?token={secret}")
                print("the link works once, for 24 hours", file=sys.stderr)
        elif args.user_command == "list":
            people = await accounts.people()
            if args.json:
                print(json.dumps([_person_json(p) for p in people]))
            for p in people if not args.json else ():
                state = "disabled" if p.disabled else "active"
                factor = "2FA" if p.has_second_factor else "-"
                print(f"{p.email:<40} {p.role:<6} {state:<8} {factor:<3} {p.name}")
        else:
            found = await accounts.by_email(args.email)
            if found is None:
                print(f"justnet: no person {args.email}", file=sys.stderr)
                return 1
            await accounts.disable(found.id)
            print(f"disabled {found.email}; their sessions and tokens no longer work")
    return 0


def _person_json(p: Person) -> dict[str, object]:
    return {
        "id": p.id,
        "principal": p.principal,
        "email": p.email,
        "name": p.name,
        "role": p.role,
        "jurisdiction": p.jurisdiction or None,
        "second_factor": p.has_second_factor,
        "disabled": p.disabled,
        "created_at": p.created_at.isoformat(),
    }


async def cmd_peer(args: argparse.Namespace) -> int:
    from google.protobuf import json_format
    from justnet.federation.v1 import federation_pb2

    from services.common import migrations
    from services.common.db import create_engine
    from services.federation import service as federation
    from services.federation.peers import PeerStore, accepted_of

    settings = _settings(args)
    engine = create_engine(settings.federation.database_url, instrument=False)
    try:
        await migrations.require_head(engine, federation.PACKAGE_DIR, "federation")
        store = PeerStore(engine, settings.network)
        if args.peer_command == "add":
            try:
                raw = json.loads(args.descriptor.read_text(encoding="utf-8"))
                descriptor = json_format.ParseDict(
                    raw, federation_pb2.NodeDescriptor(), ignore_unknown_fields=True
                )
            except (OSError, ValueError, json_format.ParseError) as exc:
                raise UsageError(f"--descriptor: {exc}") from exc
            accepted = _accepted_jurisdictions(args.jurisdictions, list(descriptor.jurisdictions))
            peer = await store.add(descriptor, args.share, replace=args.replace, accepted=accepted)
            print(f"added peer {peer.network} at {peer.endpoint} (sharing: {peer.policy})")
            listed = ", ".join(peer.jurisdictions) or "none"
            print(f"  its descriptor lists: {listed}")
            print(f"  records applied for:  {', '.join(sorted(peer.accepted)) or 'none'}")
            left_out = [j for j in peer.jurisdictions if j not in peer.accepted]
            if left_out:
                print(f"  quarantined, not applied: records for {', '.join(left_out)}")
        elif args.peer_command == "list":
            for row in await store.all():
                accepting = ",".join(sorted(accepted_of(row))) or "-"
                print(
                    f"{row.network:<10} {row.endpoint:<28} {row.state:<12} {row.policy:<20} "
                    f"{accepting:<24} {row.last_error[:60]}"
                )
        else:
            await store.remove(args.network)
            print(f"removed peer {args.network.upper()}; its records go at the next sync")
    finally:
        await engine.dispose()
    return 0


def _accepted_jurisdictions(option: str | None, listed: list[str]) -> list[str]:
    """The states `peer add --jurisdictions` names; each must be one the descriptor lists
    (exit 2 otherwise). Empty when the option is absent: all the descriptor lists."""
    from services.common.validation import country_code

    if option is None:
        return []
    codes = [c.strip().upper() for c in option.split(",") if c.strip()]
    if not codes:
        raise UsageError("--jurisdictions: name at least one state, e.g. NG,SN")
    bad = [c for c in codes if country_code(c) is None]
    if bad:
        raise UsageError(f"--jurisdictions: {', '.join(bad)} not ISO 3166-1 alpha-2 codes")
    listed = [j.strip().upper() for j in listed]
    unlisted = [c for c in codes if c not in listed]
    if unlisted:
        raise UsageError(
            f"--jurisdictions: {', '.join(unlisted)} not listed in the peer's descriptor "
            f"({', '.join(listed) or 'it lists no states'}); a peer speaks only for its states"
        )
    return codes


async def cmd_demo(args: argparse.Namespace) -> int:
    from services.cli.demo import run_demo

    networks = [n.strip().upper() for n in args.nodes.split(",") if n.strip()]
    if len(set(networks)) != len(networks) or not networks:
        raise UsageError("--nodes: list distinct network codes, e.g. SEAJUST,EJN")
    last = args.base_port + 10 * (len(networks) - 1) + 5
    if not args.base_port >= 1024 or last > 65535:
        raise UsageError(f"--base-port: the ports {args.base_port}..{last} must be in 1024..65535")
    return await run_demo(networks, args.base_port, args.data_dir, args.json, args.processes)


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(option: str, text: str) -> timedelta:
    """ "90s", "15m", "1h", "7d" (one number and one unit)."""
    value, unit = text.strip()[:-1], text.strip()[-1:].lower()
    if unit not in _UNITS or not value.isdigit() or len(value) > 6:
        raise UsageError(f"{option}: {text[:20]!r} is not a duration such as 30s, 15m, 1h or 7d")
    return timedelta(seconds=int(value) * _UNITS[unit])


async def cmd_keys(args: argparse.Namespace) -> int:
    from services.common.keyring import rotate

    activate_after = parse_duration("--activate-after", args.activate_after)
    overlap = parse_duration("--overlap", args.overlap)
    done = rotate(_settings(args), overlap=overlap, activate_after=activate_after)
    print(f"new signing key {done.new_key_id} (was {done.old_key_id})")
    print(f"new TLS certificate {done.fingerprint}")
    print(
        f"announced to peers now (signed by {done.old_key_id}); used from "
        f"{done.active_from.isoformat(timespec='seconds')}; the old key and certificate "
        f"are accepted until {done.overlap_until.isoformat(timespec='seconds')}"
    )
    print("running services pick the new keys up by themselves; no restart is needed")
    return 0


async def cmd_import(args: argparse.Namespace) -> int:
    from justnet.directory.v1 import directory_pb2

    from services.common.identity import Caller
    from services.directory import files
    from services.directory import service as directory

    settings = _settings(args)
    if not args.file.exists():
        raise UsageError(f"{args.file}: no such file")
    try:
        parsed = files.parse(args.file)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    offline = await directory.open_offline(settings)
    try:
        result = await offline.logic.import_directory(
            directory_pb2.ImportDirectoryRequest(rows=parsed.rows, dry_run=True),
            Caller("editor", settings.network, "cli-import"),
        )
        errors: list[tuple[int, str, str]] = [(e.row, e.column, e.message) for e in parsed.errors]
        errors += [(e.row, e.field, e.message) for e in result.errors]
        if errors:
            for row, column, message in sorted(errors):
                where = parsed.labels.get(row, f"row {row}")
                print(
                    f"{args.file.name}: {where}, column {column or '-'}: {message}", file=sys.stderr
                )
            print(f"justnet: {len(errors)} error(s); nothing was imported", file=sys.stderr)
            return 1
        if args.dry_run:
            print(
                f"dry run: {result.created} to create, {result.updated} to update; nothing written"
            )
            return 0
        result = await offline.logic.import_directory(
            directory_pb2.ImportDirectoryRequest(rows=parsed.rows),
            Caller("editor", settings.network, "cli-import"),
        )
        if result.errors:  # changed between the check and the write
            print(
                "justnet: the directory changed during the import; nothing was imported",
                file=sys.stderr,
            )
            return 1
        print(f"imported: {result.created} created, {result.updated} updated")
    finally:
        await offline.close()
    return 0


async def cmd_export(args: argparse.Namespace) -> int:
    from services.common.identity import Caller
    from services.directory import files
    from services.directory import service as directory
    from services.directory.store import ListFilter

    settings = _settings(args)
    offline = await directory.open_offline(settings)
    editor = Caller("editor", settings.network, "cli-export")
    try:
        records: dict[str, list[Any]] = {}
        for kind in ("authority", "contact_point"):
            records[kind] = []
            cursor = ""
            while True:
                items, cursor = await offline.logic.list_records(
                    kind, editor, ListFilter(network=settings.network), 500, cursor
                )
                records[kind].extend(items)
                if not cursor:
                    break
    finally:
        await offline.close()
    render = files.export_csv if args.format == "csv" else files.export_json
    sys.stdout.write(render(records["authority"], records["contact_point"]))
    return 0
