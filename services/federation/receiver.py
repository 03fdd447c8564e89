"""Messages peers push to this node: verify, hand to the owning service once, sign a
receipt.

The receipt is stored with the message id before it is returned, so a redelivery (the
sender never saw our answer) gets the same receipt and the service is not asked again.
A service that is down makes the delivery fail with UNAVAILABLE: the sender keeps the
message and retries. A kind no service here handles is refused in a signed receipt.
"""

from __future__ import annotations

import logging

import grpc
from justnet.common.v1 import exchange_pb2
from justnet.federation.v1 import federation_pb2

from services.common.errors import AlreadyExists, InvalidInput, Unavailable
from services.common.identity import Caller
from services.common.keyring import NodeIdentity
from services.common.timeutil import to_timestamp, utcnow
from services.federation.mailboxes import Mailboxes
from services.federation.outbox import KIND, MESSAGE_ID, Inbox, sha256_hex
from services.federation.peers import Peer
from services.federation.signatures import open_message, sign_receipt

log = logging.getLogger(__name__)
HANDLER_TIMEOUT = 15.0


class Receiver:
    def __init__(
        self, network: str, identity: NodeIdentity, inbox: Inbox, mailboxes: Mailboxes
    ) -> None:
        self.network = network
        self.identity = identity
        self.inbox = inbox
        self.mailboxes = mailboxes
        self.admin = Caller.node_service("federation", network).metadata()

    async def receive(self, peer: Peer, body: bytes) -> exchange_pb2.SignedReceipt:
        signed = federation_pb2.SignedMessage()
        try:
            signed.ParseFromString(body)
        except Exception:
            raise InvalidInput.one("message", "garbled SignedMessage") from None
        envelope = open_message(signed, peer, self.network)
        if not MESSAGE_ID.match(envelope.message_id):
            raise InvalidInput.one("message_id", "malformed")
        digest = sha256_hex(envelope.payload)
        held = await self.inbox.find(envelope.origin, envelope.message_id)
        if held is not None:
            if held.payload_sha256 != digest:
                raise AlreadyExists(
                    f"message {envelope.message_id} was delivered with other content"
                )
            log.info("duplicate delivery %s from %s", envelope.message_id, peer.network)
            return exchange_pb2.SignedReceipt.FromString(held.receipt)
        reply = await self._hand_over(envelope, signed.key_id)
        receipt = sign_receipt(
            self.identity.signing_key,
            exchange_pb2.ReceiptBody(
                origin=envelope.origin,
                destination=self.network,
                message_id=envelope.message_id,
                kind=envelope.kind,
                payload_sha256=bytes.fromhex(digest),
                accepted=reply.accepted,
                reason=reply.reason[:500],
                reply=reply.reply,
                received_at=to_timestamp(utcnow()),
            ),
        )
        row = await self.inbox.store(
            envelope.origin, envelope.message_id, envelope.kind, digest, receipt.SerializeToString()
        )
        return exchange_pb2.SignedReceipt.FromString(row.receipt)

    async def _hand_over(
        self, envelope: federation_pb2.MessageEnvelope, key_id: str
    ) -> exchange_pb2.InboundReply:
        mailbox = self.mailboxes.for_kind(envelope.kind) if KIND.match(envelope.kind) else None
        if mailbox is None:
            return exchange_pb2.InboundReply(
                accepted=False, reason=f"this node does not handle {envelope.kind[:64]!r} messages"
            )
        try:
            reply: exchange_pb2.InboundReply = await mailbox.Receive(
                exchange_pb2.InboundMessage(
                    origin=envelope.origin,
                    message_id=envelope.message_id,
                    kind=envelope.kind,
                    payload=envelope.payload,
                    sent_at=envelope.sent_at,
                    key_id=key_id,
                ),
                metadata=self.admin,
                timeout=HANDLER_TIMEOUT,
            )
            return reply
        except grpc.aio.AioRpcError as exc:
            # Anything but an answer is a reason to try again later, not to refuse.
            log.warning(
                "%s could not take %s: %s", envelope.kind, envelope.message_id, exc.code().name
            )
            raise Unavailable(
                f"the {envelope.kind.partition('.')[0]} service is not available"
            ) from None
