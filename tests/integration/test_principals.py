"""Ownership is decided by stable principal ids, never by display names: two tokens with the
same name share nothing, a person's token and session are the same principal, and a token
migrated from the days of names keeps what its old name owned and nothing new."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from gateway.accounts import AccountStore
from gateway.app import PACKAGE_DIR
from gateway.auth import TokenStore, hash_token
from services.common import migrations
from services.common.db import create_engine
from tests.requests_nodes import NodeFactory, ReqNode, requests_world

DRAFT = {
    "requesting_jurisdiction": "TH",
    "requested_jurisdiction": "VN",
    "measures": ["banking_records"],
    "urgency": "normal",
    "language": "en",
    "title": "Accounts of a shell company",
    "reference": "OAG-2026-7",
    "offences": ["fraud"],
    "summary": "Funds moved through Ho Chi Minh City.",
    "deadline": "2099-01-31",
}


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    async with requests_world(tmp_path) as factory:
        yield factory


async def token(node: ReqNode, role: str, name: str) -> dict[str, str]:
    engine = create_engine(node.settings.gateway.database_url, instrument=False)
    try:
        value, _ = await TokenStore(engine, node.network).create(role, name)
    finally:
        await engine.dispose()
    return {"Authorization": f"Bearer {value}"}


async def call(node: ReqNode, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
    resp = await node.client.request(method, path, headers=headers, **kw)
    return resp.status, (await resp.json() if resp.status != 204 else None)


async def test_two_tokens_with_the_same_name_share_nothing(make: NodeFactory) -> None:
    sea = await make("SEAJUST", sample_data=False)
    alice, bob = await token(sea, "member", "member"), await token(sea, "member", "member")
    status, mine = await call(sea, "POST", "/api/v1/requests", alice, json=DRAFT)
    assert status == 201, mine
    rid = mine["id"]
    assert (await call(sea, "GET", f"/api/v1/requests/{rid}", alice))[0] == 200
    # Same name, same role, another principal: not their request.
    assert (await call(sea, "GET", f"/api/v1/requests/{rid}", bob))[0] == 404
    _, listed = await call(sea, "GET", "/api/v1/requests", bob)
    assert rid not in [r["id"] for r in listed["items"]]
    assert (await call(sea, "POST", f"/api/v1/requests/{rid}/submit", bob))[0] == 404
    # The owner stored is the principal id, not the name.
    [(owner,)] = await sea.requests_sql(
        "SELECT owner FROM requests_requests WHERE id = :id", id=rid
    )
    assert owner.startswith("token:") and owner != "member"


async def test_a_persons_tokens_and_session_are_one_principal(make: NodeFactory) -> None:
    sea = await make("SEAJUST", sample_data=False)
    engine = create_engine(sea.settings.gateway.database_url, instrument=False)
    try:
        people = AccountStore(engine)
        ana = await people.add("ana@example.org", "Ana", "member", password="x" * 12)
        twin = await people.add("ana2@example.org", "Ana", "member", password="x" * 12)
        tokens = TokenStore(engine, sea.network)
        first = {"Authorization": f"Bearer {(await tokens.create_for(ana.id))[0]}"}
        second = {"Authorization": f"Bearer {(await tokens.create_for(ana.id))[0]}"}
        other = {"Authorization": f"Bearer {(await tokens.create_for(twin.id))[0]}"}
    finally:
        await engine.dispose()
    _, made = await call(sea, "POST", "/api/v1/requests", first, json=DRAFT)
    rid = made["id"]
    assert (await call(sea, "GET", f"/api/v1/requests/{rid}", second))[0] == 200
    assert (await call(sea, "GET", f"/api/v1/requests/{rid}", other))[0] == 404
    [(owner,)] = await sea.requests_sql(
        "SELECT owner FROM requests_requests WHERE id = :id", id=rid
    )
    assert owner == f"user:{ana.id}"


async def test_migrated_tokens_keep_what_their_name_owned_and_share_nothing_new(
    make: NodeFactory,
) -> None:
    """Tokens made before principals (gateway revision 0001) become principals of their own."""
    sea = await make("SEAJUST", sample_data=False)
    maker = await token(sea, "member", "someone")
    _, made = await call(sea, "POST", "/api/v1/requests", maker, json=DRAFT)
    rid = made["id"]
    # Back to the days of names: the request is owned by the name "member", and two tokens
    # are called "member" (so they shared it). Rebuild that with the old gateway schema.
    await sea.requests_sql("UPDATE requests_requests SET owner = 'member' WHERE id = :id", id=rid)
    legacy = {"a": "jn_legacy-token-a-" + "a" * 30, "b": "jn_legacy-token-b-" + "b" * 30}
    engine = create_engine(sea.settings.gateway.database_url, instrument=False)
    cfg = migrations.alembic_config(PACKAGE_DIR, "gateway")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: _migrate(cfg, c, "downgrade", "0001"))
            for i, value in enumerate(legacy.values()):
                await conn.execute(
                    text(
                        "INSERT INTO gateway_tokens (id, name, role, token_hash, created_at) "
                        "VALUES (:id, 'member', 'member', :hash, CURRENT_TIMESTAMP)"
                    ),
                    {"id": f"00000000-0000-7000-8000-00000000000{i}", "hash": hash_token(value)},
                )
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: _migrate(cfg, c, "upgrade", "head"))
    finally:
        await engine.dispose()
    a = {"Authorization": f"Bearer {legacy['a']}"}
    b = {"Authorization": f"Bearer {legacy['b']}"}
    # Both still reach what their name owned, as they did before ...
    assert (await call(sea, "GET", f"/api/v1/requests/{rid}", a))[0] == 200
    assert (await call(sea, "GET", f"/api/v1/requests/{rid}", b))[0] == 200
    # ... but what one makes now is its own principal's.
    status, new = await call(sea, "POST", "/api/v1/requests", a, json=DRAFT)
    assert status == 201
    assert (await call(sea, "GET", f"/api/v1/requests/{new['id']}", b))[0] == 404
    [(owner,)] = await sea.requests_sql(
        "SELECT owner FROM requests_requests WHERE id = :id", id=new["id"]
    )
    assert owner == "token:00000000-0000-7000-8000-000000000000"


def _migrate(cfg: Any, connection: Any, direction: str, revision: str) -> None:
    cfg.attributes["connection"] = connection
    getattr(command, direction)(cfg, revision)
