"""The node's key files in its data folder: created by `justnet init`, read by services."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.settings import NodeSettings, SettingsError
from services.common.signing import SigningKey, certificate_fingerprint, load_signing_key


@dataclass(frozen=True)
class NodeIdentity:
    signing_key: SigningKey
    tls_key_pem: bytes
    tls_cert_pem: bytes

    @property
    def fingerprint(self) -> str:
        return certificate_fingerprint(self.tls_cert_pem)


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
    return NodeIdentity(
        key, settings.tls_key_path.read_bytes(), settings.tls_cert_path.read_bytes()
    )
