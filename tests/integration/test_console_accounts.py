"""People, console sessions and tokens through a real gateway: sign-in with throttling,
hardened cookies renewed at sign-in, CSRF on every form, the administrators' second
factor with recovery codes, one-time password links, disabling a person, and tokens that
belong to a person or are principals of their own."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
import pyotp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import update

from gateway.accounts import AccountStore, Person
from gateway.app import create_app
from gateway.auth import TokenStore
from gateway.console.web import ACCOUNTS
from gateway.models import PasswordLinkRow
from services.common.db import create_engine
from services.common.timeutil import utcnow
from tests.conftest import Node

PASSWORD = "a long enough password"
SESSION = "jn_session_seajust"
CSRF_COOKIE = "jn_csrf_seajust"


async def accounts(node: Node) -> AccountStore:
    return AccountStore(create_engine(node.settings.gateway.database_url, instrument=False))


async def person(node: Node, role: str = "member", email: str = "") -> Person:
    store = await accounts(node)
    return await store.add(email or f"{role}@example.org", f"A {role}", role, password=PASSWORD)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the form carries a CSRF token"
    return found.group(1)


def set_cookies(resp: Any) -> dict[str, str]:
    """Each Set-Cookie header of a response by cookie name, as sent."""
    out = {}
    for header in resp.headers.getall("Set-Cookie", []):
        name = header.split("=", 1)[0]
        out[name] = header
    return out


async def status_with_cookie(node: Node, session: str, path: str = "/console/account") -> int:
    """The status of a page fetched with exactly this session cookie and no other."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as client:
        resp = await client.get(
            str(node.client.make_url(path)),
            headers={"Cookie": f"{SESSION}={session}"},
            allow_redirects=False,
        )
        return resp.status


async def form_token(client: Any, path: str = "/console/sign-in") -> str:
    resp = await client.get(path)
    assert resp.status == 200
    return csrf_of(await resp.text())


async def sign_in(
    client: Any,  # the test client or a ClientSession with a base_url
    email: str,
    password: str = PASSWORD,
) -> Any:
    token = await form_token(client)
    return await client.post(
        "/console/sign-in",
        data={"csrf_token": token, "email": email, "password": password, "next": ""},
        allow_redirects=False,
    )


async def test_sign_in_sets_a_hardened_session_cookie_renewed_each_time(node: Node) -> None:
    member = await person(node)
    first = await node.client.get("/console/sign-in")
    # Before sign-in, the form's token is a double-submit cookie, itself HttpOnly and Lax.
    anon = set_cookies(first)[CSRF_COOKIE]
    assert "HttpOnly" in anon and "SameSite=Lax" in anon
    csp = first.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert first.headers["X-Frame-Options"] == "DENY"

    resp = await sign_in(node.client, member.email.upper())  # emails are case-insensitive
    assert resp.status == 303 and resp.headers["Location"] == "/console/lookup"
    cookie = set_cookies(resp)[SESSION]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    first_value = SimpleCookie(cookie)[SESSION].value

    account = await node.client.get("/console/account")
    assert account.status == 200 and member.email in await account.text()

    # Signing in again (the form posted from within the session) opens a new session.
    token = await form_token(node.client, "/console/account")
    again = await node.client.post(
        "/console/sign-in",
        data={"csrf_token": token, "email": member.email, "password": PASSWORD},
        allow_redirects=False,
    )
    assert again.status == 303
    second_value = SimpleCookie(set_cookies(again)[SESSION])[SESSION].value
    assert second_value != first_value, "a new session at each sign-in"
    # The session the second sign-in replaced is over; the new one works.
    assert await status_with_cookie(node, first_value) == 303
    assert await status_with_cookie(node, second_value) == 200


async def test_secure_cookies_behind_https(node: Node) -> None:
    settings = replace(
        node.settings,
        gateway=replace(node.settings.gateway, public_url="https://justnet.example.org"),
    )
    app: web.Application = create_app(settings)
    member = await person(node)
    async with TestClient(TestServer(app)) as client:
        # The browser would send the Secure cookie over https; the test client sends it anyway.
        page = await client.get("/console/sign-in")
        header = set_cookies(page)[CSRF_COOKIE]
        assert "Secure" in header
        # The client keeps Secure cookies off plain http, as a browser would: send it by hand.
        value = SimpleCookie(header)[CSRF_COOKIE].value
        resp = await client.post(
            "/console/sign-in",
            data={
                "csrf_token": csrf_of(await page.text()),
                "email": member.email,
                "password": PASSWORD,
            },
            headers={"Cookie": f"{CSRF_COOKIE}={value}"},
            allow_redirects=False,
        )
        assert resp.status == 303
        assert "Secure" in set_cookies(resp)[SESSION]


async def test_wrong_password_then_throttled_per_account(node: Node) -> None:
    member = await person(node)
    for _ in range(5):
        resp = await sign_in(node.client, member.email, "not the password at all")
        assert resp.status == 401
        assert "The email address or the password is not right" in await resp.text()
        assert SESSION not in set_cookies(resp)
    # Now even the right password waits: 429 with a clear message and Retry-After.
    resp = await sign_in(node.client, member.email)
    assert resp.status == 429
    assert "Too many failed attempts to sign in" in await resp.text()
    assert int(resp.headers["Retry-After"]) > 0
    assert SESSION not in set_cookies(resp)
    # Another account from elsewhere is not affected by this account's failures... but
    # this address has failures too: it is limited separately and later (20).
    other = await person(node, "editor")
    assert (await sign_in(node.client, other.email)).status == 303


async def test_throttled_per_address_across_accounts(node: Node) -> None:
    for i in range(20):
        resp = await sign_in(node.client, f"nobody{i}@example.org", "wrong password here")
        assert resp.status == 401
    member = await person(node)
    assert (await sign_in(node.client, member.email)).status == 429


async def test_forms_without_the_csrf_token_are_refused_and_change_nothing(node: Node) -> None:
    member = await person(node)
    # Sign-in itself (login CSRF).
    resp = await node.client.post(
        "/console/sign-in",
        data={"email": member.email, "password": PASSWORD},
        allow_redirects=False,
    )
    assert resp.status == 403 and SESSION not in set_cookies(resp)
    # A wrong token is as bad as none.
    await node.client.get("/console/sign-in")
    resp = await node.client.post(
        "/console/sign-in",
        data={"csrf_token": "x" * 43, "email": member.email, "password": PASSWORD},
        allow_redirects=False,
    )
    assert resp.status == 403 and SESSION not in set_cookies(resp)

    assert (await sign_in(node.client, member.email)).status == 303
    # Sign-out without the token: refused, and the session goes on.
    resp = await node.client.post("/console/sign-out", data={}, allow_redirects=False)
    assert resp.status == 403
    assert (await node.client.get("/console/account")).status == 200
    # With the session's token it works, and the session ends.
    token = await form_token(node.client, "/console/account")
    resp = await node.client.post(
        "/console/sign-out", data={"csrf_token": token}, allow_redirects=False
    )
    assert resp.status == 303
    after = await node.client.get("/console/account", allow_redirects=False)
    assert after.status == 303


async def test_administrators_enrol_a_second_factor_and_use_it(node: Node) -> None:
    admin = await person(node, "admin")
    resp = await sign_in(node.client, admin.email)
    assert resp.status == 303 and resp.headers["Location"].startswith("/console/sign-in/enrol")
    # Half signed in: no page but the second step.
    assert (await node.client.get("/console/account", allow_redirects=False)).status == 303
    page = await node.client.get(resp.headers["Location"])
    html = await page.text()
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', html)
    assert secret, "the secret is shown as base32 text"
    assert "<svg" in html, "beside its QR code"
    token = csrf_of(html)
    wrong = await node.client.post(
        "/console/sign-in/enrol",
        data={"csrf_token": token, "secret": secret.group(1), "code": "000000"},
    )
    assert wrong.status == 400
    done = await node.client.post(
        "/console/sign-in/enrol",
        data={
            "csrf_token": token,
            "secret": secret.group(1),
            "code": pyotp.TOTP(secret.group(1)).now(),
        },
    )
    assert done.status == 200
    codes = re.findall(r"<li>([0-9a-f]{5}-[0-9a-f]{5})</li>", await done.text())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert (await node.client.get("/console/account")).status == 200

    # Next time: password, then a code. The code just used is not accepted again (replay).
    fresh = aiohttp.ClientSession(
        base_url=str(node.client.make_url("/")), cookie_jar=aiohttp.CookieJar(unsafe=True)
    )
    try:
        resp = await sign_in(fresh, admin.email)
        assert resp.headers["Location"].startswith("/console/sign-in/code")
        code_token = await form_token(fresh, "/console/sign-in/code")
        replay = await fresh.post(
            "/console/sign-in/code",
            data={"csrf_token": code_token, "code": pyotp.TOTP(secret.group(1)).now()},
            allow_redirects=False,
        )
        assert replay.status == 401
        # A recovery code works once.
        ok = await fresh.post(
            "/console/sign-in/code",
            data={"csrf_token": code_token, "code": codes[0].upper()},
            allow_redirects=False,
        )
        assert ok.status == 303
        assert (await fresh.get("/console/account")).status == 200
    finally:
        await fresh.close()
    store = await accounts(node)
    assert await store.recovery_codes_left(admin.id) == 9
    assert not await store.check_second_factor(admin.id, codes[0], "127.0.0.1")


async def test_password_link_works_once_within_24_hours(node: Node) -> None:
    store = await accounts(node)
    invited = await store.add("invited@example.org", "Invited Person", "member")
    assert not invited.has_password
    # No password yet: signing in fails like a wrong password.
    assert (await sign_in(node.client, invited.email, "anything at all here")).status == 401
    secret = await store.password_link(invited.id)
    page = await node.client.get(f"/console/set-password?token={secret}")
    assert page.status == 200 and invited.email in await page.text()
    assert page.headers["Referrer-Policy"] == "no-referrer"
    token = csrf_of(await page.text())
    short = await node.client.post(
        "/console/set-password",
        data={"csrf_token": token, "token": secret, "password": "short", "confirm": "short"},
    )
    assert short.status == 400 and "Use at least 12 and at most" in await short.text()
    done = await node.client.post(
        "/console/set-password",
        data={"csrf_token": token, "token": secret, "password": PASSWORD, "confirm": PASSWORD},
        allow_redirects=False,
    )
    assert done.status == 303
    assert (await node.client.get(f"/console/set-password?token={secret}")).status == 404
    assert (await sign_in(node.client, invited.email)).status == 303

    expired = await store.password_link(invited.id)
    engine = create_engine(node.settings.gateway.database_url, instrument=False)
    async with engine.begin() as conn:
        await conn.execute(
            update(PasswordLinkRow).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    await engine.dispose()
    assert (await node.client.get(f"/console/set-password?token={expired}")).status == 404


async def test_disabling_a_person_ends_their_sessions_and_tokens_at_once(node: Node) -> None:
    """Through this gateway (the console's admin pages): at once, though callers are kept in
    memory between requests."""
    editor = await person(node, "editor")
    engine = create_engine(node.settings.gateway.database_url, instrument=False)
    tokens = TokenStore(engine, node.settings.network)
    api_token, info = await tokens.create_for(editor.id)
    assert info.principal == f"user:{editor.id}" and info.role == "editor"
    headers = {"Authorization": f"Bearer {api_token}"}
    assert (await node.client.get("/api/v1/authorities", headers=headers)).status == 200
    assert (await sign_in(node.client, editor.email)).status == 303
    assert (await node.client.get("/console/account")).status == 200

    own = node.client.app[ACCOUNTS]  # the store this gateway's pages use
    await own.set_role(editor.id, "member")
    # A person's token acts with their current role, from the next request on.
    resp = await node.client.post("/api/v1/authorities", json={}, headers=headers)
    assert resp.status == 403

    await own.disable(editor.id)
    assert (await node.client.get("/api/v1/authorities", headers=headers)).status == 401
    gone = await node.client.get("/console/account", allow_redirects=False)
    assert gone.status == 303 and gone.headers["Location"].startswith("/console/sign-in")
    assert (await sign_in(node.client, editor.email)).status == 401
    await engine.dispose()


async def test_changes_made_elsewhere_reach_the_gateway_within_a_poll(node: Node) -> None:
    """`justnet user disable` or `token revoke` in another process (here: a store of its own)
    reach a running gateway's memory within the epoch poll (0.25 s)."""
    editor = await person(node, "editor")
    engine = create_engine(node.settings.gateway.database_url, instrument=False)
    try:
        tokens = TokenStore(engine, node.settings.network)
        api_token, _ = await tokens.create_for(editor.id)
        service_token, service = await tokens.create("member", "sync job")
        headers = {"Authorization": f"Bearer {api_token}"}
        other = {"Authorization": f"Bearer {service_token}"}
        assert (await node.client.get("/api/v1/authorities", headers=headers)).status == 200
        assert (await node.client.get("/api/v1/authorities", headers=other)).status == 200
        assert (await sign_in(node.client, editor.email)).status == 303

        await AccountStore(engine).disable(editor.id)
        await tokens.revoke(service.id)
        statuses: tuple[int, ...] = ()
        for _ in range(40):  # bounded: 2 s
            statuses = (
                (await node.client.get("/api/v1/authorities", headers=headers)).status,
                (await node.client.get("/api/v1/authorities", headers=other)).status,
                (await node.client.get("/console/account", allow_redirects=False)).status,
            )
            if statuses == (401, 401, 303):
                break
            await asyncio.sleep(0.05)
        assert statuses == (401, 401, 303)
    finally:
        await engine.dispose()


async def test_service_tokens_are_principals_of_their_own(node: Node) -> None:
    engine = create_engine(node.settings.gateway.database_url, instrument=False)
    tokens = TokenStore(engine, node.settings.network)
    _, one = await tokens.create("member", "")
    _, two = await tokens.create("member", "")
    assert one.name == two.name == "member service token"
    assert one.principal != two.principal
    assert one.principal == f"token:{one.id}"
    await engine.dispose()


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/api/v1/lookup", "/\\evil.example"],
)
async def test_sign_in_never_redirects_off_the_console(node: Node, target: str) -> None:
    member = await person(node)
    token = await form_token(node.client)
    resp = await node.client.post(
        "/console/sign-in",
        data={"csrf_token": token, "email": member.email, "password": PASSWORD, "next": target},
        allow_redirects=False,
    )
    assert resp.status == 303 and resp.headers["Location"] == "/console/lookup"


async def test_the_stylesheet_is_cached_by_its_hash_and_pages_are_not(node: Node) -> None:
    page = await node.client.get("/console/sign-in")
    assert page.headers["Cache-Control"] == "no-store"
    href = re.search(r'href="(/console/static/console\.css\?v=[0-9a-f]{12})"', await page.text())
    assert href, "the page links the stylesheet by its content hash"
    css = await node.client.get(href.group(1))
    assert css.status == 200 and css.content_type == "text/css"
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Set-Cookie" not in css.headers  # no session or CSRF work for a file
