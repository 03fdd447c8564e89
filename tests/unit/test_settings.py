"""Settings: TOML plus JUSTNET_* overrides; a bad setting fails naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.settings import SettingsError, load_settings

TOML = """
network = "SEAJUST"
name = "South East Asia Justice Network"
jurisdictions = ["TH", "VN"]
data_dir = "data"

[gateway]
port = 18080

[directory]
port = 18081
"""


def write(tmp_path: Path, text: str = TOML) -> Path:
    path = tmp_path / "justnet.toml"
    path.write_text(text)
    return path


def test_file_defaults_and_relative_data_dir(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path), {})
    assert s.network == "SEAJUST"
    assert s.jurisdictions == ("TH", "VN")
    assert s.data_dir == (tmp_path / "data").resolve()
    assert s.gateway.port == 18080
    assert s.requests.port == 50052
    assert s.federation.peer_port == 50443
    assert s.directory.database_url == f"sqlite+aiosqlite:///{s.data_dir / 'directory.db'}"
    assert s.directory.target == "127.0.0.1:18081"


def test_environment_overrides(tmp_path: Path) -> None:
    env = {
        "JUSTNET_DIRECTORY_DATABASE_URL": "postgresql+asyncpg://u@db/justnet",
        "JUSTNET_FEDERATION_PEER_PORT": "19443",
        "JUSTNET_JURISDICTIONS": "th, la",
        "JUSTNET_DIRECTORY_ADDRESS": "directory:50051",
    }
    s = load_settings(write(tmp_path), env)
    assert s.directory.database_url == "postgresql+asyncpg://u@db/justnet"
    assert s.federation.peer_port == 19443
    assert s.jurisdictions == ("TH", "LA")
    assert s.directory.target == "directory:50051"


def test_the_internal_credential_variable_is_not_a_setting(tmp_path: Path) -> None:
    """Kubernetes gives every process JUSTNET_INTERNAL_TOKEN (deploy/k8s); it is read by
    services/common/internal.py, and must not stop the settings from loading."""
    env = {"JUSTNET_INTERNAL_TOKEN": "x" * 43, "JUSTNET_CONFIG": str(tmp_path / "justnet.toml")}
    assert load_settings(write(tmp_path), env).network == "SEAJUST"
    with pytest.raises(SettingsError) as info:
        load_settings(write(tmp_path), {"JUSTNET_INTERNAL_TOKENS": "x"})
    assert info.value.setting == "JUSTNET_INTERNAL_TOKENS"


@pytest.mark.parametrize(
    ("env", "toml_extra", "named"),
    [
        ({"JUSTNET_GATEWAY_PORT": "eighty"}, "", "JUSTNET_GATEWAY_PORT"),
        ({"JUSTNET_GATEWAY_PORT": "70000"}, "", "JUSTNET_GATEWAY_PORT"),
        ({"JUSTNET_DIRECTORY_DATABASE_URL": "mysql://x"}, "", "JUSTNET_DIRECTORY_DATABASE_URL"),
        ({"JUSTNET_JURISDICTIONS": "TH,XX"}, "", "JUSTNET_JURISDICTIONS"),
        ({"JUSTNET_NETWORK": "bad code!"}, "", "JUSTNET_NETWORK"),
        ({"JUSTNET_TELEMETRY_LOG_LEVEL": "LOUD"}, "", "JUSTNET_TELEMETRY_LOG_LEVEL"),
        ({}, "\n[events]\nprot = 1\n", "events.prot"),
        ({}, "\n[requests]\nport = 18080\n", "requests.port"),
        ({}, "\n[events]\nport = true\n", "events.port"),
        ({"JUSTNET_GATEWAY_SCRAPE_TOKEN": "short"}, "", "JUSTNET_GATEWAY_SCRAPE_TOKEN"),
    ],
)
def test_bad_settings_fail_naming_the_setting(
    tmp_path: Path, env: dict[str, str], toml_extra: str, named: str
) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(write(tmp_path, TOML + toml_extra), env)
    assert info.value.setting == named


def test_missing_file_and_invalid_toml(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="no configuration file"):
        load_settings(tmp_path / "nope.toml", {})
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(write(tmp_path, "network = "), {})
    with pytest.raises(SettingsError) as info:
        load_settings(write(tmp_path, "name = 'x'"), {})
    assert info.value.setting == "network"


def test_the_scrape_token_is_read_and_never_shown(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path), {}).gateway.scrape_token == ""
    token = "prometheus-" + "s3cret" * 4
    s = load_settings(write(tmp_path), {"JUSTNET_GATEWAY_SCRAPE_TOKEN": token})
    assert s.gateway.scrape_token == token
    assert token not in repr(s)
