"""Where a benchmark node's databases live: SQLite files in its folder (the default), or
databases named by a URL template, such as a throwaway PostgreSQL cluster's.

A template holds `{network}` and `{service}`, e.g.
`postgresql+asyncpg://postgres@127.0.0.1:5433/{network}_{service}`; the node's settings
take the URLs from `JUSTNET_<SERVICE>_DATABASE_URL` (services/common/settings.py), so the
benchmarks need no other change. The databases must exist and be empty:
`ThrowawayPostgres.fresh_databases` makes them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SERVICES = ("directory", "requests", "events", "federation", "gateway")
HOST = "127.0.0.1"


def database_env(template: str, network: str) -> dict[str, str]:
    """The `JUSTNET_<SERVICE>_DATABASE_URL` variables of one node ({} without a template)."""
    if not template:
        return {}
    return {
        f"JUSTNET_{svc.upper()}_DATABASE_URL": template.format(network=network.lower(), service=svc)
        for svc in SERVICES
    }


class ThrowawayPostgres:
    """A local cluster in a temporary folder, as scripts/test makes one, stopped and
    removed on exit. Unlike the tests' cluster it keeps PostgreSQL's durable defaults
    (fsync, synchronous_commit, full_page_writes on): a deployment's numbers come from it."""

    def __init__(self) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not found:
            raise RuntimeError("PostgreSQL is not installed: apt-get install -y postgresql")
        self.bin = found[-1]
        self.dir = Path(tempfile.mkdtemp(prefix="justnet-bench-pg-"))
        self.port = _free_port()
        self.started = False

    def _as_pg(self, argv: list[str]) -> list[str]:
        # initdb and postgres refuse to run as root.
        return ["runuser", "-u", "postgres", "--", *argv] if os.getuid() == 0 else argv

    def start(self) -> ThrowawayPostgres:
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        _run(
            self._as_pg(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                ]
            )
        )
        options = f"-h {HOST} -p {self.port} -k {self.dir} -c max_connections=300"
        _run(
            self._as_pg(
                [
                    str(self.bin / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(self.dir / "log"),
                    "-w",
                    "-t",
                    "30",
                    "-o",
                    options,
                    "start",
                ]
            )
        )
        self.started = True
        return self

    def stop(self) -> None:
        if self.started:
            with contextlib.suppress(subprocess.SubprocessError):
                _run(
                    self._as_pg(
                        [
                            str(self.bin / "pg_ctl"),
                            "-D",
                            str(self.dir / "data"),
                            "-m",
                            "fast",
                            "-w",
                            "stop",
                        ]
                    )
                )
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def template(self) -> str:
        return f"postgresql+asyncpg://postgres@{HOST}:{self.port}/{{network}}_{{service}}"

    def fresh_databases(self, networks: list[str]) -> None:
        """Empty databases for every service of these nodes (dropped first if present)."""
        for network in networks:
            for svc in SERVICES:
                name = f"{network.lower()}_{svc}"
                self.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                self.sql(f'CREATE DATABASE "{name}"')

    def sql(self, statement: str) -> str:
        argv = [
            str(self.bin / "psql"),
            "-h",
            HOST,
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-qAtc",
            statement,
        ]
        return _run(argv)


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise subprocess.SubprocessError(f"{argv[0]} failed: {done.stderr.strip()}")
    return done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port
