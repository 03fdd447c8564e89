"""The growth results as flat rows (one per backend and size) and Markdown tables."""

from __future__ import annotations

from typing import Any

from services.common.directory_files import MAX_ROWS

Row = dict[str, Any]


def rows(results: list[dict[str, Any]]) -> list[Row]:
    """One row per (backend, size) from the lookup and replication results found."""
    by_key: dict[tuple[str, int], Row] = {}
    for result in results:
        row = by_key.setdefault(
            (result["backend"], result["size"]),
            {"backend": result["backend"], "contact_points": result["size"]},
        )
        if result["benchmark"] == "lookup":
            row.update(_lookup(result["data"]))
        elif result["benchmark"] == "replication":
            row.update(_replication(result["data"]))
    ordered = sorted(by_key.values(), key=lambda r: (r["backend"], r["contact_points"]))
    _marginal_memory(ordered)
    return ordered


def _lookup(data: dict[str, Any]) -> Row:
    rows_in_file = data["dataset"]["contact_points"] + data["dataset"]["authorities"]
    out: Row = {
        # A file over MAX_ROWS rows is refused whole (since b623fc7; runs before it loaded
        # the first 100,000 rows of the 104,000-row "100k" file): the cap keeps both readable.
        "records": min(rows_in_file, MAX_ROWS),
        "import_s": data["dataset"]["import_seconds"],
    }
    for r in data["results"]:
        key = f"{r['target']}_{r['connections']}"
        cpu = r["process_cpu_percent"]
        rps = r["requests_per_s"]
        out[f"{key}_rps"] = rps
        out[f"{key}_p50_ms"] = r["latency_ms"]["p50"]
        out[f"{key}_p99_ms"] = r["latency_ms"]["p99"]
        out[f"{key}_other_cpu"] = r["other_cpu_percent"]
        out[f"{key}_errors"] = r["non_2xx"] + r["socket_errors"]
        # CPU per request of the server processes: steadier than req/s on a shared machine.
        for name in ("gateway", "directory"):
            if name in cpu and cpu[name] is not None:
                out[f"{key}_{name}_cpu_ms"] = round(10 * cpu[name] / max(rps, 1e-9), 3)
    memory = data["memory_kb_after_run"]
    for name in ("gateway", "directory"):
        out[f"lookup_{name}_rss_mib"] = round(memory[name]["VmRSS"] / 1024, 1)
        out[f"lookup_{name}_peak_mib"] = round(memory[name]["VmHWM"] / 1024, 1)
    return out


def _replication(data: dict[str, Any]) -> Row:
    sync = data["initial_sync"]
    out: Row = {
        "changes": sync["changes"],
        "replicas_held": sync["replicas_held"],
        "sync_s": sync["seconds"],
        "sync_records_per_s": sync["records_per_second"],
        "sync_first_record_s": sync["first_record_after_s"],
        # the receiving directory's CPU per change: what decides the sync on 2 cores
        "sync_ejn_directory_us_per_change": round(
            1e6 * sync["cpu_seconds"].get("EJN directory", 0.0) / max(1, sync["changes"]), 1
        ),
        "sync_cpu_s_total": round(sum(sync["cpu_seconds"].values()), 2),
        "replica_directory_rss_mib": round(
            sync["memory_kb_after"]["EJN directory"]["VmRSS"] / 1024, 1
        ),
    }
    # other work on the shared machine (the lookup rows have their own "other CPU")
    out["load_average_at_end"] = float(data.get("machine", {}).get("loadavg_at_end", [0])[0])
    if "propagation" in data:
        prop = data["propagation"]
        out.update(
            propagation_p50_ms=prop["all"]["p50_ms"],
            propagation_p99_ms=prop["all"]["p99_ms"],
            propagation_deliveries=prop["deliveries"],
            propagation_missing=prop["missing_within_10s"],
            mesh_catch_up_s=data.get("mesh_catch_up_s"),
        )
    return out


def _marginal_memory(ordered: list[Row]) -> None:
    """KiB of RSS per record added since the previous size of the same backend."""
    counted_by = {
        "lookup_directory_rss_mib": "records",
        "lookup_gateway_rss_mib": "records",
        "replica_directory_rss_mib": "replicas_held",
    }
    previous: dict[str, Row] = {}
    for row in ordered:
        before = previous.get(row["backend"])
        previous[row["backend"]] = row
        for key, count in counted_by.items() if before is not None else ():
            if all(k in r for k in (key, count) for r in (row, before)):
                added = max(1, row[count] - before[count])
                row[key.replace("_mib", "_kib_per_record")] = round(
                    1024 * (row[key] - before[key]) / added, 2
                )


def _cell(row: Row, key: str, digits: int = 0) -> str:
    value = row.get(key)
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if isinstance(value, float | int) else str(value)


COLUMNS: dict[str, list[tuple[str, str, int]]] = {
    "Lookup at 64 connections (anchors from the same run)": [
        ("records", "records", 0),
        ("bare req/s", "bare_64_rps", 0),
        ("empty gRPC hop req/s", "grpc_hop_64_rps", 0),
        ("cached req/s", "lookup_64_rps", 0),
        ("cached p99 ms", "lookup_64_p99_ms", 1),
        ("cached gateway CPU ms/req", "lookup_64_gateway_cpu_ms", 2),
        ("cold req/s", "lookup_cold_64_rps", 0),
        ("cold p50 ms", "lookup_cold_64_p50_ms", 1),
        ("cold p99 ms", "lookup_cold_64_p99_ms", 1),
        ("cold CPU ms/req gateway + directory", "cold_cpu", 2),
        ("other CPU % (cached / cold)", "other_cpu", 0),
    ],
    "Replication, 5 nodes": [
        ("changes", "changes", 0),
        ("replicas held", "replicas_held", 0),
        ("initial sync s", "sync_s", 2),
        ("records/s", "sync_records_per_s", 0),
        ("receiving directory CPU µs/change", "sync_ejn_directory_us_per_change", 0),
        ("CPU s, 4 processes", "sync_cpu_s_total", 1),
        ("mesh caught up s", "mesh_catch_up_s", 1),
        ("propagation p50 ms", "propagation_p50_ms", 1),
        ("propagation p99 ms", "propagation_p99_ms", 1),
        ("load average at the end", "load_average_at_end", 1),
    ],
    "Memory (RSS MiB; KiB per record added since the previous size)": [
        ("records", "records", 0),
        ("import s", "import_s", 1),
        ("gateway", "lookup_gateway_rss_mib", 0),
        ("directory (own records, after the lookups)", "lookup_directory_rss_mib", 0),
        ("directory peak", "lookup_directory_peak_mib", 0),
        ("directory KiB/record", "lookup_directory_rss_kib_per_record", 2),
        ("replica directory after sync", "replica_directory_rss_mib", 0),
        ("replica KiB/record", "replica_directory_rss_kib_per_record", 2),
    ],
}


def _derived(row: Row) -> Row:
    out = dict(row)
    if "lookup_cold_64_gateway_cpu_ms" in row:
        out["cold_cpu"] = (
            f"{row['lookup_cold_64_gateway_cpu_ms']:.2f} + "
            f"{row.get('lookup_cold_64_directory_cpu_ms', 0):.2f}"
        )
    if "lookup_64_other_cpu" in row:
        cached, cold = row["lookup_64_other_cpu"], row.get("lookup_cold_64_other_cpu", 0)
        out["other_cpu"] = f"{cached:.0f} / {cold:.0f}"
    return out


def markdown(all_rows: list[Row]) -> str:
    parts = []
    for title, columns in COLUMNS.items():
        head = ["backend", "contact points in the file", *(label for label, _, _ in columns)]
        lines = [f"#### {title}", "", "| " + " | ".join(head) + " |"]
        lines.append("|---|" + "---:|" * (len(head) - 1))
        for row in map(_derived, all_rows):
            if not any(key in row for _, key, _ in columns):
                continue
            cells = [row["backend"], f"{row['contact_points']:,}"]
            cells += [_cell(row, key, digits) for _, key, digits in columns]
            lines.append("| " + " | ".join(cells) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"
