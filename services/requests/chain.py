"""The signed event chain of a request.

Each event is serialized once by its author; those exact bytes are hashed, signed,
stored and sent. The next event names the sha256 of those bytes, so neither side can
rewrite an event without breaking every later link, and each event verifies against
its author's key (this node's own keys, or a peer's from federation's keyring).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from justnet.federation.v1 import federation_pb2
from justnet.requests.v1 import requests_pb2

from services.common.codes import REQUEST_TRANSITIONS, REQUESTING_STATUSES
from services.common.keyring import NodeIdentity, verify_keys
from services.common.signing import SigningKey, verify
from services.common.timeutil import from_timestamp, to_timestamp

CONTEXT = b"justnet-request-event-v1\n"
KEYS_TTL_SECONDS = 300.0
NO_KEYS = "no verify keys available"

# Who authors which status: codes.REQUESTING_STATUSES / codes.REQUESTED_STATUSES.
TERMINAL = ("executed", "partially_executed", "refused", "withdrawn")
# status -> statuses that may follow it (shared with the console)
TRANSITIONS = REQUEST_TRANSITIONS


def side_of(status: str) -> str:
    return "requesting" if status in REQUESTING_STATUSES else "requested"


def event_hash(event_bytes: bytes) -> bytes:
    return hashlib.sha256(event_bytes).digest()


def sign_event(key: SigningKey, event: requests_pb2.RequestEvent) -> requests_pb2.SignedEvent:
    data = event.SerializeToString(deterministic=True)
    return requests_pb2.SignedEvent(
        event=data, key_id=key.key_id, signature=key.sign(CONTEXT + data)
    )


def new_event(
    key: SigningKey,
    *,
    request_id: str,
    seq: int,
    prev: bytes | None,
    author: str,
    status: str,
    note: str,
    at: datetime,
    payload: bytes = b"",
    documents: Sequence[requests_pb2.DocumentRef] = (),
) -> requests_pb2.SignedEvent:
    event = requests_pb2.RequestEvent(
        request_id=request_id,
        seq=seq,
        prev_hash=event_hash(prev) if prev is not None else b"",
        author=author,
        status=status,
        note=note,
        at=to_timestamp(at),
        payload=payload,
        documents=documents,
    )
    return sign_event(key, event)


@dataclass(frozen=True)
class VerifyKey:
    """A verify key and the window in which its signatures count."""

    public_key: str
    valid_from: datetime | None  # signatures dated before it are refused (None: no bound)
    until: datetime | None  # expiry of an old key, or validity end of the current one

    def valid_at(self, at: datetime) -> bool:
        if self.valid_from is not None and at < self.valid_from:
            return False
        return self.until is None or at < self.until


def _keys_of(reply: federation_pb2.NodeKeys) -> dict[str, VerifyKey]:
    def when(k: federation_pb2.VerifyKey, field: str) -> datetime | None:
        return from_timestamp(getattr(k, field)) if k.HasField(field) else None

    keys = {
        k.key_id: VerifyKey(k.public_key, when(k, "valid_from"), when(k, "valid_until"))
        for k in reply.verify_keys
    }
    for k in reply.old_verify_keys:
        keys[k.key_id] = VerifyKey(k.public_key, when(k, "valid_from"), when(k, "expired_at"))
    return keys


@dataclass(frozen=True)
class Checked:
    """One event after verification: what it says, and whether it can be trusted."""

    signed: requests_pb2.SignedEvent
    event: requests_pb2.RequestEvent | None
    verified: bool
    problem: str
    retryable: bool = False  # the keys could not be fetched: try again later

    @property
    def hash(self) -> bytes:
        return event_hash(self.signed.event)


KeysFetcher = Callable[[str], Awaitable[federation_pb2.NodeKeys]]


class KeyRing:
    """Verify keys by network: this node's own from its identity, peers' from federation
    (GetNetworkKeys), cached and fetched again when an unknown key id appears."""

    def __init__(self, network: str, identity: NodeIdentity, fetch: KeysFetcher) -> None:
        self.network = network
        self.identity = identity
        self.fetch = fetch
        self._cache: dict[str, tuple[float, dict[str, VerifyKey]]] = {}

    def own(self) -> dict[str, VerifyKey]:
        current, old = verify_keys(self.identity)
        return _keys_of(federation_pb2.NodeKeys(verify_keys=[current], old_verify_keys=old))

    async def keys(self, network: str, key_id: str) -> dict[str, VerifyKey]:
        if network == self.network:
            return self.own()
        now = time.monotonic()
        cached = self._cache.get(network)
        if cached is not None and cached[0] > now and key_id in cached[1]:
            return cached[1]
        keys = _keys_of(await self.fetch(network))
        self._cache[network] = (now + KEYS_TTL_SECONDS, keys)
        return keys


async def check_chain(
    request_id: str,
    signed: Sequence[requests_pb2.SignedEvent],
    ring: KeyRing,
    first_seq: int = 1,
    prev_bytes: bytes | None = None,
) -> list[Checked]:
    """Verifies every event: parses, signature by its author's key, seq and hash links.

    `signed` may be the tail of a chain, from `first_seq`, whose preceding event's bytes
    are `prev_bytes` (already verified by the caller). An event after a broken one is
    checked on its own merits, but its link to the broken one is what the stored bytes
    say, so a rewritten event breaks the next link.
    """
    out: list[Checked] = []
    for offset, item in enumerate(signed):
        index = first_seq - 1 + offset
        event = requests_pb2.RequestEvent()
        try:
            event.ParseFromString(item.event)
        except Exception:
            out.append(Checked(item, None, False, "not a request event"))
            prev_bytes = item.event
            continue
        problem = ""
        if event.request_id != request_id:
            problem = "belongs to another request"
        elif event.seq != index + 1:
            problem = f"sequence number {event.seq} where {index + 1} was expected"
        elif event.prev_hash != (event_hash(prev_bytes) if prev_bytes is not None else b""):
            problem = "does not link to the previous event (hash mismatch)"
        else:
            problem = await _signature_problem(item, event, ring)
        retry = problem.startswith(NO_KEYS)
        out.append(Checked(item, event, not problem, problem, retry))
        prev_bytes = item.event
    return out


async def _signature_problem(
    item: requests_pb2.SignedEvent, event: requests_pb2.RequestEvent, ring: KeyRing
) -> str:
    try:
        keys = await ring.keys(event.author, item.key_id)
    except Exception:  # federation down or the author unknown: cannot vouch for it
        return f"{NO_KEYS} for {event.author}"
    key = keys.get(item.key_id)
    if key is None:
        return f"{item.key_id} is not a key of {event.author}"
    if not key.valid_at(from_timestamp(event.at)):
        return f"signed with {item.key_id} outside its validity window"
    if not verify(key.public_key, item.signature, CONTEXT + item.event):
        return "signature does not verify"
    return ""
