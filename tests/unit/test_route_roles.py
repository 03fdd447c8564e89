"""Each route's minimum role is enforced where it is declared: the route registry
(gateway.api) checks it before the handler runs, and the OpenAPI document states the same
role (`x-justnet-role`). Below it, the answer is 401 or 403 whatever the request, and no
handler runs (these routes have no services behind them here)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway import keys, openapi
from gateway.api import Operation
from gateway.app import ROUTE_TABLES
from gateway.problems import Handler, problem_middleware
from services.common.identity import ANONYMOUS, ROLES, Caller

OPERATIONS = [op for table in ROUTE_TABLES for op in table.operations]
RANKED = ("anonymous", "member", "editor", "admin")


@web.middleware
async def role_from_header(request: web.Request, handler: Handler) -> web.StreamResponse:
    role = request.headers.get("X-Test-Role", "anonymous")
    request[keys.CALLER] = (
        ANONYMOUS if role == "anonymous" else Caller(role, "SEAJUST", f"token:{role}", role)
    )
    return await handler(request)


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application(middlewares=[problem_middleware, role_from_header])
    for table in ROUTE_TABLES:
        table.install(app)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def test_the_document_states_the_role_each_route_declares() -> None:
    assert set(RANKED[1:]) == set(ROLES)
    doc = openapi.build(OPERATIONS, "SEAJUST")
    for op in OPERATIONS:
        assert doc["paths"][op.path][op.method.lower()]["x-justnet-role"] == op.role


@pytest.mark.parametrize(
    "op",
    [op for op in OPERATIONS if op.role != "anonymous"],
    ids=lambda op: f"{op.method} {op.path}",
)
async def test_below_its_role_a_route_answers_401_or_403(
    client: TestClient[web.Request, web.Application], op: Operation
) -> None:
    url = re.sub(r"\{\w+\}", "x", op.path)
    for role in RANKED[: RANKED.index(op.role)]:
        resp = await client.request(
            op.method, url, headers={"X-Test-Role": role}, json={"name": "anything"}
        )
        expected = 401 if role == "anonymous" else 403
        assert resp.status == expected, (op.method, op.path, role, await resp.text())
        assert resp.content_type == "application/problem+json"
