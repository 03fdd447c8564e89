"""A peer's key announcements, applied to its row: the only way a peer's signing key and
pinned TLS certificate change after an administrator added it.

An announcement (services/common/key_announcements.py) is accepted when it is signed by a
key this node already trusts for that peer, valid when it was issued, and by the new key
itself. Then the peer's current key becomes an old key accepted until the overlap ends,
its pinned certificate likewise, and the announced key and certificate are pinned.
Announcements of keys already known are skipped, so a peer may send its whole chain.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from justnet.federation.v1 import federation_pb2

from services.common.errors import Unauthenticated
from services.common.key_announcements import CONTEXT
from services.common.signing import certificate_fingerprint, verify
from services.common.timeutil import as_utc, from_timestamp
from services.federation.models import PeerRow

CLOCK_SKEW = timedelta(minutes=5)


class AnnouncementRefused(Unauthenticated):
    """An announcement this node cannot trust; the peer's keys stay as they were."""


def _when(value: Any) -> datetime | None:
    if value is None:
        return None
    return as_utc(value) if isinstance(value, datetime) else as_utc(datetime.fromisoformat(value))


def _trusted_keys(row: PeerRow) -> dict[str, tuple[str, datetime | None, datetime | None]]:
    """key id -> (public key, valid from, valid until or expired at)."""
    keys = {row.key_id: (row.public_key, _when(row.key_valid_from), _when(row.key_valid_until))}
    for k in row.old_keys or []:
        keys.setdefault(
            k["key_id"], (k["public_key"], _when(k.get("valid_from")), _when(k["expired_at"]))
        )
    return keys


def _check(
    row: PeerRow, signed: federation_pb2.SignedKeyAnnouncement, now: datetime
) -> federation_pb2.KeyAnnouncement:
    trusted = _trusted_keys(row)
    signer = trusted.get(signed.key_id)
    if signer is None:
        raise AnnouncementRefused(
            f"key announcement of {row.network} signed by {signed.key_id[:40]}, "
            "which this node does not trust for it"
        )
    public, valid_from, valid_until = signer
    if not verify(public, signed.signature, CONTEXT + signed.announcement):
        raise AnnouncementRefused(f"bad key announcement signature from {row.network}")
    body = federation_pb2.KeyAnnouncement()
    try:
        body.ParseFromString(signed.announcement)
    except Exception:
        raise AnnouncementRefused("garbled key announcement") from None
    issued = from_timestamp(body.issued_at)
    if body.network != row.network:
        raise AnnouncementRefused(f"announcement for {body.network[:40]} from {row.network}")
    if issued > now + CLOCK_SKEW:
        raise AnnouncementRefused("key announcement issued in the future")
    if (valid_from and issued < valid_from) or (valid_until and issued >= valid_until):
        raise AnnouncementRefused(f"{signed.key_id} was not valid when it signed the announcement")
    new = body.new_key
    try:
        raw = base64.b64decode(new.public_key, validate=True)
    except ValueError:
        raise AnnouncementRefused("announced key is not base64") from None
    if len(raw) != 32 or new.key_id != "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]:
        raise AnnouncementRefused("announced key id does not match its public key")
    if not verify(new.public_key, signed.new_key_signature, CONTEXT + signed.announcement):
        raise AnnouncementRefused("the announced key did not sign its announcement")
    try:
        x509.load_pem_x509_certificate(body.certificate_pem.encode())
        fingerprint = certificate_fingerprint(body.certificate_pem.encode())
    except ValueError:
        raise AnnouncementRefused("announced certificate is not PEM") from None
    if fingerprint != body.certificate_fingerprint:
        raise AnnouncementRefused("announced certificate does not match its fingerprint")
    if from_timestamp(body.overlap_until) <= issued:
        raise AnnouncementRefused("announcement's overlap ends before it was issued")
    return body


def apply_announcements(
    row: PeerRow, announcements: Sequence[federation_pb2.SignedKeyAnnouncement], now: datetime
) -> int:
    """Applies, oldest first, each announcement of a key the row does not know yet;
    returns how many were applied. Raises AnnouncementRefused at the first that cannot be
    trusted (those before it stay applied: each was checked on its own)."""
    applied = 0
    for signed in announcements:
        if _announced_key_id(signed) in _trusted_keys(row):
            continue  # known already (from an earlier announcement or the descriptor)
        body = _check(row, signed, now)
        overlap_until = from_timestamp(body.overlap_until)
        old = [k for k in row.old_keys or [] if k["key_id"] != row.key_id]
        old.append(
            {
                "key_id": row.key_id,
                "public_key": row.public_key,
                "expired_at": overlap_until.isoformat(),
                "valid_from": _iso(_when(row.key_valid_from)),
            }
        )
        previous = [
            c for c in row.previous_certificates or [] if now < (_when(c.get("until")) or now)
        ]
        previous.append(
            {
                "pem": row.certificate_pem,
                "fingerprint": row.certificate_fingerprint,
                "until": overlap_until.isoformat(),
            }
        )
        row.old_keys = old
        row.previous_certificates = previous
        row.key_id = body.new_key.key_id
        row.public_key = body.new_key.public_key
        row.key_valid_from = from_timestamp(body.new_key.valid_from)
        row.key_valid_until = from_timestamp(body.new_key.valid_until)
        row.certificate_pem = body.certificate_pem
        row.certificate_fingerprint = body.certificate_fingerprint
        applied += 1
    return applied


def _announced_key_id(signed: federation_pb2.SignedKeyAnnouncement) -> str:
    # Read before the signatures are checked only to skip what is known: it grants nothing.
    body = federation_pb2.KeyAnnouncement()
    try:
        body.ParseFromString(signed.announcement)
    except Exception:
        return ""
    return body.new_key.key_id


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
