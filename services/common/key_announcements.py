"""Key announcements: how a node tells its peers its next signing key and TLS certificate.

`justnet keys rotate` writes one, signed twice over the exact serialized bytes of a
KeyAnnouncement: by the previous key (so a peer that trusts it can trust the new one)
and by the new key (whoever announces it holds it). A peer accepts a new key only
through a chain of such announcements that starts at a key it already trusts; nothing
else (not even the peer's own GetKeys answer over the pinned TLS channel) can replace a
peer's key. Verification lives with the federation service, which is the only reader.
"""

from __future__ import annotations

import datetime as dt

from justnet.federation.v1 import federation_pb2

from services.common.signing import SigningKey, certificate_fingerprint

CONTEXT = b"justnet-keys-v1\n"


def announce(
    network: str,
    previous: SigningKey,
    previous_certificate_pem: bytes,
    new: SigningKey,
    certificate_pem: bytes,
    *,
    valid_until: dt.datetime,
    active_from: dt.datetime,
    overlap_until: dt.datetime,
    issued_at: dt.datetime,
    valid_from: dt.datetime,
) -> federation_pb2.SignedKeyAnnouncement:
    body = federation_pb2.KeyAnnouncement(
        network=network,
        new_key=federation_pb2.VerifyKey(key_id=new.key_id, public_key=new.public_b64),
        certificate_pem=certificate_pem.decode(),
        certificate_fingerprint=certificate_fingerprint(certificate_pem),
        previous_key_id=previous.key_id,
        previous_certificate_fingerprint=certificate_fingerprint(previous_certificate_pem),
    )
    body.new_key.valid_from.FromDatetime(valid_from)
    body.new_key.valid_until.FromDatetime(valid_until)
    body.active_from.FromDatetime(active_from)
    body.overlap_until.FromDatetime(overlap_until)
    body.issued_at.FromDatetime(issued_at)
    data = body.SerializeToString()
    return federation_pb2.SignedKeyAnnouncement(
        announcement=data,
        key_id=previous.key_id,
        signature=previous.sign(CONTEXT + data),
        new_key_signature=new.sign(CONTEXT + data),
    )
