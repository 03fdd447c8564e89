"""The peers table: adding a peer from its descriptor, listing, removing, retry state,
and the states this node accepts each peer's records for (ARCHITECTURE section 4)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from justnet.federation.v1 import federation_pb2
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import WRITE, session_factory
from services.common.errors import AlreadyExists, NotFound
from services.common.settings import NETWORK_CODE
from services.common.signing import certificate_fingerprint
from services.common.timeutil import as_utc, from_timestamp, utcnow
from services.common.validation import Validator, country_code
from services.federation.models import PeerRow, PurgeRow, QuarantineRow
from services.federation.policy import FEEDS, POLICIES
from services.federation.rotation import apply_announcements


@dataclass(frozen=True)
class PeerKey:
    key_id: str
    public_key: str
    valid_until: datetime | None = None  # current key
    expired_at: datetime | None = None  # old key
    valid_from: datetime | None = None  # None: no lower bound (keys from before windows)

    def valid_at(self, at: datetime) -> bool:
        if self.valid_from is not None and at < self.valid_from:
            return False
        if self.expired_at is not None:
            return at < self.expired_at
        return self.valid_until is None or at <= self.valid_until


@dataclass(frozen=True)
class PinnedCertificate:
    pem: bytes
    fingerprint: str
    until: datetime | None  # None: the peer's current certificate


@dataclass(frozen=True)
class Peer:
    """An immutable snapshot of one peer, as the subscriber and the peer server use it."""

    network: str
    name: str
    endpoint: str
    keys: tuple[PeerKey, ...]
    certificate_pem: bytes
    fingerprint: str
    policy: str
    failures: int
    retry_at: datetime | None
    replay_feeds: tuple[str, ...] = ()
    jurisdictions: tuple[str, ...] = ()  # what its descriptor lists
    # The states whose records this node applies (the rest goes to quarantine).
    accepted: frozenset[str] = frozenset()
    # Feeds to read again from the start: the accepted states changed since.
    rescan_feeds: tuple[str, ...] = ()
    # Certificates it rotated away from, accepted until their overlap ends.
    previous_certificates: tuple[PinnedCertificate, ...] = ()
    # This node's newest key that the peer acknowledged (see keyring.for_peer).
    announced_key_id: str = ""

    @classmethod
    def from_row(cls, row: PeerRow) -> Peer:
        keys = [
            PeerKey(
                row.key_id,
                row.public_key,
                valid_until=_opt(row.key_valid_until),
                valid_from=_opt(row.key_valid_from),
            )
        ]
        keys += [
            PeerKey(
                k["key_id"],
                k["public_key"],
                expired_at=as_utc(datetime.fromisoformat(k["expired_at"])),
                valid_from=_iso(k.get("valid_from")),
            )
            for k in row.old_keys
        ]
        return cls(
            network=row.network,
            name=row.name,
            endpoint=row.endpoint,
            keys=tuple(keys),
            certificate_pem=row.certificate_pem.encode(),
            fingerprint=row.certificate_fingerprint,
            policy=row.policy,
            failures=row.failures,
            retry_at=_opt(row.retry_at),
            replay_feeds=tuple(row.replay_feeds or ()),
            jurisdictions=tuple(row.jurisdictions or ()),
            accepted=frozenset(accepted_of(row)),
            rescan_feeds=tuple(row.rescan_feeds or ()),
            previous_certificates=tuple(
                PinnedCertificate(c["pem"].encode(), c["fingerprint"], _iso(c["until"]))
                for c in row.previous_certificates or ()
            ),
            announced_key_id=row.announced_key_id or "",
        )

    def key(self, key_id: str) -> PeerKey | None:
        return next((k for k in self.keys if k.key_id == key_id), None)

    def pinned(self, now: datetime | None = None) -> list[PinnedCertificate]:
        """The certificates this peer may present now: its current one, and during a
        rotation's overlap the one before."""
        at = now or utcnow()
        current = PinnedCertificate(self.certificate_pem, self.fingerprint, None)
        return [current] + [c for c in self.previous_certificates if c.until and at < c.until]

    def accepts_certificate(self, fingerprint: str | None) -> bool:
        return fingerprint is not None and any(c.fingerprint == fingerprint for c in self.pinned())

    @property
    def identity(self) -> tuple[object, ...]:
        """What, when changed, requires a new subscription to the peer: its address,
        keys and certificate, and the states accepted from it (records are judged as
        they arrive). (Not the policy: it governs what this node serves the peer, which
        the peer server re-checks.)"""
        return (
            self.endpoint,
            self.keys,
            self.certificate_pem,
            self.previous_certificates,
            self.accepted,
        )


def accepted_of(row: PeerRow) -> list[str]:
    """The states this node applies the peer's records for: what an administrator
    narrowed them to, else all its descriptor lists."""
    listed = list(row.jurisdictions or [])
    if row.accepted_jurisdictions is None:
        return listed
    return [j for j in row.accepted_jurisdictions if j in listed]


def check_accepted(requested: Sequence[str], listed: Sequence[str]) -> list[str] | None:
    """The narrowed set `requested` (None when empty: all the descriptor lists); each
    state must be one the descriptor lists. Errors name `accepted_jurisdictions[i]`."""
    if not requested:
        return None
    v = Validator()
    out: list[str] = []
    for i, code in enumerate(requested):
        iso = country_code(code.strip())
        if iso is None:
            v.fail(f"accepted_jurisdictions[{i}]", f"{code[:40]!r} is not an ISO 3166-1 code")
        elif iso not in listed:
            v.fail(
                f"accepted_jurisdictions[{i}]",
                f"{iso} is not listed in the peer's descriptor "
                f"({', '.join(listed) or 'it lists no states'})",
            )
        elif iso not in out:
            out.append(iso)
    v.raise_if_errors()
    return sorted(out)


def _opt(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def _iso(value: str | None) -> datetime | None:
    return as_utc(datetime.fromisoformat(value)) if value else None


def _check_key(d: federation_pb2.NodeDescriptor, v: Validator) -> None:
    try:
        raw = base64.b64decode(d.public_key, validate=True)
        if len(raw) != 32:
            raise ValueError
    except (ValueError, binascii.Error):
        v.fail("public_key", "must be a base64 Ed25519 public key (32 bytes)")
    if not d.key_id.startswith("ed25519:"):
        v.fail("key_id", "must start with ed25519:")


def _check_certificate(d: federation_pb2.NodeDescriptor, v: Validator) -> str:
    """The certificate's fingerprint ("" when it is not a certificate)."""
    try:
        x509.load_pem_x509_certificate(d.certificate_pem.encode())
        fingerprint = certificate_fingerprint(d.certificate_pem.encode())
    except ValueError:
        v.fail("certificate_pem", "not a PEM certificate")
        return ""
    if d.certificate_fingerprint and fingerprint != d.certificate_fingerprint:
        v.fail("certificate_fingerprint", "does not match certificate_pem")
    return fingerprint


def _previous_certificates(d: federation_pb2.NodeDescriptor, v: Validator) -> list[dict[str, str]]:
    """Certificates the peer presented before a rotation, pinned until `accepted_until`."""
    previous = []
    for i, c in enumerate(d.previous_certificates):
        try:
            previous.append(
                {
                    "pem": c.certificate_pem,
                    "fingerprint": certificate_fingerprint(c.certificate_pem.encode()),
                    "until": from_timestamp(c.accepted_until).isoformat(),
                }
            )
        except ValueError:
            v.fail(f"previous_certificates[{i}].certificate_pem", "not a PEM certificate")
    return previous


def check_descriptor(
    d: federation_pb2.NodeDescriptor, share: str, own_network: str
) -> dict[str, Any]:
    """Validates a peer's descriptor (obtained out of band); every error names its field."""
    v = Validator()
    network = d.network.strip().upper()
    if not NETWORK_CODE.match(network):
        v.fail("network", f"{d.network[:40]!r} is not a network code")
    elif network == own_network:
        v.fail("network", "this is the node's own descriptor")
    endpoint = v.text("peer_endpoint", d.peer_endpoint, required=True, max_len=300)
    host, _, port = endpoint.rpartition(":")
    if endpoint and (not host or not port.isdigit() or not 0 < int(port) < 65536):
        v.fail("peer_endpoint", "must be host:port")
    jurisdictions = [v.country(f"jurisdictions[{i}]", j) for i, j in enumerate(d.jurisdictions)]
    _check_key(d, v)
    fingerprint = _check_certificate(d, v)
    if share not in POLICIES:
        v.fail("share", f"{share!r} is not one of {', '.join(POLICIES)}")
    previous = _previous_certificates(d, v)
    v.raise_if_errors()
    return {
        "network": network,
        "name": d.name[:300],
        "endpoint": endpoint,
        "jurisdictions": jurisdictions,
        "key_id": d.key_id,
        "public_key": d.public_key,
        "key_valid_until": _ts(d, "key_valid_until"),
        "key_valid_from": _ts(d, "key_valid_from"),
        "old_keys": [old_key_entry(k) for k in d.old_keys],
        "certificate_pem": d.certificate_pem,
        "certificate_fingerprint": fingerprint,
        "previous_certificates": previous,
        "policy": share,
    }


def _ts(message: Any, field: str) -> datetime | None:
    return from_timestamp(getattr(message, field)) if message.HasField(field) else None


def old_key_entry(k: federation_pb2.VerifyKey) -> dict[str, Any]:
    valid_from = _ts(k, "valid_from")
    return {
        "key_id": k.key_id,
        "public_key": k.public_key,
        "expired_at": from_timestamp(k.expired_at).isoformat(),
        "valid_from": valid_from.isoformat() if valid_from else None,
    }


class PeerStore:
    def __init__(self, engine: AsyncEngine, own_network: str) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.own_network = own_network

    async def add(
        self,
        descriptor: federation_pb2.NodeDescriptor,
        share: str,
        replace: bool = False,
        accepted: Sequence[str] = (),
    ) -> Peer:
        """Adds (or with `replace` updates) a peer. `accepted` narrows the states whose
        records are applied to some its descriptor lists; empty means all of them, or on
        replace, the same narrowing as before (within the new descriptor)."""
        values = check_descriptor(descriptor, share or "default", self.own_network)
        narrowed = check_accepted(accepted, values["jurisdictions"])
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            row = await session.get(PeerRow, values["network"])
            if row is not None and not replace:
                raise AlreadyExists(f"{values['network']} is already a peer; remove it first")
            before: list[str] | None = None
            if row is None:
                # Added again before its old replicas were dropped: they are its own again.
                await session.execute(delete(PurgeRow).where(PurgeRow.network == values["network"]))
                row = PeerRow(added_at=utcnow(), state="unreachable", rescan_feeds=[])
                session.add(row)
            else:
                before = accepted_of(row)
                if row.policy != values["policy"]:
                    # What the peer already holds was chosen under the old policy.
                    row.replay_feeds = list(FEEDS)
            if narrowed is not None:
                row.accepted_jurisdictions = narrowed
            for key, value in values.items():
                setattr(row, key, value)
            if before is not None and sorted(before) != sorted(accepted_of(row)):
                # What was applied or quarantined was decided under the old set.
                row.rescan_feeds = list(FEEDS)
            row.failures = 0
            row.retry_at = None
            row.last_error = ""
        return Peer.from_row(row)

    async def remove(self, network: str) -> None:
        """Stops trusting the peer; in the same transaction its quarantined records go and
        a purge of its replicas is stored, which the running federation (or the next to
        start) carries out and retries until done (subscriptions.py)."""
        code = network.upper()
        now = utcnow()
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            result = await session.execute(delete(PeerRow).where(PeerRow.network == code))
            if not result.rowcount:
                raise NotFound(f"no peer {network}")
            await session.execute(delete(QuarantineRow).where(QuarantineRow.peer == code))
            await session.merge(
                PurgeRow(
                    network=code,
                    feeds=list(FEEDS),
                    created_at=now,
                    attempts=0,
                    next_attempt_at=now,
                    last_error="",
                )
            )

    async def purges(self) -> list[PurgeRow]:
        async with self.sessions() as session:
            return list((await session.scalars(select(PurgeRow))).all())

    async def purge_progress(
        self, network: str, feeds_left: Sequence[str], error: str, retry_at: datetime
    ) -> None:
        """What is left of a purge after an attempt (nothing: it is done)."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            row = await session.get(PurgeRow, network)
            if row is None:
                return
            if not feeds_left:
                await session.delete(row)
                return
            row.feeds = list(feeds_left)
            row.attempts += 1
            row.last_error = error[:1000]
            row.next_attempt_at = retry_at

    async def all(self) -> list[PeerRow]:
        async with self.sessions() as session:
            return list((await session.scalars(select(PeerRow).order_by(PeerRow.network))).all())

    async def peers(self) -> dict[str, Peer]:
        return {row.network: Peer.from_row(row) for row in await self.all()}

    async def rescanned(self, network: str, feed: str, accepted: frozenset[str]) -> None:
        """The peer's `feed` was read again from the start under `accepted`; done unless
        the accepted states changed again meanwhile."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            row = await session.get(PeerRow, network)
            if (
                row is not None
                and frozenset(accepted_of(row)) == accepted
                and feed in (row.rescan_feeds or [])
            ):
                row.rescan_feeds = [f for f in row.rescan_feeds if f != feed]

    async def replayed(self, network: str, feed: str, policy: str) -> None:
        """The peer received all of `feed` again under `policy`; done unless the policy
        changed again meanwhile (then another replay is due)."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            row = await session.get(PeerRow, network)
            if row is not None and row.policy == policy and feed in (row.replay_feeds or []):
                row.replay_feeds = [f for f in row.replay_feeds if f != feed]

    async def record_state(
        self,
        network: str,
        state: str,
        *,
        failures: int,
        retry_at: datetime | None,
        error: str = "",
        success: bool = False,
    ) -> None:
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            row = await session.get(PeerRow, network)
            if row is None:
                return
            row.state = state
            row.failures = failures
            row.retry_at = retry_at
            if error:
                row.last_error = error[:1000]
            if success:
                row.last_success_at = utcnow()

    async def apply_announcements(
        self, network: str, announcements: Sequence[federation_pb2.SignedKeyAnnouncement]
    ) -> str:
        """Applies the peer's key announcements this node does not know yet, each checked
        against the keys it trusts (rotation.py); returns the peer's current key id."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            row = await session.get(PeerRow, network)
            if row is None:
                raise NotFound(f"no peer {network}")
            apply_announcements(row, announcements, utcnow())
            return str(row.key_id)

    async def acknowledged(self, network: str, key_id: str) -> None:
        """The peer holds this node's key `key_id` (it answered an announcement)."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            row = await session.get(PeerRow, network)
            if row is not None and row.announced_key_id != key_id:
                row.announced_key_id = key_id
