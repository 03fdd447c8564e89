"""Documents for the document tests: small real files of each accepted kind, and the
calls that upload, list and read them through a node's gateway."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from aiohttp import FormData

from tests.requests_nodes import DRAFT, ReqNode


def pdf(size: int = 4000, seed: bytes = b"letter") -> bytes:
    """A PDF-looking file of `size` bytes (the magic number is what is checked)."""
    head = b"%PDF-1.7\n%" + seed + b"\n"
    body = hashlib.sha256(seed).digest() * (size // 32 + 1)
    return (head + body)[:size]


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
EXE = b"MZ\x90\x00" + bytes(range(256)) * 4


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def form(
    data: bytes | None,
    *,
    filename: str = "letter.pdf",
    content_type: str = "application/pdf",
    **fields: str,
) -> FormData:
    values = {"title": "Letter of request", "kind": "letter_of_request", "language": "en"}
    values.update(fields)
    out = FormData(default_to_multipart=True)
    for name, value in values.items():
        if value is not None:
            out.add_field(name, value)
    if data is not None:
        out.add_field("file", data, filename=filename, content_type=content_type)
    return out


async def create_draft(node: ReqNode, role: str = "member", **changes: Any) -> dict[str, Any]:
    code, body = await node.call("POST", "/api/v1/requests", role, json={**DRAFT, **changes})
    assert code == 201, body
    return dict(body)


async def upload(
    node: ReqNode, rid: str, data: bytes | None, role: str = "member", **kw: Any
) -> tuple[int, Any]:
    resp = await node.client.post(
        f"/api/v1/requests/{rid}/documents", data=form(data, **kw), headers=node.auth(role)
    )
    return resp.status, await resp.json()


async def documents(node: ReqNode, rid: str, role: str = "member") -> list[dict[str, Any]]:
    code, body = await node.call("GET", f"/api/v1/requests/{rid}/documents", role)
    assert code == 200, body
    return list(body["items"])


async def download(node: ReqNode, rid: str, doc_id: str, role: str = "member") -> tuple[int, bytes]:
    resp = await node.client.get(
        f"/api/v1/requests/{rid}/documents/{doc_id}", headers=node.auth(role)
    )
    return resp.status, await resp.read()


def stored_files(node: ReqNode) -> list[Path]:
    root = node.settings.data_dir / "documents"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def on_postgres(node: ReqNode) -> bool:
    return node.settings.requests.database_url.startswith("postgresql")


async def raw_blobs(node: ReqNode) -> dict[str, bytes]:
    """The stored bytes by blob name, read beside the service (files or database rows)."""
    if on_postgres(node):
        rows = await node.requests_sql("SELECT name, data FROM requests_blobs ORDER BY name, part")
        out: dict[str, bytes] = {}
        for name, data in rows:
            out[name] = out.get(name, b"") + bytes(data)
        return out
    return {p.name: p.read_bytes() for p in stored_files(node)}


async def overwrite_blob(node: ReqNode, name: str, data: bytes) -> None:
    """Replaces a stored document's bytes behind the service's back."""
    if on_postgres(node):
        await node.requests_sql("DELETE FROM requests_blobs WHERE name = :n", n=name)
        await node.requests_sql(
            "INSERT INTO requests_blobs (name, part, data) VALUES (:n, 0, :d)", n=name, d=data
        )
    else:
        (path,) = [p for p in stored_files(node) if p.name == name]
        path.write_bytes(data)
