"""The committed protobuf code matches the .proto files; the architecture holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_code_is_current() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/genproto.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_one_proto_package_per_service() -> None:
    for svc in ("common", "directory", "requests", "events", "federation"):
        proto = ROOT / "protos" / "justnet" / svc / "v1" / f"{svc}.proto"
        assert f"package justnet.{svc}.v1;" in proto.read_text()


def test_import_contracts() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
