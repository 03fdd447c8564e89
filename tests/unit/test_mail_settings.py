"""The [mail] settings: off by default, named in every error, the password from a file or
the environment and never in repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.settings import SettingsError, load_settings

BASE = 'network = "SEAJUST"\njurisdictions = ["TH"]\n'


def load(tmp_path: Path, mail: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    config = tmp_path / "justnet.toml"
    config.write_text(BASE + "[mail]\n" + mail, encoding="utf-8")
    return load_settings(config, env or {})


def test_mail_is_off_by_default(tmp_path: Path) -> None:
    settings = load(tmp_path, "")
    assert settings.mail.enabled is False
    assert settings.mail.reminder_days == 3 and settings.mail.security == "starttls"


def test_the_password_comes_from_a_file_or_the_environment_and_is_never_shown(
    tmp_path: Path,
) -> None:
    (tmp_path / "smtp.password").write_text("s3cret-from-file\n", encoding="utf-8")
    mail = (
        'enabled = true\nhost = "smtp.example.org"\nport = 465\nsecurity = "tls"\n'
        'username = "justnet"\npassword_file = "smtp.password"\n'
        'from_address = "justnet@seajust.example"\n'
    )
    settings = load(tmp_path, mail)
    assert settings.mail.password == "s3cret-from-file"
    assert "s3cret" not in repr(settings)
    env = load(tmp_path, 'from_address = "a@b.example"\n', {"JUSTNET_MAIL_PASSWORD": "from-env"})
    assert env.mail.password == "from-env"


@pytest.mark.parametrize(
    ("mail", "env", "named"),
    [
        ("enabled = true\n", {}, "mail.from_address"),
        ('security = "ssl"\n', {}, "mail.security"),
        ('password_file = "missing"\n', {}, "mail.password_file"),
        ("", {"JUSTNET_MAIL_ENABLED": "maybe"}, "JUSTNET_MAIL_ENABLED"),
        ("reminder_days = 99\n", {}, "mail.reminder_days"),
        ("colour = 1\n", {}, "mail.colour"),
    ],
)
def test_a_bad_mail_setting_is_named(
    tmp_path: Path, mail: str, env: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load(tmp_path, mail, env)
    assert caught.value.setting == named
