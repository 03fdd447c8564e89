"""Mutual TLS for the peer port: each side trusts exactly the certificates it pinned."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from services.common.identity_files import NodeIdentity
from services.common.signing import tls_server_name
from services.federation.peers import Peer


def server_credentials(
    identity: NodeIdentity, trusted: Callable[[], list[bytes]]
) -> grpc.ServerCredentials:
    """Requires a client certificate among the peers' pinned ones, re-read per handshake,
    so adding or removing a peer takes effect without a restart."""

    def roots() -> bytes:
        # With no peer yet, trust only ourselves: nobody else can complete a handshake.
        return b"".join(trusted()) or identity.tls_cert_pem

    current = {"roots": roots()}

    def config(pem: bytes) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration(
            [(identity.tls_key_pem, identity.tls_cert_pem)], root_certificates=pem
        )

    def fetch() -> grpc.ServerCertificateConfiguration | None:
        latest = roots()
        if latest == current["roots"]:
            return None
        current["roots"] = latest
        return config(latest)

    return grpc.dynamic_ssl_server_credentials(
        config(current["roots"]), fetch, require_client_authentication=True
    )


def channel_credentials(identity: NodeIdentity, peer: Peer) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(
        root_certificates=peer.certificate_pem,
        private_key=identity.tls_key_pem,
        certificate_chain=identity.tls_cert_pem,
    )


def channel_options(peer: Peer) -> list[tuple[str, object]]:
    # The certificate names the node, not the address it is reached at.
    return [("grpc.ssl_target_name_override", tls_server_name(peer.network))]
