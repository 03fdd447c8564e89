"""Sharing policies: what this node offers a peer. A change that does not pass reaches
the peer as a tombstone, so revoking a share removes the peer's copy."""

from __future__ import annotations

from dataclasses import dataclass

from justnet.directory.v1 import directory_pb2
from justnet.federation.v1 import federation_pb2

DIRECTORY_KINDS = ("authority", "contact_point", "routing_profile")
EVENT_KINDS = ("event",)
KINDS = DIRECTORY_KINDS + EVENT_KINDS
FEEDS = ("directory", "events")  # the record feeds a node offers, each with its cursor


@dataclass(frozen=True)
class Policy:
    name: str
    kinds: tuple[str, ...] = KINDS
    visibilities: tuple[str, ...] = ("public", "federation")
    personal_details: bool = True

    def shares(self, kind: str, visibility: str) -> bool:
        return kind in self.kinds and visibility in self.visibilities

    def shape(self, kind: str, payload: bytes) -> bytes:
        """The payload as this peer may see it (personal details removed if need be)."""
        if self.personal_details or kind != "contact_point":
            return payload
        contact = directory_pb2.ContactPoint.FromString(payload)
        contact.email = ""
        contact.phone = ""
        return contact.SerializeToString()

    def message(self) -> federation_pb2.SharingPolicy:
        return federation_pb2.SharingPolicy(
            kinds=list(self.kinds),
            visibilities=list(self.visibilities),
            personal_details=self.personal_details,
        )


POLICIES = {
    "default": Policy("default"),
    # Contact points travel without e-mail and phone; members of the peer network
    # fetch them on demand from this node, which records who asked.
    "no_personal_details": Policy("no_personal_details", personal_details=False),
    "public_only": Policy("public_only", visibilities=("public",)),
    "routing_only": Policy("routing_only", kinds=("authority", "routing_profile")),
}
