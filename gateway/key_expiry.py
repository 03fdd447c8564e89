"""Warnings before a signing key or TLS certificate expires (this node's or a peer's).

Federation stops with a peer whose key or certificate has expired, so administrators are
told 30 days ahead: in GET /api/v1/node (`keys`, `warnings`), on the console's peers
page, and by the `justnet_federation_key_expiry_seconds` gauge for alerting.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from justnet.federation.v1 import federation_pb2

from gateway import render
from services.common.timeutil import from_timestamp, rfc3339, utcnow

WARN_BEFORE = timedelta(days=30)
KINDS = ("signing_key", "certificate")

WARNING = {
    "type": "object",
    "properties": {
        "kind": {"type": "string", "enum": list(KINDS)},
        "network": {"type": "string", "description": "whose key or certificate it is"},
        "own": {"type": "boolean", "description": "this node's (rotate it here)"},
        "expires_at": {"type": "string", "format": "date-time"},
        "days_left": {"type": "integer", "description": "negative once expired"},
        "message": {"type": "string"},
    },
}
KEYS = {
    "type": ["object", "null"],
    "description": "this node's signing key and peer-port certificate (null: federation is down)",
    "properties": {
        "key_id": {"type": "string"},
        "key_valid_until": {"type": ["string", "null"], "format": "date-time"},
        "certificate_fingerprint": {"type": "string"},
        "certificate_valid_until": {"type": ["string", "null"], "format": "date-time"},
    },
}


def own_keys(info: federation_pb2.NodeDescriptor) -> dict[str, Any]:
    return {
        "key_id": info.key_id,
        "key_valid_until": render.ts(info.key_valid_until),
        "certificate_fingerprint": info.certificate_fingerprint,
        "certificate_valid_until": render.ts(info.certificate_valid_until),
    }


def warnings(
    info: federation_pb2.NodeDescriptor | None,
    peers: list[federation_pb2.PeerStatus],
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Every key and certificate that expires within 30 days (or has), soonest first."""
    at = now or utcnow()
    found: list[tuple[str, str, bool, datetime]] = []
    sources: list[tuple[str, bool, Any, str, str]] = []
    if info is not None:
        sources.append((info.network, True, info, "key_valid_until", "certificate_valid_until"))
    sources += [(p.network, False, p, "key_valid_until", "certificate_valid_until") for p in peers]
    for network, own, message, key_field, cert_field in sources:
        for kind, field in (("signing_key", key_field), ("certificate", cert_field)):
            if message.HasField(field):
                expires = from_timestamp(getattr(message, field))
                if expires - at <= WARN_BEFORE:
                    found.append((kind, network, own, expires))
    found.sort(key=lambda item: item[3])
    return [_warning(kind, network, own, expires, at) for kind, network, own, expires in found]


def _warning(
    kind: str, network: str, own: bool, expires: datetime, now: datetime
) -> dict[str, Any]:
    days = (expires - now).days
    what = "signing key" if kind == "signing_key" else "TLS certificate"
    whose = "This node's" if own else f"{network}'s"
    when = f"expires in {days} days" if days >= 0 else f"expired {-days} days ago"
    action = (
        "run `justnet keys rotate` on this node"
        if own
        else f"ask {network}'s administrators to run `justnet keys rotate`"
    )
    return {
        "kind": kind,
        "network": network,
        "own": own,
        "expires_at": rfc3339(expires),
        "days_left": days,
        "message": f"{whose} {what} {when}: {action}.",
    }
