"""What a node costs by process layout and by tracing, measured in one run, alternating.

    .venv/bin/python benchmarks/node_cost/run.py [--rounds 3] [--duration 8]
        [--variants each,one,one_trace_all,one_trace_off,one_head_only]
        [--out benchmarks/results/node_cost.json]

1. Creates one throwaway SEAJUST node (`justnet init`) and imports the lookup benchmark's
   10,000 contact points (lookup/dataset.py, fixed seed).
2. For each round, starts the node once per variant (the order reversed every other
   round, so a slow stretch of the shared machine does not fall on one variant):
   `justnet up --processes one|each` with the variant's telemetry settings. Records the
   seconds from starting `justnet up` to `GET /api/v1/health` = 200, the RSS of every
   process (`justnet up`, which hosts the node itself with `one`, and the processes it
   starts with `each`) after 10 s of idling, then the
   lookup benchmark's two loads at 64 connections (the 8 rotated queries, answered from the
   gateway's memory; and the 7,200 cache-cold ones, which reach the directory), with the
   lookup benchmark's warm-up, quiet-machine wait and retries, then the RSS again, and
   stops the node with SIGTERM (seconds until `justnet up` exited).
3. Writes the JSON and prints Markdown tables: per variant, the median and the range over
   the rounds.

Variants: `each` and `one` run the default telemetry (the node's sampler at its default
ratio; services/common/sampling.py); `one_trace_all` samples every trace
(JUSTNET_TELEMETRY_SAMPLE_RATIO=1); `one_trace_off` records no span
(OTEL_TRACES_SAMPLER=always_off); `one_head_only` is plain head sampling at the default
ratio without keeping errors (OTEL_TRACES_SAMPLER=parentbased_traceidratio), so the
unsampled traces are not recorded at all. No exporter in any variant (OTEL_* variables
removed, as in the lookup benchmark).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent / "lookup"))

import dataset  # noqa: E402
import run as lookup  # noqa: E402

DEFAULT_RATIO = "0.1"  # services/common/settings.py DEFAULT_SAMPLE_RATIO, as the node reads it
IDLE_SECONDS = 10.0
CONNECTIONS = 64
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "each": ("each", {}),
    "one": ("one", {}),
    "one_trace_all": ("one", {"JUSTNET_TELEMETRY_SAMPLE_RATIO": "1"}),
    "one_trace_off": ("one", {"OTEL_TRACES_SAMPLER": "always_off"}),
    "one_head_only": (
        "one",
        {
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": DEFAULT_RATIO,
        },
    ),
}


def node_pids(up_pid: int) -> dict[str, int]:
    """`justnet up` and the `justnet serve` processes it started, by name."""
    return {"up": up_pid, **lookup.children_of(up_pid)}


def rss_mib(pids: dict[str, int]) -> dict[str, float]:
    return {n: round(lookup.memory_kb(p).get("VmRSS", 0) / 1024, 1) for n, p in pids.items()}


def start_node(
    procs: lookup.Processes, cli: list[str], config: Path, name: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], float]:
    processes, extra = VARIANTS[name]
    started = time.monotonic()
    up = procs.start(
        f"up-{name}", [*cli, "up", "--processes", processes, "--config", str(config)],
        {**env, **extra},
    )  # fmt: skip
    url = f"http://{lookup.HOST}:{lookup_port(config)}/api/v1/health"
    lookup.wait_until(lambda: lookup.http_get(url, 2.0)[0] == 200, "justnet up", up, 120)
    return up, time.monotonic() - started


def lookup_port(config: Path) -> int:
    port: int = tomllib.loads(config.read_text(encoding="utf-8"))["gateway"]["port"]
    return port


def stop_node(procs: lookup.Processes, up: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    up.send_signal(signal.SIGTERM)
    try:
        up.wait(60)
    except subprocess.TimeoutExpired:
        up.kill()
        up.wait(10)
        raise RuntimeError("justnet up did not stop within 60 s of SIGTERM") from None
    finally:
        procs.started = [(n, p) for n, p in procs.started if p is not up]
    if up.returncode != 0:
        raise RuntimeError(f"justnet up exited with status {up.returncode}")
    return time.monotonic() - started


def measure_variant(
    args: argparse.Namespace,
    procs: lookup.Processes,
    cli: list[str],
    config: Path,
    name: str,
    env: dict[str, str],
    loads: dict[str, tuple[str, list[str]]],
) -> dict[str, Any]:
    lookup.log(f"== {name}: starting")
    up, start_s = start_node(procs, cli, config, name, env)
    try:
        pids = node_pids(up.pid)
        time.sleep(IDLE_SECONDS)
        idle = rss_mib(pids)
        # With `one`, `justnet up` is the node; with `each`, its five children are.
        served = {n: p for n, p in pids.items() if n != "up"} or {"node": up.pid}
        points = {}
        for target, (url, wrk_args) in loads.items():
            r = lookup.measure_point(args, target, CONNECTIONS, url, wrk_args, served)
            points[target] = {
                "requests_per_s": r["requests_per_s"],
                "p50_ms": r["latency_ms"]["p50"],
                "p99_ms": r["latency_ms"]["p99"],
                "non_2xx": r["non_2xx"],
                "socket_errors": r["socket_errors"],
                "process_cpu_percent": r["process_cpu_percent"],
                "other_cpu_percent": r["other_cpu_percent"],
            }
        loaded = rss_mib(pids)
    finally:
        stop_s = stop_node(procs, up)
    lookup.log(
        f"   start {start_s:.2f} s, idle RSS {sum(idle.values()):.0f} MiB, "
        + ", ".join(f"{t} {p['requests_per_s']:.0f}/s" for t, p in points.items())
    )
    return {
        "variant": name,
        "start_to_healthy_s": round(start_s, 2),
        "stop_s": round(stop_s, 2),
        "rss_idle_mib": idle,
        "rss_idle_total_mib": round(sum(idle.values()), 1),
        "rss_after_load_mib": loaded,
        "rss_after_load_total_mib": round(sum(loaded.values()), 1),
        "points": points,
    }


def cpu_ms_per_request(point: dict[str, Any]) -> float:
    """The node's CPU per answered request: steadier than req/s on a shared machine, where
    other work takes cores away from the node but not CPU time from each request."""
    node = sum(v or 0.0 for n, v in point["process_cpu_percent"].items() if n != "wrk")
    return float(10 * node / max(1.0, point["requests_per_s"]))


def summary(runs: list[dict[str, Any]], names: list[str]) -> str:
    def cell(values: list[float], digits: int = 0) -> str:
        med = statistics.median(values)
        return f"{med:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"

    lines = [
        "| variant | start to healthy s | idle RSS MiB, all processes | `justnet up` process "
        "| lookup req/s | p99 ms | CPU ms/req | cache-cold req/s | p99 ms | CPU ms/req "
        "| RSS after load MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        mine = [r for r in runs if r["variant"] == name]
        if not mine:
            continue
        pts = {t: [r["points"][t] for r in mine] for t in mine[0]["points"]}
        loads = " ".join(
            f"| {cell([p['requests_per_s'] for p in pts[t]])} "
            f"| {cell([p['p99_ms'] for p in pts[t]], 1)} "
            f"| {cell([cpu_ms_per_request(p) for p in pts[t]], 2)}"
            for t in ("lookup", "lookup_cold")
        )
        lines.append(
            f"| {name} | {cell([r['start_to_healthy_s'] for r in mine], 2)} "
            f"| {cell([r['rss_idle_total_mib'] for r in mine])} "
            f"| {cell([r['rss_idle_mib']['up'] for r in mine])} "
            f"{loads} | {cell([r['rss_after_load_total_mib'] for r in mine])} |"
        )
    return "\n".join(lines)


PEERS_TIMEOUT = 120.0


def measure_demo(
    cli: list[str], env: dict[str, str], work: Path, base: int, processes: str
) -> dict[str, Any]:
    """`justnet demo --processes P` of the five networks: seconds until its ready line (every
    node healthy), then the RSS of its whole process tree after idling. The nodes are made
    by a first run, not timed; later runs reuse them, as a user's second `justnet demo`."""
    data_dir = work / "demo"
    started = time.monotonic()
    demo = subprocess.Popen(
        [*cli, "demo", "--json", "--processes", processes, "--base-port", str(base),
         "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE, stderr=(work / "demo.log").open("ab"), env=env,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert demo.stdout is not None
        line = demo.stdout.readline()
        if not line:
            tail = (work / "demo.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"justnet demo --processes {processes} ended early:\n{tail}")
        ready_s = time.monotonic() - started
        connected_s = seconds_until_all_peers_connected(json.loads(line)["nodes"])
        time.sleep(IDLE_SECONDS)
        pids = [demo.pid, *lookup_all_children(demo.pid)]
        rss = sum(lookup.memory_kb(p).get("VmRSS", 0) for p in pids) / 1024
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(90)
    lookup.log(
        f"   demo {processes}: ready {ready_s:.1f} s, every peer connected {connected_s:.1f} s "
        f"later, RSS {rss:.0f} MiB, {len(pids)} processes"
    )
    return {"processes": processes, "ready_s": round(ready_s, 2), "rss_mib": round(rss, 1),
            "connected_after_ready_s": round(connected_s, 2),
            "process_count": len(pids)}  # fmt: skip


def seconds_until_all_peers_connected(demo_nodes: list[dict[str, Any]]) -> float:
    """From the demo's ready line (every node healthy) until every node's `GET /api/v1/node`
    shows each of its peers `connected`, read every 0.1 s (at most PEERS_TIMEOUT s)."""
    started = time.monotonic()
    waiting = {n["gateway_url"]: n["admin_token"] for n in demo_nodes}
    while waiting and time.monotonic() - started < PEERS_TIMEOUT:
        for url, token in list(waiting.items()):
            request = urllib.request.Request(
                f"{url}/api/v1/node", headers={"Authorization": f"Bearer {token}"}
            )
            with contextlib.suppress(OSError, ValueError):
                with urllib.request.urlopen(request, timeout=5) as answer:
                    peers = json.loads(answer.read())["peers"]
                if len(peers) == len(demo_nodes) - 1 and all(
                    p["state"] == "connected" for p in peers
                ):
                    del waiting[url]
        time.sleep(0.1)
    if waiting:
        raise RuntimeError(f"peers not all connected after {PEERS_TIMEOUT} s: {sorted(waiting)}")
    return time.monotonic() - started


def lookup_all_children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        fields = lookup.proc_stat(entry.name) if entry.name.isdigit() else None
        if fields is not None and int(fields[1]) == parent:
            found.append(int(entry.name))
    return found


def demo_summary(demos: list[dict[str, Any]]) -> str:
    lines = [
        "| `justnet demo` (5 networks) | ready s | every peer connected, s after ready "
        "| RSS MiB, all processes | processes |",
        "|---|---:|---:|---:|---:|",
    ]
    for processes in ("each", "one"):
        mine = [d for d in demos if d["processes"] == processes]
        if mine:
            ready = ", ".join(f"{d['ready_s']:.1f}" for d in mine)
            rss = ", ".join(f"{d['rss_mib']:.0f}" for d in mine)
            connected = ", ".join(f"{d.get('connected_after_ready_s', 0):.1f}" for d in mine)
            lines.append(
                f"| {processes} | {ready} | {connected} | {rss} | {mine[0]['process_count']} |"
            )
    return "\n".join(lines)


def prepare_loads(
    work: Path, cli: list[str], env: dict[str, str], contact_points: int
) -> tuple[Path, dict[str, tuple[str, list[str]]]]:
    """The node's configuration and the two lookup loads (URL, wrk arguments)."""
    config = prepare(work, cli, env, contact_points)
    gateway = f"http://{lookup.HOST}:{lookup_port(config)}"
    cold_file = work / "cold-paths.txt"
    cold_file.write_text("\n".join(lookup.cold_paths()) + "\n", encoding="utf-8")
    loads = {
        "lookup": (gateway, list(lookup.LOOKUP_PATHS)),
        "lookup_cold": (gateway, ["stride=2", f"@{cold_file}"]),
    }
    return config, loads


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured point")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/node_cost.json")
    parser.add_argument("--contact-points", type=int, default=dataset.CONTACT_POINTS)
    parser.add_argument("--quiet-percent", type=float, default=25.0)
    parser.add_argument("--quiet-wait", type=float, default=20.0)
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument(
        "--demo-rounds", type=int, default=0, help="also time `justnet demo` both ways"
    )
    parser.add_argument(
        "--table-from", type=Path, default=None, help="only print the tables of a results JSON"
    )
    args = parser.parse_args()
    unknown = set(args.variants.split(",")) - set(VARIANTS)
    if unknown:
        parser.error(f"--variants: unknown {sorted(unknown)}; known: {', '.join(VARIANTS)}")
    return args


def prepare(work: Path, cli: list[str], env: dict[str, str], contact_points: int) -> Path:
    base = lookup.free_port_block(6)
    node_dir = work / "node"
    lookup.run_cli(
        [*cli, "init", "--network", lookup.NETWORK, "--data-dir", str(node_dir),
         "--base-port", str(base), "--host", lookup.HOST],
        env, "justnet init",
    )  # fmt: skip
    config = node_dir / "justnet.toml"
    data_file = work / "directory.json"
    dataset.write(data_file, contact_points)
    lookup.log(f"importing {contact_points} contact points")
    lookup.run_cli([*cli, "import", str(data_file), "--config", str(config)], env, "import")
    return config


def main() -> int:
    args = parse_args()
    if args.table_from is not None:
        report = json.loads(args.table_from.read_text(encoding="utf-8"))
        print(summary(report["runs"], list(report["variants"])))
        print(demo_summary(report.get("demos", [])))
        return 0
    if shutil.which("wrk") is None:
        print("run.py: wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    justnet = Path(sys.executable).parent / "justnet"
    cli = [str(justnet)] if justnet.exists() else [sys.executable, "-m", "services.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "JUSTNET_"))}
    env["PYTHONUNBUFFERED"] = "1"
    names = args.variants.split(",")
    work = Path(tempfile.mkdtemp(prefix="justnet-node-cost-"))
    procs = lookup.Processes(work)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    runs: list[dict[str, Any]] = []
    try:
        demos = []
        if args.demo_rounds > 0:
            base = lookup.free_port_block(46)
            measure_demo(cli, env, work, base, "one")  # makes the five nodes
            demos = [
                measure_demo(cli, env, work, base, processes)
                for round_no in range(args.demo_rounds)
                for processes in (("each", "one") if round_no % 2 == 0 else ("one", "each"))
            ]
        if args.rounds > 0:
            config, loads = prepare_loads(work, cli, env, args.contact_points)
        for round_no in range(args.rounds):
            order = names if round_no % 2 == 0 else list(reversed(names))
            for name in order:
                run = measure_variant(args, procs, cli, config, name, env, loads)
                runs.append({**run, "round": round_no + 1})
        report = {
            "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": lookup.machine(ROOT),
            "settings": {"duration_s": args.duration, "connections": CONNECTIONS,
                         "idle_s": IDLE_SECONDS, "rounds": args.rounds},
            "variants": {n: {"processes": VARIANTS[n][0], "env": VARIANTS[n][1]} for n in names},
            "runs": runs,
            "demos": demos,
        }  # fmt: skip
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(summary(runs, names))
        print(demo_summary(demos))
        lookup.log(f"results: {args.out}")
        return 0
    except Exception as exc:
        lookup.log(f"benchmark failed: {exc}")
        for name, _ in procs.started:
            print(f"--- {name} ---\n{procs.tail(name)}", file=sys.stderr)
        return 1
    finally:
        procs.stop_all({})
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
