"""Documents on requests: upload to a draft, list and read (as the request is seen), name
them in the signed event that adds them, send them to the other side chunk by chunk, and
take the other side's chunks, accepting a document only when its bytes match the hash in
the signed event.

Transfer: the submission queues each document's first chunk (DocumentChunk, at most
CHUNK_BYTES) in the requests outbox beside the event message, in one transaction. The
receiver stores a chunk that starts where its held bytes end and answers, inside
federation's signed receipt, how many bytes it holds (DocumentReceipt, naming the hash);
the sender then queues the chunk from there. So one chunk is in flight per document, and
after an interruption (either node restarting, federation down) the transfer goes on from
what the receiver holds, never from zero, and never sends a held chunk again.

Who: the member who created the request or an editor uploads, while it is a draft; the
same people who may see a request read its documents. The requested side does not attach
documents to its answers yet (its statuses carry a note): that needs an event of its own
naming them and a transfer the other way, which the chain and the chunk messages allow.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from justnet.common.v1 import exchange_pb2
from justnet.requests.v1 import requests_pb2

from services.common.errors import NotFound, PermissionDenied, Unavailable
from services.common.handoff import handoff_values
from services.common.identity import Caller
from services.common.ids import is_id, new_id
from services.common.timeutil import as_utc, utcnow
from services.common.validation import Validator
from services.requests.documents import content
from services.requests.documents.blobs import BlobStore
from services.requests.documents.sealing import Sealer
from services.requests.documents.store import DocumentsStore, blob_name
from services.requests.models import DocumentRow, MessageRow, RequestRow

if TYPE_CHECKING:
    from services.requests.logic import RequestsLogic

log = logging.getLogger(__name__)
KIND = "requests.document"
KINDS = ("letter_of_request", "court_order", "translation", "annex")
CHUNK_BYTES = 192 * 1024  # a chunk message stays far below federation's 256 KiB
READ_BYTES = 256 * 1024  # a download's gRPC messages
CACHE_DOCUMENTS = 4  # documents kept whole while their chunks go out


class Documents:
    def __init__(
        self,
        requests: RequestsLogic,
        store: DocumentsStore,
        blobs: BlobStore,
        sealer: Sealer,
        max_bytes: int,
    ) -> None:
        self.requests = requests
        self.store = store
        self.blobs = blobs
        self.sealer = sealer
        self.max_bytes = max_bytes
        self._sending: OrderedDict[str, bytes] = OrderedDict()

    # ------------------------------------------------------------ upload, list, read

    async def add(
        self, info: requests_pb2.DocumentInfo, data: bytes, too_large: bool, caller: Caller
    ) -> requests_pb2.Document:
        """`too_large`: the upload went past max_bytes (the rest was not read)."""
        row = await self.requests.visible_request(info.request_id, caller)
        if row.direction != "outgoing":
            raise PermissionDenied(
                "the requested side does not attach documents; its answers carry a note"
            )
        self.requests.may_act_for_requester(row, caller)
        v = Validator()
        title = v.text("title", info.title, required=True, max_len=300)
        kind = v.choice("kind", info.kind, KINDS)
        language = v.language("language", info.language)
        if not info.language.strip():
            v.fail("language", "is required (an ISO 639-1 code, e.g. en or fr)")
        filename = info.filename.replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
        detected = ""
        if too_large:
            v.fail("file", f"larger than this node's limit of {self.max_bytes} bytes")
        elif not data:
            v.fail("file", "is required (a non-empty file)")
        else:
            try:
                detected = content.check(data, filename, info.declared_type)
            except content.NotAccepted as exc:
                v.fail("file", str(exc))
        v.raise_if_errors()
        if row.status != "draft":
            raise self.requests.not_a_draft(row)
        sha256 = hashlib.sha256(data).hexdigest()
        await self._put(sha256, row.confidential, data)
        doc = DocumentRow(
            id=new_id(),
            request_id=row.id,
            title=title,
            kind=kind,
            language=language,
            filename=filename,
            content_type=detected,
            size=len(data),
            sha256=sha256,
            encrypted=row.confidential,
            state="stored",
            verified=True,  # hashed here from the bytes stored here
            received=len(data),
            problem="",
            uploaded_by=caller.subject,
            created_at=utcnow(),
            event_seq=0,
            transfer_state="none",
            transfer_held=0,
            transfer_chunks=0,
            transfer_reason="",
        )
        # A blob stored for an upload refused here stays unreferenced: content-addressed,
        # harmless, and reused by the next upload of the same bytes.
        return to_message(await self.store.add(doc))

    async def list_of(self, request_id: str, caller: Caller) -> list[requests_pb2.Document]:
        row = await self.requests.visible_request(request_id, caller)
        return [to_message(d) for d in await self.store.of_request(row.id)]

    async def read(
        self, request_id: str, document_id: str, caller: Caller
    ) -> tuple[requests_pb2.Document, AsyncIterator[bytes]]:
        row = await self.requests.visible_request(request_id, caller)
        doc = await self.store.get(document_id) if is_id(document_id) else None
        if doc is None or doc.request_id != row.id:
            raise NotFound(f"no document {document_id} on request {request_id}")
        if doc.state not in ("stored", "verified"):
            raise NotFound(f"document {document_id} is {doc.state}: its bytes are not here")
        data = await self._get(doc)
        if hashlib.sha256(data).hexdigest() != doc.sha256:
            raise Unavailable(f"the stored bytes of document {doc.id} do not match its hash")

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(data), READ_BYTES):
                yield data[start : start + READ_BYTES]

        return to_message(doc), chunks()

    async def _put(self, sha256: str, sealed: bool, data: bytes) -> None:
        stored = self.sealer.seal(sha256, data) if sealed else data
        await self.blobs.put(blob_name(sha256, sealed), stored)

    async def _get(self, doc: DocumentRow) -> bytes:
        stored = await self.blobs.get(blob_name(doc.sha256, doc.encrypted))
        if stored is None:
            raise Unavailable(f"the bytes of document {doc.id} are missing from this node")
        return self.sealer.open(doc.sha256, stored) if doc.encrypted else stored

    async def delete_draft(self, request_id: str, expected_version: int, caller: Caller) -> None:
        row = await self.requests.visible_request(request_id, caller)
        if row.direction != "outgoing":
            raise PermissionDenied("only the requesting side deletes a request")
        self.requests.may_act_for_requester(row, caller)
        if row.status != "draft":
            raise self.requests.not_a_draft(row)
        for name in await self.store.delete_draft(row.id, expected_version):
            await self.blobs.delete(name)

    # ------------------------------------------------------------ submission

    async def for_submission(self, request_id: str) -> list[DocumentRow]:
        return await self.store.of_request(request_id)

    async def first_chunks(
        self, docs: Sequence[DocumentRow], destination: str, now: datetime
    ) -> list[MessageRow]:
        """Each document's first chunk, queued after the event message that names it."""
        out = []
        for index, doc in enumerate(docs):
            out.append(
                await self._chunk(doc, destination, 0, 1, now + timedelta(milliseconds=index + 1))
            )
        return out

    async def _chunk(
        self, doc: DocumentRow, destination: str, offset: int, number: int, now: datetime
    ) -> MessageRow:
        data = await self._whole(doc)
        body = requests_pb2.DocumentChunk(
            request_id=doc.request_id,
            document_id=doc.id,
            sha256=bytes.fromhex(doc.sha256),
            size=doc.size,
            offset=offset,
            data=data[offset : offset + CHUNK_BYTES],
        )
        values = handoff_values(
            chunk_message_id(doc.id, offset, number),
            destination,
            KIND,
            body.SerializeToString(deterministic=True),
            now,
        )
        return MessageRow(
            **values,
            request_id=doc.request_id,
            seq=0,
            state="pending",
            reason="",
            receipt=b"",
            receipt_body=b"",
            receipt_verified=False,
        )

    async def _whole(self, doc: DocumentRow) -> bytes:
        """The document's bytes, kept for its next chunks (a few documents at most). Not
        checked against the hash here: the receiver checks, and refuses a mismatch."""
        data = self._sending.get(doc.id)
        if data is None:
            data = await self._get(doc)
            self._sending[doc.id] = data
            while len(self._sending) > CACHE_DOCUMENTS:
                self._sending.popitem(last=False)
        self._sending.move_to_end(doc.id)
        return data

    async def refused_by_federation(self, message: MessageRow, reason: str) -> None:
        chunk = requests_pb2.DocumentChunk()
        with contextlib.suppress(Exception):
            chunk.ParseFromString(message.payload)
        await self.requests.store.update_message(message.message_id, payload=b"")
        if is_id(chunk.document_id):
            await self.store.update(
                chunk.document_id, transfer_state="failed", transfer_reason=reason[:500]
            )

    async def settled(self, message: MessageRow, d: exchange_pb2.Delivery) -> None:
        """Federation's outcome of one chunk: the next chunk from what the other side
        holds, or the transfer's end."""
        chunk = requests_pb2.DocumentChunk()
        with contextlib.suppress(Exception):
            chunk.ParseFromString(message.payload)
        doc = await self.store.get(chunk.document_id)
        if doc is None:
            return
        await self.requests.store.update_message(
            message.message_id,
            payload=b"",  # the chunk's bytes are stored once, with the document
            handed_over=True,
            state="delivered" if d.state == "delivered" else "failed",
            reason=d.receipt_body.reason[:500] if d.state == "refused" else "",
            last_error=d.last_error[:500],
            receipt=d.receipt.SerializeToString() if d.HasField("receipt") else b"",
            receipt_body=d.receipt_body.SerializeToString() if d.HasField("receipt_body") else b"",
            receipt_verified=d.receipt_verified,
            settled_at=utcnow(),
        )
        if d.state == "refused":
            reason = d.receipt_body.reason[:500]
            await self.store.update(doc.id, transfer_state="refused", transfer_reason=reason)
            return
        if d.state != "delivered" or not d.receipt_verified:
            await self.store.update(
                doc.id, transfer_state="failed", transfer_reason=d.last_error[:500]
            )
            return
        receipt = requests_pb2.DocumentReceipt()
        with contextlib.suppress(Exception):
            receipt.ParseFromString(d.receipt_body.reply)
        if receipt.document_id != doc.id or receipt.sha256.hex() != doc.sha256:
            await self.store.update(
                doc.id,
                transfer_state="failed",
                transfer_reason="the receipt names another document",
            )
            return
        if receipt.verified:
            await self.store.update(doc.id, transfer_state="delivered", transfer_held=receipt.held)
            self._sending.pop(doc.id, None)
            return
        held = min(max(receipt.held, 0), doc.size)
        number = doc.transfer_chunks + 1
        nxt = await self._chunk(doc, message.destination, held, number, utcnow())
        await self.store.queue_chunk(doc.id, nxt, transfer_held=held, transfer_state="sending")
        self.requests.wake_outbox()

    # ------------------------------------------------------------ receiving

    def incoming(
        self,
        refs: Sequence[requests_pb2.DocumentRef],
        request_id: str,
        confidential: bool,
        seq: int,
    ) -> list[DocumentRow]:
        """Rows for the documents a peer's verified event names, waiting for their bytes."""
        now = utcnow()
        out = []
        for ref in refs:
            too_big = ref.size > self.max_bytes
            out.append(
                DocumentRow(
                    id=ref.id,
                    request_id=request_id,
                    title=ref.title[:300],
                    kind=ref.kind[:32],
                    language=ref.language[:2],
                    filename=ref.filename[:200],
                    content_type=ref.content_type[:120],
                    size=ref.size,
                    sha256=ref.sha256.hex(),
                    encrypted=confidential,
                    state="refused" if too_big else "receiving",
                    verified=False,
                    received=0,
                    problem=f"larger than this node's limit of {self.max_bytes} bytes"
                    if too_big
                    else "",
                    uploaded_by="",
                    created_at=now,
                    event_seq=seq,
                    transfer_state="none",
                    transfer_held=0,
                    transfer_chunks=0,
                    transfer_reason="",
                )
            )
        return out

    async def receive(
        self, origin: str, msg: exchange_pb2.InboundMessage
    ) -> exchange_pb2.InboundReply:
        chunk = requests_pb2.DocumentChunk()
        try:
            chunk.ParseFromString(msg.payload)
        except Exception:
            return _refused("payload is not a document chunk")
        doc = await self.store.get(chunk.document_id) if is_id(chunk.document_id) else None
        request = await self.requests.store.get(chunk.request_id)
        if request is None:
            # Its event message is on its way (or being applied): try again later.
            raise Unavailable(f"request {chunk.request_id[:36]} is not here yet")
        if request.requesting_network != origin or request.direction != "incoming":
            return _refused(f"request {request.id} is not sent by {origin} to this node")
        if doc is None or doc.request_id != request.id:
            return _refused("no signed event of this request names that document")
        problem = _chunk_problem(chunk, doc)
        if problem:
            return _refused(problem)
        if doc.state in ("verified", "refused"):
            return _answer(doc, doc.received, doc.state == "verified", doc.problem)
        if chunk.offset != doc.received:
            return _answer(doc, doc.received, False)  # send from what is held
        # A confidential request's chunks are sealed at rest while they wait, too.
        data = self.sealer.seal(doc.id, chunk.data) if doc.encrypted else chunk.data
        part = await self.store.store_part(doc.id, chunk.offset, len(chunk.data), data, doc.size)
        parts = part.parts
        if parts is None and part.held >= doc.size:
            parts = await self.store.parts(doc.id)  # a check interrupted before
        if parts is None:
            return _answer(doc, part.held, False)
        if doc.encrypted:
            parts = [self.sealer.open(doc.id, p) for p in parts]
        return await self._check_whole(doc, request, b"".join(parts))

    async def _check_whole(
        self, doc: DocumentRow, request: RequestRow, whole: bytes
    ) -> exchange_pb2.InboundReply:
        if hashlib.sha256(whole).hexdigest() != doc.sha256 or len(whole) != doc.size:
            problem = "the bytes received do not match the hash in the signed event"
            await self.store.settle_received(
                doc.id, state="refused", verified=False, received=0, problem=problem
            )
            log.warning("document %s of request %s refused: hash mismatch", doc.id, request.id)
            return _answer(doc, 0, False, problem)
        await self._put(doc.sha256, request.confidential, whole)
        await self.store.settle_received(
            doc.id, state="verified", verified=True, received=len(whole), problem=""
        )
        return _answer(doc, len(whole), True)


def chunk_message_id(document_id: str, offset: int, number: int) -> str:
    """`<document id>:at<offset>.<n>`: the n-th chunk message queued for the document
    (federation's ids are letters, digits and `.`, `_`, `:`, `-`)."""
    return f"{document_id}:at{offset}.{number}"


def _chunk_problem(chunk: requests_pb2.DocumentChunk, doc: DocumentRow) -> str:
    if chunk.sha256.hex() != doc.sha256 or chunk.size != doc.size:
        return "the chunk's hash or size is not the signed event's"
    if not chunk.data or len(chunk.data) > CHUNK_BYTES:
        return f"a chunk carries 1 to {CHUNK_BYTES} bytes"
    if chunk.offset < 0 or chunk.offset + len(chunk.data) > doc.size:
        return "the chunk lies outside the document"
    return ""


def _refused(reason: str) -> exchange_pb2.InboundReply:
    return exchange_pb2.InboundReply(accepted=False, reason=reason[:500])


def _answer(
    doc: DocumentRow, held: int, verified: bool, problem: str = ""
) -> exchange_pb2.InboundReply:
    receipt = requests_pb2.DocumentReceipt(
        request_id=doc.request_id,
        document_id=doc.id,
        sha256=bytes.fromhex(doc.sha256),
        held=held,
        verified=verified,
    ).SerializeToString()
    if problem:
        return exchange_pb2.InboundReply(accepted=False, reason=problem[:500], reply=receipt)
    return exchange_pb2.InboundReply(accepted=True, reply=receipt)


def ref_of(doc: DocumentRow) -> requests_pb2.DocumentRef:
    """What the signed event says of a document."""
    return requests_pb2.DocumentRef(
        id=doc.id,
        title=doc.title,
        kind=doc.kind,
        language=doc.language,
        size=doc.size,
        sha256=bytes.fromhex(doc.sha256),
        filename=doc.filename,
        content_type=doc.content_type,
    )


def check_refs(refs: Sequence[requests_pb2.DocumentRef]) -> str:
    """Why a peer's event names its documents wrongly ("" when it does not)."""
    seen: set[str] = set()
    for ref in refs:
        if not is_id(ref.id) or ref.id in seen:
            return "a document id is not an id, or repeated"
        if len(ref.sha256) != 32 or ref.size <= 0 or ref.kind not in KINDS:
            return f"document {ref.id} has no sha256, no size or an unknown kind"
        seen.add(ref.id)
    return ""


def to_message(row: DocumentRow) -> requests_pb2.Document:
    msg = requests_pb2.Document(
        id=row.id,
        request_id=row.request_id,
        title=row.title,
        kind=row.kind,
        language=row.language,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        verified=row.verified,
        state=row.state,
        received=row.received,
        problem=row.problem,
        encrypted=row.encrypted,
        uploaded_by=row.uploaded_by,
        event_seq=row.event_seq,
        transfer=requests_pb2.DocumentTransfer(
            state=row.transfer_state,
            held=row.transfer_held,
            chunks=row.transfer_chunks,
            reason=row.transfer_reason,
        ),
    )
    msg.created_at.FromDatetime(as_utc(row.created_at))
    return msg
