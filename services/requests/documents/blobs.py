"""Where document bytes live, by name (the sha256, plus `.sealed` when encrypted): one
interface, two backends. With SQLite the bytes are files in the node's data folder; when
the requests service uses PostgreSQL they are rows of `requests_blobs` (bytea, in parts of
1 MiB), so a deployment keeps every byte in its database and its backups.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import WRITE, session_factory
from services.requests.models import BlobRow

PART_BYTES = 1024 * 1024
NAME = re.compile(r"^[0-9a-f]{64}(\.sealed)?$")


class BlobStore(Protocol):
    async def put(self, name: str, data: bytes) -> None: ...
    async def get(self, name: str) -> bytes | None: ...
    async def delete(self, name: str) -> None: ...


def _checked(name: str) -> str:
    if not NAME.match(name):
        raise ValueError("a blob name is a hex sha256, optionally .sealed")
    return name


class FileBlobs:
    """`<root>/<first two hex digits>/<name>`, written to a temporary file and renamed, so
    a crash never leaves half a document under its hash."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        name = _checked(name)
        return self.root / name[:2] / name

    async def put(self, name: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, self.path(name), data)

    @staticmethod
    def _put(path: Path, data: bytes) -> None:
        if path.exists():
            return  # the same name holds the same bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)

    async def get(self, name: str) -> bytes | None:
        path = self.path(name)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, name: str) -> None:
        await asyncio.to_thread(self.path(name).unlink, True)


class DatabaseBlobs:
    def __init__(self, engine: AsyncEngine) -> None:
        self.sessions = session_factory(engine)

    async def put(self, name: str, data: bytes) -> None:
        name = _checked(name)
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            if await session.get(BlobRow, (name, 0)) is not None:
                return
            for part, start in enumerate(range(0, max(len(data), 1), PART_BYTES)):
                session.add(BlobRow(name=name, part=part, data=data[start : start + PART_BYTES]))

    async def get(self, name: str) -> bytes | None:
        stmt = select(BlobRow.data).where(BlobRow.name == _checked(name)).order_by(BlobRow.part)
        async with self.sessions() as session:
            parts = list((await session.scalars(stmt)).all())
        return b"".join(parts) if parts else None

    async def delete(self, name: str) -> None:
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)
            await session.execute(delete(BlobRow).where(BlobRow.name == _checked(name)))


def blob_store(database_url: str, engine: AsyncEngine, data_dir: Path) -> BlobStore:
    """Database rows when the requests service uses PostgreSQL, else files."""
    if database_url.startswith("postgresql"):
        return DatabaseBlobs(engine)
    return FileBlobs(data_dir / "documents")
