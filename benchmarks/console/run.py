"""Console page times: the lookup and requests pages at 16 concurrent signed-in sessions,
beside the JSON API calls that answer the same question (the anchors), in the same run.

    .venv/bin/python benchmarks/console/run.py [--sessions 16] [--duration 10]
        [--drafts 10] [--out benchmarks/results/console.json]

1. `justnet init --network SEAJUST --sample-data` in a temporary folder, then `justnet user
   add` for --sessions members and `justnet token create --user` for each (the anchors call
   the API as the same person), then `justnet up` (five processes) until healthy.
2. Each person signs in through the sign-in form (a real session cookie each) and makes
   --drafts request drafts through the API, so the requests page has rows to render.
3. For each target, 2 s of warm-up, then --duration seconds of `wrk` (apt `wrk`) with one
   connection per session, each carrying that person's cookie or token (sessions.lua), one
   GET after another (a page is one server round trip):
   - console lookup  `/console/lookup?jurisdiction=TH&competence=mla`
   - API lookup      `/api/v1/lookup?jurisdiction=TH&competence=mla`  (anchor)
   - console requests `/console/requests`
   - API requests    `/api/v1/requests`                                (anchor)
   Requests per second, p50 and p99 per target. wrk is light, but it runs on the same
   2 cores as the node's five processes, so the anchors matter as much as the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
JUSTNET = str(ROOT / ".venv" / "bin" / "justnet")
PASSWORD = "benchmark password 2026"
DRAFT = {
    "requesting_jurisdiction": "TH",
    "requested_jurisdiction": "VN",
    "measures": ["banking_records"],
    "urgency": "normal",
    "language": "en",
    "title": "Bank records of a shell company",
    "reference": "BENCH",
    "offences": ["fraud"],
    "summary": "Funds moved through several accounts.",
    "deadline": "2099-01-31",
}
TARGETS = (
    ("console lookup", "/console/lookup?jurisdiction=TH&competence=mla", "cookie"),
    ("API lookup (anchor)", "/api/v1/lookup?jurisdiction=TH&competence=mla", "token"),
    ("console requests", "/console/requests", "cookie"),
    ("API requests (anchor)", "/api/v1/requests", "token"),
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_block(size: int = 8) -> int:
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base + size > 65000:
            continue
        ok = True
        for port in range(base, base + size):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise SystemExit("no free port block")


def justnet(*args: str, stdin: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUSTNET_", "OTEL_"))}
    done = subprocess.run(
        [JUSTNET, *args], input=stdin, capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"justnet {' '.join(args)} failed: {done.stderr}")
    return done.stdout.strip()


async def sign_in(url: str, email: str) -> aiohttp.ClientSession:
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    page = await (await session.get(f"{url}/console/sign-in")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "sign-in form without a CSRF token"
    resp = await session.post(
        f"{url}/console/sign-in",
        data={"csrf_token": token.group(1), "email": email, "password": PASSWORD},
        allow_redirects=False,
    )
    assert resp.status == 303, f"sign-in of {email}: {resp.status}"
    return session


LATENCY = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, path: str, headers: list[str], seconds: float, folder: str) -> dict[str, Any]:
    """wrk with one connection (and thread) per session: each connection is one person."""
    listing = Path(folder) / "headers.txt"
    listing.write_text("\n".join(headers) + "\n")
    n = len(headers)
    done = subprocess.run(
        [
            "wrk",
            f"-t{n}",
            f"-c{n}",
            f"-d{seconds:g}s",
            "--latency",
            "-s",
            str(Path(__file__).with_name("sessions.lua")),
            url,
            "--",
            str(listing),
            path,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = done.stdout
    latency = {p: float(v) * UNITS[u] for p, v, u in LATENCY.findall(out)}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": round(latency.get("50", 0.0), 1),
        "p99_ms": round(latency.get("99", 0.0), 1),
        "errors": int(non_2xx.group(1)) if non_2xx else 0,
    }


async def bench(
    url: str, people: list[tuple[str, str]], args: argparse.Namespace
) -> dict[str, Any]:
    sessions = [await sign_in(url, email) for email, _ in people]
    plain = aiohttp.ClientSession()
    try:
        for (_, token), _session in zip(people, sessions, strict=True):
            for _ in range(args.drafts):
                resp = await plain.post(
                    f"{url}/api/v1/requests",
                    json=DRAFT,
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert resp.status == 201, await resp.text()
        cookies = []
        for s in sessions:
            found = [c for c in s.cookie_jar if c.key == "jn_session_seajust"]
            assert found, "signed in without a session cookie"
            cookies.append(f"Cookie: jn_session_seajust={found[0].value}")
        tokens = [f"Authorization: Bearer {token}" for _, token in people]
        results: dict[str, Any] = {}
        for name, path, auth in TARGETS:
            headers = cookies if auth == "cookie" else tokens
            await asyncio.to_thread(wrk, url, path, headers, 2.0, args.tmp)  # warm-up
            profiles = profile(name, args) if name in args.profile.split(",") else []
            results[name] = await asyncio.to_thread(
                wrk, url, path, headers, args.duration, args.tmp
            )
            for sampler in profiles:
                sampler.wait(timeout=args.duration + 30)
            log(f"{name}: {results[name]}")
        return results
    finally:
        await plain.close()
        for s in sessions:
            await s.close()


def profile(name: str, args: argparse.Namespace) -> list[subprocess.Popen[bytes]]:
    """py-spy on the gateway and the requests process while `name` is measured."""
    out = Path(args.out).parent
    out.mkdir(parents=True, exist_ok=True)
    started = []
    for service in ("gateway", "requests"):
        pid = subprocess.run(
            ["pgrep", "-f", f"serve {service} "],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        if not pid:
            continue
        slug = name.split()[0] + "-" + name.split()[1]
        started.append(
            subprocess.Popen(
                [
                    str(ROOT / ".venv" / "bin" / "py-spy"),
                    "record",
                    "-p",
                    pid[0],
                    "-d",
                    str(int(args.duration)),
                    "-f",
                    "raw",
                    "-o",
                    str(out / f"profile-{slug}-{service}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--drafts", type=int, default=10)
    parser.add_argument(
        "--profile", default="", help="comma-separated targets to sample with py-spy"
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "console.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="justnet-console-bench-") as tmp:
        base = free_block()
        config = f"{tmp}/node/justnet.toml"
        people = make_node(tmp, base, config, args.sessions)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUSTNET_", "OTEL_"))}
        up_log = Path(f"{tmp}/up.log").open("w")  # noqa: SIM115 - closed in finally
        node = subprocess.Popen(
            [JUSTNET, "up", "--config", config],
            stdout=subprocess.DEVNULL,
            stderr=up_log,
            text=True,
            env=env,
        )
        try:
            url = f"http://127.0.0.1:{base}"
            wait_healthy(url, 90)
            log(f"node up at {url}; {args.sessions} sessions")
            args.tmp = tmp
            results = asyncio.run(bench(url, people, args))
        finally:
            node.send_signal(signal.SIGTERM)
            try:
                node.wait(timeout=30)
            except subprocess.TimeoutExpired:
                node.kill()
            up_log.close()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"sessions": args.sessions, "results": results}, indent=2))
    print("| target | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} |")


def make_node(tmp: str, base: int, config: str, sessions: int) -> list[tuple[str, str]]:
    """A SEAJUST node with its sample data and `sessions` members: (e-mail, token) each."""
    justnet("init", "--network", "SEAJUST", "--data-dir", f"{tmp}/node",
            "--base-port", str(base), "--sample-data")  # fmt: skip
    justnet("migrate", "--config", config)
    people = []
    for i in range(sessions):
        email = f"bench{i}@seajust.example.org"
        justnet("user", "add", "--email", email, "--name", f"Bench {i}", "--role", "member",
                "--password-stdin", "--config", config, stdin=PASSWORD + "\n")  # fmt: skip
        people.append((email, justnet("token", "create", "--user", email, "--config", config)))
    return people


def wait_healthy(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if urllib.request.urlopen(f"{url}/api/v1/health", timeout=2).status == 200:
                return
        time.sleep(0.5)


if __name__ == "__main__":
    main()
