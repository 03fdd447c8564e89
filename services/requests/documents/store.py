"""Every SQL statement about documents: their rows, the parts of those being received,
and the outbox messages that carry their chunks (the requests outbox, kind
`requests.document`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import WRITE, session_factory
from services.common.errors import Conflict, VersionMismatch
from services.requests.models import DocumentPartRow, DocumentRow, MessageRow, RequestRow

MAX_DOCUMENTS = 50  # per request


@dataclass(frozen=True)
class Part:
    """What storing one received chunk did: the bytes now held, and (once all are held)
    all its parts, read back in order for the hash check."""

    held: int
    parts: list[bytes] | None  # all the stored parts, in order, once all are held


class DocumentsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.sessions = session_factory(engine)

    async def add(self, row: DocumentRow) -> DocumentRow:
        """Adds a document to a draft; the request's version moves, so a submission that
        read the documents before cannot miss this one (store.append checks the version)."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            stmt = select(RequestRow).where(RequestRow.id == row.request_id).with_for_update()
            request = (await session.scalars(stmt)).one_or_none()
            if request is None or request.status != "draft":
                status = request.status if request is not None else "gone"
                raise Conflict(
                    f"request {row.request_id} is {status}; only a draft takes documents"
                )
            count = await session.scalar(
                select(func.count()).where(DocumentRow.request_id == row.request_id)
            )
            if (count or 0) >= MAX_DOCUMENTS:
                raise Conflict(f"a request carries at most {MAX_DOCUMENTS} documents")
            request.version += 1
            session.add(row)
        return row

    async def of_request(self, request_id: str) -> list[DocumentRow]:
        stmt = (
            select(DocumentRow)
            .where(DocumentRow.request_id == request_id)
            .order_by(DocumentRow.created_at, DocumentRow.id)
        )
        async with self.sessions() as session:
            return list((await session.scalars(stmt)).all())

    async def get(self, document_id: str) -> DocumentRow | None:
        async with self.sessions() as session:
            row: DocumentRow | None = await session.get(DocumentRow, document_id)
            return row

    async def existing(self, ids: Sequence[str]) -> set[str]:
        async with self.sessions() as session:
            found = await session.scalars(select(DocumentRow.id).where(DocumentRow.id.in_(ids)))
            return set(found.all())

    async def delete_draft(self, request_id: str, expected_version: int) -> list[str]:
        """Deletes a draft and its documents; returns the blob names no other document
        uses any more (the caller removes those bytes after the commit)."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            stmt = select(RequestRow).where(RequestRow.id == request_id).with_for_update()
            request = (await session.scalars(stmt)).one_or_none()
            if request is None:
                raise Conflict(f"request {request_id} no longer exists")
            if request.status != "draft":
                raise Conflict(f"request {request_id} is {request.status}; only a draft is deleted")
            if expected_version and request.version != expected_version:
                raise VersionMismatch(expected_version, request.version)
            docs = list(
                (
                    await session.scalars(
                        select(DocumentRow).where(DocumentRow.request_id == request_id)
                    )
                ).all()
            )
            await session.execute(delete(DocumentRow).where(DocumentRow.request_id == request_id))
            await session.delete(request)
            await session.flush()
            orphans = []
            for doc in docs:
                still = await session.scalar(
                    select(func.count()).where(
                        DocumentRow.sha256 == doc.sha256, DocumentRow.encrypted == doc.encrypted
                    )
                )
                if not still:
                    orphans.append(blob_name(doc.sha256, doc.encrypted))
        return sorted(set(orphans))

    async def update(self, document_id: str, **values: Any) -> None:
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            await session.execute(
                update(DocumentRow).where(DocumentRow.id == document_id).values(**values)
            )

    async def queue_chunk(
        self, document_id: str, message: MessageRow | None, **values: Any
    ) -> None:
        """Records what the other side holds and queues the next chunk, in one transaction."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            if message is not None and await session.get(MessageRow, message.message_id) is None:
                session.add(message)
                values["transfer_chunks"] = DocumentRow.transfer_chunks + 1
            await session.execute(
                update(DocumentRow).where(DocumentRow.id == document_id).values(**values)
            )

    async def store_part(
        self, document_id: str, offset: int, length: int, data: bytes, size: int
    ) -> Part:
        """Keeps a chunk of `length` bytes (stored as `data`: sealed for a confidential
        request) that starts where the held bytes end (a concurrent duplicate finds them
        moved on and stores nothing)."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            moved = await session.execute(
                update(DocumentRow)
                .where(DocumentRow.id == document_id, DocumentRow.received == offset)
                .values(received=offset + length)
            )
            if moved.rowcount != 1:
                held = await session.scalar(
                    select(DocumentRow.received).where(DocumentRow.id == document_id)
                )
                return Part(int(held or 0), None)
            session.add(DocumentPartRow(document_id=document_id, offset=offset, data=data))
            held = offset + length
            if held < size:
                return Part(held, None)
            await session.flush()
            parts = await session.scalars(
                select(DocumentPartRow.data)
                .where(DocumentPartRow.document_id == document_id)
                .order_by(DocumentPartRow.offset)
            )
            return Part(held, list(parts.all()))

    async def parts(self, document_id: str) -> list[bytes]:
        """The received parts, in order (to check a whole whose check was interrupted)."""
        stmt = (
            select(DocumentPartRow.data)
            .where(DocumentPartRow.document_id == document_id)
            .order_by(DocumentPartRow.offset)
        )
        async with self.sessions() as session:
            return list((await session.scalars(stmt)).all())

    async def settle_received(self, document_id: str, **values: Any) -> None:
        """The whole document was checked: its row says how, its parts go."""
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            await session.execute(
                update(DocumentRow).where(DocumentRow.id == document_id).values(**values)
            )
            await session.execute(
                delete(DocumentPartRow).where(DocumentPartRow.document_id == document_id)
            )


def blob_name(sha256: str, encrypted: bool) -> str:
    return sha256 + (".sealed" if encrypted else "")
