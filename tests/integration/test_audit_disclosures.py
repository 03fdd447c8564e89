"""Every disclosure of personal data is audited, and every audit entry names the record it
concerns: creates name the new record (not the collection they were posted to); on-demand
contact details, requests and their history, and event registrations are audited when read,
through the API and the console. Read back through the admin audit endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from gateway.accounts import AccountStore
from services.common.db import create_engine
from tests.integration.test_console_accounts import PASSWORD, sign_in
from tests.integration.test_contact_details_on_demand import AUTHORITY
from tests.integration.test_events import EVENT_BODY
from tests.integration.test_request_drafts import DRAFT
from tests.requests_nodes import NodeFactory, ReqNode, requests_world


@pytest.fixture
async def make(tmp_path: Path) -> AsyncIterator[NodeFactory]:
    async with requests_world(tmp_path) as factory:
        yield factory


async def created(node: ReqNode, path: str, body: dict[str, Any], role: str) -> dict[str, Any]:
    status, data = await node.call("POST", path, role=role, json=body)
    assert status == 201, data
    result: dict[str, Any] = data
    return result


async def audit(node: ReqNode, *wanted: tuple[str, str]) -> list[dict[str, Any]]:
    """The audit log once it has an entry for each (action, target) of `wanted` (it is
    written in the background)."""
    items: list[dict[str, Any]] = []
    for _ in range(100):
        status, data = await node.call("GET", "/api/v1/admin/audit?limit=500", role="admin")
        assert status == 200, data
        items = data["items"]
        seen = {(i["action"], i["target"]) for i in items}
        if set(wanted) <= seen:
            return items
        await asyncio.sleep(0.05)
    seen = {(i["action"], i["target"]) for i in items}
    raise AssertionError(f"not audited: {sorted(set(wanted) - seen)}; audited: {sorted(seen)}")


def entry(items: list[dict[str, Any]], action: str, target: str) -> dict[str, Any]:
    return next(i for i in items if i["action"] == action and i["target"] == target)


async def test_creates_name_the_new_record_and_reads_of_personal_data_are_audited(
    make: NodeFactory,
) -> None:
    sea = await make("SEAJUST", sample_data=False)
    await make("WACAP", sample_data=False)

    authority = await created(sea, "/api/v1/authorities", AUTHORITY, "editor")
    contact = await created(
        sea,
        "/api/v1/contact-points",
        {
            "authority_id": authority["id"],
            "jurisdiction": "TH",
            "name": "Anong Rattanakul",
            "competences": ["mla"],
            "email": "anong.r@ago.th.example",
            "visibility": "network",
        },
        "editor",
    )
    request = await created(sea, "/api/v1/requests", DRAFT, "member")
    event = await created(sea, "/api/v1/events", EVENT_BODY, "editor")
    registration = await created(
        sea, f"/api/v1/events/{event['id']}/registrations", {"name": "Ana Lima"}, "member"
    )

    reads = [
        ("member", f"/api/v1/contact-points/{contact['id']}/details"),
        ("member", f"/api/v1/requests/{request['id']}"),
        ("member", f"/api/v1/requests/{request['id']}/history"),
        ("editor", f"/api/v1/events/{event['id']}/registrations"),
    ]
    for role, path in reads:
        status, body = await sea.call("GET", path, role=role)
        assert status == 200, (path, body)

    cp = contact["id"]
    writes = [
        (f"/api/v1/authorities/{authority['id']}", "/api/v1/authorities"),
        (f"/api/v1/contact-points/{cp}", "/api/v1/contact-points"),
        (f"/api/v1/requests/{request['id']}", "/api/v1/requests"),
        (f"/api/v1/events/{event['id']}", "/api/v1/events"),
        (
            f"/api/v1/events/{event['id']}/registrations/{registration['id']}",
            "/api/v1/events/{id}/registrations",
        ),
    ]
    items = await audit(
        sea, *[("POST", target) for target, _ in writes], *[("GET", path) for _, path in reads]
    )
    for target, route in writes:
        write = entry(items, "POST", target)
        assert write["detail"] == f"{route}; status 201"
    for role, path in reads:
        read = entry(items, "GET", path)
        assert read["role"] == role and "status 200" in read["detail"]

    # The console's equivalents: an editor signed in reads the request, the contact
    # point's details and the event with its registrations.
    store = AccountStore(create_engine(sea.settings.gateway.database_url, instrument=False))
    editor = await store.add("editor@example.org", "An editor", "editor", password=PASSWORD)
    assert (await sign_in(sea.client, editor.email)).status == 303
    pages = [
        f"/console/requests/{request['id']}",
        f"/console/lookup/contact-points/{cp}/details",
        f"/console/events/{event['id']}",
        f"/console/directory/contact-points/{cp}",
        "/console/directory/export.csv",
    ]
    for page in pages:
        resp = await sea.client.get(page, allow_redirects=False)
        assert resp.status == 200, (page, resp.status, await resp.text())
    items = await audit(sea, *[("GET", page) for page in pages])
    for page in pages:
        seen = entry(items, "GET", page)
        assert seen["subject_name"] == "An editor" and "status 200" in seen["detail"]
