"""The receiving directory's side of an initial sync, alone, in one process.

    .venv/bin/python benchmarks/replication/apply.py [--contact-points 10000]
        [--database-url URL] [--profile PATH] [--repeat 3]

Imports the lookup benchmark's directory into an origin (SEAJUST) offline, turns its
change log into the replica batches EJN's federation would hand its directory (the
default sharing policy: non-shared records as tombstones, 500 per batch), then applies
them through EJN's `ReplicaFeedServicer.ApplyReplicaBatch` as the running directory does
(checks, store, lookup index), without gRPC, TLS or signatures: what `run.py` reports as
the receiving directory's CPU per change, where a profiler can see it. `--repeat` starts
again from an empty EJN each round and reports the best; `--profile` writes a cProfile of
the last round (read it with `python -m pstats`).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "protos"))

from justnet.common.v1 import exchange_pb2  # noqa: E402
from justnet.directory.v1 import directory_pb2  # noqa: E402

from benchmarks.lookup import dataset  # noqa: E402
from services.common import telemetry  # noqa: E402
from services.common.db import create_engine  # noqa: E402
from services.common.identity import Caller, reset_caller, set_caller  # noqa: E402
from services.common.replication import Changes, ReplicaFeedServicer  # noqa: E402
from services.common.settings import NodeSettings, load_settings  # noqa: E402
from services.common.validation import warm_up  # noqa: E402
from services.directory import files  # noqa: E402
from services.directory import service as directory  # noqa: E402
from services.directory.index import LookupIndex  # noqa: E402
from services.directory.logic import DirectoryLogic  # noqa: E402
from services.directory.store import DirectoryStore  # noqa: E402
from services.federation.policy import POLICIES  # noqa: E402

BATCH = 500


def settings(folder: Path, network: str, url: str) -> NodeSettings:
    folder.mkdir(parents=True, exist_ok=True)
    env = {"JUSTNET_NETWORK": network, "JUSTNET_DATA_DIR": str(folder)}
    if url:
        env["JUSTNET_DIRECTORY_DATABASE_URL"] = url
    return load_settings(None, env)


async def origin_batches(
    folder: Path, contact_points: int, size: int
) -> list[exchange_pb2.FeedApplyBatchRequest]:
    """SEAJUST's change log as the batches EJN's federation would apply."""
    node = settings(folder / "SEAJUST", "SEAJUST", "")
    await directory.migrate(node)
    path = folder / "directory.json"
    dataset.write(path, contact_points)
    offline = await directory.open_offline(node)
    try:
        result = await offline.logic.import_directory(
            directory_pb2.ImportDirectoryRequest(rows=files.parse(path).rows),
            Caller("editor", "SEAJUST", "bench-import"),
        )
        assert not result.errors, result.errors[:3]
        rows = await offline.logic.store.changes_since(0, 10**9, "SEAJUST")
    finally:
        await offline.close()
    policy = POLICIES["default"]
    batches = []
    for start in range(0, len(rows), size):
        request = exchange_pb2.FeedApplyBatchRequest(origin="SEAJUST")
        for row in rows[start : start + size]:
            shared = not row.deleted and policy.shares(row.kind, row.visibility)
            record = request.records.add(
                origin="SEAJUST",
                kind=row.kind,
                record_id=row.record_id,
                version=row.version,
                deleted=not shared,
                payload=policy.shape(row.kind, row.payload) if shared else b"",
                verified=True,
            )
            record.synced_at.FromDatetime(row.at)
            request.cursor = row.seq
        batches.append(request)
    return batches


async def apply_all(
    folder: Path,
    url: str,
    batches: list[exchange_pb2.FeedApplyBatchRequest],
    prof: cProfile.Profile | None,
) -> tuple[float, float, int]:
    """(wall s, CPU s, replicas held) of applying every batch to an empty EJN."""
    node = settings(folder, "EJN", url)
    await directory.migrate(node)
    runtime_store = DirectoryStore(create_engine(node.directory.database_url), "EJN")
    index = LookupIndex(runtime_store)
    await index.load()
    warm_up()
    logic = DirectoryLogic(runtime_store, index, node.jurisdictions)
    feed = ReplicaFeedServicer(runtime_store, Changes(), on_applied=logic.replicas_changed)
    token = set_caller(Caller.node_service("federation", "EJN"))
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        if prof is not None:
            prof.enable()
        for request in batches:
            await feed.ApplyReplicaBatch(request, None)
        if prof is not None:
            prof.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        _, held = await runtime_store.replication_cursor("SEAJUST")
    finally:
        reset_caller(token)
        await runtime_store.engine.dispose()
    return wall, cpu, held


async def run(args: argparse.Namespace) -> None:
    # As `justnet serve` sets it up: every statement traced (no exporter).
    telemetry.setup("directory", "EJN", log_level="WARNING")
    with tempfile.TemporaryDirectory(prefix="justnet-apply-bench-") as tmp:
        folder = Path(tmp)
        batches = await origin_batches(folder, args.contact_points, args.batch)
        changes = sum(len(b.records) for b in batches)
        best = None
        for i in range(args.repeat):
            last = i == args.repeat - 1
            prof = cProfile.Profile() if args.profile and last else None
            url = args.database_url.format(round=i) if args.database_url else ""
            wall, cpu, held = await apply_all(folder / f"EJN{i}", url, batches, prof)
            print(
                f"round {i}: {changes} changes, {held} replicas held: {wall:.3f} s wall, "
                f"{cpu:.3f} s CPU, {cpu / changes * 1e6:.0f} us CPU per change",
                flush=True,
            )
            best = wall if best is None else min(best, wall)
            if prof is not None:
                prof.dump_stats(args.profile)
        print(f"best: {best:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contact-points", type=int, default=dataset.CONTACT_POINTS)
    parser.add_argument(
        "--database-url",
        default="",
        help="EJN's directory database ({round} is replaced by the round; each must exist "
        "and be empty); default a SQLite file",
    )
    parser.add_argument("--profile", default="")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--batch", type=int, default=BATCH, help="records per batch (1: as single changes travel)"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
