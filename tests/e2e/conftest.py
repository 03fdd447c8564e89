"""End-to-end fixtures: the real `justnet` command, run as subprocesses on loopback.

`node` is one SEAJUST node for the whole session, made the way a new user makes one:
`justnet init --sample-data`, `justnet up`, `justnet token create`. Its teardown is
itself a test of `justnet up`: SIGTERM must stop every process and exit with status 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest
import requests

START_TIMEOUT = 60.0  # `justnet up` until the gateway answers 200 on /api/v1/health
STOP_TIMEOUT = 30.0  # SIGTERM until `justnet up` has exited (it allows its children 10 s)
COMMAND_TIMEOUT = 60.0  # any other `justnet` command
HTTP_TIMEOUT = 10.0
ROLES = ("admin", "editor", "member")
SEAJUST = ["BN", "KH", "LA", "MM", "MY", "PH", "SG", "TH", "VN", "TL"]


def justnet_executable() -> str:
    """The console script of the interpreter running the tests (the project's venv)."""
    beside = Path(sys.executable).with_name("justnet")
    if beside.exists():
        return str(beside)
    found = shutil.which("justnet")
    if found is None:
        pytest.fail("the `justnet` command is not installed (pip install -e .)")
    return found


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test runner's environment without JUSTNET_* overrides, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUSTNET_")}
    env["PYTHONUNBUFFERED"] = "1"
    # Tests read the trace of any response by its X-Trace-Id: every trace is sampled
    # (the default samples a share, services/common/sampling.py).
    env["JUSTNET_TELEMETRY_SAMPLE_RATIO"] = "1"
    env.update(extra or {})
    return env


def run_justnet(
    *args: str | Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = COMMAND_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Runs `justnet ARGS...` to completion (bounded) and returns its exit status and output."""
    return subprocess.run(
        [justnet_executable(), *map(str, args)],
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(size: int = 6, attempts: int = 200) -> int:
    """A base port N such that N .. N+size-1 are all free on 127.0.0.1.

    The OS picks N (bind to port 0); the following ports are checked by binding them.
    """
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            base: int = sock.getsockname()[1]
        if 1024 <= base <= 65530 and all(_port_is_free(base + i) for i in range(size)):
            return base
    pytest.fail(f"found no block of {size} consecutive free ports on 127.0.0.1")


# ------------------------------------------------------------------ `justnet demo`


@dataclass
class Demo:
    """A running `justnet demo --json`: its process, its first port, and the JSON line it
    printed once every node was healthy (`ready`, with each node's URLs, tokens, accounts)."""

    process: subprocess.Popen[str]
    base_port: int
    log: Path  # its stderr
    log_file: IO[str]
    ready: dict[str, Any] = field(default_factory=dict)

    def stop(self, timeout: float = 40.0) -> int:
        """SIGTERM, then its exit status; after `timeout` s it is killed and this raises."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise
        finally:
            self.log_file.close()


def start_demo(root: Path, nodes: str = "SEAJUST,EJN") -> Demo:
    """Starts `justnet demo --nodes NODES --json` with its data and log under `root`, and
    waits for the one JSON line it prints when every node is healthy."""
    base = free_port_block(10 * len(nodes.split(",")) + 6)
    log = root / "demo.log"
    log_file = log.open("w")
    process = subprocess.Popen(
        [
            justnet_executable(),
            "demo",
            "--nodes",
            nodes,
            "--base-port",
            str(base),
            "--data-dir",
            str(root / "demo"),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=log_file,
        text=True,
        env=clean_env(),
    )
    demo = Demo(process, base, log, log_file)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            pytest.fail(f"justnet demo ended before it was ready; see {log}")
        demo.ready = json.loads(line)
    except BaseException:
        with contextlib.suppress(subprocess.TimeoutExpired):
            demo.stop()
        raise
    return demo


# ------------------------------------------------------------------ processes (Linux /proc)


def _proc_ppid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _proc_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _proc_cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def child_pids(parent: int) -> list[int]:
    return [pid for pid in _all_pids() if _proc_ppid(pid) == parent]


def serve_processes(config: Path) -> list[tuple[int, list[str]]]:
    """Live `python -m services.cli serve ... --config CONFIG` processes of this node only."""
    names = {str(config), str(config.resolve())}
    found = []
    for pid in _all_pids():
        cmd = _proc_cmdline(pid)
        if "services.cli" in cmd and "serve" in cmd and names & set(cmd) and _proc_alive(pid):
            found.append((pid, cmd))
    return found


# ------------------------------------------------------------------ the node


@dataclass
class RunningNode:
    url: str  # the gateway, e.g. http://127.0.0.1:40000
    base_port: int
    config: Path
    data_dir: Path
    log: Path  # stderr of `justnet up` and of every process it started
    process: subprocess.Popen[str]
    tokens: dict[str, str] = field(default_factory=dict)
    stdout_lines: list[str] = field(default_factory=list)
    serve_pids: list[int] = field(default_factory=list)

    def headers(self, role: str | None = None) -> dict[str, str]:
        """Authorization for `role` (admin, editor, member); none for anonymous."""
        if role is None or role == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, path: str, role: str | None = None, **kwargs: Any) -> requests.Response:
        return requests.get(
            self.url + path, headers=self.headers(role), timeout=HTTP_TIMEOUT, **kwargs
        )

    def request(
        self, method: str, path: str, role: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = {**self.headers(role), **kwargs.pop("headers", {})}
        return requests.request(
            method, self.url + path, headers=headers, timeout=HTTP_TIMEOUT, **kwargs
        )

    def justnet(self, *args: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Runs a `justnet` command against this node's configuration."""
        return run_justnet(*args, "--config", self.config, cwd=self.data_dir.parent, **kwargs)

    def errors_in_log(self, since: int = 0) -> list[str]:
        """Tracebacks the node's processes logged (JSON lines at level ERROR), from byte `since`."""
        out = []
        with self.log.open("rb") as fh:
            fh.seek(since)
            for raw in fh:
                line = raw.decode(errors="replace")
                with contextlib.suppress(ValueError):
                    entry = json.loads(line)
                    if entry.get("level") in ("ERROR", "CRITICAL"):
                        out.append(
                            f"{entry.get('logger')}: {entry.get('message')}\n"
                            f"{entry.get('exception', '')}"
                        )
        return out

    def log_size(self) -> int:
        return self.log.stat().st_size


def _read_stdout(process: subprocess.Popen[str], lines: list[str], ready: threading.Event) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if " is up: " in line:
            ready.set()


def _wait_until_up(node: RunningNode, ready: threading.Event) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    healthy = False
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            pytest.fail(
                f"`justnet up` exited with status {node.process.returncode} while starting:\n"
                + node.log.read_text(errors="replace")[-4000:]
            )
        if not healthy:
            with contextlib.suppress(requests.RequestException):
                healthy = node.get("/api/v1/health").status_code == 200
        if healthy and ready.is_set():
            return
        time.sleep(0.2)
    pytest.fail(
        f"the node was not up within {START_TIMEOUT:.0f} s (healthy={healthy}, "
        f"announced={ready.is_set()}); stdout: {node.stdout_lines}\n"
        + node.log.read_text(errors="replace")[-4000:]
    )


def _stop(node: RunningNode) -> list[str]:
    """SIGTERM to `justnet up`; returns what went wrong (empty when it stopped cleanly)."""
    problems: list[str] = []
    process = node.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            problems.append(f"`justnet up` did not exit within {STOP_TIMEOUT:.0f} s of SIGTERM")
            process.kill()
            process.wait(timeout=10)
    else:
        problems.append(f"`justnet up` had already exited (status {process.returncode})")
    if process.returncode != 0:
        problems.append(f"`justnet up` exited with status {process.returncode}, not 0")
    # The processes it started must be gone too (give the OS a moment to reap them).
    deadline = time.monotonic() + 5
    leftovers = serve_processes(node.config)
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.1)
        leftovers = serve_processes(node.config)
    leftovers += [
        (pid, _proc_cmdline(pid))
        for pid in node.serve_pids
        if _proc_alive(pid) and pid not in {p for p, _ in leftovers}
    ]
    for pid, cmd in leftovers:
        problems.append(f"process {pid} still running after `justnet up` exited: {' '.join(cmd)}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return problems


def launch(
    root: Path,
    config: Path,
    base_port: int,
    processes: str = "each",
    env: Mapping[str, str] | None = None,
) -> tuple[RunningNode, threading.Thread]:
    """`justnet up --processes PROCESSES --config CONFIG`, its log in ROOT/node.log, once
    its gateway answers; the thread reads its stdout (join it after stopping the node)."""
    log = root / "node.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [justnet_executable(), "up", "--processes", processes, "--config", str(config)],
            cwd=root,
            env=clean_env(env),
            stdout=subprocess.PIPE,
            stderr=log_file,
            text=True,
        )
    running = RunningNode(
        url=f"http://127.0.0.1:{base_port}",
        base_port=base_port,
        config=config,
        data_dir=config.parent,
        log=log,
        process=process,
    )
    ready = threading.Event()
    reader = threading.Thread(
        target=_read_stdout, args=(process, running.stdout_lines, ready), daemon=True
    )
    reader.start()
    try:
        _wait_until_up(running, ready)
    except BaseException:
        _stop(running)
        raise
    return running, reader


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    """One SEAJUST node with sample data, started with `justnet up`, for the whole session."""
    root = tmp_path_factory.mktemp("e2e")
    data_dir = root / "seajust"
    base_port = free_port_block()
    created = run_justnet(
        "init",
        "--network",
        "SEAJUST",
        "--sample-data",
        "--data-dir",
        data_dir,
        "--base-port",
        str(base_port),
        cwd=root,
    )
    assert created.returncode == 0, created.stderr
    config = data_dir / "justnet.toml"
    assert config.exists(), created.stderr

    # A process per service, so these tests also see what crosses processes.
    running, reader = launch(root, config, base_port, "each")
    try:
        assert any(running.url in line for line in running.stdout_lines), running.stdout_lines
        running.serve_pids = child_pids(running.process.pid)
        # The teardown check for leftovers must be able to see the processes at all.
        assert len(running.serve_pids) == 5, running.serve_pids
        assert sorted(pid for pid, _ in serve_processes(config)) == sorted(running.serve_pids)
        for role in ROLES:
            made = running.justnet("token", "create", "--role", role, "--name", f"e2e-{role}")
            assert made.returncode == 0, made.stderr
            lines = made.stdout.splitlines()
            assert len(lines) == 1 and lines[0].strip(), made.stdout  # the token, alone
            running.tokens[role] = lines[0].strip()
    except BaseException:
        _stop(running)
        raise
    yield running
    problems = _stop(running)
    reader.join(timeout=5)
    assert not problems, (
        "\n".join(problems) + "\n" + running.log.read_text(errors="replace")[-3000:]
    )


@pytest.fixture(scope="session")
def spare_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second node, created but never started, for tests that must not touch `node`."""
    root = tmp_path_factory.mktemp("spare")
    data_dir = root / "spare"
    created = run_justnet(
        "init",
        "--network",
        "SEAJUST",
        "--data-dir",
        data_dir,
        "--base-port",
        str(free_port_block()),
        cwd=root,
    )
    assert created.returncode == 0, created.stderr
    return data_dir / "justnet.toml"
