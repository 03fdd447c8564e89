"""The peer port refuses what a misbehaving or foreign node sends, and changes nothing."""

from __future__ import annotations

import grpc
import pytest
from justnet.federation.v1 import federation_pb2

from services.cli.nodes import write_node
from services.common.clients import open_channel
from services.common.errors import PermissionDenied, Unauthenticated
from services.common.keyring import load_identity
from services.common.settings import load_settings
from services.common.signing import generate_signing_key
from services.common.timeutil import utcnow
from services.federation import tls
from services.federation.peer_server import SUBSCRIBE
from services.federation.peers import Peer
from services.federation.signatures import (
    AUTH_KEY,
    open_batch,
    open_record,
    sign_batch,
    sign_call,
    sign_record,
)
from tests.federation.conftest import FedNode, NodeFactory, peer

pytestmark = pytest.mark.slow


def _peer_of(node: FedNode) -> Peer:
    """How `other` sees `node` once peered (built from node's descriptor)."""
    d = node.descriptor()
    from services.federation.peers import PeerKey

    return Peer(
        node.network,
        d.name,
        d.peer_endpoint,
        (PeerKey(d.key_id, d.public_key),),
        d.certificate_pem.encode(),
        d.certificate_fingerprint,
        "default",
        0,
        None,
    )


async def _subscribe_raw(
    caller: FedNode,
    target: FedNode,
    body: bytes,
    auth: str | None,
    identity=None,  # type: ignore[no-untyped-def]
) -> list[bytes]:
    ident = identity or load_identity(caller.settings)
    channel = open_channel(
        f"127.0.0.1:{target.peer_port}",
        credentials=tls.channel_credentials(ident.active(), _peer_of(target)),
        options=tls.channel_options(_peer_of(target)),
    )
    call = channel.unary_stream(SUBSCRIBE, request_serializer=None, response_deserializer=None)
    metadata = ((AUTH_KEY, auth),) if auth is not None else ()
    got: list[bytes] = []
    try:
        stream = call(body, metadata=metadata, timeout=3.0)
        async for item in stream:
            got.append(item)
            if len(got) >= 1:
                stream.cancel()
                break
    finally:
        await channel.close()
    return got


async def _code(coro) -> grpc.StatusCode | None:  # type: ignore[no-untyped-def]
    try:
        await coro
    except grpc.aio.AioRpcError as exc:
        return exc.code()
    return None


async def test_calls_are_refused_unless_signed_fresh_and_addressed_here(
    make_node: NodeFactory,
) -> None:
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    await peer(sea, ejn)
    body = federation_pb2.SubscribeRequest(since_cursor=0).SerializeToString()
    key = load_identity(sea.settings).signing_key

    good = sign_call(key, SUBSCRIBE, "SEAJUST", "EJN", body)
    assert await _subscribe_raw(sea, ejn, body, good)  # the genuine call works

    assert await _code(_subscribe_raw(sea, ejn, body, None)) == grpc.StatusCode.UNAUTHENTICATED
    # replaying the exact same signed call
    assert await _code(_subscribe_raw(sea, ejn, body, good)) == grpc.StatusCode.UNAUTHENTICATED
    # signed for another node
    wrong = sign_call(key, SUBSCRIBE, "SEAJUST", "WACAP", body)
    assert await _code(_subscribe_raw(sea, ejn, body, wrong)) == grpc.StatusCode.PERMISSION_DENIED
    # forged: signed by a key that is not SEAJUST's
    forged = sign_call(generate_signing_key(), SUBSCRIBE, "SEAJUST", "EJN", body)
    assert await _code(_subscribe_raw(sea, ejn, body, forged)) == grpc.StatusCode.UNAUTHENTICATED
    # tampered: the body differs from what was signed
    other = federation_pb2.SubscribeRequest(since_cursor=42).SerializeToString()
    tampered = sign_call(key, SUBSCRIBE, "SEAJUST", "EJN", body)
    assert await _code(_subscribe_raw(sea, ejn, other, tampered)) == grpc.StatusCode.UNAUTHENTICATED
    # claims to be another origin
    claims = sign_call(key, SUBSCRIBE, "CASC", "EJN", body)
    assert await _code(_subscribe_raw(sea, ejn, body, claims)) == grpc.StatusCode.PERMISSION_DENIED
    # garbage and oversized bodies, properly signed
    junk = b"\xff\x00garbage" * 3
    assert (
        await _code(
            _subscribe_raw(sea, ejn, junk, sign_call(key, SUBSCRIBE, "SEAJUST", "EJN", junk))
        )
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    big = b"\x08" + b"\x01" * 10_000
    assert (
        await _code(_subscribe_raw(sea, ejn, big, sign_call(key, SUBSCRIBE, "SEAJUST", "EJN", big)))
        == grpc.StatusCode.INVALID_ARGUMENT
    )
    # malformed header
    assert (
        await _code(_subscribe_raw(sea, ejn, body, "nonsense")) == grpc.StatusCode.UNAUTHENTICATED
    )


async def test_unknown_certificates_cannot_connect(make_node: NodeFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    await peer(sea, ejn)
    # A stranger with its own node identity, never added as a peer by EJN.
    stranger = load_settings(write_node(tmp_path / "X", "CASC", "CASC", ["KZ"], None))
    ident = load_identity(stranger)
    body = federation_pb2.SubscribeRequest().SerializeToString()
    auth = sign_call(ident.signing_key, SUBSCRIBE, "CASC", "EJN", body)
    code = await _code(_subscribe_raw(sea, ejn, body, auth, identity=ident))
    assert code == grpc.StatusCode.UNAVAILABLE  # the TLS handshake fails


def test_records_verify_only_for_their_origin_and_destination(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sea_settings = load_settings(write_node(tmp_path / "S", "SEAJUST", "S", ["TH"], None))
    ident = load_identity(sea_settings)
    from services.federation.peers import PeerKey

    sea = Peer(
        "SEAJUST",
        "",
        "",
        (PeerKey(ident.signing_key.key_id, ident.signing_key.public_b64),),
        b"",
        "",
        "default",
        0,
        None,
    )
    envelope = federation_pb2.RecordEnvelope(
        origin="SEAJUST",
        destination="EJN",
        kind="authority",
        record_id="r",
        version=1,
        payload=b"x",
        cursor=1,
    )
    envelope.issued_at.FromDatetime(utcnow())
    record = sign_record(ident.signing_key, envelope)
    assert open_record(record, sea, "EJN").record_id == "r"
    with pytest.raises(PermissionDenied):  # replayed to another node
        open_record(record, sea, "WACAP")
    tampered = federation_pb2.SignedRecord()
    tampered.CopyFrom(record)
    tampered.envelope = record.envelope.replace(b"x", b"y")
    with pytest.raises(Unauthenticated):
        open_record(tampered, sea, "EJN")
    forged = sign_record(generate_signing_key(), envelope)
    forged.key_id = record.key_id
    with pytest.raises(Unauthenticated):
        open_record(forged, sea, "EJN")
    relayed = federation_pb2.RecordEnvelope()
    relayed.CopyFrom(envelope)
    relayed.origin = "WACAP"
    with pytest.raises(PermissionDenied):  # signed by SEAJUST but claiming WACAP's record
        open_record(sign_record(ident.signing_key, relayed), sea, "EJN")


def test_batches_verify_only_whole_in_order_and_for_their_destination(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sea_settings = load_settings(write_node(tmp_path / "S", "SEAJUST", "S", ["TH"], None))
    ident = load_identity(sea_settings)
    from services.federation.peers import PeerKey

    sea = Peer(
        "SEAJUST",
        "",
        "",
        (PeerKey(ident.signing_key.key_id, ident.signing_key.public_b64),),
        b"",
        "",
        "default",
        0,
        None,
    )

    def batch(cursors: list[int], first: int, last: int) -> federation_pb2.BatchEnvelope:
        b = federation_pb2.BatchEnvelope(
            origin="SEAJUST", destination="EJN", first_cursor=first, last_cursor=last
        )
        for c in cursors:
            b.records.add(kind="authority", record_id=f"r{c}", version=1, payload=b"x", cursor=c)
        b.issued_at.FromDatetime(utcnow())
        return b

    good = sign_batch(ident.signing_key, batch([3, 4, 7], 3, 7))
    assert [r.record_id for r in open_batch(good, sea, "EJN")] == ["r3", "r4", "r7"]
    with pytest.raises(PermissionDenied):  # replayed to another node
        open_batch(good, sea, "WACAP")
    tampered = federation_pb2.SignedRecord()
    tampered.CopyFrom(good)
    tampered.batch = good.batch.replace(b"r4", b"r5")
    with pytest.raises(Unauthenticated):
        open_batch(tampered, sea, "EJN")
    # A batch signature is not a record signature, nor the other way round.
    as_record = federation_pb2.SignedRecord(
        envelope=good.batch, key_id=good.key_id, signature=good.signature
    )
    with pytest.raises(Unauthenticated):
        open_record(as_record, sea, "EJN")
    for cursors, first, last in (([4, 3], 3, 4), ([3, 4], 3, 9), ([3, 4], 1, 4), ([], 1, 1)):
        with pytest.raises(Unauthenticated):  # out of order, or not its stated range
            open_batch(sign_batch(ident.signing_key, batch(cursors, first, last)), sea, "EJN")
    other = batch([3], 3, 3)
    other.records[0].destination = "WACAP"
    with pytest.raises(PermissionDenied):  # a record inside names another destination
        open_batch(sign_batch(ident.signing_key, other), sea, "EJN")


async def test_a_peer_cannot_sign_as_another_peer_over_its_own_certificate(
    make_node: NodeFactory,
) -> None:
    """Both SEAJUST and WACAP are EJN's peers; SEAJUST holds WACAP's signing key (say it
    leaked) but connects with its own TLS certificate: the call is refused, because each
    origin is bound to the certificate pinned for it."""
    sea = await make_node("SEAJUST")
    ejn = await make_node("EJN")
    wacap = await make_node("WACAP")
    await peer(sea, ejn)
    await peer(wacap, ejn)
    body = federation_pb2.SubscribeRequest(since_cursor=0).SerializeToString()
    wacap_key = load_identity(wacap.settings).signing_key
    as_wacap = sign_call(wacap_key, SUBSCRIBE, "WACAP", "EJN", body)
    # Over WACAP's own certificate the same kind of call works ...
    assert await _subscribe_raw(wacap, ejn, body, as_wacap)
    # ... over SEAJUST's certificate, a fresh call signed as WACAP is refused.
    forged = sign_call(wacap_key, SUBSCRIBE, "WACAP", "EJN", body)
    assert await _code(_subscribe_raw(sea, ejn, body, forged)) == grpc.StatusCode.PERMISSION_DENIED
