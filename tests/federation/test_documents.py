"""A request's documents travel to the requested node (real nodes, mutual TLS): in
chunks, each answered with what the receiver holds inside a signed receipt naming the
document's hash; the receiver accepts a document only when its bytes match the hash in
the signed `submitted` event, and a transfer cut by a restart goes on from what the
receiver holds."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from services.common.db import create_engine
from services.requests.documents.logic import CHUNK_BYTES
from tests.documents_kit import (
    create_draft,
    documents,
    download,
    overwrite_blob,
    pdf,
    raw_blobs,
    sha,
    upload,
)
from tests.requests_nodes import NodeFactory, ReqNode, eventually, requests_world

WAIT = 60.0


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def make(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[NodeFactory]:
    async with requests_world(tmp_path, postgres=request.param == "postgres") as factory:
        yield factory


async def submitted_with(
    sea: ReqNode, files: list[tuple[bytes, dict[str, str]]], **draft: Any
) -> tuple[str, list[dict[str, Any]]]:
    rid = (await create_draft(sea, **draft))["id"]
    uploaded = []
    for data, fields in files:
        code, doc = await upload(sea, rid, data, **fields)
        assert code == 201, doc
        uploaded.append(doc)
    code, body = await sea.call("POST", f"/api/v1/requests/{rid}/submit")
    assert code == 200, body
    return rid, uploaded


async def settled_documents(node: ReqNode, rid: str, role: str = "editor") -> list[dict[str, Any]]:
    """The documents once none is still on its way (receiving, or sending)."""

    async def done() -> list[dict[str, Any]] | None:
        code, _ = await node.call("GET", f"/api/v1/requests/{rid}", role)
        if code != 200:
            return None
        docs = await documents(node, rid, role)
        busy = [d for d in docs if d["state"] == "receiving" or d["transfer"]["state"] == "sending"]
        return None if busy or not docs else docs

    result: list[dict[str, Any]] = await eventually(done, f"documents of {rid} settled", WAIT)
    return result


async def readable_payloads(node: ReqNode) -> dict[str, bytes]:
    """What the node's outboxes (requests, federation) hold as message payloads."""
    out = {}
    rows = await node.requests_sql("SELECT payload FROM requests_outbox")
    out["requests outbox"] = b"".join(bytes(r[0]) for r in rows)
    engine = create_engine(node.settings.federation.database_url, instrument=False)
    try:
        async with engine.connect() as conn:
            rows = list(await conn.execute(text("SELECT payload FROM federation_outbox")))
    finally:
        await engine.dispose()
    out["federation outbox"] = b"".join(bytes(r[0]) for r in rows)
    return out


def chunks_of(size: int) -> int:
    return math.ceil(size / CHUNK_BYTES)


async def test_two_documents_arrive_verified_with_the_same_hashes_on_both_sides(
    make: NodeFactory,
) -> None:
    sea = await make("SEAJUST")
    wacap = await make("WACAP")
    letter, order = pdf(500_000, b"letter"), pdf(300_000, b"order")
    rid, uploaded = await submitted_with(
        sea,
        [
            (letter, {"title": "Letter of request"}),
            (order, {"title": "Court order", "kind": "court_order", "language": "fr"}),
        ],
    )
    sent = await settled_documents(sea, rid, "member")
    got = await settled_documents(wacap, rid)

    def seen(docs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            (d["id"], d["title"], d["kind"], d["language"], d["size"], d["sha256"]) for d in docs
        ]

    assert seen(got) == seen(sent) == seen(uploaded)
    assert [d["sha256"] for d in got] == [sha(letter), sha(order)]
    assert all(d["verified"] and d["state"] == "verified" for d in got), got
    assert all(d["verified"] and d["transfer"]["state"] == "delivered" for d in sent), sent
    # One chunk message per chunk: none was sent twice.
    assert [d["transfer"]["chunks"] for d in sent] == [
        chunks_of(len(letter)),
        chunks_of(len(order)),
    ]
    assert (await download(wacap, rid, got[0]["id"], "editor")) == (200, letter)
    assert (await download(wacap, rid, got[1]["id"], "editor")) == (200, order)
    # Both sides hold the signed event naming both hashes, and it verifies on both.
    for node, role in ((sea, "member"), (wacap, "editor")):
        code, history = await node.call("GET", f"/api/v1/requests/{rid}/history", role)
        assert code == 200, history
        first = history["events"][0]
        assert first["status"] == "submitted" and first["verified"], first
        assert [(d["sha256"], d["title"], d["kind"]) for d in first["documents"]] == [
            (sha(letter), "Letter of request", "letter_of_request"),
            (sha(order), "Court order", "court_order"),
        ]


async def test_a_transfer_cut_by_a_restart_resumes_from_what_the_receiver_holds(
    make: NodeFactory,
) -> None:
    sea = await make("SEAJUST")
    wacap = await make("WACAP")
    big = pdf(6_000_000, b"annex")
    total = chunks_of(len(big))
    rid, (doc,) = await submitted_with(sea, [(big, {"title": "Bank statements", "kind": "annex"})])

    async def partly_held() -> int:
        rows = await wacap.requests_sql(
            "SELECT received FROM requests_documents WHERE id = :id", id=doc["id"]
        )
        return int(rows[0][0]) if rows and rows[0][0] else 0

    held_before = await eventually(partly_held, "the first chunks at WACAP", WAIT)
    held_at_stop = 0

    async def while_down() -> None:
        nonlocal held_at_stop
        held_at_stop = await partly_held()
        await asyncio.sleep(0.5)  # chunks meanwhile wait in SEAJUST's federation queue

    await wacap.restart_requests(while_down)
    assert 0 < held_before <= held_at_stop < len(big), "stopped mid-transfer"
    got = await settled_documents(wacap, rid)
    sent = await settled_documents(sea, rid, "member")
    assert got[0]["verified"] and got[0]["sha256"] == sha(big), got
    assert sent[0]["transfer"]["state"] == "delivered", sent
    # Every chunk was queued once and accepted once: nothing already held went again.
    assert sent[0]["transfer"]["chunks"] == total
    chunk_ids = [m for m in await wacap.received() if m.startswith(doc["id"] + ":at")]
    offsets = [int(m.split(":at")[1].split(".")[0]) for m in chunk_ids]
    assert sorted(offsets) == [i * CHUNK_BYTES for i in range(total)]
    assert (await download(wacap, rid, doc["id"], "editor")) == (200, big)


async def test_bytes_that_do_not_match_the_signed_hash_are_refused(make: NodeFactory) -> None:
    sea = await make("SEAJUST")
    wacap = await make("WACAP")
    letter = pdf(400_000, b"genuine")
    rid = (await create_draft(sea))["id"]
    code, doc = await upload(sea, rid, letter)
    assert code == 201, doc
    # The stored bytes change after the upload (a disk fault, or someone with access to
    # it): the event still names the genuine hash, the bytes sent are others.
    await overwrite_blob(sea, sha(letter), pdf(400_000, b"altered"))
    assert (await sea.call("POST", f"/api/v1/requests/{rid}/submit"))[0] == 200
    (got,) = await settled_documents(wacap, rid)
    assert got["state"] == "refused" and got["verified"] is False, got
    assert "do not match the hash" in got["problem"]
    assert got["sha256"] == sha(letter)
    assert (await download(wacap, rid, doc["id"], "editor"))[0] == 404
    (sent,) = await settled_documents(sea, rid, "member")
    assert sent["transfer"]["state"] == "refused", sent
    assert "do not match the hash" in sent["transfer"]["reason"]


async def test_a_confidential_requests_documents_arrive_sealed(make: NodeFactory) -> None:
    sea = await make("SEAJUST")
    wacap = await make("WACAP")
    text = ("Account 0042-7781 of Mr Example at First Lagos Bank.\n" * 5000).encode()
    rid, _ = await submitted_with(
        sea,
        [
            (
                text,
                {
                    "title": "Accounts",
                    "kind": "annex",
                    "filename": "accounts.txt",
                    "content_type": "text/plain",
                },
            )
        ],
        confidential=True,
    )
    (got,) = await settled_documents(wacap, rid)
    assert got["verified"] and got["encrypted"], got
    for node in (sea, wacap):
        blobs = await raw_blobs(node)
        assert list(blobs) == [f"{sha(text)}.sealed"]
        assert b"0042-7781" not in blobs[f"{sha(text)}.sealed"]
    assert (await download(wacap, rid, got["id"], "editor")) == (200, text)
    # Nor do the chunks stay readable on the way: the outboxes keep no settled payload,
    # and the receiver sealed the parts it held before the whole arrived.
    for node in (sea, wacap):
        for kind, seen in (await readable_payloads(node)).items():
            assert b"0042-7781" not in seen, f"{node.network} {kind}"
    # A member of the requested side does not see a confidential request, nor its documents.
    code, _ = await wacap.call("GET", f"/api/v1/requests/{rid}/documents", "member")
    assert code == 404
