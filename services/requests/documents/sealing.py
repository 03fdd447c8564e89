"""Sealing confidential requests' documents at rest: AES-256-GCM with a per-node key.

The key is a file in the node's keys folder, created (mode 0600) the first time a
confidential document is stored; it is never logged. A sealed blob is a 12-byte nonce
followed by the ciphertext, bound to the document's hash (associated data), so a blob
moved under another hash does not open.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.common.errors import Unavailable

CONTEXT = b"justnet-document-v1\n"
NONCE_BYTES = 12
KEY_BYTES = 32


class Sealer:
    def __init__(self, key_path: Path) -> None:
        self.key_path = key_path
        self._aead: AESGCM | None = None

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            self._aead = AESGCM(self._load_or_create())
        return self._aead

    def _load_or_create(self) -> bytes:
        try:
            return self._read_or_make()
        except OSError as exc:  # a read-only keys folder without the key (a Kubernetes Secret)
            raise Unavailable(
                f"the node's {self.key_path.name} is missing and cannot be made "
                f"({type(exc).__name__}); an administrator must provide it"
            ) from None

    def _read_or_make(self) -> bytes:
        if not self.key_path.exists():
            self.key_path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first: use theirs
            else:
                with os.fdopen(fd, "wb") as out:
                    out.write(AESGCM.generate_key(bit_length=KEY_BYTES * 8))
        key = self.key_path.read_bytes()
        if len(key) != KEY_BYTES:
            raise ValueError(f"{self.key_path.name} must hold {KEY_BYTES} bytes")
        return key

    def seal(self, label: str, data: bytes) -> bytes:
        """`label`: what the bytes are (a document's sha256, or a received part's document
        id), bound to them, so sealed bytes do not open under another label."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._cipher().encrypt(nonce, data, CONTEXT + label.encode())

    def open(self, label: str, sealed: bytes) -> bytes:
        nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
        return self._cipher().decrypt(nonce, body, CONTEXT + label.encode())
