"""Documents on a draft request (`POST/GET /api/v1/requests/{id}/documents[/{doc_id}]`,
the requests service's AddDocument, ListDocuments, ReadDocument) and deleting a draft
(`DELETE /api/v1/requests/{id}`): who may, what is checked (each bad field named, nothing
stored), storage on files or PostgreSQL, sealing at rest, and the audit of reads."""

from __future__ import annotations

import re
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import FormData

from gateway.accounts import AccountStore
from services.common.db import create_engine
from tests.documents_kit import (
    EXE,
    PNG,
    create_draft,
    documents,
    download,
    pdf,
    sha,
    stored_files,
    upload,
)
from tests.integration.test_console_accounts import PASSWORD, csrf_of, sign_in
from tests.requests_nodes import NodeFactory, eventually, requests_world

LIMIT = 64 * 1024


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def make(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[NodeFactory]:
    async with requests_world(tmp_path, postgres=request.param == "postgres") as factory:
        yield factory


async def blob_count(node) -> int:  # type: ignore[no-untyped-def]
    """Stored blobs, whichever backend holds them."""
    if node.settings.requests.database_url.startswith("postgresql"):
        rows = await node.requests_sql("SELECT count(DISTINCT name) FROM requests_blobs")
        return int(rows[0][0])
    return len(stored_files(node))


async def test_upload_list_and_download(make: NodeFactory) -> None:
    sea = await make("SEAJUST", max_document_bytes=LIMIT)
    await make("WACAP")
    rid = (await create_draft(sea))["id"]
    letter = pdf(5000)
    code, doc = await upload(sea, rid, letter, title="Letter of request (signed)", language="EN")
    assert code == 201, doc
    assert doc["sha256"] == sha(letter)
    assert doc["size"] == len(letter)
    assert doc["verified"] is True
    assert doc["kind"] == "letter_of_request"
    assert doc["language"] == "en"
    assert doc["content_type"] == "application/pdf"
    assert doc["state"] == "stored"
    code, annex = await upload(
        sea, rid, PNG, filename="scan.png", content_type="image/png", kind="annex", title="Scan"
    )
    assert code == 201, annex

    listed = await documents(sea, rid)
    assert [d["id"] for d in listed] == [doc["id"], annex["id"]]
    assert await documents(sea, rid, "editor") == listed  # an editor sees every request
    code, data = await download(sea, rid, doc["id"])
    assert code == 200
    assert data == letter
    resp = await sea.client.get(
        f"/api/v1/requests/{rid}/documents/{doc['id']}", headers=sea.auth("member")
    )
    assert resp.headers["X-Document-Sha256"] == sha(letter)
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert await blob_count(sea) == 2


async def test_each_bad_field_is_named_and_nothing_is_stored(make: NodeFactory) -> None:
    sea = await make("SEAJUST", max_document_bytes=LIMIT)
    await make("WACAP")
    rid = (await create_draft(sea))["id"]
    cases = [
        ({"data": pdf(LIMIT + 1)}, 413, "file"),
        (
            {"data": EXE, "filename": "letter.bin", "content_type": "application/octet-stream"},
            400,
            "file",
        ),
        ({"data": EXE, "filename": "letter.pdf"}, 400, "file"),
        ({"data": PNG, "filename": "letter.pdf"}, 400, "file"),  # content and name disagree
        ({"data": PNG, "filename": "scan", "content_type": "application/pdf"}, 400, "file"),
        ({"data": b""}, 400, "file"),
        ({"data": None}, 400, "file"),
        ({"data": pdf(), "kind": "memo"}, 400, "kind"),
        ({"data": pdf(), "language": "xx1"}, 400, "language"),
        ({"data": pdf(), "language": ""}, 400, "language"),
        ({"data": pdf(), "title": ""}, 400, "title"),
        ({"data": pdf(), "title": "x" * 301}, 400, "title"),
    ]
    for kw, status, field in cases:
        data = kw.pop("data")
        code, body = await upload(sea, rid, data, **kw)  # type: ignore[arg-type]
        assert code == status, (kw, body)
        named = [e["field"] for e in body.get("errors", [])] or [body["detail"].split(":")[0]]
        assert field in named, (kw, body)
    resp = await sea.client.post(
        f"/api/v1/requests/{rid}/documents",
        json={"title": "Letter"},
        headers=sea.auth("member"),
    )
    assert resp.status == 400
    assert await documents(sea, rid) == []
    assert await blob_count(sea) == 0


async def test_who_may_upload_and_when(make: NodeFactory) -> None:
    sea = await make("SEAJUST", max_document_bytes=LIMIT)
    wacap = await make("WACAP")
    rid = (await create_draft(sea))["id"]
    # Another member does not see the draft at all; an editor of the node may attach.
    code, body = await upload(sea, rid, pdf(), role="member2")
    assert code == 404, body
    code, body = await upload(sea, rid, pdf(seed=b"editor"), role="editor")
    assert code == 201, body
    code, body = await sea.call("POST", f"/api/v1/requests/{rid}/submit")
    assert code == 200, body
    # Once submitted, the documents are those the signed event names: no more.
    code, body = await upload(sea, rid, pdf(seed=b"late"))
    assert code == 409, body
    assert len(await documents(sea, rid)) == 1
    # The requested side does not attach documents to an incoming request.
    await eventually(
        lambda: wacap.call("GET", f"/api/v1/requests/{rid}", "editor"),
        "the request reached WACAP",
    )

    async def arrived() -> bool:
        code, _ = await wacap.call("GET", f"/api/v1/requests/{rid}", "editor")
        return code == 200

    await eventually(arrived, "the request reached WACAP")
    code, body = await upload(wacap, rid, pdf(seed=b"answer"), role="editor")
    assert code == 403, body
    code, body = await upload(sea, "not-a-request", pdf())
    assert code == 404, body
    resp = await sea.client.post(f"/api/v1/requests/{rid}/documents", data={"title": "x"})
    assert resp.status == 401


async def test_confidential_documents_are_sealed_at_rest(make: NodeFactory) -> None:
    sea = await make("SEAJUST", max_document_bytes=LIMIT)
    await make("WACAP")
    rid = (await create_draft(sea, confidential=True))["id"]
    secret = "Account 0042-7781 held by Mr Example; beneficial owner Ms Sample.\n" * 40
    data = secret.encode()
    code, doc = await upload(
        sea, rid, data, filename="accounts.txt", content_type="text/plain", kind="annex"
    )
    assert code == 201, doc
    assert doc["encrypted"] is True
    assert doc["content_type"] == "text/plain"
    if sea.settings.requests.database_url.startswith("postgresql"):
        rows = await sea.requests_sql("SELECT data FROM requests_blobs")
        raw = b"".join(bytes(r[0]) for r in rows)
    else:
        files = stored_files(sea)
        assert [f.name for f in files] == [f"{sha(data)}.sealed"]
        raw = files[0].read_bytes()
    assert raw
    assert b"0042-7781" not in raw
    assert b"Mr Example" not in raw
    key = sea.settings.documents_key_path
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    code, read = await download(sea, rid, doc["id"])
    assert code == 200
    assert read == data


async def test_reading_a_document_is_audited(make: NodeFactory) -> None:
    sea = await make("SEAJUST", max_document_bytes=LIMIT)
    await make("WACAP")
    rid = (await create_draft(sea))["id"]
    code, doc = await upload(sea, rid, pdf())
    assert code == 201, doc
    assert (await download(sea, rid, doc["id"], role="editor"))[0] == 200
    path = f"/api/v1/requests/{rid}/documents/{doc['id']}"

    async def audited() -> bool:
        code, body = await sea.call("GET", "/api/v1/admin/audit?limit=50", "admin")
        assert code == 200, body
        return any(e["target"] == path and e["action"] == "GET" for e in body["items"])

    await eventually(audited, "the document read in the audit log")


async def test_deleting_a_draft(make: NodeFactory) -> None:
    sea = await make("SEAJUST", max_document_bytes=LIMIT)
    await make("WACAP")
    draft = await create_draft(sea)
    rid = draft["id"]
    code, doc = await upload(sea, rid, pdf())
    assert code == 201, doc
    path = f"/api/v1/requests/{rid}"
    code, body = await sea.call("DELETE", path, "member2")
    assert code == 404, body
    code, body = await sea.call("DELETE", path, headers={"If-Match": '"1"'})
    assert code == 412, body  # the upload moved the version on
    code, current = await sea.call("GET", path)
    code, body = await sea.call("DELETE", path, headers={"If-Match": f'"{current["version"]}"'})
    assert code == 204, body
    assert (await sea.call("GET", path))[0] == 404
    assert await blob_count(sea) == 0

    submitted = (await create_draft(sea))["id"]
    assert (await sea.call("POST", f"/api/v1/requests/{submitted}/submit"))[0] == 200
    code, body = await sea.call("DELETE", f"/api/v1/requests/{submitted}")
    assert code == 409, body


async def test_the_console_lists_documents_and_attaches_one_with_its_csrf_token(
    make: NodeFactory,
) -> None:
    sea = await make("SEAJUST")  # the default limit: 25 MiB
    await make("WACAP")
    rid = (await create_draft(sea))["id"]
    store = AccountStore(create_engine(sea.settings.gateway.database_url, instrument=False))
    editor = await store.add("editor@example.org", "An editor", "editor", password=PASSWORD)
    assert (await sign_in(sea.client, editor.email)).status == 303
    page = f"/console/requests/{rid}"
    html = await (await sea.client.get(page)).text()
    assert "Attach a document" in html and "No documents yet." in html
    token = csrf_of(html)
    letter = pdf(2 * 1024 * 1024, b"console")  # above the 1 MiB of other bodies

    def upload_form(csrf: str | None, **fields: str) -> FormData:
        out = FormData(default_to_multipart=True)
        if csrf is not None:
            out.add_field("csrf_token", csrf)
        values = {"title": "Signed letter", "kind": "letter_of_request", "language": "en"}
        for name, value in {**values, **fields}.items():
            out.add_field(name, value)
        out.add_field("file", letter, filename="letter.pdf", content_type="application/pdf")
        return out

    resp = await sea.client.post(f"{page}/documents", data=upload_form(None), allow_redirects=False)
    assert resp.status == 403  # no CSRF token: refused, nothing stored
    resp = await sea.client.post(
        f"{page}/documents", data=upload_form(token, kind="memo"), allow_redirects=False
    )
    assert resp.status == 400
    assert 'id="kind-error"' in await resp.text()
    assert await documents(sea, rid) == []

    resp = await sea.client.post(
        f"{page}/documents", data=upload_form(token), allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    assert resp.headers["Location"].startswith(f"{page}?done=attached")
    html = await (await sea.client.get(page)).text()
    (doc,) = await documents(sea, rid)
    assert doc["sha256"] == sha(letter)
    for shown in ("Signed letter", "Letter of request", sha(letter), "Verified", "2,097,152"):
        assert shown in html, shown
    resp = await sea.client.get(f"{page}/documents/{doc['id']}")
    assert resp.status == 200
    assert await resp.read() == letter

    resp = await sea.client.get(page, headers={"Accept-Language": "fr"})
    html = await resp.text()
    assert "Joindre un document" in html and "Demande d\u2019entraide (lettre)" in html

    # Deleting the draft: the version the page showed as If-Match, with the CSRF token.
    html = await (await sea.client.get(page)).text()
    version = re.search(r'name="version" value="(\d+)"', html)
    assert version is not None and "Delete draft" in html
    gone = {"csrf_token": token, "version": str(int(version.group(1)) - 1)}
    resp = await sea.client.post(f"{page}/delete", data=gone, allow_redirects=False)
    assert resp.status == 412  # a stale page
    resp = await sea.client.post(
        f"{page}/delete", data={**gone, "version": version.group(1)}, allow_redirects=False
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/console/requests?done=deleted"
    assert (await sea.client.get(page)).status == 404
    assert await blob_count(sea) == 0
