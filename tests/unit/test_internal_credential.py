"""The node's internal credential: made once, shared by the node's processes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from services.cli.main import main
from services.cli.nodes import write_node
from services.common.internal import (
    ENV,
    SERVICE_KEY,
    InternalCredential,
    ensure_token,
    token_path,
)


def test_init_writes_a_private_credential_once(tmp_path: Path) -> None:
    write_node(tmp_path, "SEAJUST", "SEAJUST", ["TH"], None)
    path = token_path(tmp_path)
    first = path.read_text()
    assert len(first.strip()) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ensure_token(tmp_path)  # `justnet up` on an initialised node keeps it
    assert path.read_text() == first


def test_verify_is_exact_and_needs_a_credential(tmp_path: Path) -> None:
    none = InternalCredential(tmp_path, {})
    assert none.metadata() == ()
    assert not none.verify([(SERVICE_KEY, "")])
    ensure_token(tmp_path)
    credential = InternalCredential(tmp_path, {})
    value = token_path(tmp_path).read_text().strip()
    assert credential.metadata() == ((SERVICE_KEY, value),)
    assert credential.verify([("x-justnet-role", "admin"), (SERVICE_KEY, value)])
    assert not credential.verify([(SERVICE_KEY, value[:-1])])
    assert not credential.verify([("x-justnet-role", "admin")])


def test_the_environment_overrides_the_file_and_short_values_are_refused(tmp_path: Path) -> None:
    ensure_token(tmp_path)
    assert InternalCredential(tmp_path, {ENV: "k" * 40}).value() == "k" * 40
    assert InternalCredential(tmp_path / "empty", {ENV: "short"}).value() == ""


def test_serve_refuses_to_start_without_a_credential(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_node(tmp_path, "SEAJUST", "SEAJUST", ["TH"], None)
    token_path(tmp_path).unlink()
    assert main(["serve", "directory", "--config", str(config)]) == 2
    assert f"justnet: {ENV}: missing" in capsys.readouterr().err
