"""The node's identity in its data folder: created by `justnet init`, rotated by
`justnet keys rotate`, read by the federation service and the CLI.

keys/signing.key     the current Ed25519 signing key
keys/keyring.json    its validity, and old keys with the time they expired, so
                     signatures made before a rotation still verify
keys/tls.key, .crt   the peer port's TLS identity (self-signed; peers pin it)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from services.common.settings import NodeSettings, SettingsError
from services.common.signing import (
    KEY_VALIDITY_DAYS,
    SigningKey,
    certificate_fingerprint,
    generate_signing_key,
    load_signing_key,
    save_signing_key,
)
from services.common.timeutil import as_utc, utcnow


@dataclass(frozen=True)
class OldKey:
    key_id: str
    public_key: str
    expired_at: datetime


@dataclass(frozen=True)
class NodeIdentity:
    signing_key: SigningKey
    valid_until: datetime
    old_keys: tuple[OldKey, ...]
    tls_key_pem: bytes
    tls_cert_pem: bytes

    @property
    def fingerprint(self) -> str:
        return certificate_fingerprint(self.tls_cert_pem)


def _keyring_path(settings: NodeSettings) -> Path:
    return settings.data_dir / "keys" / "keyring.json"


def write_keyring(
    keys_dir: Path, key: SigningKey, valid_until: datetime, old: tuple[OldKey, ...]
) -> None:
    doc = {
        "current": {"key_id": key.key_id, "valid_until": valid_until.isoformat()},
        "old": [
            {"key_id": k.key_id, "public_key": k.public_key, "expired_at": k.expired_at.isoformat()}
            for k in old
        ],
    }
    path = keys_dir / "keyring.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def load_identity(settings: NodeSettings) -> NodeIdentity:
    paths = (settings.signing_key_path, settings.tls_key_path, settings.tls_cert_path)
    for path in paths:
        if not path.exists():
            raise SettingsError(
                "data_dir", f"{path} is missing; create the node with `justnet init`"
            )
    try:
        key = load_signing_key(settings.signing_key_path)
    except ValueError as exc:
        raise SettingsError("data_dir", str(exc)) from exc
    valid_until = utcnow() + timedelta(days=KEY_VALIDITY_DAYS)
    old: tuple[OldKey, ...] = ()
    ring = _keyring_path(settings)
    if ring.exists():
        doc = json.loads(ring.read_text(encoding="utf-8"))
        if doc.get("current", {}).get("key_id") == key.key_id:
            valid_until = as_utc(datetime.fromisoformat(doc["current"]["valid_until"]))
        old = tuple(
            OldKey(k["key_id"], k["public_key"], as_utc(datetime.fromisoformat(k["expired_at"])))
            for k in doc.get("old", [])
        )
    return NodeIdentity(
        key,
        valid_until,
        old,
        settings.tls_key_path.read_bytes(),
        settings.tls_cert_path.read_bytes(),
    )


def rotate_signing_key(settings: NodeSettings) -> tuple[str, str]:
    """Makes a new current key; the old one is kept, expired now. Returns (old, new) ids."""
    identity = load_identity(settings)
    now = utcnow()
    retired = OldKey(identity.signing_key.key_id, identity.signing_key.public_b64, now)
    archive = settings.data_dir / "keys" / "old"
    archive.mkdir(parents=True, exist_ok=True)
    shutil.copy2(settings.signing_key_path, archive / f"{retired.key_id.split(':')[1]}.key")
    key = generate_signing_key()
    tmp = settings.signing_key_path.with_suffix(".new")
    tmp.unlink(missing_ok=True)
    save_signing_key(key, tmp)
    tmp.replace(settings.signing_key_path)
    write_keyring(
        settings.data_dir / "keys",
        key,
        now + timedelta(days=KEY_VALIDITY_DAYS),
        (*identity.old_keys, retired),
    )
    return retired.key_id, key.key_id
