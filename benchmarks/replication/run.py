"""Benchmark of federation replication: initial sync and propagation latency.

    .venv/bin/python benchmarks/replication/run.py [--nodes 5] [--changes 300]
        [--contact-points 10000] [--out benchmarks/results/replication.json] [--keep]
        [--profile] [--code OTHER_CHECKOUT]

1. Creates --nodes nodes (SEAJUST, EJN, WACAP, CASC, GLJCN) with `justnet init` in a
   temporary folder, each on its own block of loopback ports, and imports the lookup
   benchmark's synthetic directory (10,000 contact points and 400 authorities, fixed
   seed) into SEAJUST.
2. Runs each node's directory and federation as real processes (`justnet serve`), as
   production does: peers talk over mutual TLS with signed calls and signed records.
3. Initial sync: SEAJUST and EJN peer with each other; the clock starts when EJN trusts
   SEAJUST (its subscription starts then) and stops when EJN's directory has stored
   SEAJUST's last change seq as its cursor. Reports records/s, seconds, and the RSS and
   CPU of the four processes.
4. Propagation: every pair of nodes is peered (a full mesh); once each node holds the
   others' records, --changes single-record updates are made one at a time on the nodes
   in turn (an authority each owns, renamed), and each change's arrival in the other
   nodes' directories is taken from their change feeds (ReplicaFeed.WatchChanges, which the
   directory wakes as soon as a replica batch commits). Reports p50/p99 of the delay
   from just before the update call to its commit on each other node, and the CPU per
   change of all directories and all federation processes together.
`--code` runs the nodes from another checkout (a worktree of the commit to compare with),
so before/after runs can alternate in one session with the same benchmark.
Every wait is bounded; teardown sends SIGTERM and then kills. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# The tree the nodes run from (--code): this one, or another checkout to compare with.
CODE = ROOT

from justnet.common.v1 import exchange_pb2, exchange_pb2_grpc  # noqa: E402
from justnet.directory.v1 import directory_pb2, directory_pb2_grpc  # noqa: E402
from justnet.federation.v1 import federation_pb2, federation_pb2_grpc  # noqa: E402

from benchmarks import databases  # noqa: E402
from benchmarks.lookup import dataset  # noqa: E402
from services.common.clients import open_channel  # noqa: E402
from services.common.identity import Caller  # noqa: E402
from services.common.internal import InternalCredential  # noqa: E402
from services.common.keyring import load_identity  # noqa: E402
from services.common.settings import NodeSettings, load_settings  # noqa: E402

NETWORKS = ["SEAJUST", "EJN", "WACAP", "CASC", "GLJCN"]
HOST = "127.0.0.1"
READY_WITHIN = 60.0
SYNC_WITHIN = 300.0
CHANGE_WITHIN = 10.0
# The initial sync's clock resolution; each poll counts the replicas (COUNT over the
# table), so a larger directory is polled less often (--poll).
POLL = 0.05
PYTHON = sys.executable
PY_SPY = ""
LOAD_AT_START: list[str] = []


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {"n": 0}
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.90))] * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


def free_port_block(size: int) -> int:
    rng = random.Random()
    for _ in range(200):
        start = rng.randrange(20000, 60000 - size)
        sockets: list[socket.socket] = []
        try:
            for port in range(start, start + size):
                s = socket.socket()
                sockets.append(s)
                s.bind((HOST, port))
            return start
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free block of loopback ports")


def memory_kb(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> float:
    with contextlib.suppress(OSError):
        raw = Path(f"/proc/{pid}/stat").read_text()
        fields = raw[raw.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def clean_env() -> dict[str, str]:
    # No exporter: the processes run with their default (SDK, no export) telemetry.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    # This tree's services and generated code, wherever the venv's editable install points.
    env["PYTHONPATH"] = os.pathsep.join((str(CODE), str(CODE / "protos")))
    return env


class Node:
    def __init__(self, network: str, folder: Path, env: dict[str, str]) -> None:
        self.network = network
        self.folder = folder
        # its processes' environment: with a URL template, its own databases
        self.env = env
        self.config = folder / "justnet.toml"
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.settings: NodeSettings | None = None
        self.channels: list[Any] = []

    def init(self) -> None:
        base = free_port_block(9)
        argv = [PYTHON, "-m", "services.cli", "init", "--network", self.network]
        argv += ["--data-dir", str(self.folder), "--base-port", str(base)]
        done = subprocess.run(
            argv, env=self.env, cwd=CODE, capture_output=True, text=True, timeout=300
        )
        if done.returncode != 0:
            raise RuntimeError(f"init {self.network} failed:\n{done.stderr}")
        self.settings = load_settings(self.config, environ=self.env)

    def start(self) -> None:
        assert self.settings is not None
        for service in ("directory", "federation"):
            out = open(self.folder / f"{service}.log", "wb")  # noqa: SIM115
            self.procs[service] = subprocess.Popen(
                [PYTHON, "-m", "services.cli", "serve", service, "--config", str(self.config)],
                env=self.env,
                cwd=CODE,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def ports(self) -> list[int]:
        assert self.settings is not None
        s = self.settings
        return [s.directory.port, s.federation.port, s.federation.peer_port]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)

    @property
    def admin(self) -> tuple[tuple[str, str], ...]:
        return Caller("admin", self.network, "bench-admin").metadata()

    @property
    def editor(self) -> tuple[tuple[str, str], ...]:
        return Caller("editor", self.network, "bench-editor").metadata()

    def open(self) -> None:
        assert self.settings is not None
        # as one of the node's processes: with its internal credential, the caller counts
        own = InternalCredential(self.settings.data_dir)
        d = open_channel(
            f"{HOST}:{self.settings.directory.port}",
            timeouts={"WatchChanges": None},
            credential=own,
        )
        f = open_channel(f"{HOST}:{self.settings.federation.port}", credential=own)
        self.channels = [d, f]
        self.dir = directory_pb2_grpc.DirectoryServiceStub(d)
        # the directory's change log and replicas (justnet.common.v1.ReplicaFeed)
        self.feed = exchange_pb2_grpc.ReplicaFeedStub(d)
        self.fed = federation_pb2_grpc.FederationServiceStub(f)

    def descriptor(self) -> federation_pb2.NodeDescriptor:
        from services.federation import service as federation

        assert self.settings is not None
        return federation.descriptor(self.settings, load_identity(self.settings))

    def usage(self) -> dict[str, Any]:
        return {
            svc: {**memory_kb(p.pid), "cpu_s": round(cpu_seconds(p.pid), 2)}
            for svc, p in self.procs.items()
        }


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            return True
    except OSError:
        return False


def wait_ready(nodes: list[Node]) -> None:
    deadline = time.monotonic() + READY_WITHIN
    for node in nodes:
        for port in node.ports():
            while not port_open(port):
                for svc, proc in node.procs.items():
                    if proc.poll() is not None:
                        raise RuntimeError(f"{node.network} {svc} exited; see {node.folder}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{node.network}: port {port} not open in time")
                time.sleep(0.1)


async def load_directory(node: Node, contact_points: int) -> dict[str, int]:
    """Imports the synthetic directory into `node` offline, before it starts."""
    from services.directory import files
    from services.directory import service as directory

    assert node.settings is not None
    path = node.folder / "directory.json"
    stats = dataset.write(path, contact_points)
    parsed = files.parse(path)
    offline = await directory.open_offline(node.settings)
    try:
        result = await offline.logic.import_directory(
            directory_pb2.ImportDirectoryRequest(rows=parsed.rows),
            Caller("editor", node.network, "bench-import"),
        )
        if result.errors:
            raise RuntimeError(f"import: {result.errors[:3]}")
        stats["last_seq"] = await offline.logic.store.max_seq()
    finally:
        await offline.close()
    return stats


async def add_peer(a: Node, b: Node) -> None:
    """`a` trusts `b`."""
    await a.fed.AddPeer(
        federation_pb2.AddPeerRequest(descriptor=b.descriptor(), share="default"),
        metadata=a.admin,
        timeout=10.0,
    )


async def cursor_of(node: Node, origin: str) -> exchange_pb2.FeedCursor:
    reply: exchange_pb2.FeedCursor = await node.feed.GetReplicationCursor(
        exchange_pb2.FeedCursorRequest(origin=origin), metadata=node.admin, timeout=10.0
    )
    return reply


async def wait_cursor(node: Node, origin: str, target: int, within: float) -> float:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if (await cursor_of(node, origin)).cursor >= target:
            return time.monotonic()
        # Each poll costs the directory a few COUNT queries: 50 ms keeps that small.
        await asyncio.sleep(POLL)
    raise RuntimeError(f"{node.network} did not reach cursor {target} of {origin} in time")


async def initial_sync(origin: Node, dest: Node, last_seq: int) -> dict[str, Any]:
    before = {n.network: n.usage() for n in (origin, dest)}
    await add_peer(origin, dest)
    started = time.monotonic()
    await add_peer(dest, origin)
    # The first record's arrival, then the last seq stored as the cursor.
    first = None
    deadline = started + SYNC_WITHIN
    while first is None and time.monotonic() < deadline:
        if (await cursor_of(dest, origin.network)).cursor > 0:
            first = time.monotonic()
            break
        await asyncio.sleep(POLL)
    done = await wait_cursor(dest, origin.network, last_seq, SYNC_WITHIN)
    after = {n.network: n.usage() for n in (origin, dest)}
    held = (await cursor_of(dest, origin.network)).records
    seconds = done - started
    cpu = {
        f"{net} {svc}": round(after[net][svc]["cpu_s"] - before[net][svc]["cpu_s"], 2)
        for net in after
        for svc in after[net]
    }
    return {
        "changes": last_seq,
        "replicas_held": held,
        "seconds": round(seconds, 3),
        "first_record_after_s": round((first or done) - started, 3),
        "records_per_second": round(last_seq / seconds, 1),
        "cpu_seconds": cpu,
        "memory_kb_after": {
            f"{net} {svc}": {k: v for k, v in after[net][svc].items() if k != "cpu_s"}
            for net in after
            for svc in after[net]
        },
    }


class Arrivals:
    """Follows one node's change feed; remembers when each (record, version) arrived."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.seen: dict[tuple[str, int], float] = {}
        self.event = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.node_seq = 0

    async def _run(self) -> None:
        stream = self.node.feed.WatchChanges(
            exchange_pb2.FeedWatchRequest(since_seq=self.node_seq, follow=True, local_only=False),
            metadata=self.node.admin,
            timeout=None,
        )
        try:
            await self._follow(stream)
        except Exception as exc:
            log(f"{self.node.network}: change feed ended: {exc}")
            raise

    async def _follow(self, stream: Any) -> None:
        async for change in stream:
            if change.origin != self.node.network:
                self.seen[(change.record_id, change.version)] = time.monotonic()
                self.event.set()


async def max_seq(node: Node) -> int:
    """The node's last change seq, read from its feed without following."""
    seq = 0
    stream = node.feed.WatchChanges(
        exchange_pb2.FeedWatchRequest(since_seq=0, follow=False), metadata=node.admin, timeout=120.0
    )
    async for change in stream:
        seq = change.seq
    return seq


async def propagation(nodes: list[Node], changes: int) -> dict[str, Any]:
    # Following starts first, so that every probe below is seen arriving.
    watchers = []
    for node in nodes:
        w = Arrivals(node)
        w.node_seq = await max_seq(node)
        w.task = asyncio.create_task(w._run())
        watchers.append(w)
    owned = {node.network: await create_probe(node) for node in nodes}
    for w in watchers:  # each probe must have reached every other node before measuring
        for other in nodes:
            if other is not w.node:
                await wait_for_probe(w, other, owned[other.network])
    samples: list[float] = []
    per_pair: dict[str, list[float]] = {}
    missing = 0
    rng = random.Random(7)
    before = {n.network: n.usage() for n in nodes}
    for i in range(changes):
        node = nodes[i % len(nodes)]
        started = time.monotonic()
        owned[node.network] = record = await edit_probe(node, owned[node.network], i)
        key = (record.meta.id, record.meta.version)
        others = [w for w in watchers if w.node is not node]
        await wait_seen(others, key, started + CHANGE_WITHIN)
        for w in others:
            if key in w.seen:
                delay = w.seen[key] - started
                samples.append(delay)
                per_pair.setdefault(f"{node.network}->{w.node.network}", []).append(delay)
            else:
                missing += 1
        # A pause, so that changes are single-record changes rather than one burst.
        await asyncio.sleep(rng.uniform(0.02, 0.08))
    after = {n.network: n.usage() for n in nodes}
    for w in watchers:
        if w.task is not None:
            w.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await w.task
    return {
        "changes": changes,
        "cpu_ms_per_change_all_nodes": cpu_ms_per_change(before, after, changes),
        "deliveries": len(samples),
        "missing_within_10s": missing,
        "all": percentiles(samples),
        "per_origin": {
            origin.network: percentiles(
                [x for pair, xs in per_pair.items() if pair.startswith(origin.network) for x in xs]
            )
            for origin in nodes
        },
    }


async def create_probe(node: Node) -> directory_pb2.Authority:
    """The authority each node renames, one change at a time."""
    jurisdiction = node.settings.jurisdictions[0] if node.settings else "TH"
    created: directory_pb2.Authority = await node.dir.CreateAuthority(
        directory_pb2.CreateAuthorityRequest(
            authority=directory_pb2.Authority(
                jurisdiction=jurisdiction,
                name=f"Propagation probe of {node.network}",
                kind="central_authority",
                competences=["mla"],
                accepted_languages=["en"],
                visibility="federation",
            )
        ),
        metadata=node.editor,
        timeout=10.0,
    )
    return created


async def wait_for_probe(w: Arrivals, other: Node, probe: directory_pb2.Authority) -> None:
    key = (probe.meta.id, probe.meta.version)
    deadline = time.monotonic() + 20
    while key not in w.seen:
        if time.monotonic() > deadline:
            # The create may have landed before the watcher started.
            got = await w.node.dir.GetAuthority(
                directory_pb2.GetRecordRequest(id=key[0]), metadata=w.node.admin, timeout=5
            )
            if got.meta.version >= key[1]:
                return
            raise RuntimeError(f"probe of {other.network} never reached {w.node.network}")
        await asyncio.sleep(0.05)


async def edit_probe(
    node: Node, record: directory_pb2.Authority, i: int
) -> directory_pb2.Authority:
    edit = directory_pb2.Authority()
    edit.CopyFrom(record)
    edit.name = f"Propagation probe of {node.network}, edit {i}"
    updated: directory_pb2.Authority = await node.dir.UpdateAuthority(
        directory_pb2.UpdateAuthorityRequest(authority=edit, expected_version=record.meta.version),
        metadata=node.editor,
        timeout=10.0,
    )
    return updated


async def wait_seen(others: list[Arrivals], key: tuple[str, int], deadline: float) -> None:
    """Until every other node's feed shows `key`, or the deadline (the missing are counted)."""
    while not all(key in w.seen for w in others) and time.monotonic() < deadline:
        for w in others:
            w.event.clear()
        await asyncio.wait(
            [asyncio.create_task(w.event.wait()) for w in others],
            timeout=0.05,
            return_when=asyncio.FIRST_COMPLETED,
        )


def cpu_ms_per_change(
    before: dict[str, Any], after: dict[str, Any], changes: int
) -> dict[str, float]:
    """CPU per change, summed over the nodes, per kind of process (each change is made on
    one node and applied on all the others; the pauses between changes cost ~0)."""
    return {
        svc: round(
            sum(after[n][svc]["cpu_s"] - before[n][svc]["cpu_s"] for n in after) / changes * 1000,
            2,
        )
        for svc in ("directory", "federation")
    }


def profile(node: Node, seconds: float, out_dir: Path) -> list[subprocess.Popen[bytes]]:
    spy = PY_SPY
    procs = []
    for svc, proc in node.procs.items():
        out = out_dir / f"profile-sync-{node.network}-{svc}.txt"
        procs.append(
            subprocess.Popen(
                [
                    str(spy),
                    "record",
                    "--pid",
                    str(proc.pid),
                    "--duration",
                    str(int(seconds)),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return procs


async def run(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    env = clean_env()
    nodes = [
        Node(n, tmp / n, {**env, **databases.database_env(args.database_url_template, n)})
        for n in NETWORKS[: args.nodes]
    ]
    started = time.monotonic()
    for node in nodes:
        node.init()
    log(f"{len(nodes)} nodes created in {time.monotonic() - started:.1f} s")
    started = time.monotonic()
    data = await load_directory(nodes[0], args.contact_points)
    log(f"imported {data} into {nodes[0].network} in {time.monotonic() - started:.1f} s")
    try:
        for node in nodes:
            node.start()
        wait_ready(nodes)
        for node in nodes:
            node.open()
        log("all processes up")
        await asyncio.sleep(1.0)  # let the directories load their indexes
        origin, dest = nodes[0], nodes[1]
        spies = []
        if args.profile:
            spies = profile(origin, args.profile_seconds, args.out.parent) + profile(
                dest, args.profile_seconds, args.out.parent
            )
            await asyncio.sleep(1.0)
        sync = await initial_sync(origin, dest, data["last_seq"])
        for spy in spies:
            spy.wait(args.profile_seconds + 30)
        log(f"initial sync: {json.dumps(sync)}")
        result: dict[str, Any] = {"dataset": data, "initial_sync": sync}
        if len(nodes) > 2 and args.changes:
            started = time.monotonic()
            for i, a in enumerate(nodes):
                for b in nodes[i + 1 :]:
                    if (a, b) == (origin, dest):
                        continue
                    await add_peer(a, b)
                    await add_peer(b, a)
            for node in nodes[1:]:
                await wait_cursor(node, origin.network, data["last_seq"], SYNC_WITHIN)
            mesh = time.monotonic() - started
            log(f"full mesh of {len(nodes)} caught up in {mesh:.1f} s")
            result["mesh_catch_up_s"] = round(mesh, 2)
            result["propagation"] = await propagation(nodes, args.changes)
            log(f"propagation: {json.dumps(result['propagation']['all'])}")
        result["memory_kb_end"] = {n.network: n.usage() for n in nodes}
        return result
    finally:
        for node in nodes:
            for ch in node.channels:
                with contextlib.suppress(Exception):
                    await ch.close()
        for node in nodes:
            node.stop()


def main() -> int:
    global PY_SPY, POLL, CODE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=5, choices=range(2, 6))
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--contact-points", type=int, default=dataset.CONTACT_POINTS)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/replication.json")
    parser.add_argument(
        "--database-url-template",
        default="",
        help="the nodes' databases, e.g. postgresql+asyncpg://...:PORT/{network}_{service} "
        "(they must exist and be empty; see benchmarks/databases.py); default SQLite files",
    )
    parser.add_argument(
        "--poll", type=float, default=POLL, help="seconds between the initial sync's polls"
    )
    parser.add_argument("--keep", action="store_true", help="keep the nodes' folder")
    parser.add_argument("--profile", action="store_true", help="py-spy the initial sync")
    parser.add_argument("--profile-seconds", type=float, default=10.0)
    parser.add_argument("--py-spy", default=str(ROOT / ".venv" / "bin" / "py-spy"))
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="run the nodes from this checkout (e.g. a worktree of the commit to compare "
        "with); the benchmark itself and the offline import stay this tree's",
    )
    args = parser.parse_args()
    # SIGTERM (as from a timeout) unwinds like Ctrl-C, so the nodes are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    PY_SPY = args.py_spy
    CODE = args.code.resolve()
    POLL = args.poll
    args.out.parent.mkdir(parents=True, exist_ok=True)
    LOAD_AT_START[:] = Path("/proc/loadavg").read_text().split()[:3]
    tmp = Path(tempfile.mkdtemp(prefix="justnet-repl-bench-"))
    try:
        result = asyncio.run(run(args, tmp))
    finally:
        if args.keep:
            log(f"kept {tmp}")
        else:
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
    result["database"] = args.database_url_template.split("://")[0] or "sqlite (files)"
    result["machine"] = {
        "nproc": os.cpu_count(),
        "loadavg_at_start": LOAD_AT_START,
        "python": sys.version.split()[0],
        "loadavg_at_end": Path("/proc/loadavg").read_text().split()[:3],
    }
    result["commit"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=CODE, capture_output=True, text=True
    ).stdout.strip()
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
