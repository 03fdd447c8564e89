"""How cost grows with the directory: the lookup and replication benchmarks at several sizes,
on SQLite and on PostgreSQL, then plots.

    .venv/bin/python benchmarks/growth/run.py [--sizes 10000,50000,96000]
        [--backends sqlite,postgres] [--duration 5] [--changes 200] [--plot-only]

For each backend and size it runs, each as its own process and unchanged apart from the
options below, benchmarks/lookup/run.py (cached and cache-cold lookups beside the bare and
empty-gRPC anchors of the same run, RSS) and benchmarks/replication/run.py (initial sync
SEAJUST -> EJN, propagation over a full mesh of 5 nodes, RSS). PostgreSQL is a throwaway
local cluster (benchmarks/databases.py) with fresh databases for every run. Each run's
JSON goes to --results (not committed); then every result found there is tabulated
(`summary.md`, also printed) and plotted (PNG files in --plots, committed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import databases  # noqa: E402
from benchmarks.growth import plots, tables  # noqa: E402

LOOKUP = ROOT / "benchmarks/lookup/run.py"
REPLICATION = ROOT / "benchmarks/replication/run.py"
NETWORKS = ("SEAJUST", "EJN", "WACAP", "CASC", "GLJCN")  # as replication/run.py names them
BASE_SIZE = 10_000  # the size every earlier run used: the poll interval scales from it
RUN_WITHIN = 1800


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] growth: {message}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="10000,50000,96000",
        help="contact points (a file over 100,000 rows is refused)",
    )
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--benchmarks", default="lookup,replication")
    parser.add_argument("--duration", type=int, default=5, help="seconds per lookup point")
    parser.add_argument("--connections", default="64")
    parser.add_argument("--changes", type=int, default=200, help="propagation probes")
    parser.add_argument("--nodes", type=int, default=5)
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks/results/growth")
    parser.add_argument("--plots", type=Path, default=HERE)
    parser.add_argument("--plot-only", action="store_true", help="tabulate and plot, no runs")
    return parser


def lookup_argv(args: argparse.Namespace, size: int, out: Path, template: str) -> list[str]:
    return [
        sys.executable,
        str(LOOKUP),
        "--contact-points",
        str(size),
        "--out",
        str(out),
        "--duration",
        str(args.duration),
        "--connections",
        args.connections,
        "--retries",
        "1",
        "--quiet-wait",
        "10",
        "--database-url-template",
        template,
    ]


def replication_argv(args: argparse.Namespace, size: int, out: Path, template: str) -> list[str]:
    # Each poll of the sync's clock counts the replicas: polled in proportion to the size,
    # its cost stays the same share of the sync, and so does its resolution.
    poll = 0.05 * max(1.0, size / BASE_SIZE)
    return [
        sys.executable,
        str(REPLICATION),
        "--contact-points",
        str(size),
        "--out",
        str(out),
        "--nodes",
        str(args.nodes),
        "--changes",
        str(args.changes),
        "--poll",
        f"{poll:g}",
        "--database-url-template",
        template,
    ]


def run_one(argv: list[str], out: Path) -> bool:
    """One benchmark process; its log beside its JSON. False when it failed."""
    log(" ".join(Path(a).name if a.startswith("/") else a for a in argv[1:]))
    started = time.monotonic()
    with out.with_suffix(".log").open("w") as err:
        done = subprocess.run(
            argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, timeout=RUN_WITHIN
        )
    log(f"  exit {done.returncode} after {time.monotonic() - started:.0f} s")
    if done.returncode != 0:
        out.unlink(missing_ok=True)  # a stale result must not be plotted as this one
    return done.returncode == 0


def run_backend(args: argparse.Namespace, backend: str) -> None:
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    wanted = args.benchmarks.split(",")
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(databases.ThrowawayPostgres()) if backend == "postgres" else None
        if pg is not None:
            log(f"PostgreSQL {pg.bin.parent.name} on {databases.HOST}:{pg.port}")
        template = pg.template if pg is not None else ""
        for size in sizes:
            if "lookup" in wanted:
                if pg is not None:
                    pg.fresh_databases(["SEAJUST"])
                out = args.results / f"lookup-{backend}-{size}.json"
                run_one(lookup_argv(args, size, out, template), out)
            if "replication" in wanted:
                if pg is not None:
                    pg.fresh_databases(list(NETWORKS[: args.nodes]))
                out = args.results / f"replication-{backend}-{size}.json"
                run_one(replication_argv(args, size, out, template), out)


def load_results(folder: Path) -> list[dict[str, Any]]:
    """Every result in the folder, named `<benchmark>-<backend>-<size>.json`."""
    found = []
    for path in sorted(folder.glob("*-*-*.json")):
        benchmark, backend, size = path.stem.split("-")
        found.append(
            {
                "benchmark": benchmark,
                "backend": backend,
                "size": int(size),
                "data": json.loads(path.read_text(encoding="utf-8")),
            }
        )
    return found


def main() -> int:
    args = _parser().parse_args()
    args.results.mkdir(parents=True, exist_ok=True)
    if not args.plot_only:
        for backend in args.backends.split(","):
            run_backend(args, backend)
    rows = tables.rows(load_results(args.results))
    summary = tables.markdown(rows)
    (args.results / "summary.md").write_text(summary, encoding="utf-8")
    (args.results / "summary.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    print(summary)
    for path in plots.draw(rows, args.plots):
        log(f"plot: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
