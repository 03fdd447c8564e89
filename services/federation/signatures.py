"""Application-level signatures between nodes (on top of mutual TLS).

Calls: the caller signs "justnet-call-v1", the full gRPC method, origin, destination,
time, a nonce and sha256 of the exact request bytes, and sends it in the metadata
"x-justnet-auth". The receiver rebuilds that text from what it received, so a changed
body, another method, another destination, a stale time or a reused nonce all fail.

Records: the origin signs "justnet-record-v1" and the exact bytes of a RecordEnvelope,
which names origin and destination; the receiver verifies those bytes, then parses them.
A batch of consecutive records is signed the same way once, with "justnet-batch-v1"
over the exact bytes of a BatchEnvelope (origin, destination, cursor range, records).
Messages (pushed to one peer) and receipts (the peer's proof it handled one) work the same
way with their own context strings, so no signature can be passed off as another kind.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections import OrderedDict
from datetime import UTC, datetime

from justnet.common.v1 import exchange_pb2
from justnet.federation.v1 import federation_pb2

from services.common.errors import PermissionDenied, Unauthenticated
from services.common.signing import SigningKey, verify
from services.federation.nonces import NonceStore
from services.federation.peers import Peer, PeerKey

AUTH_KEY = "x-justnet-auth"
CLOCK_SKEW = 300  # seconds a call's time may differ from ours
NONCE_MEMORY = 100_000
RECORD_CONTEXT = b"justnet-record-v1\n"
BATCH_CONTEXT = b"justnet-batch-v1\n"
MESSAGE_CONTEXT = b"justnet-message-v1\n"
RECEIPT_CONTEXT = b"justnet-receipt-v1\n"


def _call_text(
    method: str, origin: str, destination: str, ts: int, nonce: str, body: bytes
) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join(
        ("justnet-call-v1", method, origin, destination, str(ts), nonce, digest)
    ).encode()


def sign_call(key: SigningKey, method: str, origin: str, destination: str, body: bytes) -> str:
    ts = int(time.time())
    nonce = secrets.token_hex(16)
    sig = key.sign(_call_text(method, origin, destination, ts, nonce, body))
    fields = {
        "origin": origin,
        "destination": destination,
        "key": key.key_id,
        "ts": str(ts),
        "nonce": nonce,
        "sig": base64.urlsafe_b64encode(sig).decode().rstrip("="),
    }
    return ",".join(f"{k}={v}" for k, v in fields.items())


def parse_auth(header: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in header.split(","):
        key, sep, value = part.partition("=")
        if not sep or key in fields:
            raise Unauthenticated("malformed x-justnet-auth")
        fields[key.strip()] = value.strip()
    missing = {"origin", "destination", "key", "ts", "nonce", "sig"} - fields.keys()
    if missing:
        raise Unauthenticated(f"x-justnet-auth lacks {', '.join(sorted(missing))}")
    return fields


def _b64(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (ValueError, TypeError):
        raise Unauthenticated("signature is not base64url") from None


class KeyProblem(Unauthenticated):
    """The signing key is unknown, or was not valid when it signed: the peer may have
    rotated its keys, so the caller refreshes them before giving up."""


def _key(peer: Peer, key_id: str) -> PeerKey:
    key = peer.key(key_id)
    if key is None:
        raise KeyProblem(f"unknown key {key_id[:40]} for {peer.network}")
    return key


def _verified(peer: Peer, key_id: str, signature: bytes, data: bytes, what: str) -> PeerKey:
    """The key that made `signature` over `data` (its validity in time is checked by the
    caller once it has parsed the signed time)."""
    key = _key(peer, key_id)
    if not verify(key.public_key, signature, data):
        raise Unauthenticated(f"bad {what} signature from {peer.network}")
    return key


def _valid_when_signed(key: PeerKey, peer: Peer, at: datetime) -> None:
    if not key.valid_at(at):
        raise KeyProblem(f"key {key.key_id} of {peer.network} was not valid at {at.isoformat()}")


def check_key_signature(
    peer: Peer, key_id: str, signature: bytes, data: bytes, at: datetime
) -> None:
    key = _verified(peer, key_id, signature, data, "call")
    _valid_when_signed(key, peer, at)


class CallVerifier:
    """Checks incoming peer calls; refuses replays by nonce.

    Nonces are remembered in memory (the quick check) and, with a NonceStore, in the
    federation database until the call's time window has passed, so a call captured
    before a restart cannot be replayed after it.
    """

    def __init__(self, network: str, store: NonceStore | None = None) -> None:
        self.network = network
        self.store = store
        self._nonces: OrderedDict[tuple[str, str], float] = OrderedDict()

    async def verify(
        self,
        header: str | None,
        method: str,
        body: bytes,
        peers: dict[str, Peer],
        tls_fingerprint: str | None,
    ) -> Peer:
        if not header:
            raise Unauthenticated("peer calls must be signed (x-justnet-auth)")
        f = parse_auth(header)
        origin = f["origin"].upper()
        if f["destination"] != self.network:
            raise PermissionDenied(f"this node is {self.network}, not {f['destination'][:40]}")
        peer = peers.get(origin)
        if peer is None:
            raise PermissionDenied(f"{origin[:40]} is not a peer of {self.network}")
        # No client certificate fails too. During a rotation's overlap, two are pinned.
        if not peer.accepts_certificate(tls_fingerprint):
            raise PermissionDenied(f"the TLS certificate is not one pinned for {origin}")
        try:
            ts = int(f["ts"])
        except ValueError:
            raise Unauthenticated("ts must be an integer") from None
        now = time.time()
        if abs(now - ts) > CLOCK_SKEW:
            raise Unauthenticated("the call's time is outside the allowed window")
        nonce = f["nonce"]
        if not 16 <= len(nonce) <= 64:
            raise Unauthenticated("nonce must be 16 to 64 characters")
        nonce_key = (origin, nonce)
        self._forget(now)
        if nonce_key in self._nonces:
            raise Unauthenticated("replayed call (nonce already used)")
        text = _call_text(method, origin, self.network, ts, nonce, body)
        check_key_signature(peer, f["key"], _b64(f["sig"]), text, datetime.fromtimestamp(ts, UTC))
        expiry = now + 2 * CLOCK_SKEW
        self._nonces[nonce_key] = expiry
        if self.store is not None and not await self.store.claim(origin, nonce, expiry):
            raise Unauthenticated("replayed call (nonce already used)")
        return peer

    def _forget(self, now: float) -> None:
        while self._nonces:
            _, expiry = next(iter(self._nonces.items()))
            if expiry > now and len(self._nonces) < NONCE_MEMORY:
                break
            self._nonces.popitem(last=False)


def sign_record(
    key: SigningKey, envelope: federation_pb2.RecordEnvelope
) -> federation_pb2.SignedRecord:
    data = envelope.SerializeToString()
    return federation_pb2.SignedRecord(
        envelope=data,
        key_id=key.key_id,
        signature=key.sign(RECORD_CONTEXT + data),
        cursor=envelope.cursor,
    )


def open_record(
    record: federation_pb2.SignedRecord, peer: Peer, own_network: str
) -> federation_pb2.RecordEnvelope:
    """Verifies a record from `peer` for this node over its exact bytes, then parses it."""
    key = _verified(
        peer, record.key_id, record.signature, RECORD_CONTEXT + record.envelope, "record"
    )
    envelope = federation_pb2.RecordEnvelope()
    try:
        envelope.ParseFromString(record.envelope)
    except Exception:
        raise Unauthenticated("garbled record envelope") from None
    if not envelope.HasField("issued_at"):
        raise Unauthenticated("record without issued_at")
    _valid_when_signed(key, peer, envelope.issued_at.ToDatetime(tzinfo=UTC))
    if envelope.origin != peer.network:
        raise PermissionDenied(f"record of {envelope.origin[:40]} relayed by {peer.network}")
    if envelope.destination != own_network:
        raise PermissionDenied(
            f"record addressed to {envelope.destination[:40]}, not {own_network}"
        )
    return envelope


def sign_batch(key: SigningKey, batch: federation_pb2.BatchEnvelope) -> federation_pb2.SignedRecord:
    data = batch.SerializeToString()
    return federation_pb2.SignedRecord(
        batch=data,
        key_id=key.key_id,
        signature=key.sign(BATCH_CONTEXT + data),
        cursor=batch.last_cursor,
    )


def open_batch(
    record: federation_pb2.SignedRecord, peer: Peer, own_network: str
) -> list[federation_pb2.RecordEnvelope]:
    """Verifies a batch from `peer` for this node over its exact bytes, then parses it.

    Returns its records (their origin and destination are the batch's); refuses a
    batch whose records do not ascend strictly within its stated cursor range.
    """
    key = _verified(peer, record.key_id, record.signature, BATCH_CONTEXT + record.batch, "batch")
    batch = federation_pb2.BatchEnvelope()
    try:
        batch.ParseFromString(record.batch)
    except Exception:
        raise Unauthenticated("garbled batch envelope") from None
    if not batch.HasField("issued_at"):
        raise Unauthenticated("batch without issued_at")
    _valid_when_signed(key, peer, batch.issued_at.ToDatetime(tzinfo=UTC))
    if batch.origin != peer.network:
        raise PermissionDenied(f"batch of {batch.origin[:40]} relayed by {peer.network}")
    if batch.destination != own_network:
        raise PermissionDenied(f"batch addressed to {batch.destination[:40]}, not {own_network}")
    records = list(batch.records)
    if not records or records[0].cursor != batch.first_cursor:
        raise Unauthenticated("batch records do not start at its first cursor")
    previous = batch.first_cursor - 1
    for envelope in records:
        if envelope.cursor <= previous or envelope.cursor > batch.last_cursor:
            raise Unauthenticated("batch records out of order or outside its cursor range")
        if envelope.origin not in ("", batch.origin) or envelope.destination not in (
            "",
            own_network,
        ):
            raise PermissionDenied("a record in the batch names another origin or destination")
        previous = envelope.cursor
    if previous != batch.last_cursor:
        raise Unauthenticated("batch records do not end at its last cursor")
    return records


def sign_message(
    key: SigningKey, envelope: federation_pb2.MessageEnvelope
) -> federation_pb2.SignedMessage:
    data = envelope.SerializeToString()
    return federation_pb2.SignedMessage(
        envelope=data, key_id=key.key_id, signature=key.sign(MESSAGE_CONTEXT + data)
    )


def open_message(
    message: federation_pb2.SignedMessage, peer: Peer, own_network: str
) -> federation_pb2.MessageEnvelope:
    """Verifies a message pushed by `peer` to this node, then parses it."""
    envelope = federation_pb2.MessageEnvelope()
    try:
        envelope.ParseFromString(message.envelope)
    except Exception:
        raise Unauthenticated("garbled message envelope") from None
    if not envelope.HasField("sent_at"):
        raise Unauthenticated("message without sent_at")
    check_key_signature(
        peer,
        message.key_id,
        message.signature,
        MESSAGE_CONTEXT + message.envelope,
        envelope.sent_at.ToDatetime(tzinfo=UTC),
    )
    if envelope.origin != peer.network:
        raise PermissionDenied(f"message of {envelope.origin[:40]} relayed by {peer.network}")
    if envelope.destination != own_network:
        raise PermissionDenied(
            f"message addressed to {envelope.destination[:40]}, not {own_network}"
        )
    return envelope


def sign_receipt(key: SigningKey, body: exchange_pb2.ReceiptBody) -> exchange_pb2.SignedReceipt:
    data = body.SerializeToString()
    return exchange_pb2.SignedReceipt(
        body=data, key_id=key.key_id, signature=key.sign(RECEIPT_CONTEXT + data)
    )


def open_receipt(receipt: exchange_pb2.SignedReceipt, peer: Peer) -> exchange_pb2.ReceiptBody:
    """Verifies a receipt that `peer` signed for a message this node sent."""
    body = exchange_pb2.ReceiptBody()
    try:
        body.ParseFromString(receipt.body)
    except Exception:
        raise Unauthenticated("garbled receipt") from None
    at = body.received_at.ToDatetime(tzinfo=UTC) if body.HasField("received_at") else None
    if at is None:
        raise Unauthenticated("receipt without received_at")
    check_key_signature(peer, receipt.key_id, receipt.signature, RECEIPT_CONTEXT + receipt.body, at)
    if body.destination != peer.network:
        raise PermissionDenied(f"receipt for {body.destination[:40]} returned by {peer.network}")
    return body
