"""Key rotation without the network: which identity a node uses when, which announcements
a peer takes, and the validity windows request chains are checked against."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from justnet.federation.v1 import federation_pb2

from services.cli.nodes import write_node
from services.common.key_announcements import CONTEXT
from services.common.keyring import NodeIdentity, load_identity, read_keyring, rotate
from services.common.settings import NodeSettings, load_settings
from services.common.signing import generate_signing_key
from services.common.timeutil import utcnow
from services.federation.models import PeerRow
from services.federation.rotation import AnnouncementRefused, apply_announcements
from services.federation.service import descriptor
from services.requests.chain import VerifyKey

DAY = timedelta(days=1)


@pytest.fixture
def node(tmp_path: Path) -> NodeSettings:
    return load_settings(write_node(tmp_path / "sea", "SEAJUST", "SEAJUST", ["TH"], None))


def at(settings: NodeSettings, when: datetime) -> NodeIdentity:
    keys = settings.signing_key_path.parent
    return NodeIdentity(read_keyring(keys), None, clock=lambda: when)


def peer_row_of(settings: NodeSettings) -> PeerRow:
    """How EJN stores SEAJUST once an administrator added it from its descriptor."""
    d = descriptor(settings, load_identity(settings))
    return PeerRow(
        network="SEAJUST",
        key_id=d.key_id,
        public_key=d.public_key,
        key_valid_from=d.key_valid_from.ToDatetime(),
        key_valid_until=d.key_valid_until.ToDatetime(),
        old_keys=[],
        certificate_pem=d.certificate_pem,
        certificate_fingerprint=d.certificate_fingerprint,
        previous_certificates=[],
    )


def announcements(settings: NodeSettings) -> list[federation_pb2.SignedKeyAnnouncement]:
    return [
        federation_pb2.SignedKeyAnnouncement.FromString(a)
        for a in load_identity(settings).announcements
    ]


def test_the_old_identity_is_used_until_active_from_and_toward_peers_that_did_not_ack(
    node: NodeSettings,
) -> None:
    before = load_identity(node).active()
    done = rotate(node, activate_after=timedelta(minutes=10), overlap=7 * DAY)
    now = utcnow()
    early, later, after = (
        at(node, now + timedelta(minutes=1)),
        at(node, now + timedelta(minutes=11)),
        at(node, now + 8 * DAY),
    )
    assert early.signing_key.key_id == done.old_key_id == before.signing_key.key_id
    assert early.tls_cert_pem == before.tls_cert_pem
    assert early.for_peer(done.new_key_id).signing_key.key_id == done.old_key_id
    assert later.signing_key.key_id == done.new_key_id
    assert later.tls_cert_pem != before.tls_cert_pem
    # During the overlap a peer that has not acknowledged still gets the old identity ...
    assert later.for_peer("").signing_key.key_id == done.old_key_id
    assert later.for_peer(done.new_key_id).signing_key.key_id == done.new_key_id
    # ... and after it, only the new one exists for anyone.
    assert after.for_peer("").signing_key.key_id == done.new_key_id
    assert after.previous_certificate() is None
    assert later.previous_certificate() is not None


def test_a_running_process_sees_a_rotation_without_a_restart(
    node: NodeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import services.common.keyring as files

    monkeypatch.setattr(files, "RELOAD_SECONDS", 0.0)
    identity = load_identity(node)
    first = identity.signing_key.key_id
    done = rotate(node, activate_after=timedelta(0), overlap=DAY)
    assert identity.signing_key.key_id == done.new_key_id != first
    assert identity.old_keys[-1].key_id == first


def test_a_chain_of_announcements_is_taken_from_a_trusted_key(node: NodeSettings) -> None:
    row = peer_row_of(node)
    first = row.key_id
    one = rotate(node, activate_after=timedelta(0), overlap=7 * DAY)
    two = rotate(node, activate_after=timedelta(0), overlap=7 * DAY)
    applied = apply_announcements(row, announcements(node), utcnow())
    assert applied == 2
    assert row.key_id == two.new_key_id
    assert {k["key_id"] for k in row.old_keys} == {first, one.new_key_id}
    assert row.certificate_fingerprint == two.fingerprint
    assert len(row.previous_certificates) == 2
    # Sending the whole chain again changes nothing.
    assert apply_announcements(row, announcements(node), utcnow()) == 0


def test_announcements_that_cannot_be_trusted_change_nothing(
    node: NodeSettings, tmp_path: Path
) -> None:
    row = peer_row_of(node)
    trusted = row.key_id
    rotate(node, activate_after=timedelta(0), overlap=DAY)
    [genuine] = announcements(node)
    # Signed by a key the peer never trusted (an impostor's own chain).
    impostor = load_settings(write_node(tmp_path / "x", "SEAJUST", "SEAJUST", ["TH"], None))
    rotate(impostor, activate_after=timedelta(0), overlap=DAY)
    [foreign] = announcements(impostor)
    # The old key signed, but the announced key did not (someone else's public key).
    stranger = generate_signing_key()
    body = federation_pb2.KeyAnnouncement.FromString(genuine.announcement)
    body.new_key.key_id = stranger.key_id
    body.new_key.public_key = stranger.public_b64
    data = body.SerializeToString()
    old_key = load_identity(node).old_keys[-1]
    assert old_key.key_id == trusted
    not_possessed = federation_pb2.SignedKeyAnnouncement(
        announcement=data,
        key_id=trusted,
        signature=b"x" * 64,
        new_key_signature=stranger.sign(CONTEXT + data),
    )
    tampered = federation_pb2.SignedKeyAnnouncement(
        announcement=genuine.announcement + b"\x00",
        key_id=genuine.key_id,
        signature=genuine.signature,
        new_key_signature=genuine.new_key_signature,
    )
    swapped = federation_pb2.SignedKeyAnnouncement(
        announcement=genuine.announcement,
        key_id=genuine.key_id,
        signature=genuine.signature,
        new_key_signature=genuine.signature,
    )
    for bad in (foreign, not_possessed, tampered, swapped):
        with pytest.raises(AnnouncementRefused):
            apply_announcements(row, [bad], utcnow())
        assert row.key_id == trusted and row.old_keys == []
    # The genuine one is taken.
    assert apply_announcements(row, [genuine], utcnow()) == 1


def test_an_announcement_for_another_network_or_after_the_signer_expired_is_refused(
    node: NodeSettings,
) -> None:
    row = peer_row_of(node)
    other = peer_row_of(node)
    other.network = "WACAP"
    rotate(node, activate_after=timedelta(0), overlap=DAY)
    [genuine] = announcements(node)
    with pytest.raises(AnnouncementRefused):
        apply_announcements(other, [genuine], utcnow())
    # The signer's window closed before the announcement was issued.
    row.key_valid_until = utcnow() - DAY
    with pytest.raises(AnnouncementRefused):
        apply_announcements(row, [genuine], utcnow())


def test_request_chain_keys_count_only_inside_their_window() -> None:
    now = utcnow()
    key = VerifyKey("pk", valid_from=now - DAY, until=now + DAY)
    assert key.valid_at(now)
    assert not key.valid_at(now - 2 * DAY)  # signed before the key existed
    assert not key.valid_at(now + 2 * DAY)  # signed after it expired
    assert VerifyKey("pk", None, None).valid_at(now - 1000 * DAY)


def test_init_writes_a_window_and_no_announcement(node: NodeSettings) -> None:
    ring = read_keyring(node.signing_key_path.parent)
    assert ring.valid_from is not None and ring.valid_from <= utcnow() <= ring.valid_until
    assert ring.announcements == () and ring.previous is None


async def test_a_chain_event_signed_outside_its_key_window_does_not_verify(
    node: NodeSettings,
) -> None:
    """A key that leaks after it expired (or a new key back-dating events) cannot add to
    a request's history: the event's time must fall inside its key's window."""
    from services.requests.chain import KeyRing, check_chain, new_event

    key = generate_signing_key()
    now = utcnow()
    reply = federation_pb2.NodeKeys(network="WACAP")
    entry = reply.verify_keys.add(key_id=key.key_id, public_key=key.public_b64)
    entry.valid_from.FromDatetime(now - DAY)
    entry.valid_until.FromDatetime(now + DAY)

    async def fetch(network: str) -> federation_pb2.NodeKeys:
        return reply

    ring = KeyRing("SEAJUST", load_identity(node), fetch)
    for when, verified in ((now, True), (now - 2 * DAY, False), (now + 2 * DAY, False)):
        event = new_event(
            key,
            request_id="r-1",
            seq=1,
            prev=None,
            author="WACAP",
            status="acknowledged",
            note="",
            at=when,
        )
        [checked] = await check_chain("r-1", [event], ring)
        assert checked.verified is verified, (when, checked.problem)
