"""Benchmark of the requests service: route planning and request delivery between two
real nodes (every service its own process, federation over mutual TLS).

    .venv/bin/python benchmarks/requests/run.py [--plans 300] [--requests 200]
        [--serial 30] [--concurrency 16] [--profile] [--out benchmarks/results/requests.json]

1. `justnet demo --nodes SEAJUST,WACAP --json` in a temporary folder: two nodes with their
   sample data, ten service processes, peered over mutual TLS. Waits until SEAJUST plans
   TH->NG to WACAP (WACAP's shared records replicated to SEAJUST).
2. PlanRoute TH->NG (urgent, two measures, Thai): --plans sequential calls over gRPC to
   SEAJUST's requests service, then through its gateway (`POST /api/v1/routes`); p50/p99
   after 20 warm-up calls.
3. Delivery latency, unloaded: --serial drafts submitted one at a time; each is timed from
   the Submit call until the sender's database shows it `delivered` with a verified receipt
   (what `GET /api/v1/requests/{id}` shows; read from SEAJUST's requests database every
   5 ms, so the benchmark itself puts no load on the services).
4. Delivery throughput: --requests drafts submitted --concurrency at a time; delivered
   requests per second from the first Submit to the last verified receipt, and the same
   submit -> delivered latency per request. `stages` splits that latency by the
   timestamps the databases keep (p50 per message): Submit -> handed to federation
   (requests outbox `created_at` -> federation outbox `created_at`), -> received by the
   peer (WACAP's inbox `received_at`), -> receipt recorded (`settled_at`), -> the sender's
   requests database shows it delivered (the rest of the measured latency).
5. RSS and peak RSS of every process. With --profile, py-spy samples the requests and
   federation processes of both nodes during step 4 (results/requests-profile-*.txt).
   With --cprofile (no py-spy needed), cProfile runs in the main thread of those four
   processes during step 4 only (cprofile/sitecustomize.py, switched by signals); the top
   functions by cumulative and own time go into the result.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from justnet.requests.v1 import requests_pb2, requests_pb2_grpc  # noqa: E402

from services.common.clients import open_channel  # noqa: E402
from services.common.identity import Caller  # noqa: E402
from services.common.internal import InternalCredential  # noqa: E402
from services.common.settings import load_settings  # noqa: E402

NETWORKS = ("SEAJUST", "WACAP")
ROUTE = {
    "requesting_jurisdiction": "TH",
    "requested_jurisdiction": "NG",
    "measures": ["banking_records", "witness_statement"],
    "urgency": "urgent",
    "language": "th",
}
READY_TIMEOUT = 240.0
POLL = 0.005


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
    }


def free_port_block(size: int) -> int:
    rng = random.Random()
    for _ in range(200):
        start = rng.randrange(20000, 60000 - size)
        sockets = []
        try:
            for port in range(start, start + size):
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return start
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no block of free loopback ports")


def node_processes(demo_pid: int, data_dir: Path) -> dict[str, int]:
    """'NETWORK/service' -> pid of the demo's `serve` children."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[1]) != demo_pid:
                continue
            argv = [a.decode() for a in (entry / "cmdline").read_bytes().split(b"\0")]
            if "serve" not in argv:
                continue
            service = argv[argv.index("serve") + 1]
            config = argv[argv.index("--config") + 1]
            network = Path(config).relative_to(data_dir.resolve()).parts[0]
            found[f"{network}/{service}"] = int(entry.name)
    return found


def cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """'NETWORK/service' -> user + system CPU seconds the process has used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for name, pid in pids.items():
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            out[name] = (int(fields[11]) + int(fields[12])) / tick
    return out


def memory_mib(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[{"VmRSS": "rss", "VmHWM": "peak"}[key]] = round(int(value.split()[0]) / 1024)
    return out


class Demo:
    """`justnet demo` for the two networks, stopped with SIGTERM (then killed)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.base = free_port_block(20)
        self.log_path = ROOT / "benchmarks/results/requests-demo.log"  # kept for reading
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, cprofile_dir: Path | None = None) -> dict[str, Any]:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
        if cprofile_dir is not None:
            hook = str(Path(__file__).parent / "cprofile")
            env["PYTHONPATH"] = os.pathsep.join([hook, env.get("PYTHONPATH", "")])
            env["BENCH_CPROFILE_DIR"] = str(cprofile_dir)
        out = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "services.cli", "demo", "--nodes", ",".join(NETWORKS)),
                *("--base-port", str(self.base), "--data-dir", str(self.data_dir), "--json"),
                # a process per service: the CPU per delivered request is counted per service
                *("--processes", "each"),
            ],
            stdout=subprocess.PIPE,
            stderr=out,
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        out.close()
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"justnet demo did not start; see {self.log_path}")
        return {n["network"]: n for n in json.loads(line)["nodes"]}

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            log("justnet demo did not stop in 20 s; killing it")
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)


class DeliveredWatch:
    """Reads the sender's requests database (read-only, WAL) for delivered messages."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def delivered(self, message_ids: set[str]) -> set[str]:
        rows = self.db.execute(
            "SELECT message_id FROM requests_outbox WHERE state = 'delivered' "
            "AND receipt_verified AND length(receipt) > 0"
        ).fetchall()
        return {r[0] for r in rows} & message_ids

    async def wait_all(
        self, started: dict[str, float], expected: int, within: float
    ) -> dict[str, float]:
        """message id -> seconds from its Submit to the first read showing it delivered.
        `started` fills while the submits run; returns once `expected` are delivered."""
        done: dict[str, float] = {}
        deadline = time.monotonic() + within
        while len(done) < expected:
            if time.monotonic() > deadline:
                missing = expected - len(done)
                raise RuntimeError(f"{missing} requests not delivered within {within} s")
            await asyncio.sleep(POLL)
            now = time.perf_counter()
            for mid in self.delivered(set(started) - set(done)):
                done[mid] = now - started[mid]
        return done


def _times(db: Path, query: str) -> dict[str, float]:
    """message id -> a timestamp column as seconds (UTC, as the services store it)."""
    from datetime import UTC, datetime

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out = {}
        for mid, at in con.execute(query).fetchall():
            if at:
                out[mid] = datetime.fromisoformat(at).replace(tzinfo=UTC).timestamp()
        return out
    finally:
        con.close()


def stages(data_dir: Path, latencies: dict[str, float]) -> dict[str, float]:
    """p50 per stage (ms) of the burst's messages, from the databases' timestamps."""
    sea, wac = data_dir / "SEAJUST", data_dir / "WACAP"
    submitted = _times(sea / "requests.db", "SELECT message_id, created_at FROM requests_outbox")
    fed = sea / "federation.db"
    handed = _times(fed, "SELECT message_id, created_at FROM federation_outbox")
    settled = _times(fed, "SELECT message_id, settled_at FROM federation_outbox")
    received = _times(wac / "federation.db", "SELECT message_id, received_at FROM federation_inbox")
    parts: dict[str, list[float]] = collections.defaultdict(list)
    for mid, total in latencies.items():
        if not all(mid in d for d in (submitted, handed, received, settled)):
            continue
        parts["submit_to_handed"].append(handed[mid] - submitted[mid])
        parts["handed_to_received"].append(received[mid] - handed[mid])
        parts["received_to_settled"].append(settled[mid] - received[mid])
        parts["settled_to_shown"].append(total - (settled[mid] - submitted[mid]))
    return {k: round(statistics.median(v) * 1000, 1) for k, v in parts.items()}


async def wait_routable(session: aiohttp.ClientSession, url: str, token: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last: Any = None
    while time.monotonic() < deadline:
        async with session.post(
            f"{url}/api/v1/routes", json=ROUTE, headers={"Authorization": f"Bearer {token}"}
        ) as resp:
            last = await resp.json()
            if resp.status == 200 and last.get("destination_network") == "WACAP":
                codes = {w.get("code") for w in last.get("warnings", [])}
                if "no_peer" not in codes and last.get("central_authority"):
                    return
        await asyncio.sleep(1.0)
    raise RuntimeError(f"SEAJUST never planned TH->NG to WACAP; last answer: {last}")


async def create_drafts(
    stub: requests_pb2_grpc.RequestsServiceStub, member: Any, n: int, tag: str
) -> list[str]:
    ids = []
    for i in range(n):
        draft = await stub.CreateRequest(
            requests_pb2.CreateRequestRequest(
                request=requests_pb2.RequestInput(
                    **{k: v for k, v in ROUTE.items() if k != "urgency"},  # type: ignore[arg-type]
                    title=f"Benchmark request {tag} {i}",
                    summary="x" * 500,
                )
            ),
            metadata=member,
        )
        ids.append(draft.id)
    return ids


class Profiler:
    def __init__(self, pids: dict[str, int], out_dir: Path) -> None:
        self.pids = pids
        self.out_dir = out_dir
        self.procs: list[tuple[str, Path, subprocess.Popen[bytes]]] = []

    def start(self, seconds: int) -> None:
        spy = Path(sys.executable).parent / "py-spy"
        for name, pid in self.pids.items():
            if not name.endswith(("/requests", "/federation")):
                continue
            path = self.out_dir / f"requests-profile-{name.replace('/', '-')}.raw.txt"
            proc = subprocess.Popen(
                [
                    *(str(spy), "record", "--pid", str(pid), "--rate", "200", "--format", "raw"),
                    *("--duration", str(seconds), "--nonblocking", "--output", str(path)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.procs.append((name, path, proc))

    def finish(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, path, proc in self.procs:
            proc.wait(120)
            out[name] = summarise(path) if path.exists() else {"error": "py-spy wrote nothing"}
        return out


class CProfiler:
    """cProfile in the requests and federation processes, between start() and finish()."""

    def __init__(self, pids: dict[str, int], out_dir: Path) -> None:
        self.pids = {n: p for n, p in pids.items() if n.endswith(("/requests", "/federation"))}
        self.out_dir = out_dir

    def start(self) -> None:
        for pid in self.pids.values():
            os.kill(pid, signal.SIGUSR1)

    async def finish(self, top: int = 14) -> dict[str, Any]:
        import pstats

        for pid in self.pids.values():
            os.kill(pid, signal.SIGUSR2)
        await asyncio.sleep(2.0)
        out: dict[str, Any] = {}
        for name, pid in sorted(self.pids.items()):
            path = self.out_dir / f"{pid}.prof"
            if not path.exists():
                out[name] = {"error": "no profile written"}
                continue
            stats = pstats.Stats(str(path))
            rows = stats.stats  # type: ignore[attr-defined]
            total = max((ct for _, _, _, ct, _ in rows.values()), default=1.0)

            def label(fn: tuple[str, int, str]) -> str:
                return f"{Path(fn[0]).name}:{fn[1]}({fn[2]})"

            by_cum = sorted(rows.items(), key=lambda kv: -kv[1][3])[:top]
            by_own = sorted(rows.items(), key=lambda kv: -kv[1][2])[:top]
            out[name] = {
                "cumulative": [f"{v[3] / total:6.1%}  {label(k)}" for k, v in by_cum],
                "own": [f"{v[2] / total:6.1%}  {label(k)}" for k, v in by_own],
            }
        return out


def summarise(path: Path, top: int = 12) -> dict[str, Any]:
    self_counts: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        total += int(count)
        self_counts[frames[-1]] += int(count)
        for f in set(frames):
            incl[f] += int(count)

    def rows(c: collections.Counter[str]) -> list[str]:
        return [f"{k / max(1, total):6.1%}  {f}" for f, k in c.most_common(top)]

    return {"samples": total, "self": rows(self_counts), "inclusive": rows(incl)}


async def main(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="justnet-bench-req-") as tmp:
        data_dir = Path(tmp)
        demo = Demo(data_dir)
        try:
            log(f"starting justnet demo ({', '.join(NETWORKS)}) on ports {demo.base}+")
            nodes = demo.start(data_dir if args.cprofile else None)
            assert demo.proc is not None
            sea = nodes["SEAJUST"]
            settings = load_settings(data_dir / "SEAJUST" / "justnet.toml")
            async with aiohttp.ClientSession() as session:
                await wait_routable(session, sea["gateway_url"], sea["member_token"])
                log("SEAJUST routes TH->NG to WACAP; measuring")
                result = await measure(args, session, sea, settings, demo, data_dir)
            pids = node_processes(demo.proc.pid, data_dir)
            result["memory_mib"] = {name: memory_mib(pid) for name, pid in sorted(pids.items())}
            return result
        finally:
            demo.stop()


async def measure(
    args: argparse.Namespace,
    session: aiohttp.ClientSession,
    sea: dict[str, Any],
    settings: Any,
    demo: Demo,
    data_dir: Path,
) -> dict[str, Any]:
    # as one of the node's processes: with its internal credential, the caller counts
    channel = open_channel(
        settings.requests.target, credential=InternalCredential(settings.data_dir)
    )
    stub = requests_pb2_grpc.RequestsServiceStub(channel)
    member = Caller("member", "SEAJUST", "bench").metadata()
    result = await measure_planning(args, session, sea, stub, member)
    log("planning measured; delivery, one request at a time")
    watch = DeliveredWatch(data_dir / "SEAJUST" / "requests.db")
    serial: list[float] = []
    for rid in await create_drafts(stub, member, args.serial, "serial"):
        started = {f"{rid}:1": time.perf_counter()}
        await stub.Submit(requests_pb2.SubmitRequest(id=rid), metadata=member)
        serial += (await watch.wait_all(started, 1, 60)).values()
    result["delivery_one_at_a_time"] = percentiles(serial)
    log(f"delivery, {args.requests} requests {args.concurrency} at a time")
    ids = await create_drafts(stub, member, args.requests, "burst")
    assert demo.proc is not None
    pids = node_processes(demo.proc.pid, data_dir)
    profiler = Profiler(pids, ROOT / "benchmarks/results") if args.profile else None
    if profiler is not None:
        profiler.start(args.profile_seconds)
        await asyncio.sleep(1.0)  # py-spy attaches
    cprofiler = CProfiler(pids, data_dir) if args.cprofile else None
    if cprofiler is not None:
        cprofiler.start()
    burst = Burst(stub, member, watch, pids, data_dir)
    result["delivery_burst"] = await burst.measure(ids, args.concurrency)
    await channel.close()
    if profiler is not None:
        result["profile"] = profiler.finish()
    if cprofiler is not None:
        result["cprofile"] = await cprofiler.finish()
    return result


async def measure_planning(
    args: argparse.Namespace,
    session: aiohttp.ClientSession,
    sea: dict[str, Any],
    stub: requests_pb2_grpc.RequestsServiceStub,
    member: Any,
) -> dict[str, Any]:
    """PlanRoute over gRPC, then through the gateway; 20 warm-up calls each."""
    plan = requests_pb2.PlanRouteRequest(**ROUTE)  # type: ignore[arg-type]
    grpc_times: list[float] = []
    for i in range(args.plans + 20):
        t = time.perf_counter()
        await stub.PlanRoute(plan, metadata=member)
        if i >= 20:
            grpc_times.append(time.perf_counter() - t)
    http_times: list[float] = []
    headers = {"Authorization": f"Bearer {sea['member_token']}"}
    for i in range(args.plans + 20):
        t = time.perf_counter()
        async with session.post(
            f"{sea['gateway_url']}/api/v1/routes", json=ROUTE, headers=headers
        ) as resp:
            await resp.read()
            assert resp.status == 200, resp.status
        if i >= 20:
            http_times.append(time.perf_counter() - t)
    return {
        "plan_route_grpc": percentiles(grpc_times),
        "plan_route_gateway": percentiles(http_times),
    }


@dataclass
class Burst:
    stub: requests_pb2_grpc.RequestsServiceStub
    member: Any
    watch: DeliveredWatch
    pids: dict[str, int]
    data_dir: Path

    async def measure(self, ids: list[str], concurrency: int) -> dict[str, Any]:
        """The drafts `ids` submitted `concurrency` at a time, until every one is shown
        delivered; with the CPU the requests and federation processes spent on them."""
        sem = asyncio.Semaphore(concurrency)
        started: dict[str, float] = {}

        async def submit(rid: str) -> None:
            async with sem:
                started[f"{rid}:1"] = time.perf_counter()
                await self.stub.Submit(requests_pb2.SubmitRequest(id=rid), metadata=self.member)

        cpu_before = cpu_seconds(self.pids)
        begin = time.perf_counter()
        submits = asyncio.ensure_future(asyncio.gather(*(submit(r) for r in ids)))
        latencies = await self.watch.wait_all(started, len(ids), 600)
        elapsed = time.perf_counter() - begin
        cpu_after = cpu_seconds(self.pids)
        cpu_ms = {
            name: round((cpu_after[name] - cpu_before[name]) * 1000 / len(ids), 2)
            for name in sorted(cpu_after)
            if name in cpu_before and name.split("/")[1] in ("requests", "federation")
        }
        await submits
        return {
            "requests": len(ids),
            "concurrency": concurrency,
            "all_receipts_seconds": round(elapsed, 2),
            "delivered_per_second": round(len(ids) / elapsed, 1),
            "submit_to_delivered": percentiles(list(latencies.values())),
            "stages_p50_ms": stages(self.data_dir, latencies),
            # CPU milliseconds per delivered request, by process (the rest barely moves)
            "cpu_ms_per_request": cpu_ms,
            "cpu_ms_per_request_total": round(sum(cpu_ms.values()), 1),
        }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--plans", type=int, default=300)
    parser.add_argument("--serial", type=int, default=30)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-seconds", type=int, default=8)
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/requests.json")
    args = parser.parse_args()
    # SIGTERM (as from a timeout) unwinds like Ctrl-C, so the demo nodes are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = asyncio.run(main(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
