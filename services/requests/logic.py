"""Request rules: who may do what, the lifecycle, the chain, and the exchange with the
other side's node."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from justnet.common.v1 import exchange_pb2
from justnet.requests.v1 import requests_pb2

from services.common.codes import REQUEST_STATUS_CHANGES, REQUEST_STATUSES
from services.common.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
    VersionMismatch,
)
from services.common.handoff import handoff_values
from services.common.identity import Caller
from services.common.ids import new_id
from services.common.keyring import NodeIdentity
from services.common.timeutil import as_utc, from_timestamp, to_timestamp, utcnow
from services.common.validation import Validator
from services.requests import chain
from services.requests.documents.blobs import BlobStore
from services.requests.documents.logic import KIND as DOCUMENT_KIND
from services.requests.documents.logic import Documents, check_refs, ref_of
from services.requests.documents.sealing import Sealer
from services.requests.documents.store import DocumentsStore
from services.requests.models import (
    ChainEventRow,
    DocumentRow,
    MessageRow,
    ReceivedRow,
    RequestRow,
)
from services.requests.planner import Planner, check_query
from services.requests.statistics import RequestStatistics
from services.requests.store import NewEvent, RequestsStore, can_see

log = logging.getLogger(__name__)
KIND = "requests.event"
# Start of the refusal reason for a diverged chain; the sender's Settled recognises it.
DIVERGED = "the chain differs from this node's"
# Start of the refusal reason for a message whose first event is past what this node
# holds, followed by how many it holds; the sender's Settled sends the rest again.
GAP = "missing earlier events; this node holds"
DIRECTIONS = ("incoming", "outgoing")
MAX_EVENTS = 10_000  # per request: a bound against a runaway chain, not a message size
MAX_EVENTS_PER_MESSAGE = 1_000
# A message carries only the events the other side lacks, in chunks of about this many
# bytes: far below federation's payload limit, however long the chain or its notes.
MESSAGE_BYTES = 192 * 1024


def _message_id(request_id: str, seq: int) -> str:
    # Stable per event, so handing the same event to federation twice is one message.
    return f"{request_id}:{seq}"


def messages(
    request_id: str,
    destination: str,
    events: Sequence[tuple[int, requests_pb2.SignedEvent]],
    now: datetime,
    message_id: str,
) -> list[MessageRow]:
    """Consecutive events (seq, signed) as outbox messages of about MESSAGE_BYTES each, in
    order. The last is `message_id`; earlier chunks are `message_id.1`, `.2`, ... and are
    queued a microsecond apart, so they are handed over (and delivered) first."""
    chunks: list[list[tuple[int, requests_pb2.SignedEvent]]] = [[]]
    size = 0
    for seq, signed in events:
        weight = signed.ByteSize() + 16
        if chunks[-1] and (
            size + weight > MESSAGE_BYTES or len(chunks[-1]) >= MAX_EVENTS_PER_MESSAGE
        ):
            chunks.append([])
            size = 0
        chunks[-1].append((seq, signed))
        size += weight
    out = []
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        body = requests_pb2.EventMessage(
            request_id=request_id,
            events=[signed for _, signed in chunk],
            first_seq=chunk[0][0],
            head_hash=chain.event_hash(chunk[-1][1].event),
        )
        values = handoff_values(
            message_id if last else f"{message_id}.{index + 1}",
            destination,
            KIND,
            body.SerializeToString(deterministic=True),
            now + timedelta(microseconds=index),
        )
        out.append(
            MessageRow(
                **values,
                request_id=request_id,
                seq=chunk[-1][0],
                state="pending",
                reason="",
                receipt=b"",
                receipt_body=b"",
                receipt_verified=False,
            )
        )
    return out


class RequestsLogic:
    def __init__(
        self,
        store: RequestsStore,
        planner: Planner,
        identity: NodeIdentity,
        ring: chain.KeyRing,
        *,
        blobs: BlobStore,
        sealer: Sealer,
        max_document_bytes: int,
    ) -> None:
        self.store = store
        self.planner = planner
        self.identity = identity
        self.ring = ring
        self.network = store.local_network
        self.statistics_queries = RequestStatistics(store.engine)
        self.documents = Documents(
            self, DocumentsStore(store.engine), blobs, sealer, max_document_bytes
        )
        # Wakes the hand-off loop once a message is written (set by service.start).
        self.wake_outbox: Callable[[], None] = lambda: None

    # ------------------------------------------------------------ permissions

    def _member(self, caller: Caller) -> None:
        if not caller.authenticated:
            raise Unauthenticated("a member token is required")
        if caller.network != self.network:
            raise PermissionDenied(f"only members of {self.network} use its requests")

    def require_service(self, caller: Caller) -> None:
        if not (caller.at_least("admin") and caller.network == self.network):
            raise PermissionDenied("only this node's federation service may do this")

    async def visible_request(self, request_id: str, caller: Caller) -> RequestRow:
        self._member(caller)
        row = await self.store.get(request_id)
        # Not visible and absent look the same, so ids of others' requests do not leak.
        if row is None or not can_see(caller, row, self.network):
            raise NotFound(f"no request {request_id}")
        return row

    # ------------------------------------------------------------ routing

    async def plan_route(
        self, msg: requests_pb2.PlanRouteRequest, caller: Caller
    ) -> requests_pb2.Route:
        v = Validator()
        query = check_query(msg, v)
        v.raise_if_errors()
        return await self.planner.plan(query, caller)

    # ------------------------------------------------------------ requests

    async def _draft_fields(self, msg: requests_pb2.RequestInput, caller: Caller) -> dict[str, Any]:
        """A draft's checked fields and its route (the same rules for a new and an edited
        draft); bad input names every bad field at once."""
        v = Validator()
        query = check_query(
            requests_pb2.PlanRouteRequest(
                requesting_jurisdiction=msg.requesting_jurisdiction,
                requested_jurisdiction=msg.requested_jurisdiction,
                measures=msg.measures,
                urgency=msg.urgency,
                language=msg.language,
            ),
            v,
        )
        title = v.text("title", msg.title, required=True, max_len=300)
        reference = v.text("reference", msg.reference, max_len=100)
        summary = v.text("summary", msg.summary, max_len=20000)
        offences: list[str] = []
        if len(msg.offences) > 20:
            v.fail("offences", "at most 20")
        for i, offence in enumerate(msg.offences[:20]):
            text = v.text(f"offences[{i}]", offence, required=True, max_len=300)
            if text and text not in offences:
                offences.append(text)
        deadline = v.date("deadline", msg.deadline)
        if deadline and not v.errors and deadline < utcnow().date().isoformat():
            v.fail("deadline", "is in the past")
        v.raise_if_errors()
        route = await self.planner.plan(query, caller)
        return {
            "requested_network": route.destination_network,
            "requesting_jurisdiction": query.requesting,
            "requested_jurisdiction": query.requested,
            "confidential": msg.confidential,
            "title": title,
            "reference": reference,
            "summary": summary,
            "offences": offences,
            "measures": list(query.measures),
            "urgency": query.urgency,
            "language": query.language,
            "deadline": deadline,
            "acknowledgement_days": route.acknowledgement_days,
            "route": route.SerializeToString(),
        }

    async def create(self, msg: requests_pb2.RequestInput, caller: Caller) -> requests_pb2.Request:
        self._member(caller)
        fields = await self._draft_fields(msg, caller)
        now = utcnow()
        row = await self.store.create(
            {
                **fields,
                "id": new_id(),
                "origin": self.network,
                "direction": "outgoing",
                "requesting_network": self.network,
                "status": "draft",
                "version": 1,
                "owner": caller.subject,
                "created_at": now,
                "updated_at": now,
                "last_seq": 0,
            }
        )
        return await self.to_message(row)

    async def update_draft(
        self, req: requests_pb2.UpdateDraftRequest, caller: Caller
    ) -> requests_pb2.Request:
        """Replaces every field of a draft (as PUT does) and routes it again."""
        row = await self.visible_request(req.id, caller)
        if row.direction != "outgoing":
            raise PermissionDenied("only the requesting side edits a request")
        self.may_act_for_requester(row, caller)
        if row.status != "draft":
            raise Conflict(f"request {row.id} is {row.status}; only a draft can be edited")
        if req.expected_version and row.version != req.expected_version:
            raise VersionMismatch(req.expected_version, row.version)  # before routing again
        fields = await self._draft_fields(req.request, caller)
        fields["updated_at"] = utcnow()
        updated = await self.store.update_draft(row.id, fields, req.expected_version)
        return await self.to_message(updated)

    async def get(self, request_id: str, caller: Caller) -> requests_pb2.Request:
        return await self.to_message(await self.visible_request(request_id, caller))

    async def list_requests(
        self, caller: Caller, status: str, direction: str, limit: int, cursor: str
    ) -> tuple[list[requests_pb2.Request], str]:
        self._member(caller)
        v = Validator()
        if status:
            v.choice("status", status, REQUEST_STATUSES)
        if direction:
            v.choice("direction", direction, DIRECTIONS)
        if limit < 0 or limit > 500:
            v.fail("limit", "must be between 1 and 500")
        v.raise_if_errors()
        page = await self.store.list_requests(
            caller, limit, cursor, status=status, direction=direction
        )
        return await self._page(page.rows), page.next_cursor

    async def overdue(
        self, caller: Caller, limit: int, cursor: str
    ) -> tuple[list[requests_pb2.Request], str]:
        self._member(caller)
        # The store applies the same rule as to_message's overdue_reasons, in SQL.
        page = await self.store.list_requests(
            caller, limit, cursor, overdue_at=utcnow(), closed=("draft", *chain.TERMINAL)
        )
        return await self._page(page.rows), page.next_cursor

    async def statistics(
        self, req: requests_pb2.RequestStatisticsRequest, caller: Caller
    ) -> requests_pb2.RequestStatistics:
        self._member(caller)
        if not caller.at_least("editor"):
            raise PermissionDenied("statistics are for this node's editors")
        return await self.statistics_queries.compute(req, utcnow())

    async def _page(self, rows: Sequence[RequestRow]) -> list[requests_pb2.Request]:
        """Messages for a page of requests, with the first events' deliveries read in one
        query rather than one per request."""
        wanted = [_message_id(r.id, 1) for r in rows if _delivered_by_outbox(r)]
        first = await self.store.messages(wanted) if wanted else {}
        return [await self.to_message(r, first) for r in rows]

    async def submit(self, request_id: str, caller: Caller) -> requests_pb2.Request:
        row = await self.visible_request(request_id, caller)
        if row.direction != "outgoing":
            raise PermissionDenied("only the requesting side submits a request")
        self.may_act_for_requester(row, caller)
        if row.status != "draft":
            raise Conflict(f"request {request_id} is {row.status}; only a draft can be submitted")
        if not row.requested_network:
            raise Conflict(
                f"no node this one knows covers {row.requested_jurisdiction}; "
                "plan the route again once a peer covers it"
            )
        now = utcnow()
        summary = self._summary(row)
        docs = await self.documents.for_submission(row.id)
        signed = chain.new_event(
            self.identity.signing_key,
            request_id=row.id,
            seq=1,
            prev=None,
            author=self.network,
            status="submitted",
            note="",
            at=now,
            payload=summary.SerializeToString(deterministic=True),
            documents=[ref_of(d) for d in docs],
        )
        due = now + timedelta(days=row.acknowledgement_days) if row.acknowledgement_days else None
        changes = {
            "status": "submitted",
            "updated_at": now,
            "submitted_at": now,
            "acknowledgement_due": due,
        }
        # The documents go after the event that names them, one chunk at a time each.
        remote = row.requested_network != self.network
        chunks = (
            await self.documents.first_chunks(docs, row.requested_network, now) if remote else []
        )
        transfer = {"transfer_state": "sending", "transfer_chunks": 1} if remote else {}
        updates = [(d.id, {"event_seq": 1, **transfer}) for d in docs]
        # A draft has no events yet; its version guards against a document added meanwhile.
        updated = await self._append(
            row, (), [signed], changes, now, row.version, also=chunks, documents=updates
        )
        return await self.to_message(updated)

    def _summary(self, row: RequestRow) -> requests_pb2.RequestSummary:
        """What the `submitted` event tells the destination of the request."""
        return requests_pb2.RequestSummary(
            id=row.id,
            **_described(row),
            route=self._route(row),
            created_at=to_timestamp(row.created_at),
        )

    def may_act_for_requester(self, row: RequestRow, caller: Caller) -> None:
        if not (caller.at_least("editor") or caller.owns(row.owner)):
            raise PermissionDenied("only the member who created the request or an editor may")

    @staticmethod
    def not_a_draft(row: RequestRow) -> Conflict:
        return Conflict(f"request {row.id} is {row.status}; only a draft can be changed")

    async def change_status(
        self, req: requests_pb2.ChangeStatusRequest, caller: Caller
    ) -> requests_pb2.Request:
        v = Validator()
        status = v.choice("status", req.status, REQUEST_STATUS_CHANGES)
        note = v.text("note", req.note, max_len=2000)
        v.raise_if_errors()
        row = await self.visible_request(req.id, caller)
        side = chain.side_of(status)
        local = row.requesting_network == row.requested_network
        if local:
            # Both sides on this node: the requested side is its editors (central authority).
            if side == "requesting":
                self.may_act_for_requester(row, caller)
            elif not caller.at_least("editor"):
                raise PermissionDenied("on this node, the requested side's editors set that")
        else:
            ours = "requesting" if row.direction == "outgoing" else "requested"
            if side != ours:
                raise PermissionDenied(
                    f"{status} is set by the {side} side's node; this node is the {ours} side"
                )
            if ours == "requesting":
                self.may_act_for_requester(row, caller)
            elif not caller.at_least("editor"):
                # A member may see a non-confidential incoming request, not answer it.
                raise PermissionDenied("the requested side's statuses are set by its editors")
        if row.conflict:
            raise Conflict(f"request {row.id} has a conflict to resolve first: {row.conflict}")
        if status not in chain.TRANSITIONS.get(row.status, ()):
            raise Conflict(f"a {row.status} request cannot become {status}")
        if row.last_seq >= MAX_EVENTS:
            raise Conflict(f"request {row.id} has reached {MAX_EVENTS} events")
        events = await self.store.events(row.id)
        now = utcnow()
        signed = chain.new_event(
            self.identity.signing_key,
            request_id=row.id,
            seq=row.last_seq + 1,
            prev=events[-1].event if events else None,
            author=self.network,
            status=status,
            note=note,
            at=now,
        )
        updated = await self._append(
            row, events, [signed], {"status": status, "updated_at": now}, now, req.expected_version
        )
        return await self.to_message(updated)

    async def _append(
        self,
        row: RequestRow,
        held: Sequence[ChainEventRow],
        signed: Sequence[requests_pb2.SignedEvent],
        changes: dict[str, Any],
        now: datetime,
        expected_version: int = 0,
        also: Sequence[MessageRow] = (),
        documents: Sequence[tuple[str, dict[str, Any]]] = (),
    ) -> RequestRow:
        """`held` is the request's events as read by the caller (store.append refuses the
        change if another one got there first). `also`: more messages (document chunks),
        `documents`: changes to documents, in the same transaction."""
        new = [_new_event(s) for s in signed]
        other = row.requested_network if row.direction == "outgoing" else row.requesting_network
        outbox: list[MessageRow] = []
        if other != self.network:
            # What the other side lacks, as far as this node knows: the events after what
            # it last confirmed holding, including those still on their way to it.
            lacking = [(e.seq, _signed(e)) for e in held if e.seq > row.peer_held_seq]
            lacking += [(e.seq, s) for e, s in zip(new, signed, strict=True)]
            outbox = messages(row.id, other, lacking, now, _message_id(row.id, new[-1].seq))
        outbox += also
        updated = await self.store.append(
            row.id, row.last_seq, new, changes, outbox, expected_version, documents
        )
        if outbox:
            self.wake_outbox()
        return updated

    async def _send_again(self, request_id: str, destination: str, held: int) -> None:
        """The other side holds only `held` events (a message was lost, or it restored a
        backup): everything after them goes again, chunked."""
        events = await self.store.events(request_id)
        lacking = [(e.seq, _signed(e)) for e in events if e.seq > held]
        if not lacking:
            return
        base = f"{request_id}:{lacking[-1][0]}:from{held + 1}"
        rows = messages(request_id, destination, lacking, utcnow(), base)
        if await self.store.add_messages(request_id, rows, held):
            log.info(
                "request %s: %s holds %d events; sending %d again in %d messages",
                request_id,
                destination,
                held,
                len(lacking),
                len(rows),
            )
            self.wake_outbox()

    # ------------------------------------------------------------ history

    async def history(self, request_id: str, caller: Caller) -> requests_pb2.History:
        row = await self.visible_request(request_id, caller)
        events = await self.store.events(row.id)
        checked = await chain.check_chain(row.id, [_signed(e) for e in events], self.ring)
        messages = {m.seq: m for m in await self.store.messages_of(row.id)}
        out = requests_pb2.History(request_id=row.id, verified=all(c.verified for c in checked))
        for stored, c in zip(events, checked, strict=True):
            entry = out.events.add(
                seq=stored.seq,
                status=c.event.status if c.event is not None else stored.status,
                author=c.event.author if c.event is not None else stored.author,
                note=c.event.note if c.event is not None else "",
                key_id=stored.key_id,
                signature=stored.signature,
                hash=c.hash,
                prev_hash=c.event.prev_hash if c.event is not None else b"",
                verified=c.verified,
                problem=c.problem,
                documents=c.event.documents if c.event is not None else [],
            )
            entry.at.FromDatetime(as_utc(stored.at))
            message = messages.get(stored.seq)
            if message is not None:
                entry.delivery.CopyFrom(_delivery(message))
        return out

    # ------------------------------------------------------------ messages

    def _route(self, row: RequestRow) -> requests_pb2.Route:
        route = requests_pb2.Route()
        if row.route:
            route.ParseFromString(row.route)
        return route

    async def to_message(
        self, row: RequestRow, first: dict[str, MessageRow] | None = None
    ) -> requests_pb2.Request:
        """`first`: the first events' outbox rows by message id, when read for a page."""
        msg = requests_pb2.Request(
            id=row.id,
            origin=row.origin,
            version=row.version,
            created_at=to_timestamp(row.created_at),
            updated_at=to_timestamp(row.updated_at),
            direction=row.direction,
            status=row.status,
            **_described(row),
            owner=row.owner if row.direction == "outgoing" else "",
            route=self._route(row),
            events=row.last_seq,
            conflict=row.conflict,
        )
        if row.submitted_at is not None:
            msg.submitted_at.FromDatetime(as_utc(row.submitted_at))
        if row.acknowledgement_due is not None:
            msg.acknowledgement_due.FromDatetime(as_utc(row.acknowledgement_due))
        now = utcnow()
        if (
            row.status == "submitted"
            and row.acknowledgement_due is not None
            and as_utc(row.acknowledgement_due) < now
        ):
            msg.overdue_reasons.append("acknowledgement")
        if (
            row.deadline
            and row.deadline < now.date().isoformat()
            and row.status not in ("draft", *chain.TERMINAL)
        ):
            msg.overdue_reasons.append("execution")
        msg.overdue = bool(msg.overdue_reasons)
        if row.status == "draft":
            msg.delivery.state = "none"
        elif row.requesting_network == row.requested_network:
            msg.delivery.state = "local"
        elif row.direction == "incoming":
            msg.delivery.state = "delivered"  # it is here
        else:
            mid = _message_id(row.id, 1)
            message = first.get(mid) if first is not None else await self.store.message(mid)
            if message is not None:
                msg.delivery.CopyFrom(_delivery(message))
        return msg

    # ------------------------------------------------------------ mailbox

    async def receive(
        self, msg: exchange_pb2.InboundMessage, caller: Caller
    ) -> exchange_pb2.InboundReply:
        """A peer's events for one request: verified, then applied once."""
        self.require_service(caller)
        origin = msg.origin.strip().upper()
        if msg.kind == DOCUMENT_KIND:
            return await self.documents.receive(origin, msg)
        body = _event_message(msg.payload)  # None: refused below, unless answered before
        request_id = body.request_id if body is not None else ""
        held_reply, row, held = await self.store.incoming(origin, msg.message_id, request_id)
        if held_reply is not None:
            return exchange_pb2.InboundReply(
                accepted=held_reply.accepted, reason=held_reply.reason, reply=held_reply.reply
            )
        try:
            return await self._receive(origin, msg, body, row, held)
        except _Refused as exc:
            await self.store.record_refusal(
                ReceivedRow(
                    origin=origin,
                    message_id=msg.message_id,
                    accepted=False,
                    reason=exc.reason[:500],
                    reply=b"",
                    received_at=utcnow(),
                ),
                conflict=(row.id, exc.conflict) if row is not None and exc.conflict else None,
            )
            return exchange_pb2.InboundReply(accepted=False, reason=exc.reason[:500])

    async def _receive(
        self,
        origin: str,
        msg: exchange_pb2.InboundMessage,
        body: requests_pb2.EventMessage | None,
        row: RequestRow | None,
        held: list[ChainEventRow],
    ) -> exchange_pb2.InboundReply:
        """`row` and `held` are the request and its events as read before (None and []
        if this node does not hold it); `store.receive` re-checks them under the lock."""
        body, first_seq, last_seq = self._check_envelope(origin, msg, body, held)
        prev = held[first_seq - 2].event if first_seq > 1 else None
        checked = await chain.check_chain(body.request_id, body.events, self.ring, first_seq, prev)
        _require_verified(checked)
        now = utcnow()
        create: dict[str, Any] | None = None
        if row is None:
            create = self._incoming_request(origin, body.request_id, checked, last_seq, now)
            requesting, status = origin, "draft"
        else:
            other = row.requesting_network if row.direction == "incoming" else row.requested_network
            if other != origin:
                raise _Refused(f"request {body.request_id} is not between {origin} and this node")
            requesting, status = row.requesting_network, row.status
        _require_same_history(body, checked, held, first_seq, last_seq)
        tail = checked[max(len(held) - first_seq + 1, 0) :]
        new, changes = self._new_events(tail, origin, requesting, status, create)
        secret = create["confidential"] if create is not None else bool(row and row.confidential)
        documents = await self._named_documents(tail, body.request_id, secret)
        changes["updated_at"] = now
        if row is not None and row.peer_held_seq < last_seq:
            changes["peer_held_seq"] = last_seq  # it sent them: it holds them
        inbox = _accepted(origin, msg.message_id, body, held, last_seq, len(new), now)
        if not new and create is None:
            changes = {}
        done = await self.store.receive(
            origin,
            msg.message_id,
            create,
            body.request_id,
            len(held),
            new,
            changes,
            inbox,
            documents,
        )
        if not done:
            # A concurrent delivery of the same or a later message got there first.
            raise Unavailable("the request changed while this message was applied; retry")
        return exchange_pb2.InboundReply(accepted=True, reply=inbox.reply)

    async def _named_documents(
        self, tail: list[chain.Checked], request_id: str, confidential: bool
    ) -> list[DocumentRow]:
        """Rows for the documents the new events name, to receive their bytes."""
        out: list[DocumentRow] = []
        for c in tail:
            assert c.event is not None
            if not c.event.documents:
                continue
            problem = check_refs(c.event.documents)
            if problem:
                raise _Refused(f"event {c.event.seq}: {problem}")
            out += self.documents.incoming(c.event.documents, request_id, confidential, c.event.seq)
        if out and await self.documents.store.existing([d.id for d in out]):
            raise _Refused("a document id the events name is already used on this node")
        return out

    def _check_envelope(
        self,
        origin: str,
        msg: exchange_pb2.InboundMessage,
        body: requests_pb2.EventMessage | None,
        held: list[ChainEventRow],
    ) -> tuple[requests_pb2.EventMessage, int, int]:
        """The message's kind, origin and size; which events it carries (first, last)."""
        if msg.kind != KIND:
            raise _Refused(f"this node's requests service takes {KIND}, not {msg.kind[:60]}")
        if not origin or origin == self.network:
            raise _Refused("a message must come from a peer node")
        if body is None:
            raise _Refused("payload is not a request event message")
        carried = len(body.events)
        if not carried or carried > MAX_EVENTS_PER_MESSAGE:
            raise _Refused(f"a message carries 1 to {MAX_EVENTS_PER_MESSAGE} events")
        first_seq = body.first_seq or 1
        if first_seq > len(held) + 1:
            # An earlier message never arrived (or this node lost it): ask for the rest.
            raise _Refused(f"{GAP} {len(held)}")
        last_seq = first_seq + carried - 1
        if last_seq > MAX_EVENTS:
            raise _Refused(f"a request holds at most {MAX_EVENTS} events")
        if body.head_hash and body.head_hash != chain.event_hash(body.events[-1].event):
            raise _Refused("the chain head hash does not match the last event")
        return body, first_seq, last_seq

    def _incoming_request(
        self,
        origin: str,
        request_id: str,
        checked: list[chain.Checked],
        last_seq: int,
        now: datetime,
    ) -> dict[str, Any]:
        """The row of a request this node learns of: from the summary in its first event
        (a node without the request holds nothing of it, so the message starts there)."""
        first = checked[0].event
        assert first is not None
        summary = requests_pb2.RequestSummary()
        try:
            summary.ParseFromString(first.payload)
        except Exception:
            raise _Refused("the submitted event carries no request summary") from None
        if first.status != "submitted" or summary.id != request_id:
            raise _Refused("a chain starts with the submitted event of the same request")
        if first.author != origin:
            raise _Refused("the submitted event must be authored by the requesting node")
        if summary.requested_network != self.network or summary.requesting_network != origin:
            raise _Refused(f"request {request_id} is not between {origin} and this node")
        route = summary.route
        return {
            "id": summary.id,
            "origin": origin,
            "direction": "incoming",
            "requesting_network": origin,
            "requested_network": self.network,
            "requesting_jurisdiction": summary.requesting_jurisdiction[:2],
            "requested_jurisdiction": summary.requested_jurisdiction[:2],
            "status": "draft",
            "version": 0,
            "owner": "",
            "confidential": summary.confidential,
            "title": summary.title[:300],
            "reference": summary.reference[:100],
            "summary": summary.summary,
            "offences": list(summary.offences),
            "measures": list(summary.measures),
            "urgency": summary.urgency[:8],
            "language": summary.language[:2],
            "deadline": summary.deadline[:10],
            "acknowledgement_days": route.acknowledgement_days,
            "route": route.SerializeToString(),
            "peer_held_seq": last_seq,
            "created_at": from_timestamp(summary.created_at)
            if summary.HasField("created_at")
            else now,
            "updated_at": now,
            "last_seq": 0,
        }

    def _new_events(
        self,
        tail: list[chain.Checked],
        origin: str,
        requesting: str,
        status: str,
        create: dict[str, Any] | None,
    ) -> tuple[list[NewEvent], dict[str, Any]]:
        """The events this node does not hold yet, each by the right side and a transition
        the table allows, and the request's changes they make."""
        changes: dict[str, Any] = {}
        new: list[NewEvent] = []
        for c in tail:
            event = c.event
            assert event is not None
            # Events come from their author; this node's own come back only when it lost
            # them (they carry its own signature, checked before).
            if event.author not in (origin, self.network):
                raise _Refused(f"event {event.seq} is authored by {event.author}, not {origin}")
            side = "requesting" if event.author == requesting else "requested"
            if chain.side_of(event.status) != side:
                raise _Refused(f"event {event.seq}: {event.status} is not set by the {side} side")
            if event.status not in chain.TRANSITIONS.get(status, ()):
                raise _Refused(
                    f"event {event.seq}: a {status} request cannot become {event.status}"
                )
            status = event.status
            if status == "submitted":
                at = from_timestamp(event.at)
                days = create["acknowledgement_days"] if create else 0
                changes["submitted_at"] = at
                changes["acknowledgement_due"] = at + timedelta(days=days) if days else None
            new.append(_new_event(c.signed))
        changes["status"] = status
        return new, changes

    async def handed(self, row: MessageRow, delivery: exchange_pb2.Delivery) -> None:
        """Federation took a message; a repeat of one it had finished comes back settled."""
        if delivery.state in ("delivered", "refused", "failed"):
            await self._settle(delivery)

    async def refused_by_federation(self, row: MessageRow, reason: str) -> None:
        """Federation will never take the message (e.g. an unknown destination)."""
        if row.kind == DOCUMENT_KIND:
            await self.documents.refused_by_federation(row, reason)
        await self.store.update_message(
            row.message_id, state="failed", last_error=reason[:500], settled_at=utcnow()
        )

    async def settled(self, outcome: exchange_pb2.DeliveryOutcome, caller: Caller) -> None:
        self.require_service(caller)
        await self._settle(outcome.delivery)

    async def _settle(self, d: exchange_pb2.Delivery) -> None:
        """Records federation's outcome of one message (its Mailbox.Settled)."""
        if d.state not in ("delivered", "refused", "failed"):
            return
        message = await self.store.message(d.message_id)
        if message is None:
            return  # not ours (or from a wiped database): nothing to record
        if message.kind == DOCUMENT_KIND:
            await self.documents.settled(message, d)
            return
        reason = d.receipt_body.reason if d.state == "refused" else ""
        if d.state == "delivered" and d.receipt_verified:
            receipt = requests_pb2.EventReceipt()
            with contextlib.suppress(Exception):
                receipt.ParseFromString(d.receipt_body.reply)
            if receipt.request_id == message.request_id and receipt.held_seq:
                await self.store.peer_holds(message.request_id, receipt.held_seq)
        state = "delivered" if d.state == "delivered" else "failed"
        held = reason.rsplit(" ", 1)[-1]
        if reason.startswith(GAP) and d.receipt_verified and held.isdigit():
            # Not lost: its events go again, after what the other side holds.
            await self._send_again(message.request_id, message.destination, int(held))
            state = "superseded"
        if reason.startswith(DIVERGED):
            # The other side holds a different event at the same number: both refuse.
            await self.store.set_conflict(
                message.request_id,
                f"{message.destination} refused event {message.seq}: {reason[:300]}; the two "
                "nodes' histories differ from there on and must be reconciled by people on "
                "both sides",
            )
        await self.store.update_message(
            d.message_id,
            handed_over=True,
            state=state,
            reason=(d.receipt_body.reason if d.state == "refused" else d.last_error)[:500],
            last_error=d.last_error[:500],
            receipt=d.receipt.SerializeToString() if d.HasField("receipt") else b"",
            receipt_body=d.receipt_body.SerializeToString() if d.HasField("receipt_body") else b"",
            receipt_verified=d.receipt_verified,
            settled_at=from_timestamp(d.settled_at) if d.HasField("settled_at") else utcnow(),
        )


def _accepted(
    origin: str,
    message_id: str,
    body: requests_pb2.EventMessage,
    held: list[ChainEventRow],
    last_seq: int,
    applied: int,
    now: datetime,
) -> ReceivedRow:
    """The inbox row of an accepted message, with its reply: what this node now holds."""
    head = body.events[-1].event if last_seq >= len(held) else held[-1].event
    receipt = requests_pb2.EventReceipt(
        request_id=body.request_id,
        held_seq=max(len(held), last_seq),
        applied=applied,
        head_hash=chain.event_hash(head),
    ).SerializeToString()
    return ReceivedRow(
        origin=origin,
        message_id=message_id,
        accepted=True,
        reason="",
        reply=receipt,
        received_at=now,
    )


def _require_verified(checked: list[chain.Checked]) -> None:
    for c in checked:
        if c.retryable:
            raise Unavailable(f"cannot verify yet: {c.problem}")
        if not c.verified:
            seq = c.event.seq if c.event is not None else "?"
            raise _Refused(f"event {seq} refused: {c.problem}")


def _require_same_history(
    body: requests_pb2.EventMessage,
    checked: list[chain.Checked],
    held: list[ChainEventRow],
    first_seq: int,
    last_seq: int,
) -> None:
    """The events this node already holds must be the very ones the message carries."""
    for offset, stored in enumerate(held[first_seq - 1 : last_seq]):
        if body.events[offset].event != stored.event:
            seq = first_seq + offset
            theirs = checked[offset].event
            assert theirs is not None
            raise _Refused(
                f"{DIVERGED} at event {seq}",
                conflict=(
                    f"both sides wrote event {seq}: {stored.author} {stored.status}, "
                    f"{theirs.author} {theirs.status}; each refuses the other's, so the "
                    "two nodes' histories differ from there on and must be reconciled "
                    "by people on both sides"
                ),
            )


class _Refused(Exception):
    """A message refused for good: the sender sees the reason in the signed receipt.
    `conflict`, if set, is recorded on the request: the chains diverged."""

    def __init__(self, reason: str, conflict: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.conflict = conflict


def _delivered_by_outbox(row: RequestRow) -> bool:
    """Whether the request's delivery shown is its first event's outbox message (as in
    to_message): a submitted outgoing request to another node."""
    return (
        row.status != "draft"
        and row.requesting_network != row.requested_network
        and row.direction == "outgoing"
    )


def _event_message(payload: bytes) -> requests_pb2.EventMessage | None:
    body = requests_pb2.EventMessage()
    try:
        body.ParseFromString(payload)
    except Exception:
        return None
    return body


def _new_event(signed: requests_pb2.SignedEvent) -> NewEvent:
    event = requests_pb2.RequestEvent()
    event.ParseFromString(signed.event)
    return NewEvent(
        seq=event.seq,
        author=event.author,
        status=event.status,
        at=from_timestamp(event.at),
        event=signed.event,
        key_id=signed.key_id,
        signature=signed.signature,
    )


def _signed(row: ChainEventRow) -> requests_pb2.SignedEvent:
    return requests_pb2.SignedEvent(event=row.event, key_id=row.key_id, signature=row.signature)


def _delivery(m: MessageRow) -> requests_pb2.DeliveryState:
    out = requests_pb2.DeliveryState(
        state=m.state,
        message_id=m.message_id,
        event_seq=m.seq,
        destination=m.destination,
        attempts=m.attempts,
        last_error=m.last_error,
        reason=m.reason,
        receipt_verified=m.receipt_verified,
    )
    if m.settled_at is not None:
        out.settled_at.FromDatetime(as_utc(m.settled_at))
    if m.receipt:
        out.receipt.ParseFromString(m.receipt)
    if m.receipt_body:
        out.receipt_body.ParseFromString(m.receipt_body)
    return out


def _described(row: RequestRow) -> dict[str, Any]:
    """What a request says of itself: the fields its summary (in the `submitted` event)
    and its full message share."""
    return {
        "requesting_network": row.requesting_network,
        "requested_network": row.requested_network,
        "requesting_jurisdiction": row.requesting_jurisdiction,
        "requested_jurisdiction": row.requested_jurisdiction,
        "measures": row.measures,
        "urgency": row.urgency,
        "language": row.language,
        "title": row.title,
        "reference": row.reference,
        "offences": row.offences,
        "summary": row.summary,
        "deadline": row.deadline,
        "confidential": row.confidential,
    }
