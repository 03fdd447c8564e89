"""Benchmark of the gateway's `GET /api/v1/lookup` beside two baselines, in one run.

    .venv/bin/python benchmarks/lookup/run.py [--duration 10] [--connections 16,64]
        [--out benchmarks/results/lookup.json] [--profile [--profile-targets lookup,...]]

1. Creates a throwaway SEAJUST node in a temporary folder (`justnet init`), imports
   10,000 contact points and their authorities (`justnet import`, see dataset.py) and
   starts it (`justnet up`).
2. Starts the baselines (baselines.py), each its own process: a bare aiohttp JSON
   endpoint, and an aiohttp endpoint making one empty grpc.aio call to a trivial
   grpc.aio server.
3. For each connection count, for each target: a short warm-up, then `wrk -t2 --latency`
   for --duration seconds with wrk.lua. `lookup` rotates 8 realistic queries (the
   baselines get the same URLs and ignore them); `lookup_cold` cycles through 7,200
   distinct ones, more than the directory's result cache holds. Records requests/s,
   p50/p99, errors, bytes per response and the CPU of each process, its main thread,
   wrk and the rest of the machine (a point disturbed by other work is measured again).
4. Records the RSS of every process, writes the JSON results and prints a Markdown table.
5. With --profile, one more 64-connection run per profile target with py-spy attached to
   the gateway and the directory; raw stacks and a summary go beside the results.

Everything listens on 127.0.0.1 and is stopped on exit, failure, Ctrl-C or SIGTERM.
See benchmarks/README.md for what the numbers mean.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import importlib.metadata
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(ROOT))

import dataset  # noqa: E402

from benchmarks import databases  # noqa: E402

HOST = "127.0.0.1"
# The checkout whose node is measured (--code changes it, e.g. to compare commits).
CODE = {"dir": ROOT}
NETWORK = "SEAJUST"
WARMUP_SECONDS = 2
START_TIMEOUT = 90.0
STOP_TIMEOUT = 20.0
# Realistic anonymous lookups: a requesting state looks for whom to address in one
# member state, by competence and working language, sometimes urgently.
LOOKUP_PATHS = (
    "/api/v1/lookup?jurisdiction=TH&competence=mla&language=en",
    "/api/v1/lookup?jurisdiction=VN&competence=extradition&language=vi",
    "/api/v1/lookup?jurisdiction=PH&competence=cybercrime&urgent=true",
    "/api/v1/lookup?jurisdiction=MY&competence=asset_recovery&language=ms",
    "/api/v1/lookup?jurisdiction=SG&competence=mla&language=en",
    "/api/v1/lookup?jurisdiction=KH&competence=trafficking&language=km",
    "/api/v1/lookup?jurisdiction=MM&competence=mla&language=my",
    "/api/v1/lookup?jurisdiction=ID&competence=mla&language=en",
)
# ID is not a SEAJUST member: a valid query that returns no items (as a user's would).
TARGETS = ("bare", "grpc_hop", "lookup", "lookup_cold")
LABELS = {
    "bare": "bare aiohttp JSON",
    "grpc_hop": "aiohttp + 1 empty grpc.aio call",
    "lookup": "gateway /api/v1/lookup",
    "lookup_cold": "gateway /api/v1/lookup, cache-cold",
}
# Working languages a requesting state may ask for (the language only ranks, it does
# not filter, so every variant returns as many items as the others).
REQUEST_LANGUAGES = (
    "en", "fr", "es", "pt", "de", "ru", "ar", "zh", "ja", "ko",
    "th", "vi", "ms", "id", "km", "lo", "my", "tl", "ta", "hi",
)  # fmt: skip


def cold_paths() -> list[str]:
    """7,200 distinct realistic lookups (state x competence x language x urgent x network),
    more than the directory's result cache holds (1,024), so cycling through them, each
    asked once per cycle, makes nearly every lookup a cache miss."""
    paths = []
    for iso in dataset.STATES:
        for competence in dataset.COMPETENCES:
            for language in REQUEST_LANGUAGES:
                for urgent in ("", "&urgent=true"):
                    for network in ("", "&network=SEAJUST"):
                        paths.append(
                            f"/api/v1/lookup?jurisdiction={iso}&competence={competence}"
                            f"&language={language}{urgent}{network}"
                        )
    random.Random(7).shuffle(paths)
    return paths


CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ /proc helpers


def proc_stat(pid: int | str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after the last ')'.
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int, tid: int | None = None) -> float | None:
    """CPU time (user + system) of a process, or of one of its threads."""
    fields = proc_stat(pid) if tid is None else proc_stat(f"{pid}/task/{tid}")
    if fields is None:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def thread_cpu(pid: int) -> dict[int, float]:
    out: dict[int, float] = {}
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            value = cpu_seconds(pid, int(task.name))
            if value is not None:
                out[int(task.name)] = value
    return out


@dataclass
class CpuWindow:
    """CPU used by some processes (and their main threads), by wrk, and by the machine."""

    pids: dict[str, int]

    def __enter__(self) -> CpuWindow:
        self.before = self._snap()
        return self

    def __exit__(self, *exc: object) -> None:
        self.after = self._snap()

    def _snap(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "t": time.monotonic(),
            "procs": {n: cpu_seconds(p) for n, p in self.pids.items()},
            "main": {n: cpu_seconds(p, p) for n, p in self.pids.items()},
            "children": usage.ru_utime + usage.ru_stime,
            "system": system_cpu(),
            "all": all_process_cpu(),
        }

    def report(self) -> dict[str, Any]:
        b, a = self.before, self.after
        wall = a["t"] - b["t"]

        def pct(x: float | None, y: float | None) -> float | None:
            return None if x is None or y is None else round(100 * (y - x) / wall, 1)

        procs = {n: pct(b["procs"][n], a["procs"][n]) for n in self.pids}
        main = {n: pct(b["main"][n], a["main"][n]) for n in self.pids}
        wrk = pct(b["children"], a["children"]) or 0.0
        busy, total = (a["system"][i] - b["system"][i] for i in (0, 1))
        machine = round(100 * busy / max(1, total) * (os.cpu_count() or 1), 1)
        ours = sum(v or 0.0 for v in procs.values()) + wrk
        mine = set(self.pids.values()) | {os.getpid()}
        others = sorted(
            (
                (round(100 * (cpu - b["all"][pid][1]) / wall, 1), pid, argv)
                for pid, (argv, cpu) in a["all"].items()
                if pid in b["all"] and pid not in mine
            ),
            reverse=True,
        )
        return {
            # Percent of one core over the run; the machine has nproc * 100 %.
            "process_cpu_percent": {**procs, "wrk": wrk},
            "main_thread_cpu_percent": main,
            "machine_cpu_busy_percent": machine,
            # Everything else on the machine (other users, idle node processes, kernel).
            "other_cpu_percent": round(max(0.0, machine - ours), 1),
            # The busiest other processes that ran through the whole point.
            "other_processes": [
                {"cpu_percent": c, "pid": pid, "command": argv}
                for c, pid, argv in others[:3]
                if c >= 1.0
            ],
        }


def memory_kb(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def children_of(pid: int) -> dict[str, int]:
    """The `justnet serve SERVICE` children of `justnet up`, by service."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = proc_stat(int(entry.name))
        if fields is None or int(fields[1]) != pid:
            continue
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if b"serve" in argv:
                found[argv[argv.index(b"serve") + 1].decode()] = int(entry.name)
    return found


def all_process_cpu() -> dict[int, tuple[str, float]]:
    """Every process's (command, CPU seconds): to name what else ran during a point."""
    out: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            value = cpu_seconds(int(entry.name))
            if value is not None:
                with contextlib.suppress(OSError):
                    argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                    out[int(entry.name)] = (argv.strip()[:160], value)
    return out


def system_cpu() -> tuple[float, float]:
    """(busy, total) jiffies over all CPUs, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return total - idle, total


def wait_quiet(limit_percent: float, max_wait: float) -> dict[str, float]:
    """Waits until the machine is nearly idle (other users' work skews a benchmark).

    Measures whole-machine CPU over 1 s windows; returns the last reading and the wait.
    """
    started = time.monotonic()
    while True:
        before = system_cpu()
        time.sleep(1.0)
        after = system_cpu()
        busy = 100 * (after[0] - before[0]) / max(1, after[1] - before[1]) * (os.cpu_count() or 1)
        waited = time.monotonic() - started
        if busy <= limit_percent or waited >= max_wait:
            return {"busy_before_percent": round(busy, 1), "waited_s": round(waited, 1)}


def machine(code: Path) -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    wrk_version = ""
    if shutil.which("wrk"):
        probe = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
        wrk_version = (probe.stdout + probe.stderr).splitlines()[0].strip()
    versions = {}
    for dist in ("aiohttp", "grpcio", "protobuf", "opentelemetry-sdk", "py-spy"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[dist] = importlib.metadata.version(dist)
    mem_total = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_total = int(line.split()[1])
    git: dict[str, Any] = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "-C", str(code), "log", "-1", "--format=%H %s"],
            capture_output=True, text=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(code), "status", "--porcelain", "--", "services", "gateway",
             "protos"],
            capture_output=True, text=True, timeout=10,
        ).stdout.split("\n")  # fmt: skip
        git = {
            "commit": head.partition(" ")[0],
            "subject": head.partition(" ")[2][:120],
            # Uncommitted changes to the code under test, when others edit the tree.
            "changed_files": [line[3:] for line in dirty if line.strip()],
        }
    return {
        "code_dir": str(code),
        "git": git,
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "mem_total_kb": mem_total,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": wrk_version,
        "packages": versions,
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


# ------------------------------------------------------------------ processes


def free_port_block(size: int) -> int:
    """The first port of `size` consecutive free loopback ports."""
    rng = random.Random()
    for _ in range(200):
        start = rng.randrange(20000, 60000 - size)
        sockets = []
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
    raise RuntimeError(f"no block of {size} free ports on {HOST}")


@dataclass
class Processes:
    """Every process this run started, stopped in reverse order with bounded waits."""

    logs: Path
    started: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        out = (self.logs / f"{name}.log").open("wb")
        # Own session: Ctrl-C reaches only this script, which then stops them in order.
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=CODE["dir"],
            start_new_session=True,
        )
        out.close()
        self.started.append((name, proc))
        return proc

    def stop_all(self, node_children: dict[str, int]) -> None:
        for _, proc in reversed(self.started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, proc in reversed(self.started):
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop within {STOP_TIMEOUT:.0f} s; killing it")
                proc.kill()
                proc.wait(5)
        # `justnet up` stops its children itself; any that outlived it (it was killed)
        # are ended here, by the pids recorded while it ran, if they still run our node.
        for name, pid in node_children.items():
            with contextlib.suppress(OSError):
                if str(self.logs).encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.kill(pid, signal.SIGKILL)
                    log(f"killed leftover {name} process {pid}")

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until(check: Any, what: str, proc: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with status {proc.returncode}")
        with contextlib.suppress(OSError, ValueError):
            if check():
                return
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not ready within {within:.0f} s")


def port_open(port: int) -> bool:
    with socket.create_connection((HOST, port), timeout=1.0):
        return True


def run_cli(argv: list[str], env: dict[str, str], what: str) -> float:
    started = time.monotonic()
    result = subprocess.run(
        argv, env=env, cwd=CODE["dir"], capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stderr}{result.stdout}")
    return time.monotonic() - started


# ------------------------------------------------------------------ wrk


def run_wrk(
    url: str, wrk_args: list[str], connections: int, seconds: int, pids: dict[str, int]
) -> dict[str, Any]:
    argv = [
        "wrk",
        "-t2",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(HERE / "wrk.lua"),
        url,
        "--",
        *wrk_args,
    ]
    with CpuWindow(pids) as window:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    line = next((s for s in result.stdout.splitlines() if s.startswith("WRK_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    data: dict[str, Any] = json.loads(line.removeprefix("WRK_JSON "))
    seconds_run = data["duration_us"] / 1e6
    errors = data["errors"]
    return {
        "requests": data["requests"],
        "seconds": round(seconds_run, 3),
        "requests_per_s": round(data["requests"] / seconds_run, 1),
        "latency_ms": {k: round(v / 1000, 3) for k, v in data["latency_us"].items()},
        "errors": errors,
        # wrk counts a response as a status error when its status is 400 or more.
        "non_2xx": errors["status"],
        "socket_errors": errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        "bytes_per_response": round(data["bytes"] / max(1, data["requests"]), 1),
        **window.report(),
        "wrk_output": result.stdout,
    }


def measure_point(
    args: argparse.Namespace,
    target: str,
    conns: int,
    url: str,
    wrk_args: list[str],
    pids: dict[str, int],
) -> dict[str, Any]:
    """Warm-up then one measured wrk run; on a shared machine, retried while other work
    used more than --quiet-percent of a core, keeping the least disturbed attempt."""
    attempts: list[dict[str, Any]] = []
    for attempt in range(1 + args.retries):
        quiet = wait_quiet(args.quiet_percent, args.quiet_wait)
        if quiet["busy_before_percent"] > args.quiet_percent:
            log(f"the machine is busy ({quiet['busy_before_percent']:.0f} % of a core)")
        log(f"{target}: {conns} connections, warm-up {WARMUP_SECONDS} s")
        run_wrk(url, wrk_args, conns, WARMUP_SECONDS, pids)
        log(f"{target}: {conns} connections, measuring {args.duration} s")
        r = run_wrk(url, wrk_args, conns, args.duration, pids)
        r.update(target=target, connections=conns, quiet_check=quiet, attempt=attempt + 1)
        attempts.append(r)
        log(
            f"  {r['requests_per_s']:.0f} req/s, p50 {r['latency_ms']['p50']:.2f} ms, "
            f"p99 {r['latency_ms']['p99']:.2f} ms, non-2xx {r['non_2xx']}, "
            f"cpu % {r['process_cpu_percent']}, other {r['other_cpu_percent']}"
        )
        if r["other_cpu_percent"] <= args.quiet_percent:
            break
        log(f"  other work used {r['other_cpu_percent']:.0f} % of a core during the run")
    best = min(attempts, key=lambda a: a["other_cpu_percent"])
    best["discarded_attempts"] = [
        {
            "attempt": a["attempt"],
            "requests_per_s": a["requests_per_s"],
            "p99_ms": a["latency_ms"]["p99"],
            "other_cpu_percent": a["other_cpu_percent"],
        }
        for a in attempts
        if a is not best
    ]
    return best


# ------------------------------------------------------------------ profile

# (component, substrings of a file as py-spy prints it). Samples are classed by their
# innermost frame, so a component's share is the time spent in its own code (and in the
# C it calls). py-spy shortens paths: "trace/__init__.py" is opentelemetry's.
COMPONENTS = (
    (
        "OpenTelemetry (spans, metrics, propagation)",
        (
            "opentelemetry", "aiohttp_server/", "grpc/_aio_server.py", "grpc/_aio_client.py",
            "grpc/_server.py", "grpc/filters/", "trace/", "metrics/_internal", "attributes/",
            "_semconv.py", "propagate/", "composite.py", "baggage/", "context/", "_decorator.py",
            "sdk/",
        ),
    ),
    ("gateway: render proto -> dict", ("gateway/render.py", "well_known_types.py")),
    ("gateway: JSON encode + response", ("json/", "gateway/api.py", "web_response.py")),
    ("gateway: route, query parsing, middlewares", ("gateway/",)),
    ("directory: index scan + ranking", ("directory/index.py", "heapq.py", "visibility.py")),
    ("directory: logic, servicer, validation", ("services/directory/", "common/validation.py")),
    ("caller/error interceptor", ("common/server.py", "common/identity.py")),
    ("grpc.aio call (its C: HTTP/2, protobuf parse)", ("grpc/aio/", "grpc/_", "grpc/__init__")),
    ("protobuf (Python side)", ("protobuf/",)),
    ("aiohttp HTTP server", ("aiohttp/", "yarl/", "multidict/", "http/")),
    # A callback the loop runs that has no Python frame of its own: grpc's Cython
    # (HTTP/2, protobuf (de)serialisation of messages, completion queue).
    ("loop callbacks in C (grpc Cython, protobuf)", ("Handle._run (",)),
    ("epoll (selectors)", ("selectors.py",)),
    ("asyncio event loop", ("asyncio/",)),
)  # fmt: skip
ROOT_FRAMES = ("<frozen runpy>", "cli/__main__.py", "cli/main.py", "asyncio/runners.py")


def classify(frame: str) -> str:
    for name, needles in COMPONENTS:
        if any(n in frame for n in needles):
            return name
    return "other"


def summarise_raw(path: Path, top: int = 25) -> dict[str, Any]:
    """Per thread: samples; for the main thread: components, self and inclusive frames.

    The input is py-spy's raw (collapsed) format recorded with --threads: each line is
    "thread (TID): NAME;outer frame;...;inner frame COUNT".
    """
    threads: collections.Counter[str] = collections.Counter()
    self_counts: collections.Counter[str] = collections.Counter()
    incl_counts: collections.Counter[str] = collections.Counter()
    groups: collections.Counter[str] = collections.Counter()
    main_total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        thread, *frames = stack.split(";")
        threads[thread] += count
        if "MainThread" not in thread or not frames:
            continue
        main_total += count
        self_counts[frames[-1]] += count
        groups[classify(frames[-1])] += count
        for frame in set(frames):
            if not any(r in frame for r in ROOT_FRAMES):
                incl_counts[frame] += count

    def rows(counter: collections.Counter[str], n: int = top) -> list[dict[str, Any]]:
        return [
            {"frame": frame, "samples": k, "share": round(k / max(1, main_total), 4)}
            for frame, k in counter.most_common(n)
        ]

    return {
        "threads": dict(threads.most_common()),
        "main_thread_samples": main_total,
        "main_thread_by_component": rows(groups, len(COMPONENTS) + 1),
        "main_thread_self": rows(self_counts),
        "main_thread_inclusive": rows(incl_counts),
    }


def profile_run(
    target: str,
    url: str,
    wrk_args: list[str],
    seconds: int,
    pids: dict[str, int],
    out_dir: Path,
    native: bool = False,
) -> dict[str, Any]:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise RuntimeError(
            "py-spy is not installed: .venv/bin/pip install py-spy (or run without --profile)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    rate = 100
    argv_wrk = [
        "wrk", "-t2", "-c64", f"-d{seconds + 3}s", "--latency", "--timeout", "10s",
        "-s", str(HERE / "wrk.lua"), url, "--", *wrk_args,
    ]  # fmt: skip
    load = subprocess.Popen(argv_wrk, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    spies: dict[str, tuple[Path, subprocess.Popen[str]]] = {}
    try:
        time.sleep(1.5)
        threads_before = {name: thread_cpu(pid) for name, pid in pids.items()}
        started = time.monotonic()
        for name, pid in pids.items():
            raw = out_dir / f"profile-{target}-{name}.raw.txt"
            spies[name] = (raw, start_spy(py_spy, pid, seconds, rate, raw, native))
        logs = {name: spy.communicate(timeout=seconds + 60)[0] for name, (_, spy) in spies.items()}
        wall = time.monotonic() - started
        threads_after = {name: thread_cpu(pid) for name, pid in pids.items()}
    finally:
        for _, spy in spies.values():
            if spy.poll() is None:
                spy.kill()
                spy.wait(5)
        wrk_out = load.communicate(timeout=seconds + 60)[0]
    line = next((s for s in wrk_out.splitlines() if s.startswith("WRK_JSON ")), "WRK_JSON {}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    run_seconds = max(1e-9, data.get("duration_us", 1) / 1e6)
    result: dict[str, Any] = {
        "target": target,
        "seconds": seconds,
        "rate_hz": rate,
        "native": native,
        "wrk_during_profile": {
            "requests_per_s": round(data.get("requests", 0) / run_seconds, 1),
            "p99_ms": round(data.get("latency_us", {}).get("p99", 0) / 1000, 3),
        },
        "processes": {},
    }
    for name, (raw, _) in spies.items():
        if not raw.exists():
            raise RuntimeError(f"py-spy wrote nothing for {name}:\n{logs[name]}")
        result["processes"][name] = process_profile(
            raw, pids[name], threads_before[name], threads_after[name], wall
        )
    return result


def start_spy(
    py_spy: str, pid: int, seconds: int, rate: int, raw: Path, native: bool
) -> subprocess.Popen[str]:
    argv = [
        py_spy, "record", "--pid", str(pid), "--duration", str(seconds),
        "--rate", str(rate), "--threads", "--function", "--format", "raw",
        "--output", str(raw), *(["--native"] if native else []),
    ]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def process_profile(
    raw: Path, pid: int, before: dict[int, float], after: dict[int, float], wall: float
) -> dict[str, Any]:
    summary = summarise_raw(raw)
    # CPU per thread from /proc over the sampling window: py-spy cannot tell a
    # thread blocked in C (a queue, grpc's poller) from a busy one, /proc can.
    summary["thread_cpu_percent"] = {
        ("main" if tid == pid else str(tid)): round(100 * (after[tid] - before[tid]) / wall, 1)
        for tid in after
        if tid in before and after[tid] > before[tid]
    }
    summary["raw_file"] = raw.name
    return summary


def profile_markdown(profile: dict[str, Any], top: int = 15) -> str:
    w = profile["wrk_during_profile"]
    out = [
        f"py-spy {profile['rate_hz']} Hz for {profile['seconds']} s "
        f"({'--native, ' if profile['native'] else ''}--threads --function) on the gateway "
        f"and the directory during a 64-connection `{profile['target']}` run "
        f"({w['requests_per_s']:.0f} req/s, "
        f"p99 {w['p99_ms']:.0f} ms while sampled; sampling slows the processes).",
        "",
    ]
    for name, summary in profile["processes"].items():
        cpu = summary["thread_cpu_percent"]
        others = sum(v for k, v in cpu.items() if k != "main")
        out += [
            f"#### {name}: main thread {cpu.get('main', 0):.0f} % of a core, "
            f"other threads {others:.0f} % ({summary['main_thread_samples']} main-thread samples)",
            "",
            "| main thread: time by component (innermost frame) | share |",
            "|---|---:|",
        ]
        out += [
            f"| {r['frame']} | {100 * r['share']:.1f} % |"
            for r in summary["main_thread_by_component"]
        ]
        out += ["", "| main thread: top frames, inclusive | share |", "|---|---:|"]
        shown = [
            r
            for r in summary["main_thread_inclusive"]
            if not r["frame"].startswith(("BaseEventLoop.run_", "Handle._run"))
        ]
        out += [f"| `{r['frame']}` | {100 * r['share']:.1f} % |" for r in shown[:top]]
        out += ["", "| main thread: top frames, self | share |", "|---|---:|"]
        out += [
            f"| `{r['frame']}` | {100 * r['share']:.1f} % |"
            for r in summary["main_thread_self"][:top]
        ]
        out.append("")
    return "\n".join(out)


# ------------------------------------------------------------------ report


def markdown_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| target | conns | req/s | p50 ms | p99 ms | vs empty gRPC | vs bare "
        "| non-2xx | bytes/resp | CPU % (server procs / wrk / other) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        cpu = r["process_cpu_percent"]
        servers = " + ".join(f"{v:.0f}" for k, v in cpu.items() if k != "wrk" and v is not None)
        lines.append(
            f"| {LABELS[r['target']]} | {r['connections']} | {r['requests_per_s']:.0f} "
            f"| {r['latency_ms']['p50']:.2f} | {r['latency_ms']['p99']:.2f} "
            f"| {r['ratio_to_grpc_hop']:.2f} | {r['ratio_to_bare']:.2f} "
            f"| {r['non_2xx']} | {r['bytes_per_response']:.0f} | {servers} / "
            f"{cpu['wrk']:.0f} / {r['other_cpu_percent']:.0f} |"
        )
    return "\n".join(lines)


# Issue 15's targets: (share of the empty-gRPC anchor, p99 ms at 64 connections).
GOALS = {"lookup": (1.5, 25.0), "lookup_cold": (0.5, 80.0)}


def check_targets(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    checks = []
    for r in results:
        if r["target"] not in GOALS:
            continue
        share, p99 = GOALS[r["target"]]
        name = LABELS[r["target"]].removeprefix("gateway /api/v1/")
        checks.append(
            {
                "target": f"{name} >= {share:.0%} of empty-gRPC baseline at "
                f"{r['connections']} connections",
                "value": round(r["ratio_to_grpc_hop"], 3),
                "met": r["ratio_to_grpc_hop"] >= share,
            }
        )
        if r["connections"] == 64:
            checks.append(
                {
                    "target": f"{name} p99 <= {p99:.0f} ms at 64 connections",
                    "value": r["latency_ms"]["p99"],
                    "met": r["latency_ms"]["p99"] <= p99,
                }
            )
    return checks


# ------------------------------------------------------------------ main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured point")
    parser.add_argument("--connections", default="16,64", help="comma-separated, e.g. 16,64")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/lookup.json")
    parser.add_argument("--contact-points", type=int, default=dataset.CONTACT_POINTS)
    parser.add_argument("--profile", action="store_true", help="then profile with py-spy")
    parser.add_argument("--profile-duration", type=int, default=10)
    parser.add_argument(
        "--profile-targets",
        default="lookup",
        help="comma-separated: lookup, lookup_cold",
    )
    parser.add_argument(
        "--profile-native", action="store_true", help="py-spy --native (C frames; slower)"
    )
    parser.add_argument(
        "--quiet-percent",
        type=float,
        default=25.0,
        help="before each point, wait until the machine uses at most this %% of a core",
    )
    parser.add_argument("--quiet-wait", type=float, default=20.0, help="waiting at most (s)")
    parser.add_argument(
        "--retries",
        type=int,
        default=2,
        help="re-measure a point this many times while other work disturbed it",
    )
    parser.add_argument(
        "--code",
        type=Path,
        default=None,
        help="measure the node from this checkout instead of the installed one",
    )
    parser.add_argument(
        "--database-url-template",
        default="",
        help="the node's databases, e.g. postgresql+asyncpg://...:PORT/{network}_{service} "
        "(they must exist and be empty; see benchmarks/databases.py); default SQLite files",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary node folder")
    return parser


@dataclass
class Bench:
    """One run: the command line, the processes it started and where they listen."""

    args: argparse.Namespace
    cli: list[str]
    env: dict[str, str]
    work: Path
    procs: Processes
    pids: dict[str, int] = field(default_factory=dict)
    node_children: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return f"http://{HOST}:{self.ports['gateway']}"


def _environment(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The justnet command and the environment the node's processes start with."""
    justnet = Path(sys.executable).parent / "justnet"
    cli = [str(justnet)] if justnet.exists() else [sys.executable, "-m", "services.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.pop("JUSTNET_CONFIG", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(databases.database_env(args.database_url_template, NETWORK))
    if args.code is not None:
        # Another checkout (say, `git archive COMMIT | tar -x -C DIR`) ahead of the
        # editable install; the processes also start in it, as `-m` puts the cwd first.
        CODE["dir"] = args.code.resolve()
        env["PYTHONPATH"] = os.pathsep.join(
            [str(CODE["dir"]), str(CODE["dir"] / "protos"), env.get("PYTHONPATH", "")]
        ).rstrip(os.pathsep)
    return cli, env


def main() -> int:
    args = _parser().parse_args()
    if shutil.which("wrk") is None:
        print(
            "run.py: wrk is not installed. Install it with `apt-get install -y wrk` "
            "(Debian/Ubuntu) and run again.",
            file=sys.stderr,
        )
        return 2
    cli, env = _environment(args)
    info = machine(CODE["dir"])
    work = Path(tempfile.mkdtemp(prefix="justnet-bench-"))
    bench = Bench(args, cli, env, work, Processes(work))
    # SIGTERM (as from a CI timeout) unwinds like Ctrl-C, so the finally block runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ok = False
    try:
        data_summary, import_seconds = _start_node(bench)
        _start_baselines(bench)
        queries, paths, cold, cold_file = _check_lookups(bench)
        urls, wrk_args, node_pids, results = _measure(bench, paths, cold_file)
        memory = {name: memory_kb(pid) for name, pid in sorted(bench.pids.items())}
        profiles = _profile(args, urls, wrk_args, node_pids)
        checks = check_targets(results)
        report = {
            **_settings(args, info, paths, cold),
            "dataset": {**data_summary, "import_seconds": round(import_seconds, 1)},
            "queries": queries,
            "results": results,
            "targets": checks,
            "memory_kb_after_run": memory,
            "profiles": profiles,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        _print_summary(results, checks, memory, profiles)
        log(f"results: {args.out}")
        ok = True
        return 0
    except Exception as exc:
        log(f"benchmark failed: {exc}")
        for name, _ in bench.procs.started:
            text = bench.procs.tail(name)
            if text:
                print(f"--- last lines of {name}.log ---\n{text}", file=sys.stderr)
        return 1
    finally:
        log("stopping processes")
        bench.procs.stop_all(bench.node_children)
        if ok and not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"node folder and logs kept in {work}")


def _settings(
    args: argparse.Namespace, info: dict[str, Any], paths: list[str], cold: list[str]
) -> dict[str, Any]:
    """What the report says of how it was measured."""
    return {
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": info,
        "settings": {
            "duration_s": args.duration,
            "database": args.database_url_template.split("://")[0] or "sqlite (files)",
            "warmup_s": WARMUP_SECONDS,
            "connections": [int(c) for c in args.connections.split(",") if c.strip()],
            "wrk_threads": 2,
            "host": HOST,
            "lookup_paths": paths,
            "lookup_cold_paths": f"{len(cold)} distinct queries, e.g. {cold[0]}",
            "otel": "node processes run their default telemetry (SDK tracer provider, "
            "no exporter: OTEL_* variables removed); baselines have none",
        },
    }


def _start_node(bench: Bench) -> tuple[dict[str, Any], float]:
    """A node with the generated directory imported, started with `justnet up`."""
    cli, env, work = bench.cli, bench.env, bench.work
    base = free_port_block(9)
    node_dir = work / "node"
    bench.ports = {"gateway": base, "bare": base + 6, "grpc_hop": base + 7, "grpc_server": base + 8}
    log(f"node in {node_dir}, ports {base}-{base + 8} on {HOST}")
    run_cli(
        [*cli, "init", "--network", NETWORK, "--data-dir", str(node_dir),
         "--base-port", str(base), "--host", HOST],
        env, "justnet init",
    )  # fmt: skip
    config = node_dir / "justnet.toml"
    data_file = work / "directory.json"
    data_summary = dataset.write(data_file, bench.args.contact_points)
    log(
        f"importing {data_summary['contact_points']} contact points and "
        f"{data_summary['authorities']} authorities"
    )
    import_seconds = run_cli(
        [*cli, "import", str(data_file), "--config", str(config)], env, "justnet import"
    )
    log(f"imported in {import_seconds:.1f} s; starting the node")
    # A process per service: the layout every earlier run measured (node_cost/ compares);
    # a checkout older than `--processes` (--code) has only that layout.
    layout = ["--processes", "each"]
    if "--processes" not in (CODE["dir"] / "services/cli/main.py").read_text():
        layout = []
    up = bench.procs.start("up", [*cli, "up", *layout, "--config", str(config)], env)
    wait_until(
        lambda: http_get(f"{bench.gateway_url}/api/v1/health", 2.0)[0] == 200,
        "justnet up",
        up,
        START_TIMEOUT,
    )
    bench.node_children.update(children_of(up.pid))
    bench.pids.update(bench.node_children)
    if not {"gateway", "directory"} <= bench.pids.keys():
        raise RuntimeError(f"could not find the node's processes under {up.pid}: {bench.pids}")
    return data_summary, import_seconds


def _start_baselines(bench: Bench) -> None:
    """Bare aiohttp, and aiohttp with one empty gRPC call: the anchors."""
    ports, env = bench.ports, bench.env
    py = [sys.executable, str(HERE / "baselines.py")]
    gs = bench.procs.start(
        "grpc_server", [*py, "grpc-server", "--port", str(ports["grpc_server"])], env
    )
    bare = bench.procs.start("bare", [*py, "bare", "--port", str(ports["bare"])], env)
    hop = bench.procs.start(
        "grpc_hop",
        [*py, "grpc-hop", "--port", str(ports["grpc_hop"]),
         "--grpc-target", f"{HOST}:{ports['grpc_server']}"],
        env,
    )  # fmt: skip
    wait_until(lambda: port_open(ports["grpc_server"]), "grpc server", gs, 30)
    for name, proc in (("bare", bare), ("grpc_hop", hop)):
        wait_until(lambda n=name: http_get(f"http://{HOST}:{ports[n]}/")[0] == 200, name, proc, 30)
    bench.pids.update({"bare": bare.pid, "grpc_hop": hop.pid, "grpc_server": gs.pid})


def _check_lookups(bench: Bench) -> tuple[list[dict[str, Any]], list[str], list[str], Path]:
    """Every lookup query answers 200 (and most have items) before any load."""
    paths = list(LOOKUP_PATHS)
    queries: list[dict[str, Any]] = []
    for path in paths:
        status, body = http_get(bench.gateway_url + path)
        if status != 200:
            raise RuntimeError(f"{path}: status {status}: {body[:300]!r}")
        items = len(json.loads(body)["items"])
        queries.append({"path": path, "items": items, "body_bytes": len(body)})
    if sum(q["items"] > 0 for q in queries) < len(queries) - 1:
        raise RuntimeError(f"lookups returned too few items: {queries}")
    cold = cold_paths()
    cold_file = bench.work / "cold-paths.txt"
    cold_file.write_text("\n".join(cold) + "\n", encoding="utf-8")
    for path in random.Random(1).sample(cold, 12):
        status, body = http_get(bench.gateway_url + path)
        if status != 200:
            raise RuntimeError(f"{path}: status {status}: {body[:300]!r}")
    return queries, paths, cold, cold_file


def _measure(
    bench: Bench, paths: list[str], cold_file: Path
) -> tuple[dict[str, str], dict[str, list[str]], dict[str, int], list[dict[str, Any]]]:
    """Every target at every connection count, each beside the anchors of its count."""
    pids, ports = bench.pids, bench.ports
    urls = {
        "bare": f"http://{HOST}:{ports['bare']}",
        "grpc_hop": f"http://{HOST}:{ports['grpc_hop']}",
        "lookup": bench.gateway_url,
        "lookup_cold": bench.gateway_url,
    }
    # The baselines get the same URLs as the lookup and ignore them.
    wrk_args = {
        "bare": paths,
        "grpc_hop": paths,
        "lookup": paths,
        "lookup_cold": ["stride=2", f"@{cold_file}"],
    }
    node_pids = {"gateway": pids["gateway"], "directory": pids["directory"]}
    target_pids = {
        "bare": {"bare": pids["bare"]},
        "grpc_hop": {"grpc_hop": pids["grpc_hop"], "grpc_server": pids["grpc_server"]},
        "lookup": node_pids,
        "lookup_cold": node_pids,
    }
    results: list[dict[str, Any]] = []
    for conns in [int(c) for c in bench.args.connections.split(",") if c.strip()]:
        for target in TARGETS:
            results.append(
                measure_point(
                    bench.args, target, conns, urls[target], wrk_args[target], target_pids[target]
                )
            )
    by_key = {(r["target"], r["connections"]): r for r in results}
    for r in results:
        r["ratio_to_grpc_hop"] = (
            r["requests_per_s"] / by_key[("grpc_hop", r["connections"])]["requests_per_s"]
        )
        r["ratio_to_bare"] = (
            r["requests_per_s"] / by_key[("bare", r["connections"])]["requests_per_s"]
        )
    return urls, wrk_args, node_pids, results


def _profile(
    args: argparse.Namespace,
    urls: dict[str, str],
    wrk_args: dict[str, list[str]],
    node_pids: dict[str, int],
) -> list[dict[str, Any]]:
    """With --profile: py-spy on the gateway and the directory under each chosen load."""
    profiles: list[dict[str, Any]] = []
    out_dir = args.out.parent
    for target in args.profile_targets.split(",") if args.profile else []:
        log(f"profiling gateway and directory under `{target}` for {args.profile_duration} s")
        profiles.append(
            profile_run(
                target,
                urls[target],
                wrk_args[target],
                args.profile_duration,
                node_pids,
                out_dir,
                native=args.profile_native,
            )
        )
    if profiles:
        (out_dir / "profile-summary.md").write_text(
            "\n".join(profile_markdown(p) for p in profiles), encoding="utf-8"
        )
    return profiles


def _print_summary(
    results: list[dict[str, Any]],
    checks: list[dict[str, Any]],
    memory: dict[str, dict[str, int]],
    profiles: list[dict[str, Any]],
) -> None:
    print(markdown_table(results))
    print()
    for c in checks:
        print(f"- {c['target']}: {c['value']} -> {'met' if c['met'] else 'NOT met'}")
    print("\nRSS after the run (MiB): " + ", ".join(
        f"{n} {m.get('VmRSS', 0) / 1024:.0f}" for n, m in memory.items()
    ))  # fmt: skip
    for profile in profiles:
        print("\n" + profile_markdown(profile))


if __name__ == "__main__":
    sys.exit(main())
