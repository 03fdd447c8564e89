"""The node's identity in its data folder: created by `justnet init`, rotated by
`justnet keys rotate`, read by the federation and requests services and the CLI.

keys/signing.key, tls.key, tls.crt   the newest Ed25519 signing key and peer-port TLS identity
keys/previous.key, previous.tls.key, previous.tls.crt   the identity before the last rotation
                     (still used until the newest is active, and toward peers that have not
                     acknowledged the announcement, until the overlap ends); one flat folder,
                     so a Kubernetes Secret can hold it whole
keys/keyring.json    the newest key's validity window and when it becomes active; the
                     previous identity and until when peers accept it; old verify keys with
                     their windows, so signatures made before a rotation still verify; and
                     the signed announcements that lead from the first key to the newest

A rotation (ARCHITECTURE section 4, "Keys rotate"): at T the command writes a new key and
certificate and an announcement signed by the old key. The node goes on signing and
presenting the old ones until `active_from` (T + 15 minutes by default) while the
federation service pushes the announcement to every peer; from then on it uses the new
ones. Peers accept both until `overlap_until` (T + 7 days by default), then only the
new. Running processes notice the change by themselves (the files are re-read when they
change, checked at most once a second), so nobody restarts anything.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from justnet.federation.v1 import federation_pb2

from services.common.key_announcements import announce
from services.common.settings import NodeSettings, SettingsError
from services.common.signing import (
    KEY_VALIDITY_DAYS,
    SigningKey,
    certificate_fingerprint,
    generate_signing_key,
    generate_tls_identity,
    load_signing_key,
    save_signing_key,
    write_private_file,
)
from services.common.timeutil import as_utc, utcnow

DEFAULT_OVERLAP = timedelta(days=7)
DEFAULT_ACTIVATE_AFTER = timedelta(minutes=15)
RELOAD_SECONDS = 1.0
# A new key's window opens this much before it was made: signed times are whole seconds
# and peers' clocks differ (the same skew peer calls are allowed).
CLOCK_SKEW = timedelta(minutes=5)
KEYRING = "keyring.json"


@dataclass(frozen=True)
class OldKey:
    key_id: str
    public_key: str
    expired_at: datetime  # signatures dated at or after it are refused
    valid_from: datetime | None = None  # signatures dated before it are refused


@dataclass(frozen=True)
class Credentials:
    """What the node signs with and presents on the peer port."""

    signing_key: SigningKey
    tls_key_pem: bytes
    tls_cert_pem: bytes


@dataclass(frozen=True)
class Keyring:
    """One consistent reading of the keys folder."""

    newest: Credentials
    valid_from: datetime | None
    valid_until: datetime
    active_from: datetime | None  # None: active since it was made
    previous: Credentials | None  # the identity before the last rotation, if any
    overlap_until: datetime | None  # until when peers accept `previous`
    old_keys: tuple[OldKey, ...]
    announcements: tuple[bytes, ...]  # serialized SignedKeyAnnouncements, oldest first


class NodeIdentity:
    """The node's keys as of now: which to sign and present with, which to publish.

    Reads the keys folder again when its files change (at most once a second), so a
    `justnet keys rotate` reaches running processes without a restart.
    """

    def __init__(
        self,
        ring: Keyring,
        keys_dir: Path | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._ring = ring
        self.keys_dir = keys_dir
        self.clock = clock
        self._stamp = _stamp(keys_dir) if keys_dir else None
        self._checked = time.monotonic()

    def ring(self) -> Keyring:
        if self.keys_dir is not None and time.monotonic() - self._checked >= RELOAD_SECONDS:
            self._checked = time.monotonic()
            stamp = _stamp(self.keys_dir)
            if stamp != self._stamp:
                try:
                    self._ring = read_keyring(self.keys_dir)
                    self._stamp = stamp
                except (OSError, ValueError, KeyError):
                    # Caught halfway through a rotation's writes: keep the last reading.
                    pass
        return self._ring

    # -- what to use now

    def active(self) -> Credentials:
        ring = self.ring()
        if ring.previous is not None and ring.active_from and self.clock() < ring.active_from:
            return ring.previous
        return ring.newest

    def for_peer(self, acknowledged_key_id: str) -> Credentials:
        """What to sign and present with toward one peer: during the overlap, a peer that
        has not acknowledged the newest key still gets the previous identity, so the
        announcement can reach it (the federation service keeps pushing it)."""
        ring = self.ring()
        now = self.clock()
        if ring.previous is None or not ring.overlap_until or now >= ring.overlap_until:
            return ring.newest
        if ring.active_from and now < ring.active_from:
            return ring.previous
        if acknowledged_key_id == ring.newest.signing_key.key_id:
            return ring.newest
        return ring.previous

    @property
    def signing_key(self) -> SigningKey:
        return self.active().signing_key

    @property
    def tls_key_pem(self) -> bytes:
        return self.active().tls_key_pem

    @property
    def tls_cert_pem(self) -> bytes:
        return self.active().tls_cert_pem

    # -- what to publish

    @property
    def newest(self) -> Credentials:
        return self.ring().newest

    @property
    def fingerprint(self) -> str:
        return certificate_fingerprint(self.newest.tls_cert_pem)

    @property
    def valid_from(self) -> datetime | None:
        return self.ring().valid_from

    @property
    def valid_until(self) -> datetime:
        return self.ring().valid_until

    @property
    def certificate_valid_until(self) -> datetime:
        return certificate_not_after(self.newest.tls_cert_pem)

    @property
    def old_keys(self) -> tuple[OldKey, ...]:
        return self.ring().old_keys

    @property
    def announcements(self) -> tuple[bytes, ...]:
        return self.ring().announcements

    def previous_certificate(self) -> tuple[bytes, datetime] | None:
        """The certificate peers still accept during a rotation's overlap, and until when."""
        ring = self.ring()
        if ring.previous is None or not ring.overlap_until or self.clock() >= ring.overlap_until:
            return None
        return ring.previous.tls_cert_pem, ring.overlap_until


def certificate_not_after(cert_pem: bytes) -> datetime:
    return as_utc(x509.load_pem_x509_certificate(cert_pem).not_valid_after_utc)


def _stamp(keys_dir: Path) -> tuple[int, ...]:
    out = []
    for name in (KEYRING, "signing.key", "tls.crt"):
        try:
            out.append((keys_dir / name).stat().st_mtime_ns)
        except OSError:
            out.append(0)
    return tuple(out)


def _when(value: str | None) -> datetime | None:
    return as_utc(datetime.fromisoformat(value)) if value else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


NEWEST = ("signing.key", "tls.key", "tls.crt")
PREVIOUS = ("previous.key", "previous.tls.key", "previous.tls.crt")


def _credentials(keys_dir: Path, names: tuple[str, str, str] = NEWEST) -> Credentials:
    key, tls_key, cert = (keys_dir / n for n in names)
    return Credentials(load_signing_key(key), tls_key.read_bytes(), cert.read_bytes())


def read_keyring(keys_dir: Path) -> Keyring:
    """Reads the keys folder; ValueError when its files disagree (a rotation half-written)."""
    newest = _credentials(keys_dir)
    path = keys_dir / KEYRING
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    current = doc.get("current", {})
    valid_until = utcnow() + timedelta(days=KEY_VALIDITY_DAYS)
    valid_from = active_from = None
    if current:
        if current.get("key_id") != newest.signing_key.key_id:
            raise ValueError("keyring.json does not describe signing.key")
        valid_until = as_utc(datetime.fromisoformat(current["valid_until"]))
        valid_from = _when(current.get("valid_from"))
        active_from = _when(current.get("active_from"))
    previous = overlap_until = None
    if doc.get("previous"):
        previous = _credentials(keys_dir, PREVIOUS)
        if previous.signing_key.key_id != doc["previous"]["key_id"]:
            raise ValueError("keyring.json does not describe previous.key")
        overlap_until = _when(doc["previous"]["overlap_until"])
    old = tuple(
        OldKey(
            k["key_id"],
            k["public_key"],
            as_utc(datetime.fromisoformat(k["expired_at"])),
            _when(k.get("valid_from")),
        )
        for k in doc.get("old", [])
    )
    announcements = tuple(base64.b64decode(a) for a in doc.get("announcements", []))
    return Keyring(
        newest, valid_from, valid_until, active_from, previous, overlap_until, old, announcements
    )


def write_keyring(keys_dir: Path, ring: Keyring) -> None:
    key = ring.newest.signing_key
    doc = {
        "version": 2,
        "current": {
            "key_id": key.key_id,
            "valid_from": _iso(ring.valid_from),
            "valid_until": ring.valid_until.isoformat(),
            "active_from": _iso(ring.active_from),
        },
        "previous": {
            "key_id": ring.previous.signing_key.key_id,
            "overlap_until": _iso(ring.overlap_until),
        }
        if ring.previous is not None
        else None,
        "old": [
            {
                "key_id": k.key_id,
                "public_key": k.public_key,
                "valid_from": _iso(k.valid_from),
                "expired_at": k.expired_at.isoformat(),
            }
            for k in ring.old_keys
        ],
        "announcements": [base64.b64encode(a).decode() for a in ring.announcements],
    }
    path = keys_dir / KEYRING
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def first_keyring(keys_dir: Path, key: SigningKey, key_pem: bytes, cert_pem: bytes) -> None:
    """A new node's keys folder (`justnet init`)."""
    now = utcnow()
    save_signing_key(key, keys_dir / "signing.key")
    write_private_file(keys_dir / "tls.key", key_pem)
    (keys_dir / "tls.crt").write_bytes(cert_pem)
    newest = Credentials(key, key_pem, cert_pem)
    valid_until = now + timedelta(days=KEY_VALIDITY_DAYS)
    write_keyring(
        keys_dir, Keyring(newest, now - CLOCK_SKEW, valid_until, None, None, None, (), ())
    )


def load_identity(settings: NodeSettings) -> NodeIdentity:
    paths = (settings.signing_key_path, settings.tls_key_path, settings.tls_cert_path)
    for path in paths:
        if not path.exists():
            raise SettingsError(
                "data_dir", f"{path} is missing; create the node with `justnet init`"
            )
    keys_dir = settings.signing_key_path.parent
    try:
        ring = read_keyring(keys_dir)
    except ValueError as exc:
        raise SettingsError("data_dir", f"{keys_dir}: {exc}") from exc
    return NodeIdentity(ring, keys_dir)


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    fingerprint: str
    active_from: datetime
    overlap_until: datetime


def rotate(
    settings: NodeSettings,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
    activate_after: timedelta = DEFAULT_ACTIVATE_AFTER,
) -> Rotation:
    """A new signing key and TLS certificate, announced by the key in use now."""
    if not timedelta(0) <= activate_after < overlap:
        raise SettingsError("--activate-after", "must be at least 0 and shorter than --overlap")
    identity = load_identity(settings)
    ring = identity.ring()
    keys_dir = settings.signing_key_path.parent
    now = utcnow()
    # What the node uses now is what peers trust: that signs the announcement.
    before = identity.active()
    key_pem, cert_pem = generate_tls_identity(settings.network, _hosts(before.tls_cert_pem))
    newest = Credentials(generate_signing_key(), key_pem, cert_pem)
    overlap_until, active_from = now + overlap, now + activate_after
    signed = announce(
        settings.network,
        before.signing_key,
        before.tls_cert_pem,
        newest.signing_key,
        cert_pem,
        valid_until=now + timedelta(days=KEY_VALIDITY_DAYS),
        active_from=active_from,
        overlap_until=overlap_until,
        issued_at=now,
        valid_from=now - CLOCK_SKEW,
    )
    # The keyring is written last: readers take the files only once it describes them.
    _write_credentials(keys_dir, PREVIOUS, before)
    _write_credentials(keys_dir, NEWEST, newest)
    write_keyring(
        keys_dir,
        Keyring(
            newest,
            now - CLOCK_SKEW,
            now + timedelta(days=KEY_VALIDITY_DAYS),
            active_from,
            before,
            overlap_until,
            _retire(ring, before, overlap_until),
            (*ring.announcements, signed.SerializeToString()),
        ),
    )
    return Rotation(
        before.signing_key.key_id,
        newest.signing_key.key_id,
        certificate_fingerprint(cert_pem),
        active_from,
        overlap_until,
    )


def _retire(ring: Keyring, before: Credentials, overlap_until: datetime) -> tuple[OldKey, ...]:
    """The old verify keys after a rotation: the key in use now until the overlap ends;
    a key retired before keeps its window, but not past the new overlap."""
    retiring = OldKey(
        before.signing_key.key_id,
        before.signing_key.public_b64,
        overlap_until,
        ring.valid_from if before is ring.newest else None,
    )
    old = tuple(
        replace(k, expired_at=min(k.expired_at, overlap_until))
        for k in ring.old_keys
        if k.key_id != retiring.key_id
    )
    return (*old, retiring)


def _write_credentials(keys_dir: Path, names: tuple[str, str, str], own: Credentials) -> None:
    """Writes a signing key, TLS key and certificate, each replaced atomically. The
    previous identity stays beside the newest until the overlap ends (an older one is no
    longer needed: its public key stays in the keyring)."""
    key_file, tls_key_file, cert_file = (keys_dir / n for n in names)
    tmp = key_file.with_name(key_file.name + ".new")
    tmp.unlink(missing_ok=True)
    save_signing_key(own.signing_key, tmp)
    tmp.replace(key_file)
    _replace_file(tls_key_file, own.tls_key_pem)
    _replace_file(cert_file, own.tls_cert_pem, private=False)


def _replace_file(path: Path, data: bytes, private: bool = True) -> None:
    tmp = path.with_name(path.name + ".new")
    tmp.unlink(missing_ok=True)
    if private:
        write_private_file(tmp, data)
    else:
        tmp.write_bytes(data)
    tmp.replace(path)


def _hosts(cert_pem: bytes) -> list[str]:
    """The addresses the current certificate names, for its successor."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    out = [str(n.value) for n in names if isinstance(n, x509.IPAddress)]
    node_name = {n for n in names.get_values_for_type(x509.DNSName) if n.endswith(".justnet.node")}
    out += [n for n in names.get_values_for_type(x509.DNSName) if n not in node_name]
    return out


def verify_keys(
    identity: NodeIdentity,
) -> tuple[federation_pb2.VerifyKey, list[federation_pb2.VerifyKey]]:
    """The node's current verify key and its old ones, with their windows, as published."""
    key = identity.newest.signing_key
    current = federation_pb2.VerifyKey(key_id=key.key_id, public_key=key.public_b64)
    current.valid_until.FromDatetime(identity.valid_until)
    if identity.valid_from:
        current.valid_from.FromDatetime(identity.valid_from)
    old = []
    for k in identity.old_keys:
        entry = federation_pb2.VerifyKey(key_id=k.key_id, public_key=k.public_key)
        entry.expired_at.FromDatetime(k.expired_at)
        if k.valid_from:
            entry.valid_from.FromDatetime(k.valid_from)
        old.append(entry)
    return current, old
