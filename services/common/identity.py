"""Who is calling: carried from the gateway to services in gRPC metadata.

The gateway authenticates people; services read the caller from metadata and still
enforce visibility themselves, so a gateway bug cannot leak a restricted record.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from dataclasses import dataclass

ROLES = ("admin", "editor", "member")
ROLE_KEY = "x-justnet-role"
NETWORK_KEY = "x-justnet-network"
SUBJECT_KEY = "x-justnet-subject"
_RANK = {"anonymous": 0, "member": 1, "editor": 2, "admin": 3}


@dataclass(frozen=True)
class Caller:
    role: str = "anonymous"  # admin, editor, member or anonymous
    network: str = ""  # the caller's own network; empty when anonymous
    subject: str = ""  # token name, for audit

    @property
    def authenticated(self) -> bool:
        return self.role != "anonymous"

    def at_least(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]

    def metadata(self) -> tuple[tuple[str, str], ...]:
        if not self.authenticated:
            return ()
        return ((ROLE_KEY, self.role), (NETWORK_KEY, self.network), (SUBJECT_KEY, self.subject))


ANONYMOUS = Caller()
_current: contextvars.ContextVar[Caller] = contextvars.ContextVar(
    "justnet_caller", default=ANONYMOUS
)


def caller_from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> Caller:
    values = {k: v for k, v in (metadata or ()) if isinstance(v, str)}
    role = values.get(ROLE_KEY, "anonymous")
    if role not in ROLES:
        return ANONYMOUS
    return Caller(
        role=role,
        network=values.get(NETWORK_KEY, "").upper(),
        subject=values.get(SUBJECT_KEY, "")[:200],
    )


def current_caller() -> Caller:
    return _current.get()


def set_caller(caller: Caller) -> contextvars.Token[Caller]:
    return _current.set(caller)


def reset_caller(token: contextvars.Token[Caller]) -> None:
    _current.reset(token)
