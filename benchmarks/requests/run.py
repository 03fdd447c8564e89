"""Benchmark of the requests service: route planning latency and request delivery rate.

    .venv/bin/python benchmarks/requests/run.py [--plans 500] [--requests 200]
        [--out benchmarks/results/requests.json]

1. Starts two nodes (SEAJUST and WACAP) in this process with the test harness
   (tests/requests_nodes.py): each a real directory with the sample data and the other
   node's shared records as replicas, a requests service and a gateway, on loopback.
   Federation's Send is played by the harness relay until federation implements it
   (one message in flight per peer, receipt signed with the destination's real key).
2. PlanRoute TH->NG (urgent, two measures, Thai): --plans sequential calls over gRPC to
   the requests service, then the same through the gateway (`POST /api/v1/routes`);
   p50/p99 of each after 20 warm-up calls.
3. Delivery: creates --requests drafts, then submits them all (16 at a time) and waits
   until every one shows `delivered` with a signed receipt; reports delivered requests
   per second from the first submit to the last receipt.
All processes share one event loop and the machine's 2 cores, so the numbers are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from justnet.requests.v1 import requests_pb2 as pb  # noqa: E402
from justnet.requests.v1 import requests_pb2_grpc  # noqa: E402

from services.common.clients import open_channel  # noqa: E402
from services.common.identity import Caller  # noqa: E402
from tests.requests_nodes import requests_world  # noqa: E402

ROUTE = {
    "requesting_jurisdiction": "TH",
    "requested_jurisdiction": "NG",
    "measures": ["banking_records", "witness_statement"],
    "urgency": "urgent",
    "language": "th",
}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
    }


async def main(plans: int, requests: int, out: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        async with requests_world(Path(tmp)) as make:
            sea = await make("SEAJUST")
            await make("WACAP")
            channel = open_channel(f"127.0.0.1:{sea.requests_rt.port}")
            stub = requests_pb2_grpc.RequestsServiceStub(channel)
            member = Caller("member", "SEAJUST", "bench").metadata()
            msg = pb.PlanRouteRequest(**ROUTE)  # type: ignore[arg-type]
            for _ in range(20):
                await stub.PlanRoute(msg, metadata=member)
            grpc_times = []
            for _ in range(plans):
                t = time.perf_counter()
                await stub.PlanRoute(msg, metadata=member)
                grpc_times.append(time.perf_counter() - t)
            http_times = []
            headers = sea.auth("member")
            for i in range(plans + 20):
                t = time.perf_counter()
                resp = await sea.client.post("/api/v1/routes", json=ROUTE, headers=headers)
                await resp.read()
                assert resp.status == 200
                if i >= 20:
                    http_times.append(time.perf_counter() - t)

            ids = []
            for i in range(requests):
                draft = await stub.CreateRequest(
                    pb.CreateRequestRequest(
                        request=pb.RequestInput(
                            **{k: v for k, v in ROUTE.items() if k != "urgency"},  # type: ignore[arg-type]
                            title=f"Benchmark request {i}",
                            summary="x" * 500,
                        )
                    ),
                    metadata=member,
                )
                ids.append(draft.id)
            sem = asyncio.Semaphore(16)

            async def submit(rid: str) -> None:
                async with sem:
                    await stub.Submit(pb.SubmitRequest(id=rid), metadata=member)

            start = time.perf_counter()
            await asyncio.gather(*(submit(r) for r in ids))
            submitted = time.perf_counter() - start
            store = sea.requests_rt.logic.store
            while True:
                states = [(await store.message(f"{r}:1")) for r in ids]
                if all(m is not None and m.state == "delivered" and m.receipt for m in states):
                    break
                await asyncio.sleep(0.02)
            elapsed = time.perf_counter() - start
            await channel.close()
    result = {
        "plan_route_grpc": percentiles(grpc_times),
        "plan_route_gateway": percentiles(http_times),
        "delivery": {
            "requests": requests,
            "submit_seconds": round(submitted, 2),
            "all_receipts_seconds": round(elapsed, 2),
            "delivered_per_second": round(requests / elapsed, 1),
        },
    }
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plans", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/requests.json")
    args = parser.parse_args()
    result = asyncio.run(main(args.plans, args.requests, args.out))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
