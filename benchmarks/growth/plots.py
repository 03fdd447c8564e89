"""The growth plots (PNG, committed beside this file) from the rows of tables.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from benchmarks.growth.tables import Row

STYLE = {"sqlite": "-", "postgres": "--"}
SIZE_LABEL = "records in the directory (authorities + contact points)"


def _series(rows: list[Row], backend: str, key: str) -> tuple[list[int], list[float]]:
    picked = [r for r in rows if r["backend"] == backend and r.get(key) is not None]
    return [r.get("records", r.get("changes", 0)) for r in picked], [float(r[key]) for r in picked]


def _lines(ax: Axes, rows: list[Row], series: list[tuple[str, str, str]]) -> None:
    """(label, key, marker) per series, one line per backend."""
    for backend in sorted({r["backend"] for r in rows}):
        # a colour per series, a line style per backend
        for i, (label, key, marker) in enumerate(series):
            xs, ys = _series(rows, backend, key)
            if xs:
                ax.plot(
                    xs,
                    ys,
                    STYLE.get(backend, ":"),
                    color=f"C{i}",
                    marker=marker,
                    label=f"{label}, {backend}",
                )
    ax.set_xlabel(SIZE_LABEL)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def _linear_from_first(ax: Axes, rows: list[Row], key: str, label: str) -> None:
    """The O(n) expectation: the smallest size's value scaled in proportion to the size."""
    for backend in sorted({r["backend"] for r in rows}):
        xs, ys = _series(rows, backend, key)
        if len(xs) > 1:
            ax.plot(
                xs,
                [ys[0] * x / xs[0] for x in xs],
                ":",
                color="grey",
                linewidth=1,
                label=f"{label}, {backend}",
            )
    ax.relim()
    ax.autoscale(axis="y")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)


def _lookup(rows: list[Row], path: Path) -> None:
    fig, (rps, p99, cpu) = plt.subplots(1, 3, figsize=(15, 4.5))
    _lines(
        rps,
        rows,
        [
            ("cached", "lookup_64_rps", "o"),
            ("cold", "lookup_cold_64_rps", "s"),
            ("anchor: empty gRPC hop", "grpc_hop_64_rps", "."),
        ],
    )
    rps.set_ylabel("requests/s (64 connections)")
    rps.set_title("Lookup throughput")
    _lines(p99, rows, [("cached", "lookup_64_p99_ms", "o"), ("cold", "lookup_cold_64_p99_ms", "s")])
    p99.set_ylabel("p99 latency, ms")
    p99.set_title("Lookup p99")
    _lines(
        cpu,
        rows,
        [
            ("cached, gateway", "lookup_64_gateway_cpu_ms", "o"),
            ("cold, gateway", "lookup_cold_64_gateway_cpu_ms", "^"),
            ("cold, directory", "lookup_cold_64_directory_cpu_ms", "s"),
        ],
    )
    cpu.set_ylabel("CPU ms per request")
    cpu.set_title("Lookup CPU per request")
    _save(fig, path)


def _sync(rows: list[Row], path: Path) -> None:
    fig, (secs, cost) = plt.subplots(1, 2, figsize=(11, 4.5))
    _lines(secs, rows, [("initial sync", "sync_s", "o")])
    _linear_from_first(secs, rows, "sync_s", "O(n) from the smallest")
    secs.set_ylabel("seconds, SEAJUST -> EJN")
    secs.set_title("Initial sync")
    _lines(cost, rows, [("receiving directory", "sync_ejn_directory_us_per_change", "s")])
    cost.set_ylabel("CPU µs per change")
    cost.set_title("Sync cost per change (flat = O(n) in total)")
    _save(fig, path)


def _propagation(rows: list[Row], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    _lines(ax, rows, [("p50", "propagation_p50_ms", "o"), ("p99", "propagation_p99_ms", "s")])
    ax.set_ylabel("ms from the update call to its commit on a peer")
    ax.set_title("Propagation of one change to 4 peers")
    _save(fig, path)


def _memory(rows: list[Row], path: Path) -> None:
    fig, (rss, per) = plt.subplots(1, 2, figsize=(11, 4.5))
    _lines(
        rss,
        rows,
        [
            ("gateway", "lookup_gateway_rss_mib", "^"),
            ("directory (own records)", "lookup_directory_rss_mib", "o"),
            ("directory (replicas)", "replica_directory_rss_mib", "s"),
        ],
    )
    rss.set_ylabel("RSS, MiB")
    rss.set_title("Memory")
    _lines(
        per,
        rows,
        [
            ("directory (own records)", "lookup_directory_rss_kib_per_record", "o"),
            ("directory (replicas)", "replica_directory_rss_kib_per_record", "s"),
            ("gateway", "lookup_gateway_rss_kib_per_record", "^"),
        ],
    )
    per.set_ylabel("KiB of RSS per record added since the previous size")
    per.set_title("Memory per record")
    _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def draw(rows: list[Row], folder: Path) -> Iterator[Path]:
    """Writes each plot whose figures are present; yields the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, needs, draw_one in (
        ("lookup.png", "lookup_64_rps", _lookup),
        ("initial_sync.png", "sync_s", _sync),
        ("propagation.png", "propagation_p50_ms", _propagation),
        ("memory.png", "lookup_directory_rss_mib", _memory),
    ):
        if any(needs in r for r in rows):
            draw_one(rows, folder / name)
            yield folder / name
