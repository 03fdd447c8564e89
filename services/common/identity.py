"""Who is calling: carried from the gateway to services in gRPC metadata.

The gateway authenticates people; services read the caller from metadata and still
enforce visibility themselves, so a gateway bug cannot leak a restricted record. The
metadata counts only on calls that also carry the node's internal credential
(services/common/internal.py): the server interceptor (services/common/server.py) treats any
other call as anonymous, whatever role it claims.

Principals: a person is `user:<id>`, a named API token `token:<id>`, and one of the node's
own processes acting for the node (federation applying replicas, requests handing a message
to federation, the gateway gathering metrics) is `service:<name>`, with the admin role
(`Caller.node_service`).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from dataclasses import dataclass

ROLES = ("admin", "editor", "member")
ROLE_KEY = "x-justnet-role"
NETWORK_KEY = "x-justnet-network"
SUBJECT_KEY = "x-justnet-subject"
NAME_KEY = "x-justnet-name"
LEGACY_KEY = "x-justnet-legacy-subject"
_RANK = {"anonymous": 0, "member": 1, "editor": 2, "admin": 3}


@dataclass(frozen=True)
class Caller:
    role: str = "anonymous"  # admin, editor, member or anonymous
    network: str = ""  # the caller's own network; empty when anonymous
    # The stable principal id that owns things and is audited: `user:<id>` for a person
    # (their session or their tokens), `token:<id>` for a named service token. Never a name.
    subject: str = ""
    name: str = ""  # display name, shown to people; decides nothing
    # Before principals, a token's name owned what it made; a token migrated from those
    # days keeps reaching what its old name owned (and nothing that name owns later).
    legacy_subject: str = ""

    @classmethod
    def node_service(cls, name: str, network: str) -> Caller:
        """One of the node's own processes (`federation`, `requests`, `events`, `gateway`)
        acting for the node: the admin role of its network, principal `service:<name>`, so
        the audit log and ownership never take it for a person or a token."""
        return cls("admin", network.upper(), service_principal(name))

    @property
    def authenticated(self) -> bool:
        return self.role != "anonymous"

    def at_least(self, role: str) -> bool:
        return _RANK[self.role] >= _RANK[role]

    def metadata(self) -> tuple[tuple[str, str], ...]:
        if not self.authenticated:
            return ()
        pairs = [
            (ROLE_KEY, self.role),
            (NETWORK_KEY, self.network),
            (SUBJECT_KEY, self.subject),
            (NAME_KEY, _ascii(self.name)),
        ]
        if self.legacy_subject:
            pairs.append((LEGACY_KEY, self.legacy_subject))
        return tuple(pairs)

    def owns(self, owner: str) -> bool:
        """Whether a record owned by principal `owner` is this caller's."""
        if not self.subject or not owner:
            return False
        return owner == self.subject or (bool(self.legacy_subject) and owner == self.legacy_subject)

    def owner_ids(self) -> tuple[str, ...]:
        """The owner values that mean this caller (for queries)."""
        return tuple(v for v in (self.subject, self.legacy_subject) if v)


def user_principal(user_id: str) -> str:
    return f"user:{user_id}"


def token_principal(token_id: str) -> str:
    return f"token:{token_id}"


def service_principal(name: str) -> str:
    return f"service:{name}"


def _ascii(text: str) -> str:
    # gRPC metadata values must be printable ASCII; a display name is informative only.
    return text.encode("ascii", "backslashreplace").decode()[:200]


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
        name=values.get(NAME_KEY, "")[:200],
        legacy_subject=values.get(LEGACY_KEY, "")[:200],
    )


def current_caller() -> Caller:
    return _current.get()


def set_caller(caller: Caller) -> contextvars.Token[Caller]:
    return _current.set(caller)


def reset_caller(token: contextvars.Token[Caller]) -> None:
    _current.reset(token)
