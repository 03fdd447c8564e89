"""Mail notifications end to end: two real nodes peered over mutual TLS, their real
services and gateway databases, and a real SMTP server on loopback (aiosmtpd) whose
received messages the tests read. The notifier is stepped with a given clock (`now`),
so reminders and digests are tested without sleeping."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text

from gateway.accounts import AccountStore
from gateway.app import create_app
from services.common.db import create_engine
from services.common.timeutil import utcnow
from tests.integration.mail import (
    PASSWORD,
    SmtpServer,
    add_person,
    body,
    notifier_of,
    smtp_server,
    subject,
    with_mail,
)
from tests.postgres import fresh_database
from tests.requests_nodes import DRAFT as SHARED_DRAFT
from tests.requests_nodes import NodeFactory, ReqNode, eventually, requests_world

DAY = utcnow().date()
T = datetime(DAY.year, DAY.month, DAY.day, 6, tzinfo=UTC)  # before the digest hour (7)
DRAFT = {**SHARED_DRAFT, "deadline": (DAY + timedelta(days=2)).isoformat()}
SECRET = {
    **DRAFT,
    "title": "Covert inquiry into minister X",
    "reference": "OAG-SECRET-7",
    "summary": "Sealed.",
    "deadline": "2099-01-31",
    "confidential": True,
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def make(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[NodeFactory]:
    """Nodes whose databases are all on PostgreSQL in the second run: the outbox and the
    cursors (gateway) and both notice feeds (requests, events)."""
    postgres = request.param == "postgres"
    # The databases are dropped after the nodes stop (the stack exits last).
    async with (
        contextlib.AsyncExitStack() as databases,
        requests_world(tmp_path, postgres=postgres) as factory,
    ):

        async def node(network: str, **options: Any) -> ReqNode:
            if postgres:
                for key in ("gateway_database_url", "events_database_url"):
                    options[key] = await databases.enter_async_context(fresh_database())
            return await factory(network, **options)

        yield node


@pytest.fixture
def smtp() -> Any:
    with smtp_server() as server:
        yield server


async def submit(node: ReqNode, auth: dict[str, str], draft: dict[str, Any]) -> str:
    resp = await node.client.post("/api/v1/requests", json=draft, headers=auth)
    assert resp.status == 201, await resp.text()
    rid: str = (await resp.json())["id"]
    resp = await node.client.post(f"/api/v1/requests/{rid}/submit", headers=auth)
    assert resp.status == 200, await resp.text()
    return rid


async def status_is(node: ReqNode, rid: str, status: str) -> bool:
    code, got = await node.call("GET", f"/api/v1/requests/{rid}", role="editor")
    return code == 200 and got["status"] == status


async def queued_for(node: ReqNode, address: str) -> int:
    engine = create_engine(node.settings.gateway.database_url, instrument=False)
    async with engine.connect() as conn:
        query = (
            "SELECT count(*) FROM gateway_mail_outbox m JOIN gateway_users u"
            " ON u.id = m.user_id WHERE u.email = :email"
        )
        count = (await conn.execute(text(query), {"email": address})).scalar_one()
    await engine.dispose()
    return int(count)


def subjects(smtp: SmtpServer, address: str) -> list[str]:
    return [subject(m) for m in smtp.to(address)]


async def test_requests_are_mailed_to_each_side_in_its_language(
    make: NodeFactory, smtp: SmtpServer
) -> None:
    sea = await make("SEAJUST")
    wacap = await make("WACAP")
    _, ana = await add_person(sea, "ana@ago.go.th", "member", jurisdiction="TH")
    _, bao = await add_person(sea, "bao@ago.go.th", "member", language="fr")
    await add_person(wacap, "claire@justice.ng", "editor", jurisdiction="NG", language="fr")
    await add_person(wacap, "sall@justice.sn", "editor", jurisdiction="SN")  # not NG's
    await add_person(wacap, "off@wacap.example", "editor", notifications="off")
    await add_person(wacap, "dora@wacap.example", "editor", notifications="digest")

    plain = await submit(sea, ana, DRAFT)
    secret = await submit(sea, bao, SECRET)
    for rid in (plain, secret):
        await eventually(lambda r=rid: status_is(wacap, r, "submitted"), "arrival")  # type: ignore[misc]

    # Arrival: NG's editors, each in their language; the confidential one says nothing.
    async with notifier_of(wacap, smtp) as notifier:
        assert await notifier.follow(T) == 4  # claire 2, dora 2 (held)
        assert await notifier.send_due(T) == 2
    claire = sorted(smtp.to("claire@justice.ng"), key=lambda m: subject(m))
    assert [subject(m) for m in claire] == [
        "Du nouveau sur une demande confidentielle",
        f"Nouvelle demande reçue : {DRAFT['title']}",
    ]
    assert "Référence : OAG-2026-0142" in body(claire[1])
    assert f"/console/requests/{plain}" in body(claire[1])
    hidden = body(claire[0])
    assert f"/console/requests/{secret}" in hidden
    for detail in (SECRET["title"], SECRET["reference"], SECRET["summary"], "VN", "TH"):
        assert detail not in hidden and detail not in subject(claire[0])
    assert smtp.to("sall@justice.sn") == []  # another state's editor
    assert smtp.to("off@wacap.example") == []  # opted out: not even queued
    assert await queued_for(wacap, "off@wacap.example") == 0
    assert smtp.to("dora@wacap.example") == []  # her digest comes later

    # Every status change reaches the requester, in theirs.
    for rid in (plain, secret):
        code, _ = await wacap.call(
            "POST", f"/api/v1/requests/{rid}/status", role="editor", json={"status": "acknowledged"}
        )
        assert code == 200
        await eventually(lambda r=rid: status_is(sea, r, "acknowledged"), "acknowledgement")  # type: ignore[misc]
    async with notifier_of(sea, smtp) as notifier:
        await notifier.follow(T)
        await notifier.send_due(T)
    assert subjects(smtp, "ana@ago.go.th") == [
        f"Your request {DRAFT['title']} is now: Acknowledged"
    ]
    assert subjects(smtp, "bao@ago.go.th") == ["Du nouveau sur une demande confidentielle"]

    # A restart, even one that lost the cursor (a restored backup), repeats nothing.
    sent = len(smtp.inbox)
    for node in (sea, wacap):
        engine = create_engine(node.settings.gateway.database_url, instrument=False)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE gateway_notice_cursors SET seq = 0"))
        await engine.dispose()
        async with notifier_of(node, smtp) as notifier:
            assert await notifier.follow(T) == 0
            assert await notifier.send_due(T) == 0
    assert len(smtp.inbox) == sent

    # Reminders: due within 3 days, to both sides, once a day; then overdue.
    for node in (sea, wacap):
        async with notifier_of(node, smtp) as notifier:
            assert await notifier.remind(T) >= 1
            await notifier.send_due(T)
            assert await notifier.remind(T + timedelta(hours=5)) == 0  # the same day
    assert subjects(smtp, "ana@ago.go.th")[-1] == f"Due soon: {DRAFT['title']}"
    assert subjects(smtp, "claire@justice.ng")[-1] == f"Échéance proche : {DRAFT['title']}"
    assert subjects(smtp, "bao@ago.go.th") == ["Du nouveau sur une demande confidentielle"]
    later = T + timedelta(days=3, hours=2)  # the execution date has passed
    async with notifier_of(sea, smtp) as notifier:
        assert await notifier.remind(later) == 1
        await notifier.send_due(later)
    assert subjects(smtp, "ana@ago.go.th")[-1] == f"Overdue: {DRAFT['title']}"
    assert len(subjects(smtp, "ana@ago.go.th")) == 3

    # Dora's digest: nothing before the digest hour, then one mail with her three.
    async with notifier_of(wacap, smtp) as notifier:
        assert await notifier.digest(T) == 0
        at_eight = T + timedelta(hours=2)
        assert await notifier.digest(at_eight) == 1
        assert await notifier.digest(at_eight + timedelta(hours=1)) == 0
        await notifier.send_due(at_eight)
    (digest,) = smtp.to("dora@wacap.example")
    assert subject(digest) == "JustNet: 3 notifications"
    text_of = body(digest)
    assert f"New request received: {DRAFT['title']}" in text_of
    assert f"Due soon: {DRAFT['title']}" in text_of
    assert "News on a confidential request" in text_of
    assert SECRET["title"] not in text_of
    assert smtp.to("off@wacap.example") == [] and smtp.to("sall@justice.sn") == []


async def test_waitlist_promotion_is_mailed_once_after_the_smtp_server_returns(
    make: NodeFactory, smtp: SmtpServer
) -> None:
    sea = await make("SEAJUST", sample_data=False)
    _, first = await add_person(sea, "first@seajust.example", "member")
    _, second = await add_person(sea, "second@seajust.example", "member", language="fr")
    code, event = await sea.call(
        "POST",
        "/api/v1/events",
        role="editor",
        json={
            "title": "Training on e-evidence",
            "kind": "training",
            "starts_at": "2099-03-02T09:00:00",
            "ends_at": "2099-03-02T17:00:00",
            "timezone": "Asia/Bangkok",
            "venue": {"city": "Bangkok", "country": "TH"},
            "languages": ["en"],
            "capacity": 1,
            "visibility": "network",
        },
    )
    assert code == 201, event
    path = f"/api/v1/events/{event['id']}/registrations"
    resp = await sea.client.post(path, json={"name": "First"}, headers=first)
    placed = await resp.json()
    assert placed["state"] == "confirmed", placed
    resp = await sea.client.post(path, json={"name": "Second"}, headers=second)
    assert (await resp.json())["state"] == "waitlisted"

    smtp.stop()  # the mail server is down when the place frees up
    resp = await sea.client.delete(f"{path}/{placed['id']}", headers=first)
    assert resp.status == 200, await resp.text()
    async with notifier_of(sea, smtp) as notifier:
        assert await notifier.follow(T) == 1
        assert await notifier.send_due(T) == 0
        engine = create_engine(sea.settings.gateway.database_url, instrument=False)
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT state, attempts, last_error FROM gateway_mail_outbox")
                )
            ).one()
        await engine.dispose()
        assert tuple(row) == ("pending", 1, "unreachable")
    smtp.start()
    async with notifier_of(sea, smtp) as notifier:  # and the gateway restarted meanwhile
        assert await notifier.send_due(T) == 0  # not before its backoff
        assert await notifier.send_due(T + timedelta(hours=1)) == 1
        assert await notifier.send_due(T + timedelta(hours=2)) == 0
    (mail,) = smtp.to("second@seajust.example")
    assert subject(mail) == "Vous avez une place à Training on e-evidence"
    assert f"/console/events/{event['id']}" in body(mail)
    assert smtp.to("first@seajust.example") == []


async def test_a_member_moved_up_at_a_peers_event_is_mailed_by_their_own_node(
    make: NodeFactory, smtp: SmtpServer
) -> None:
    ejn = await make("EJN", sample_data=False)
    sea = await make("SEAJUST", sample_data=False)
    _, first = await add_person(sea, "somchai@seajust.example", "member")
    _, second = await add_person(sea, "lan@seajust.example", "member", language="fr")
    code, event = await ejn.call(
        "POST",
        "/api/v1/events",
        role="editor",
        json={
            "title": "EJN Plenary",
            "kind": "plenary",
            "starts_at": "2099-06-10T09:00:00",
            "ends_at": "2099-06-11T17:00:00",
            "timezone": "Europe/Berlin",
            "venue": {"city": "Berlin", "country": "DE"},
            "languages": ["en"],
            "capacity": 1,
            "visibility": "federation",
        },
    )
    assert code == 201, event
    path = f"/api/v1/events/{event['id']}/registrations"

    async def replicated() -> bool:
        return (await sea.client.get(f"/api/v1/events/{event['id']}", headers=first)).status == 200

    async def register(auth: dict[str, str], name: str, state: str) -> dict[str, Any]:
        resp = await sea.client.post(path, json={"name": name}, headers=auth)
        assert resp.status == 201, await resp.text()
        reg: dict[str, Any] = await resp.json()
        await eventually(lambda: in_state(auth, reg, state), f"{name} {state}")
        return reg

    async def in_state(auth: dict[str, str], reg: dict[str, Any], state: str) -> bool:
        resp = await sea.client.get(f"{path}/{reg['id']}", headers=auth)
        return bool((await resp.json())["state"] == state)

    await eventually(replicated, "the event at SEAJUST")
    placed = await register(first, "Somchai", "confirmed")
    waiting = await register(second, "Lan", "waitlisted")
    resp = await sea.client.delete(f"{path}/{placed['id']}", headers=first)
    assert resp.status == 200
    await eventually(lambda: in_state(second, waiting, "confirmed"), "the promotion")

    async with notifier_of(ejn, smtp) as notifier:  # the organiser mails none of SEAJUST's
        assert await notifier.follow(T) == 0
    async with notifier_of(sea, smtp) as notifier:
        assert await notifier.follow(T) == 1
        assert await notifier.send_due(T) == 1
    (mail,) = smtp.inbox[0:1]
    assert mail[0] == ["lan@seajust.example"]
    assert subject(mail[1]) == "Vous avez une place à EJN Plenary"
    assert len(smtp.inbox) == 1


async def test_the_gateway_runs_the_notifier_when_mail_is_enabled(
    make: NodeFactory, smtp: SmtpServer
) -> None:
    sea = await make("SEAJUST")
    _, ana = await add_person(sea, "ana@ago.go.th", "member")
    await add_person(sea, "vo@seajust.example", "editor", jurisdiction="VN")
    client = TestClient(TestServer(create_app(with_mail(sea.settings, smtp))))
    await client.start_server()
    try:
        # Both states on this node; not due soon (the loop's reminders would mail it too).
        local = {**DRAFT, "requested_jurisdiction": "VN", "deadline": "2099-01-31"}
        rid = await submit(sea, ana, local)

        wanted = f"New request received: {DRAFT['title']}"

        async def arrived() -> list[Any]:
            return [m for m in smtp.to("vo@seajust.example") if subject(m) == wanted]

        (mail,) = await eventually(arrived, "the arrival mail")
        assert f"/console/requests/{rid}" in body(mail)
    finally:
        await client.close()


async def test_a_person_who_opts_out_gets_nothing_already_queued(
    make: NodeFactory, smtp: SmtpServer
) -> None:
    sea = await make("SEAJUST")
    _, ana = await add_person(sea, "ana@ago.go.th", "member")
    vo, _ = await add_person(sea, "vo@seajust.example", "editor", jurisdiction="VN")
    await submit(sea, ana, {**DRAFT, "requested_jurisdiction": "VN"})
    async with notifier_of(sea, smtp) as notifier:
        assert await notifier.follow(T) == 1  # queued while she still wanted mail
        engine = create_engine(sea.settings.gateway.database_url, instrument=False)
        await AccountStore(engine).set_mail_preferences(vo.id, "off", "en")
        assert await notifier.send_due(T) == 0
        async with engine.connect() as conn:
            states = (await conn.execute(text("SELECT state FROM gateway_mail_outbox"))).all()
        await engine.dispose()
    assert [s for (s,) in states] == ["dropped"]
    assert smtp.inbox == []


async def test_notices_from_before_mail_was_enabled_are_not_mailed(
    make: NodeFactory, smtp: SmtpServer
) -> None:
    sea = await make("SEAJUST")
    _, ana = await add_person(sea, "ana@ago.go.th", "member")
    await add_person(sea, "vo@seajust.example", "editor", jurisdiction="VN")
    await submit(sea, ana, {**DRAFT, "requested_jurisdiction": "VN"})
    async with notifier_of(sea, smtp) as notifier:
        assert await notifier.follow(utcnow() + timedelta(days=3)) == 0  # old news by then
        assert await notifier.follow(T) == 0  # and passed: the cursor moved on
    assert smtp.inbox == []


async def test_two_gateways_sending_at_once_send_each_mail_once(
    make: NodeFactory, smtp: SmtpServer
) -> None:
    sea = await make("SEAJUST")
    _, ana = await add_person(sea, "ana@ago.go.th", "member")
    editors = [f"vn{i}@seajust.example" for i in range(4)]
    for address in editors:
        await add_person(sea, address, "editor", jurisdiction="VN")
    await submit(sea, ana, {**DRAFT, "requested_jurisdiction": "VN"})
    async with notifier_of(sea, smtp) as one, notifier_of(sea, smtp) as other:
        written = await asyncio.gather(one.follow(T), other.follow(T), return_exceptions=True)
        assert 4 in written  # the other wrote nothing, or lost the race on the dedup key
        sent = await asyncio.gather(one.send_due(T), other.send_due(T))
    assert sum(sent) == 4
    assert sorted(r for rcpt, _ in smtp.inbox for r in rcpt) == editors


async def test_mail_choices_on_the_account_page_need_the_csrf_token(make: NodeFactory) -> None:
    sea = await make("SEAJUST", sample_data=False)
    person, _ = await add_person(sea, "ana@ago.go.th", "member")
    client = sea.client
    resp = await client.get("/console/sign-in")
    token = _csrf(await resp.text())
    resp = await client.post(
        "/console/sign-in",
        data={"csrf_token": token, "email": person.email, "password": PASSWORD, "next": ""},
        allow_redirects=False,
    )
    assert resp.status == 303
    choice = {"notifications": "digest", "mail_language": "fr"}
    resp = await client.post("/console/account/notifications", data=choice, allow_redirects=False)
    assert resp.status == 403
    page = await (await client.get("/console/account")).text()
    assert '<option value="each" selected>' in page
    resp = await client.post(
        "/console/account/notifications",
        data={**choice, "csrf_token": _csrf(page)},
        allow_redirects=False,
    )
    assert resp.status == 303
    page = await (await client.get("/console/account?saved")).text()
    assert '<option value="digest" selected>' in page and '<option value="fr" selected>' in page
    bad = {"notifications": "hourly", "mail_language": "fr", "csrf_token": _csrf(page)}
    resp = await client.post("/console/account/notifications", data=bad)
    assert resp.status == 400 and "notifications" in await resp.text()
    page = await (await client.get("/console/account")).text()
    assert '<option value="digest" selected>' in page  # unchanged


def _csrf(html: str) -> str:
    import re

    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)
