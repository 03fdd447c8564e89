"""Mutual TLS for the peer port: each side trusts exactly the certificates it pinned.

During a rotation's overlap a peer has two pinned certificates (its new one and the one
before), and this node may present either of its own (services/common/keyring.py).
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from services.common.keyring import Credentials, NodeIdentity
from services.common.signing import tls_server_name
from services.federation.peers import Peer


def server_credentials(
    identity: NodeIdentity, trusted: Callable[[], list[bytes]]
) -> grpc.ServerCredentials:
    """Requires a client certificate among the peers' pinned ones, re-read per handshake,
    so adding or removing a peer, or a rotation on either side, takes effect without a
    restart."""

    def current() -> tuple[bytes, bytes, bytes]:
        own = identity.active()
        # With no peer yet, trust only ourselves: nobody else can complete a handshake.
        roots = b"".join(trusted()) or own.tls_cert_pem
        return own.tls_key_pem, own.tls_cert_pem, roots

    state = {"now": current()}

    def config(
        key_pem: bytes, cert_pem: bytes, roots: bytes
    ) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration(
            [(key_pem, cert_pem)], root_certificates=roots
        )

    def fetch() -> grpc.ServerCertificateConfiguration | None:
        latest = current()
        if latest == state["now"]:
            return None
        state["now"] = latest
        return config(*latest)

    return grpc.dynamic_ssl_server_credentials(
        config(*state["now"]), fetch, require_client_authentication=True
    )


def channel_credentials(own: Credentials, peer: Peer) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=b"".join(c.pem for c in peer.pinned()),
        private_key=own.tls_key_pem,
        certificate_chain=own.tls_cert_pem,
    )


def channel_options(peer: Peer) -> list[tuple[str, object]]:
    # The certificate names the node, not the address it is reached at.
    return [("grpc.ssl_target_name_override", tls_server_name(peer.network))]
