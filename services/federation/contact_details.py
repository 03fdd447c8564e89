"""Personal contact details on demand.

A sharing policy can keep e-mail and phone off replication; a member of the peer
network can still ask the owning node for them. The owner answers only for records it
shares with that peer at all, and logs every request (who, from which network, which
record, what was answered) whatever the outcome.
"""

from __future__ import annotations

import logging
import uuid

import grpc
from justnet.directory.v1 import directory_pb2, directory_pb2_grpc
from justnet.federation.v1 import federation_pb2
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import WRITE, session_factory
from services.common.errors import InvalidInput, NotFound, PermissionDenied
from services.common.identity import ROLES, Caller
from services.common.timeutil import to_timestamp, utcnow
from services.federation.models import ContactRequestLogRow
from services.federation.peers import Peer
from services.federation.policy import POLICIES

log = logging.getLogger(__name__)


class DetailsLog:
    def __init__(self, engine: AsyncEngine) -> None:
        self.sessions = session_factory(engine)

    async def record(
        self, peer: str, request: federation_pb2.PeerDetailsRequest, outcome: str
    ) -> None:
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            session.add(
                ContactRequestLogRow(
                    id=str(uuid.uuid4()),
                    at=utcnow(),
                    network=peer,
                    requester=request.requester[:200],
                    requester_role=request.requester_role[:16],
                    record_id=request.contact_point_id[:36],
                    outcome=outcome,
                )
            )

    async def recent(self, limit: int) -> list[federation_pb2.ContactDetailRequest]:
        async with self.sessions() as session:
            rows = await session.scalars(
                select(ContactRequestLogRow).order_by(ContactRequestLogRow.at.desc()).limit(limit)
            )
            return [
                federation_pb2.ContactDetailRequest(
                    at=to_timestamp(r.at),
                    network=r.network,
                    requester=r.requester,
                    requester_role=r.requester_role,
                    contact_point_id=r.record_id,
                    outcome=r.outcome,
                )
                for r in rows
            ]


def check_request(request: federation_pb2.PeerDetailsRequest) -> None:
    if not request.requester.strip():
        raise InvalidInput.one("requester", "is required: the owner records who asked")
    if request.requester_role not in ROLES:
        raise PermissionDenied("only authenticated members of a peer network may ask")
    if not 0 < len(request.contact_point_id) <= 36:
        raise InvalidInput.one("contact_point_id", "is required")


async def answer(
    network: str,
    peer: Peer,
    request: federation_pb2.PeerDetailsRequest,
    directory: directory_pb2_grpc.DirectoryServiceStub,
    details_log: DetailsLog,
) -> federation_pb2.ContactDetails:
    """The owner's side: the details if the record is shared with `peer`; logged."""
    check_request(request)
    admin = Caller.node_service("federation", network).metadata()
    try:
        contact = await directory.GetContactPoint(
            directory_pb2.GetRecordRequest(id=request.contact_point_id), metadata=admin, timeout=5.0
        )
    except grpc.aio.AioRpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
        contact = None
    policy = POLICIES.get(peer.policy, POLICIES["default"])
    if contact is None or contact.meta.origin != network:
        outcome = "not_found"
    elif not policy.shares("contact_point", contact.visibility):
        outcome = "not_shared"
    else:
        outcome = "given"
    await details_log.record(peer.network, request, outcome)
    log.info(
        "contact details of %s asked by %s of %s: %s",
        request.contact_point_id,
        request.requester,
        peer.network,
        outcome,
    )
    if contact is None or outcome != "given":
        # Not shared looks the same as missing: the peer learns nothing it may not see.
        raise NotFound(f"no contact point {request.contact_point_id} shared with {peer.network}")
    return federation_pb2.ContactDetails(
        origin=network,
        contact_point_id=request.contact_point_id,
        email=contact.email,
        phone=contact.phone,
        fetched_at=to_timestamp(utcnow()),
    )
