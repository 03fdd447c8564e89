"""Node settings: `justnet.toml` plus `JUSTNET_<SECTION>_<KEY>` environment overrides.

Everything is validated when loaded, so a bad setting fails at start with a message
that names it (the CLI turns `SettingsError` into exit status 2).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pycountry

# A node's services, in the order they start (the gateway last); they stop in reverse.
SERVICES = ("directory", "requests", "events", "federation", "gateway")
GRPC_SERVICES = ("directory", "requests", "events", "federation")
DEFAULT_PORTS = {
    "gateway": 8080,
    "directory": 50051,
    "requests": 50052,
    "events": 50053,
    "federation": 50054,
}
DEFAULT_PEER_PORT = 50443
# --base-port N: gateway N, directory N+1, ... federation peer N+5 (API.md).
BASE_PORT_OFFSETS = {
    "gateway": 0,
    "directory": 1,
    "requests": 2,
    "events": 3,
    "federation": 4,
}
PEER_PORT_OFFSET = 5
SUPPORTED_DB_SCHEMES = ("sqlite+aiosqlite", "postgresql+asyncpg", "postgresql+psycopg")
NETWORK_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,15}$")
CONFIG_ENV = "JUSTNET_CONFIG"
# Variables named like settings that are not settings: the configuration file's path, and
# the node's internal credential (services/common/internal.py reads it; Kubernetes sets it
# from the keys Secret). Any other JUSTNET_* variable must be a setting.
NOT_SETTINGS = (CONFIG_ENV, "JUSTNET_INTERNAL_TOKEN")
# The keys each table accepts (anything else is an error); `setting_names` derives the
# environment variables from them, and the deployment checks compare those with deploy/k8s.
TOP_KEYS = ("network", "name", "jurisdictions", "data_dir")
SERVICE_KEYS = ("host", "port", "database_url", "address")
EXTRA_KEYS = {
    "requests": ("max_document_bytes",),
    "federation": ("peer_host", "peer_port", "peer_endpoint"),
    "gateway": ("max_body_bytes", "public_url", "scrape_token"),
}
TELEMETRY_KEYS = ("keep_spans", "log_level", "sample_ratio")
DEFAULT_SAMPLE_RATIO = 0.1
# Mail to people (the gateway's notifier); off unless enabled.
MAIL_KEYS = (
    "enabled",
    "host",
    "port",
    "security",
    "username",
    "password",
    "password_file",
    "from_address",
    "reminder_days",
    "digest_hour",
    "timeout_seconds",
)
MAIL_SECURITY = ("starttls", "tls", "none")


class SettingsError(Exception):
    """A missing or invalid setting; `setting` names it as a user would write it."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(f"{setting}: {message}")
        self.setting = setting
        self.message = message


@dataclass(frozen=True)
class ServiceSettings:
    name: str
    host: str
    port: int
    database_url: str
    # How the node's other processes reach this one (a Kubernetes Service name in
    # production); defaults to the bind address.
    address: str

    @property
    def target(self) -> str:
        return self.address


DEFAULT_MAX_DOCUMENT_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class RequestsSettings(ServiceSettings):
    # The largest document a request may carry (requests.max_document_bytes); the
    # gateway's upload route reads it too, to answer 413 before reading more.
    max_document_bytes: int = DEFAULT_MAX_DOCUMENT_BYTES


@dataclass(frozen=True)
class GatewaySettings:
    host: str
    port: int
    database_url: str
    max_body_bytes: int = 1_048_576
    public_url: str = ""
    # A bearer token that authorises GET /metrics and nothing else (Prometheus); empty: only
    # admin tokens may scrape. Kept out of repr so it never reaches a log line.
    scrape_token: str = field(default="", repr=False)

    @property
    def url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class FederationSettings(ServiceSettings):
    peer_host: str = "127.0.0.1"
    peer_port: int = DEFAULT_PEER_PORT
    peer_endpoint: str = ""  # what peers dial; defaults to peer_host:peer_port


@dataclass(frozen=True)
class PeerSettings:
    network: str
    endpoint: str
    public_key: str
    key_id: str
    certificate_fingerprint: str
    share: str = "default"


@dataclass(frozen=True)
class TelemetrySettings:
    # Spans kept in memory per process for /admin/traces when no collector is set.
    keep_spans: int = 2000
    log_level: str = "INFO"
    # The share of traces recorded for export and for /admin/traces (head sampling at the
    # trace's root); traces with an error are kept by the node whatever the ratio
    # (services/common/sampling.py). OTEL_TRACES_SAMPLER, when set, overrides it.
    sample_ratio: float = DEFAULT_SAMPLE_RATIO


@dataclass(frozen=True)
class MailSettings:
    """SMTP for notifications (README, "Mail"). The password comes from `password_file` or
    `JUSTNET_MAIL_PASSWORD` and is kept out of repr, so it never reaches a log line."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 587
    security: str = "starttls"  # starttls | tls (implicit, port 465) | none
    username: str = ""
    password: str = field(default="", repr=False)
    from_address: str = ""
    reminder_days: int = 3  # reminders this many days before a due date
    digest_hour: int = 7  # daily digests go from this hour (UTC)
    timeout_seconds: int = 30


@dataclass(frozen=True)
class NodeSettings:
    network: str
    name: str
    jurisdictions: tuple[str, ...]
    data_dir: Path
    directory: ServiceSettings
    requests: RequestsSettings
    events: ServiceSettings
    federation: FederationSettings
    gateway: GatewaySettings
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)
    mail: MailSettings = field(default_factory=MailSettings)
    peers: tuple[PeerSettings, ...] = ()
    config_path: Path | None = None

    def service(self, name: str) -> ServiceSettings:
        if name not in GRPC_SERVICES:
            raise KeyError(name)
        value: ServiceSettings = getattr(self, name)
        return value

    @property
    def documents_key_path(self) -> Path:
        """The AES-GCM key that seals confidential requests' documents at rest."""
        return self.data_dir / "keys" / "documents.key"

    @property
    def signing_key_path(self) -> Path:
        return self.data_dir / "keys" / "signing.key"

    @property
    def tls_key_path(self) -> Path:
        return self.data_dir / "keys" / "tls.key"

    @property
    def tls_cert_path(self) -> Path:
        return self.data_dir / "keys" / "tls.crt"


# ------------------------------------------------------------------ loading


def default_config_path() -> Path:
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    return Path("justnet-data") / "justnet.toml"


def load_settings(
    path: Path | str | None = None, environ: Mapping[str, str] | None = None
) -> NodeSettings:
    """Reads the TOML file (if any), applies `JUSTNET_*` overrides, validates everything."""
    env = os.environ if environ is None else environ
    config_path = Path(path) if path is not None else default_config_path()
    raw: dict[str, Any] = {}
    if config_path.exists():
        try:
            raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(str(config_path), f"not valid TOML: {exc}") from exc
    elif path is not None or CONFIG_ENV in env:
        raise SettingsError("--config", f"no configuration file at {config_path}")
    elif "JUSTNET_NETWORK" not in env:
        raise SettingsError(
            "--config",
            f"no configuration file at {config_path}; create one with "
            "`justnet init --network CODE` or pass --config FILE",
        )
    raw = _apply_env(raw, env)
    base_dir = config_path.parent.resolve() if config_path.exists() else Path.cwd()
    return _build(raw, base_dir, config_path if config_path.exists() else None)


def setting_names() -> tuple[str, ...]:
    """Every `JUSTNET_*` variable the loader reads (peers come only from the file)."""
    names = [f"JUSTNET_{key.upper()}" for key in TOP_KEYS]
    for svc in SERVICES:
        names += [
            f"JUSTNET_{svc}_{key}".upper() for key in (*SERVICE_KEYS, *EXTRA_KEYS.get(svc, ()))
        ]
    names += [f"JUSTNET_TELEMETRY_{key.upper()}" for key in TELEMETRY_KEYS]
    names += [f"JUSTNET_MAIL_{key.upper()}" for key in MAIL_KEYS]
    return tuple(names)


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    sections = (*SERVICES, "telemetry", "mail")
    for key, value in env.items():
        if not key.startswith("JUSTNET_") or key in NOT_SETTINGS:
            continue
        rest = key[len("JUSTNET_") :].lower()
        for section in sections:
            if rest.startswith(section + "_"):
                merged.setdefault(section, {})[rest[len(section) + 1 :]] = _EnvValue(key, value)
                break
        else:
            merged[rest] = _EnvValue(key, value)
    return merged


@dataclass(frozen=True)
class _EnvValue:
    """A raw string from the environment, converted to the setting's type on use."""

    variable: str
    text: str


def _scrape_token(gw: _Reader) -> str:
    token = gw.text("scrape_token", "").strip()
    if token and not (16 <= len(token) <= 200 and token.isascii() and token.isprintable()):
        raise SettingsError(gw._name("scrape_token"), "16 to 200 printable ASCII characters")
    return token


class _Reader:
    """Typed access to one TOML table, naming `section.key` in every error."""

    def __init__(self, table: Mapping[str, Any], section: str, known: set[str]) -> None:
        self.table = table
        self.section = section
        unknown = set(table) - known
        if unknown:
            name = sorted(unknown)[0]
            raise SettingsError(self._name(name), "unknown setting")

    def _name(self, key: str) -> str:
        value = self.table.get(key)
        if isinstance(value, _EnvValue):
            return value.variable
        return f"{self.section}.{key}" if self.section else key

    def text(self, key: str, default: str | None = None) -> str:
        value = self.table.get(key, default)
        if value is None:
            raise SettingsError(self._name(key), "missing")
        if isinstance(value, _EnvValue):
            return value.text
        if not isinstance(value, str):
            raise SettingsError(self._name(key), f"must be a string, not {value!r}")
        return value

    def integer(self, key: str, default: int, low: int = 1, high: int = 65535) -> int:
        value = self.table.get(key, default)
        if isinstance(value, _EnvValue):
            try:
                value = int(value.text)
            except ValueError:
                raise SettingsError(
                    self._name(key), f"must be an integer, not {value.text!r}"
                ) from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(self._name(key), f"must be an integer, not {value!r}")
        if not low <= value <= high:
            raise SettingsError(self._name(key), f"must be between {low} and {high}, not {value}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if isinstance(value, _EnvValue):
            words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
            if value.text.strip().lower() not in words:
                raise SettingsError(self._name(key), f"must be true or false, not {value.text!r}")
            return words[value.text.strip().lower()]
        if not isinstance(value, bool):
            raise SettingsError(self._name(key), f"must be true or false, not {value!r}")
        return value

    def fraction(self, key: str, default: float) -> float:
        """A number from 0 to 1."""
        value = self.table.get(key, default)
        if isinstance(value, _EnvValue):
            try:
                value = float(value.text)
            except ValueError:
                raise SettingsError(
                    self._name(key), f"must be a number from 0 to 1, not {value.text!r}"
                ) from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(self._name(key), f"must be a number from 0 to 1, not {value!r}")
        if not 0.0 <= value <= 1.0:  # also refuses NaN
            raise SettingsError(self._name(key), f"must be from 0 to 1, not {value}")
        return float(value)

    def strings(self, key: str, default: list[str]) -> list[str]:
        value = self.table.get(key, default)
        if isinstance(value, _EnvValue):
            return [p.strip() for p in value.text.split(",") if p.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SettingsError(self._name(key), "must be a list of strings")
        return list(value)


def _check_host(setting: str, host: str) -> str:
    if not host or any(c.isspace() for c in host):
        raise SettingsError(setting, f"not a valid host: {host!r}")
    return host


def check_database_url(setting: str, url: str) -> str:
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in SUPPORTED_DB_SCHEMES:
        raise SettingsError(
            setting,
            f"unsupported database URL {url.split('@')[-1]!r}; "
            f"use one of {', '.join(s + '://' for s in SUPPORTED_DB_SCHEMES)}",
        )
    return url


def _build(raw: dict[str, Any], base_dir: Path, config_path: Path | None) -> NodeSettings:
    top = _Reader(raw, "", {*TOP_KEYS, "peers", *SERVICES, "telemetry", "mail"})
    network = top.text("network").upper()
    if not NETWORK_CODE.match(network):
        raise SettingsError(
            top._name("network"), f"{network!r} is not a network code (A-Z, 0-9, 2-16 chars)"
        )
    jurisdictions = tuple(j.upper() for j in top.strings("jurisdictions", []))
    for code in jurisdictions:
        if pycountry.countries.get(alpha_2=code) is None:
            raise SettingsError(top._name("jurisdictions"), f"{code!r} is not an ISO 3166-1 code")
    data_dir = Path(top.text("data_dir", str(base_dir)))
    if not data_dir.is_absolute():
        data_dir = (base_dir / data_dir).resolve()
    services = _Services(raw, data_dir)
    directory = ServiceSettings(**services.common("directory"))
    requests = services.requests()
    events = ServiceSettings(**services.common("events"))
    federation = services.federation()
    gateway = services.gateway()
    _check_ports(
        ("gateway.port", gateway.port),
        ("directory.port", directory.port),
        ("requests.port", requests.port),
        ("events.port", events.port),
        ("federation.port", federation.port),
        ("federation.peer_port", federation.peer_port),
    )
    return NodeSettings(
        network=network,
        name=top.text("name", network),
        jurisdictions=jurisdictions,
        data_dir=data_dir,
        directory=directory,
        requests=requests,
        events=events,
        federation=federation,
        gateway=gateway,
        telemetry=_telemetry(raw.get("telemetry", {})),
        mail=_mail(raw.get("mail", {}), base_dir),
        peers=tuple(_peer(i, p) for i, p in enumerate(raw.get("peers", []))),
        config_path=config_path,
    )


class _Services:
    """Reads each service's table: the settings every service has, then its own."""

    def __init__(self, raw: dict[str, Any], data_dir: Path) -> None:
        self.raw, self.data_dir = raw, data_dir

    def section(self, svc: str) -> _Reader:
        table = self.raw.get(svc, {})
        if not isinstance(table, dict):
            raise SettingsError(svc, "must be a table")
        return _Reader(table, svc, {*SERVICE_KEYS, *EXTRA_KEYS.get(svc, ())})

    def common(self, svc: str) -> dict[str, Any]:
        r = self.section(svc)
        host = _check_host(r._name("host"), r.text("host", "127.0.0.1"))
        port = r.integer("port", DEFAULT_PORTS[svc])
        default_db = f"sqlite+aiosqlite:///{self.data_dir / (svc + '.db')}"
        url = check_database_url(r._name("database_url"), r.text("database_url", default_db))
        connect_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        address = r.text("address", f"{connect_host}:{port}")
        return {"name": svc, "host": host, "port": port, "database_url": url, "address": address}

    def requests(self) -> RequestsSettings:
        r = self.section("requests")
        return RequestsSettings(
            **self.common("requests"),
            max_document_bytes=r.integer(
                "max_document_bytes", DEFAULT_MAX_DOCUMENT_BYTES, low=1024, high=1 << 30
            ),
        )

    def federation(self) -> FederationSettings:
        r = self.section("federation")
        values = self.common("federation")
        peer_host = _check_host(r._name("peer_host"), r.text("peer_host", values["host"]))
        peer_port = r.integer("peer_port", DEFAULT_PEER_PORT)
        return FederationSettings(
            **values,
            peer_host=peer_host,
            peer_port=peer_port,
            peer_endpoint=r.text("peer_endpoint", f"{peer_host}:{peer_port}"),
        )

    def gateway(self) -> GatewaySettings:
        r = self.section("gateway")
        values = self.common("gateway")
        return GatewaySettings(
            host=values["host"],
            port=values["port"],
            database_url=values["database_url"],
            max_body_bytes=r.integer("max_body_bytes", 1_048_576, low=1024, high=1 << 30),
            public_url=r.text("public_url", ""),
            scrape_token=_scrape_token(r),
        )


def _check_ports(*ports: tuple[str, int]) -> None:
    seen: dict[int, str] = {}
    for setting, port in ports:
        if port in seen:
            raise SettingsError(setting, f"port {port} is also used by {seen[port]}")
        seen[port] = setting


def _telemetry(table: Any) -> TelemetrySettings:
    tel = _Reader(table, "telemetry", set(TELEMETRY_KEYS))
    log_level = tel.text("log_level", "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(tel._name("log_level"), f"unknown log level {log_level!r}")
    return TelemetrySettings(
        keep_spans=tel.integer("keep_spans", 2000, low=0, high=1_000_000),
        log_level=log_level,
        sample_ratio=tel.fraction("sample_ratio", DEFAULT_SAMPLE_RATIO),
    )


def _mail(table: Any, base_dir: Path) -> MailSettings:
    if not isinstance(table, dict):
        raise SettingsError("mail", "must be a table")
    r = _Reader(table, "mail", set(MAIL_KEYS))
    security = r.text("security", "starttls").lower()
    if security not in MAIL_SECURITY:
        raise SettingsError(r._name("security"), f"one of {', '.join(MAIL_SECURITY)}")
    password = r.text("password", "")
    password_file = r.text("password_file", "")
    if password_file:
        path = Path(password_file)
        path = path if path.is_absolute() else base_dir / path
        try:
            password = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            message = f"cannot read it: {exc.strerror}"
            raise SettingsError(r._name("password_file"), message) from None
    mail = MailSettings(
        enabled=r.boolean("enabled", False),
        host=_check_host(r._name("host"), r.text("host", "127.0.0.1")),
        port=r.integer("port", 465 if security == "tls" else 587),
        security=security,
        username=r.text("username", ""),
        password=password,
        from_address=r.text("from_address", "").strip(),
        reminder_days=r.integer("reminder_days", 3, low=0, high=60),
        digest_hour=r.integer("digest_hour", 7, low=0, high=23),
        timeout_seconds=r.integer("timeout_seconds", 30, low=1, high=600),
    )
    if mail.enabled and "@" not in mail.from_address:
        raise SettingsError(r._name("from_address"), "an e-mail address is needed to send mail")
    return mail


def _peer(index: int, table: Any) -> PeerSettings:
    if not isinstance(table, dict):
        raise SettingsError(f"peers[{index}]", "must be a table")
    r = _Reader(
        table,
        f"peers[{index}]",
        {"network", "endpoint", "public_key", "key_id", "certificate_fingerprint", "share"},
    )
    return PeerSettings(
        network=r.text("network").upper(),
        endpoint=r.text("endpoint"),
        public_key=r.text("public_key"),
        key_id=r.text("key_id"),
        certificate_fingerprint=r.text("certificate_fingerprint"),
        share=r.text("share", "default"),
    )


def with_ports(settings: NodeSettings, base_port: int) -> NodeSettings:
    """The same node on another block of six ports (used by tests and the demo)."""

    def svc(s: ServiceSettings, port: int) -> dict[str, Any]:
        return {"port": port, "address": f"{s.address.rsplit(':', 1)[0]}:{port}"}

    return replace(
        settings,
        directory=replace(settings.directory, **svc(settings.directory, base_port + 1)),
        requests=replace(settings.requests, **svc(settings.requests, base_port + 2)),
        events=replace(settings.events, **svc(settings.events, base_port + 3)),
        federation=replace(
            settings.federation,
            **svc(settings.federation, base_port + 4),
            peer_port=base_port + 5,
            peer_endpoint=f"{settings.federation.peer_host}:{base_port + 5}",
        ),
        gateway=replace(settings.gateway, port=base_port),
    )
