"""The node's internal service credential: how a service knows a call comes from its own node.

Services take the caller (role, network, principal) from gRPC metadata (identity.py), which
anyone who reaches an internal port could write. So that metadata counts only on calls that
also carry this credential in `x-justnet-service`, compared in constant time by every
internal server (services/common/server.py); any other call is anonymous, whatever role it
claims. Every channel between the node's processes sends it (`open_channel(...,
credential=...)` in services/common/clients.py): the gateway's, federation's to the
directory, events and requests, requests' and events' to federation. Channels to peer nodes
(mutual TLS) never do.

The credential is a random secret shared by the node's processes: `keys/internal.token` in
the data folder (written by `justnet init`, and by `justnet up` when missing), or
`JUSTNET_INTERNAL_TOKEN` (Kubernetes: the `internal.token` key of the node's keys Secret).
A process without one trusts no caller metadata and sends none.
"""

from __future__ import annotations

import contextlib
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
        """What the node's processes send on their calls to each other (nothing if there is
        no credential)."""
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
