"""A lookup index loaded from the tables, page by page, answers as the running one that
followed every write."""

from __future__ import annotations

from justnet.directory.v1 import directory_pb2

from services.common.identity import Caller
from services.directory import service as directory
from services.directory.index import LookupIndex
from services.directory.ranking import Query
from tests.conftest import Node
from tests.integration.test_gateway_directory import AUTHORITY, create

CONTACT = {
    "jurisdiction": "TH",
    "title": "Prosecutor",
    "languages": ["th"],
    "competences": ["mla"],
    "email": "cp@th.justnet.example",
    "visibility": "public",
}


async def test_loaded_index_answers_as_the_running_one(
    node: Node, directory_runtime: directory.DirectoryRuntime
) -> None:
    authority = await create(node, "/api/v1/authorities", AUTHORITY)
    for n in range(7):
        body = {**CONTACT, "name": f"Contact {n}", "authority_id": authority["id"]}
        if n % 3 == 0:
            body["visibility"] = "network"
        await create(node, "/api/v1/contact-points", body)
    running = directory_runtime.logic.index
    loaded = LookupIndex(running.store)
    loaded.load_page = 2  # several pages per table
    await loaded.load()
    assert loaded.size == running.size == 8
    for caller in (Caller(), Caller("member", "SEAJUST", "user:1")):
        for query in (Query(), Query(jurisdiction="TH", competence="mla", language="th")):
            want = directory_pb2.LookupResponse.FromString(running.lookup(query, caller))
            got = directory_pb2.LookupResponse.FromString(loaded.lookup(query, caller))
            assert list(got.items) == list(want.items)
            assert len(got.items) == (8 if caller.authenticated else 5)  # 3 network-only
