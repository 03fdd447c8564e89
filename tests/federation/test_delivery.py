"""Messages pushed to one peer (request events, registrations): durable outbox, one
delivery per message, signed receipts as evidence, retries while the peer is away."""

from __future__ import annotations

import grpc
import pytest
from justnet.common.v1 import exchange_pb2
from justnet.federation.v1 import federation_pb2
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.common.errors import detail_from_trailers
from services.common.keyring import load_identity
from services.common.signing import verify
from services.common.timeutil import utcnow
from services.federation.peer_client import DELIVER, PeerClient
from services.federation.signatures import RECEIPT_CONTEXT, sign_message
from tests.federation.conftest import FedNode, NodeFactory, eventually, peer


async def send(
    node: FedNode, to: str, message_id: str, payload: bytes = b"summary"
) -> exchange_pb2.Delivery:
    result: exchange_pb2.Delivery = await node.fed().Send(
        federation_pb2.SendRequest(
            destination=to, message_id=message_id, kind="requests.event", payload=payload
        ),
        metadata=node.admin,
    )
    return result


async def delivery(node: FedNode, message_id: str) -> exchange_pb2.Delivery:
    result: exchange_pb2.Delivery = await node.fed().GetDelivery(
        federation_pb2.GetDeliveryRequest(message_id=message_id), metadata=node.admin
    )
    return result


async def settled(node: FedNode, message_id: str) -> exchange_pb2.Delivery | None:
    d = await delivery(node, message_id)
    return d if d.state != "pending" else None


async def two_nodes(make_node: NodeFactory) -> tuple[FedNode, FedNode]:
    a = await make_node("SEAJUST", mailbox=True)
    b = await make_node("WACAP", mailbox=True)
    await peer(a, b)
    return a, b


async def test_a_message_arrives_once_with_a_receipt_signed_by_the_destination(
    make_node: NodeFactory,
) -> None:
    a, b = await two_nodes(make_node)
    assert a.mailbox is not None and b.mailbox is not None

    queued = await send(a, "WACAP", "req-1.event-1", b"TH->NG: banking records")
    assert queued.state == "pending"
    done = await eventually(lambda: settled(a, "req-1.event-1"), "delivery")

    assert done.state == "delivered"
    assert done.receipt_verified
    body = done.receipt_body
    assert (body.origin, body.destination, body.message_id) == ("SEAJUST", "WACAP", "req-1.event-1")
    assert body.accepted and body.reply == b"ack:TH->NG: banking "
    # Anyone holding WACAP's public key can check the evidence, independently of JustNet.
    b_key = load_identity(b.settings).signing_key
    assert done.receipt.key_id == b_key.key_id
    assert verify(b_key.public_b64, done.receipt.signature, RECEIPT_CONTEXT + done.receipt.body)

    [got] = b.mailbox.received
    assert (got.origin, got.message_id, got.payload) == (
        "SEAJUST",
        "req-1.event-1",
        b"TH->NG: banking records",
    )
    # The sending service is told the outcome, with the same receipt.
    box = a.mailbox
    await eventually(lambda: _async(box.settled), "Settled on the sender")
    assert [d.message_id for d in a.mailbox.settled] == ["req-1.event-1"]
    assert a.mailbox.settled[0].receipt == done.receipt


async def test_send_is_idempotent_and_a_reused_id_with_other_bytes_is_refused(
    make_node: NodeFactory,
) -> None:
    a, b = await two_nodes(make_node)
    assert b.mailbox is not None
    await send(a, "WACAP", "m-1", b"one")
    await send(a, "WACAP", "m-1", b"one")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await send(a, "WACAP", "m-1", b"two")
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
    await eventually(lambda: settled(a, "m-1"), "delivery")
    assert [m.message_id for m in b.mailbox.received] == ["m-1"]


async def test_a_redelivered_message_gets_the_same_receipt_and_reaches_the_service_once(
    make_node: NodeFactory,
) -> None:
    a, b = await two_nodes(make_node)
    assert b.mailbox is not None and a.federation_rt is not None
    b_as_seen_by_a = a.federation_rt.manager.peers["WACAP"]
    client = PeerClient("SEAJUST", load_identity(a.settings), b_as_seen_by_a)
    envelope = federation_pb2.MessageEnvelope(
        origin="SEAJUST",
        destination="WACAP",
        message_id="dup-1",
        kind="requests.event",
        payload=b"x",
    )
    envelope.sent_at.FromDatetime(utcnow())
    body = sign_message(load_identity(a.settings).signing_key, envelope).SerializeToString()
    async with client.channel() as channel:
        first = await client.unary(channel, DELIVER, body, deadline=10)
        second = await client.unary(channel, DELIVER, body, deadline=10)
    assert first == second
    assert [m.message_id for m in b.mailbox.received] == ["dup-1"]


async def test_a_tampered_or_misaddressed_message_is_refused_before_any_service_sees_it(
    make_node: NodeFactory,
) -> None:
    a, b = await two_nodes(make_node)
    c = await make_node("EJN", mailbox=True)
    await peer(a, c)
    assert b.mailbox is not None and c.mailbox is not None and a.federation_rt is not None
    key = load_identity(a.settings).signing_key

    def signed(destination: str, payload: bytes) -> federation_pb2.SignedMessage:
        env = federation_pb2.MessageEnvelope(
            origin="SEAJUST",
            destination=destination,
            message_id="t-1",
            kind="requests.event",
            payload=payload,
        )
        env.sent_at.FromDatetime(utcnow())
        return sign_message(key, env)

    tampered = signed("WACAP", b"refused")
    tampered.envelope = tampered.envelope.replace(b"refused", b"executd")
    # Signed for WACAP, replayed to EJN.
    misaddressed = signed("WACAP", b"x")
    cases = [
        (a.federation_rt.manager.peers["WACAP"], tampered, grpc.StatusCode.UNAUTHENTICATED),
        (a.federation_rt.manager.peers["EJN"], misaddressed, grpc.StatusCode.PERMISSION_DENIED),
    ]
    for target, message, code in cases:
        client = PeerClient("SEAJUST", load_identity(a.settings), target)
        async with client.channel() as channel:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await client.unary(channel, DELIVER, message.SerializeToString(), deadline=10)
        assert err.value.code() == code, err.value.details()
    assert b.mailbox.received == [] and c.mailbox.received == []


async def test_peer_down_at_send_then_delivered_once_when_it_returns(
    make_node: NodeFactory,
) -> None:
    a, b = await two_nodes(make_node)
    assert b.mailbox is not None
    await b.stop_federation()
    await send(a, "WACAP", "late-1")
    await send(a, "WACAP", "late-2")

    async def retried() -> exchange_pb2.Delivery | None:
        d = await delivery(a, "late-1")
        return d if d.attempts >= 2 else None

    waiting = await eventually(retried, "retries while the peer is down")
    assert waiting.state == "pending" and waiting.last_error
    assert waiting.HasField("next_attempt_at")

    await b.start_federation()
    for message_id in ("late-1", "late-2"):

        async def arrived(m: str = message_id) -> exchange_pb2.Delivery | None:
            return await settled(a, m)

        done = await eventually(arrived, message_id, within=45)
        assert done.state == "delivered"
    # In order, once each.
    assert [m.message_id for m in b.mailbox.received] == ["late-1", "late-2"]


async def test_a_service_that_is_down_makes_the_sender_retry_and_a_refusal_is_final(
    make_node: NodeFactory,
) -> None:
    a, b = await two_nodes(make_node)
    assert b.mailbox is not None
    b.mailbox.available = False
    await send(a, "WACAP", "busy-1")

    async def retried() -> exchange_pb2.Delivery | None:
        d = await delivery(a, "busy-1")
        return d if d.attempts >= 1 else None

    waiting = await eventually(retried, "a failed attempt")
    assert waiting.state == "pending" and "UNAVAILABLE" in waiting.last_error
    b.mailbox.available = True
    b.mailbox.accept = False
    done = await eventually(lambda: settled(a, "busy-1"), "refusal", within=30)
    assert done.state == "refused"
    assert done.receipt_verified and not done.receipt_body.accepted
    assert done.receipt_body.reason == "the chain does not verify"


async def test_bad_send_requests_name_the_field(make_node: NodeFactory) -> None:
    a, _ = await two_nodes(make_node)
    cases = [
        (
            federation_pb2.SendRequest(destination="CASC", message_id="x", kind="requests.event"),
            "destination",
        ),
        (
            federation_pb2.SendRequest(destination="WACAP", message_id="", kind="requests.event"),
            "message_id",
        ),
        (federation_pb2.SendRequest(destination="WACAP", message_id="x", kind="event"), "kind"),
        (
            federation_pb2.SendRequest(
                destination="WACAP", message_id="x", kind="requests.event", payload=b"x" * 300_000
            ),
            "payload",
        ),
    ]
    for request, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await a.fed().Send(request, metadata=a.admin)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        detail = detail_from_trailers(err.value.trailing_metadata())
        assert detail is not None
        assert [v.field for v in detail.violations] == [field]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await a.fed().Send(
            federation_pb2.SendRequest(destination="WACAP", message_id="x", kind="requests.e")
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def _async(value: list[exchange_pb2.Delivery]) -> list[exchange_pb2.Delivery]:
    return value


async def test_a_delivery_joins_the_trace_of_its_send(
    make_node: NodeFactory, spans: InMemorySpanExporter
) -> None:
    a, _ = await two_nodes(make_node)
    tracer = trace.get_tracer("tests")
    with tracer.start_as_current_span("practitioner submits") as root:
        await send(a, "WACAP", "traced-1")
    trace_id = root.get_span_context().trace_id
    await eventually(lambda: settled(a, "traced-1"), "delivery")

    def names() -> set[tuple[str, SpanKind]]:
        return {
            (s.name, s.kind) for s in spans.get_finished_spans() if s.context.trace_id == trace_id
        }

    await eventually(
        lambda: _async_bool(("/justnet.common.v1.Mailbox/Receive", SpanKind.SERVER) in names()),
        "the receiving service's span in the sender's trace",
    )
    # Sender's federation, its courier, the peer port on the other node, its service.
    assert {
        ("/justnet.federation.v1.FederationService/Send", SpanKind.SERVER),
        ("federation.deliver", SpanKind.PRODUCER),
        ("/justnet.federation.v1.PeerService/Deliver", SpanKind.SERVER),
    } <= names()


async def _async_bool(value: bool) -> bool:
    return value
