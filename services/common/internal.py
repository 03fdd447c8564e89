"""The node's internal service credential: how the gateway proves it is the gateway.

Services trust the caller the gateway names in metadata (identity.py), but a few internal
RPCs are the gateway's own business rather than a person's: the telemetry it gathers for
/metrics and /api/v1/admin/traces (NodeTelemetry) and the peers' state it shows in lookups,
/api/v1/node and /metrics (FederationService.ListPeers). For those the gateway sends the
node's internal credential in `x-justnet-service` instead of inventing an administrator, and
the services compare it in constant time.

The credential is a random secret shared by the node's processes: `keys/internal.token` in
the data folder (written by `justnet init`, and by `justnet up` when missing), or
`JUSTNET_INTERNAL_TOKEN` (Kubernetes: the `internal.token` key of the node's keys Secret).
A process without one accepts no internal call and makes none.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path

from services.common.signing import write_private_file

SERVICE_KEY = "x-justnet-service"
TOKEN_FILE = "internal.token"
ENV = "JUSTNET_INTERNAL_TOKEN"
MIN_CHARS = 32


def token_path(data_dir: Path) -> Path:
    return data_dir / "keys" / TOKEN_FILE


def ensure_token(data_dir: Path) -> Path:
    """Writes a new credential into the node's keys folder unless it has one."""
    path = token_path(data_dir)
    if not path.exists():
        # another process may make it first
        with contextlib.suppress(FileExistsError):
            write_private_file(path, (secrets.token_urlsafe(32) + "\n").encode())
    return path


class InternalCredential:
    """The credential of one node, read when first needed (and again while there is none)."""

    def __init__(self, data_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.path = token_path(data_dir)
        self.environ = os.environ if environ is None else environ
        self._value = ""

    @classmethod
    def fixed(cls, value: str) -> InternalCredential:
        credential = cls(Path("/nonexistent"), {})
        credential._value = value
        return credential

    def value(self) -> str:
        if not self._value:
            found = self.environ.get(ENV, "").strip()
            if not found:
                try:
                    found = self.path.read_text().strip()
                except OSError:
                    found = ""
            if len(found) >= MIN_CHARS and found.isascii() and found.isprintable():
                self._value = found
        return self._value

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """What the gateway sends on its own internal calls (nothing if it has no credential)."""
        value = self.value()
        return ((SERVICE_KEY, value),) if value else ()

    def verify(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> bool:
        expected = self.value()
        if not expected:
            return False
        for key, presented in metadata or ():
            if key == SERVICE_KEY and isinstance(presented, str):
                return secrets.compare_digest(presented.encode(), expected.encode())
        return False


_internal: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "justnet_internal_call", default=False
)


def internal_call() -> bool:
    """Whether the current RPC carries this node's internal credential."""
    return _internal.get()


def set_internal(value: bool) -> contextvars.Token[bool]:
    return _internal.set(value)


def reset_internal(token: contextvars.Token[bool]) -> None:
    _internal.reset(token)
