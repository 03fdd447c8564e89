"""Keys and certificates rotate on a running pair, with no step on the peer; call nonces
survive a restart (issue 12, points 3 and 4)."""

from __future__ import annotations

import asyncio
import ssl
from datetime import timedelta

import grpc
import pytest
from justnet.federation.v1 import federation_pb2

from services.common.keyring import load_identity, rotate
from services.common.signing import certificate_fingerprint, tls_server_name
from services.common.timeutil import from_timestamp, utcnow
from services.federation.peer_client import GET_KEYS, PeerClient
from tests.federation.conftest import FedNode, NodeFactory, eventually, peer
from tests.federation.test_delivery import send, settled

pytestmark = pytest.mark.slow


async def _replicas(node: FedNode, origin: str, n: int) -> bool:
    return len(await node.replicas_from(origin)) == n


async def _presented_certificate(node: FedNode, client: FedNode) -> str:
    """The fingerprint of the certificate `node` presents on its peer port now."""
    own = load_identity(client.settings).active()
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # we only read which certificate it presents
    key_file = client.settings.data_dir / "client.key"
    cert_file = client.settings.data_dir / "client.crt"
    key_file.write_bytes(own.tls_key_pem)
    cert_file.write_bytes(own.tls_cert_pem)
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["h2"])
    _reader, writer = await asyncio.open_connection(
        "127.0.0.1",
        node.peer_port,
        ssl=context,
        server_hostname=tls_server_name(node.network),
    )
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    pem = ssl.DER_cert_to_PEM_cert(der).encode()
    return certificate_fingerprint(pem)


async def test_rotation_on_a_running_pair_needs_no_step_on_the_peer(
    make_node: NodeFactory,
) -> None:
    sea = await make_node("SEAJUST", mailbox=True)
    ejn = await make_node("EJN", mailbox=True)
    await peer(sea, ejn)
    await sea.create_authority("Before rotation")
    await eventually(lambda: _replicas(ejn, "SEAJUST", 1), "first record")
    old = load_identity(sea.settings)
    old_key, old_cert = old.signing_key.key_id, old.fingerprint
    assert await _presented_certificate(sea, ejn) == old_cert

    done = rotate(sea.settings, activate_after=timedelta(seconds=4), overlap=timedelta(days=7))
    assert done.old_key_id == old_key and done.new_key_id != old_key

    # The running federation pushes the announcement; EJN takes it without anyone asking.
    async def ejn_holds_new_key() -> bool:
        status = await ejn.peer_status("SEAJUST")
        return status is not None and status.key_id == done.new_key_id

    await eventually(ejn_holds_new_key, "EJN to learn the announced key")
    keys = await ejn.fed().GetNetworkKeys(
        federation_pb2.GetNetworkKeysRequest(network="SEAJUST"), metadata=ejn.member
    )
    [old_entry] = [k for k in keys.old_verify_keys if k.key_id == old_key]
    # The old key stays valid for the overlap, then only the new one counts.
    assert abs((from_timestamp(old_entry.expired_at) - done.overlap_until).total_seconds()) < 1
    status = await ejn.peer_status("SEAJUST")
    assert status is not None and status.certificate_fingerprint == done.fingerprint

    # Until active_from SEAJUST still presents the old certificate; then the new one.
    await eventually(
        lambda: _presented_certificate_is(sea, ejn, done.fingerprint),
        "SEAJUST to present its new certificate",
        within=20,
    )
    assert utcnow() >= done.active_from

    # Replication continues (records now signed with the new key) ...
    await sea.create_authority("After rotation")
    await eventually(lambda: _replicas(ejn, "SEAJUST", 2), "record signed with the new key")
    # ... and so does delivery, both ways, with receipts that verify.
    await send(sea, "EJN", "after-rotation-1")
    to_ejn = await eventually(lambda: settled(sea, "after-rotation-1"), "delivery to EJN")
    assert to_ejn.state == "delivered" and to_ejn.receipt_verified
    await send(ejn, "SEAJUST", "after-rotation-2")
    to_sea = await eventually(lambda: settled(ejn, "after-rotation-2"), "delivery to SEAJUST")
    assert to_sea.state == "delivered" and to_sea.receipt_verified
    assert ejn.mailbox is not None
    assert [m.message_id for m in ejn.mailbox.received] == ["after-rotation-1"]

    # A restart of the rotated node changes nothing: it keeps the new identity.
    await sea.stop_federation()
    await sea.start_federation()
    await sea.create_authority("After restart")
    await eventually(lambda: _replicas(ejn, "SEAJUST", 3), "record after restart")


async def _presented_certificate_is(node: FedNode, client: FedNode, fingerprint: str) -> bool:
    try:
        return await _presented_certificate(node, client) == fingerprint
    except OSError:
        return False


async def test_a_key_changed_without_an_announcement_is_not_taken(
    make_node: NodeFactory,
) -> None:
    """Someone who replaces SEAJUST's key files (or a GetKeys answer) without the old
    key cannot make EJN trust a new key: only announcements signed by a trusted key count."""
    from services.cli.nodes import write_node
    from services.common.settings import load_settings

    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    await peer(sea, ejn)
    await sea.create_authority("Genuine")
    await eventually(lambda: _replicas(ejn, "SEAJUST", 1), "first record")
    # An impostor's folder: new keys, and an announcement chain of its own.
    fake_dir = sea.settings.data_dir.parent / "impostor"
    impostor = load_settings(write_node(fake_dir, "SEAJUST", "SEAJUST", ["TH"], None))
    rotate(impostor, activate_after=timedelta(0), overlap=timedelta(days=1))
    forged = load_identity(impostor)
    request = federation_pb2.AnnounceKeysRequest(
        announcements=[
            federation_pb2.SignedKeyAnnouncement.FromString(a) for a in forged.announcements
        ]
    )
    # Sent over SEAJUST's genuine channel and signature: still refused.
    seen_by_sea = sea.federation_rt.manager.peers["EJN"]  # type: ignore[union-attr]
    client = PeerClient("SEAJUST", load_identity(sea.settings), seen_by_sea)
    async with client.channel() as channel:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await client.unary(
                channel,
                "/justnet.federation.v1.PeerService/AnnounceKeys",
                request.SerializeToString(),
                deadline=5.0,
            )
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    status = await ejn.peer_status("SEAJUST")
    assert status is not None
    assert status.key_id == load_identity(sea.settings).signing_key.key_id


async def test_a_captured_call_cannot_be_replayed_after_a_restart(
    make_node: NodeFactory,
) -> None:
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    await peer(sea, ejn)
    seen_by_sea = sea.federation_rt.manager.peers["EJN"]  # type: ignore[union-attr]
    client = PeerClient("SEAJUST", load_identity(sea.settings), seen_by_sea)
    body = federation_pb2.GetKeysRequest().SerializeToString()
    captured = client.signed(GET_KEYS, body)

    async def call() -> grpc.StatusCode:
        async with client.channel() as channel:
            method = channel.unary_unary(
                GET_KEYS, request_serializer=None, response_deserializer=None
            )
            try:
                await method(body, metadata=captured, timeout=5.0)
            except grpc.aio.AioRpcError as exc:
                return exc.code()
        return grpc.StatusCode.OK

    assert await call() == grpc.StatusCode.OK
    assert await call() == grpc.StatusCode.UNAUTHENTICATED  # replay, same process
    await ejn.stop_federation()
    await ejn.start_federation()
    assert await call() == grpc.StatusCode.UNAUTHENTICATED  # replay after a restart
