"""Several messages in flight to one peer: every message arrives, its effect once, and the
messages of one ordering key (a request's events) in the order sent, through restarts of
either node and past a message the peer keeps failing."""

from __future__ import annotations

import asyncio
import collections

import grpc
import pytest
from justnet.common.v1 import exchange_pb2
from justnet.federation.v1 import federation_pb2

from tests.federation.conftest import FedNode, NodeFactory, RecordingMailbox, eventually, peer


async def send(node: FedNode, key: str, seq: int) -> None:
    await node.fed().Send(
        federation_pb2.SendRequest(
            destination="WACAP",
            message_id=f"{key}:{seq}",
            kind="requests.event",
            payload=f"{key}:{seq}".encode(),
            ordering_key=key,
        ),
        metadata=node.admin,
    )


async def send_requests(node: FedNode, requests: int, events: int) -> set[str]:
    """Each request's events one after another (as a requests service hands them over),
    the requests side by side; returns the message ids."""

    async def one(key: str) -> None:
        for seq in range(1, events + 1):
            await send(node, key, seq)

    keys = [f"req-{r}" for r in range(requests)]
    await asyncio.gather(*(one(k) for k in keys))
    return {f"{k}:{s}" for k in keys for s in range(1, events + 1)}


async def delivery(node: FedNode, message_id: str) -> exchange_pb2.Delivery:
    result: exchange_pb2.Delivery = await node.fed().GetDelivery(
        federation_pb2.GetDeliveryRequest(message_id=message_id), metadata=node.admin
    )
    return result


async def two_nodes(make_node: NodeFactory) -> tuple[FedNode, FedNode]:
    a = await make_node("SEAJUST", mailbox=True)
    b = await make_node("WACAP", mailbox=True)
    await peer(a, b)
    return a, b


def per_key(messages: list[exchange_pb2.InboundMessage]) -> dict[str, list[int]]:
    order: dict[str, list[int]] = collections.defaultdict(list)
    for m in messages:
        key, _, seq = m.message_id.rpartition(":")
        order[key].append(int(seq))
    return order


async def all_settled(node: FedNode, ids: set[str]) -> bool:
    """The sending service has been told the outcome of every message (Settled)."""
    assert node.mailbox is not None
    return ids <= {d.message_id for d in node.mailbox.settled}


def assert_once_and_in_order(b: FedNode, ids: set[str], events: int) -> None:
    assert b.mailbox is not None
    applied = [m.message_id for m in b.mailbox.applied]
    assert sorted(applied) == sorted(ids)  # every message, its effect once
    for key, seqs in per_key(b.mailbox.applied).items():
        assert seqs == list(range(1, events + 1)), key


async def test_many_requests_arrive_once_each_in_order_with_several_in_flight(
    make_node: NodeFactory,
) -> None:
    a, b = await two_nodes(make_node)
    assert a.mailbox is not None and b.mailbox is not None
    b.mailbox.delay = 0.03  # deliveries in flight together finish out of order

    ids = await send_requests(a, requests=8, events=12)
    await eventually(lambda: all_settled(a, ids), "every outcome", within=60)

    assert {d.message_id for d in a.mailbox.settled if d.state == "delivered"} == ids
    assert all(d.receipt_verified for d in a.mailbox.settled)
    assert_once_and_in_order(b, ids, 12)
    # No redelivery was needed: the receiving service was asked once per message.
    assert len(b.mailbox.received) == len(ids)
    # The window was used: several deliveries reached the peer's service at once.
    assert b.mailbox.max_in_flight > 1
    # The sending service got each request's outcomes in order too.
    for key, seqs in per_key_ids([d.message_id for d in a.mailbox.settled]).items():
        assert seqs == sorted(seqs), key


def per_key_ids(message_ids: list[str]) -> dict[str, list[int]]:
    order: dict[str, list[int]] = collections.defaultdict(list)
    for mid in message_ids:
        key, _, seq = mid.rpartition(":")
        order[key].append(int(seq))
    return order


async def test_restarts_of_either_node_mid_stream_lose_and_repeat_nothing(
    make_node: NodeFactory,
) -> None:
    a, b = await two_nodes(make_node)
    assert a.mailbox is not None and b.mailbox is not None
    b.mailbox.delay = 0.02
    box = b.mailbox

    sending = asyncio.create_task(send_requests(a, requests=6, events=15))
    await eventually(lambda: _at_least(box, 15), "the first deliveries", within=30)
    await b.stop_federation()  # the receiving peer goes away with messages in flight
    await asyncio.sleep(0.5)
    await b.start_federation()
    ids = await sending
    await eventually(lambda: _at_least(box, 45), "deliveries after the peer's restart", 60)
    await a.stop_federation()  # the sender too, its window full
    await a.start_federation()
    await eventually(lambda: all_settled(a, ids), "every outcome", within=90)

    assert_once_and_in_order(b, ids, 15)
    assert {d.message_id for d in a.mailbox.settled if d.state == "delivered"} == ids


async def _at_least(box: RecordingMailbox, n: int) -> bool:
    return len(box.applied) >= n


async def test_a_message_the_peer_keeps_failing_holds_up_only_its_own_key(
    make_node: NodeFactory,
) -> None:
    a, b = await two_nodes(make_node)
    assert b.mailbox is not None
    b.mailbox.failing = {"stuck:1"}
    await send(a, "stuck", 1)
    await send(a, "stuck", 2)
    for seq in range(1, 6):
        await send(a, f"free-{seq}", 1)

    free = {f"free-{seq}:1" for seq in range(1, 6)}

    async def others_delivered() -> bool:
        return all([(await delivery(a, m)).state == "delivered" for m in free])

    await eventually(others_delivered, "the other keys' messages", within=30)
    first, second = await delivery(a, "stuck:1"), await delivery(a, "stuck:2")
    assert first.state == "pending" and first.attempts >= 1 and "UNAVAILABLE" in first.last_error
    # Its key waits behind it: the second message was never offered to the peer.
    assert second.state == "pending" and second.attempts == 0
    assert "stuck:2" not in {m.message_id for m in b.mailbox.received}

    b.mailbox.failing.clear()

    async def key_done() -> bool:
        return (await delivery(a, "stuck:2")).state == "delivered"

    await eventually(key_done, "the stuck key once the peer takes it", within=45)
    assert per_key(b.mailbox.applied)["stuck"] == [1, 2]


async def test_an_ordering_key_too_long_is_refused_naming_the_field(
    make_node: NodeFactory,
) -> None:
    a, _ = await two_nodes(make_node)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await a.fed().Send(
            federation_pb2.SendRequest(
                destination="WACAP",
                message_id="long-key",
                kind="requests.event",
                payload=b"x",
                ordering_key="k" * 121,
            ),
            metadata=a.admin,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "ordering_key" in (err.value.details() or "")


async def test_send_batch_queues_in_order_and_all_or_nothing(make_node: NodeFactory) -> None:
    a, b = await two_nodes(make_node)
    assert b.mailbox is not None

    def message(seq: int, kind: str = "requests.event") -> federation_pb2.SendRequest:
        return federation_pb2.SendRequest(
            destination="WACAP",
            message_id=f"batch:{seq}",
            kind=kind,
            payload=b"p",
            ordering_key="batch",
        )

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await a.fed().SendBatch(
            federation_pb2.SendBatchRequest(messages=[message(1), message(2, kind="Bad Kind")]),
            metadata=a.admin,
        )
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "messages[1].kind" in (err.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await delivery(a, "batch:1")  # nothing of the refused batch was stored
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND

    reply = await a.fed().SendBatch(
        federation_pb2.SendBatchRequest(messages=[message(seq) for seq in (1, 2, 3)]),
        metadata=a.admin,
    )
    assert [d.message_id for d in reply.deliveries] == ["batch:1", "batch:2", "batch:3"]
    await eventually(lambda: all_settled(a, {"batch:1", "batch:2", "batch:3"}), "the batch")
    assert per_key(b.mailbox.applied)["batch"] == [1, 2, 3]
