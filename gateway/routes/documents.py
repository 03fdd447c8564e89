"""A request's documents: upload (multipart) to a draft, list, download; and deleting a
draft. The requests service decides who may, checks every field and the bytes, and
stores them; the gateway streams the upload to it, stopping past the node's size limit
(`requests.max_document_bytes`) with a 413 that names `file`.

Reads of documents are audited like reads of requests (gateway/audit.py LOOKUPS)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError
from justnet.requests.v1 import requests_pb2

from gateway import keys
from gateway.api import Api, if_match, json_response
from gateway.openapi import message_schema
from gateway.routes.requests import _dict
from services.common.errors import InvalidInput
from services.common.identity import Caller

api = Api()
TAG = "requests"
KINDS = ("letter_of_request", "court_order", "translation", "annex")
SEND_BYTES = 1024 * 1024  # per gRPC message of an upload
FIELD_BYTES = 2000  # a text field of the form
UPLOAD_TIMEOUT = 120.0
FIELDS = ("title", "kind", "language")
MAX_PARTS = 10
# What aiohttp's multipart reader raises on a malformed body (a bad boundary, header or
# encoding): the caller's mistake, a 400.
MALFORMED = (ValueError, AssertionError, KeyError, LookupError, HttpProcessingError)

_INT = {"type": "integer"}
DOCUMENT = message_schema(
    requests_pb2.Document,
    {
        "size": {**_INT, "description": "bytes"},
        "received": {**_INT, "description": "receiving node: bytes held so far"},
        "sha256": {"type": "string", "description": "hex sha256 of the bytes"},
        "verified": {
            "type": "boolean",
            "description": "the bytes held here match the hash in the signed chain event",
        },
        "state": {"type": "string", "enum": ["stored", "receiving", "verified", "refused"]},
        "kind": {"type": "string", "enum": list(KINDS)},
        "transfer": message_schema(
            requests_pb2.DocumentTransfer,
            {
                "state": {
                    "type": "string",
                    "enum": ["none", "sending", "delivered", "refused", "failed"],
                },
                "held": {**_INT, "description": "bytes the destination confirmed holding"},
            },
        ),
    },
    required=("created_at",),
)
DOCUMENTS = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": DOCUMENT}},
    "required": ["items"],
}
UPLOAD_FORM = {
    "type": "object",
    "properties": {
        "file": {"type": "string", "format": "binary", "description": "the document"},
        "title": {"type": "string", "maxLength": 300},
        "kind": {"type": "string", "enum": list(KINDS)},
        "language": {"type": "string", "description": "ISO 639-1", "maxLength": 8},
    },
    "required": ["file", "title", "kind", "language"],
    "additionalProperties": False,
}
BYTES = {"type": "string", "format": "binary"}


@dataclass
class Upload:
    """A posted document form: its text fields and the file's bytes (at most the limit
    plus one byte: `too_large` says the file went past it)."""

    fields: dict[str, str]
    filename: str
    declared_type: str
    data: bytes
    too_large: bool


def document_dict(msg: requests_pb2.Document) -> dict[str, Any]:
    out = _dict(msg)
    for name in ("size", "received"):
        out[name] = int(getattr(msg, name))
    out["transfer"]["held"] = msg.transfer.held
    return out


def max_bytes(app: web.Application) -> int:
    return int(app[keys.SETTINGS].requests.max_document_bytes)


async def read_upload(request: web.Request) -> Upload:
    """The API's multipart body, read part by part (the file never past the limit)."""
    if request.content_type != "multipart/form-data":
        raise InvalidInput.one(
            "body", "send multipart/form-data with file, title, kind and language"
        )
    try:
        reader = await request.multipart()
    except MALFORMED:
        raise InvalidInput.one("body", "not a valid multipart/form-data body") from None
    fields: dict[str, str] = {}
    limit = max_bytes(request.app)
    upload = Upload(fields, "", "", b"", False)
    for _ in range(MAX_PARTS):
        try:
            part = await reader.next()
        except MALFORMED:
            raise InvalidInput.one("body", "not a valid multipart/form-data body") from None
        if part is None:
            return upload
        if not isinstance(part, BodyPartReader):
            raise InvalidInput.one("body", "nested multipart bodies are not accepted")
        await _read_part(part, upload, limit)
    raise InvalidInput.one("body", f"at most {MAX_PARTS} parts")


async def _read_part(part: BodyPartReader, upload: Upload, limit: int) -> None:
    name = part.name or ""
    if name == "file":
        upload.filename = part.filename or ""
        upload.declared_type = part.headers.get("Content-Type", "")
        data, upload.too_large = await _bounded(part, limit)
        upload.data = data
        if upload.too_large:
            raise web.HTTPRequestEntityTooLarge(
                max_size=limit,
                actual_size=limit + 1,
                text=f"file: larger than this node's limit of {limit} bytes",
            )
    elif name in FIELDS:
        raw, too_long = await _bounded(part, FIELD_BYTES)
        try:
            upload.fields[name] = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput.one(name, "not UTF-8 text") from None
        if too_long:
            raise InvalidInput.one(name, f"at most {FIELD_BYTES} bytes")
    else:
        raise InvalidInput.one(name[:50] or "body", "unknown field")


async def _bounded(part: BodyPartReader, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            chunk = await part.read_chunk(64 * 1024)
        except MALFORMED:
            raise InvalidInput.one(part.name or "body", "a malformed part") from None
        if not chunk:
            return b"".join(chunks), False
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)


async def add_document_data(
    app: web.Application, caller: Caller, request_id: str, upload: Upload
) -> dict[str, Any]:
    """Sends an upload to the requests service, which checks every field (a missing one is
    empty) and names each bad one at once."""
    info = requests_pb2.DocumentInfo(
        request_id=request_id,
        title=upload.fields.get("title", ""),
        kind=upload.fields.get("kind", ""),
        language=upload.fields.get("language", ""),
        filename=upload.filename,
        declared_type=upload.declared_type,
    )

    async def messages() -> AsyncIterator[requests_pb2.DocumentUpload]:
        yield requests_pb2.DocumentUpload(info=info)
        for start in range(0, len(upload.data), SEND_BYTES):
            yield requests_pb2.DocumentUpload(data=upload.data[start : start + SEND_BYTES])

    reply = await app[keys.CLIENTS].requests.AddDocument(
        messages(), metadata=caller.metadata(), timeout=UPLOAD_TIMEOUT
    )
    return document_dict(reply)


async def list_documents_data(
    app: web.Application, caller: Caller, request_id: str
) -> dict[str, Any]:
    reply = await app[keys.CLIENTS].requests.ListDocuments(
        requests_pb2.ListDocumentsRequest(request_id=request_id), metadata=caller.metadata()
    )
    return {"items": [document_dict(d) for d in reply.items]}


async def download(
    request: web.Request, caller: Caller, request_id: str, document_id: str
) -> web.StreamResponse:
    """The document's bytes as an attachment (never rendered by the browser here)."""
    call = request.app[keys.CLIENTS].requests.ReadDocument(
        requests_pb2.ReadDocumentRequest(request_id=request_id, document_id=document_id),
        metadata=caller.metadata(),
    )
    first = await call.read()  # a refusal (404) raises here, before any header is sent
    doc = first.document
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Disposition": _disposition(doc.filename or f"{doc.id}"),
            "X-Content-Type-Options": "nosniff",
            "X-Document-Sha256": doc.sha256,
            "X-Document-Content-Type": doc.content_type,
        }
    )
    response.content_length = doc.size
    await response.prepare(request)
    async for item in call:
        await response.write(item.data)
    await response.write_eof()
    return response


def _disposition(filename: str) -> str:
    plain = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def delete_request_data(
    app: web.Application, caller: Caller, request_id: str, expected_version: int
) -> None:
    await app[keys.CLIENTS].requests.DeleteDraft(
        requests_pb2.DeleteDraftRequest(id=request_id, expected_version=expected_version),
        metadata=caller.metadata(),
    )


@api.route(
    "DELETE",
    "/api/v1/requests/{id}",
    summary="Delete a draft and its documents; only its creator or an editor, only while "
    "it is a draft",
    tag=TAG,
    role="member",
    success=204,
    errors=(404, 409, 412),
)
async def delete_request(request: web.Request) -> web.Response:
    await delete_request_data(
        request.app, request[keys.CALLER], request.match_info["id"], if_match(request)
    )
    return web.Response(status=204)


@api.route(
    "POST",
    "/api/v1/requests/{id}/documents",
    summary="Attach a document to a draft (multipart: file, title, kind, language); checked "
    "by content, at most the node's requests.max_document_bytes",
    tag=TAG,
    role="member",
    form=UPLOAD_FORM,
    response=DOCUMENT,
    success=201,
    errors=(404, 409),
)
async def add_document(request: web.Request) -> web.Response:
    upload = await read_upload(request)
    rid = request.match_info["id"]
    data = await add_document_data(request.app, request[keys.CALLER], rid, upload)
    response = json_response(data, status=201)
    response.headers["Location"] = f"/api/v1/requests/{rid}/documents/{data['id']}"
    return response


@api.route(
    "GET",
    "/api/v1/requests/{id}/documents",
    summary="The request's documents, each with sha256, size and verified",
    tag=TAG,
    role="member",
    response=DOCUMENTS,
    errors=(404,),
)
async def list_documents(request: web.Request) -> web.Response:
    return json_response(
        await list_documents_data(request.app, request[keys.CALLER], request.match_info["id"])
    )


@api.route(
    "GET",
    "/api/v1/requests/{id}/documents/{doc_id}",
    summary="A document's bytes (an attachment; X-Document-Sha256 names its hash)",
    tag=TAG,
    role="member",
    response=BYTES,
    errors=(404,),
    content_type="application/octet-stream",
)
async def get_document(request: web.Request) -> web.StreamResponse:
    return await download(
        request, request[keys.CALLER], request.match_info["id"], request.match_info["doc_id"]
    )
