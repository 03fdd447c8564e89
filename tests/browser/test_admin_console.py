"""The administration pages in a browser, on SEAJUST peered with EJN: peers, traces with a
span waterfall across the node's processes, the audit log, and people with their tokens
(invite, set a password, change a role, disable: the person's session and token stop at
once). Each page is compared with the JSON API, checked with axe and at 375 px."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pyotp
import pytest
import requests

from tests.browser.conftest import (
    DESKTOP,
    Federation,
    Node,
    assert_accessible,
    assert_fits_phone,
    shot,
    sign_in,
)

pytestmark = pytest.mark.slow

ADMIN_PAGES = (
    "/console/admin/peers",
    "/console/admin/traces",
    "/console/admin/audit",
    "/console/admin/people",
)


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def check_page(page: Any, name: str) -> None:
    """Every page: a screenshot, axe, no sideways scrolling at 375 px, no inline style."""
    html = page.content()
    assert not re.search(r"<[^>]+\sstyle=", html), "an inline style attribute (strict CSP)"
    assert "<script" not in html
    shot(page, f"admin-{name}")
    assert_accessible(page)
    assert_fits_phone(page)


def check_subnav(page: Any, current: str) -> None:
    nav = page.get_by_role("navigation", name="Administration")
    for label in ("Peers", "Traces", "Audit", "People"):
        link = nav.get_by_role("link", name=label, exact=True)
        expect(link).to_be_visible()
        if label == current:
            expect(link).to_have_attribute("aria-current", "page")
        else:
            expect(link).not_to_have_attribute("aria-current", "page")


def csrf_of(page: Any) -> str:
    value = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert value
    return str(value)


def number(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text))


def test_peers_page_shows_ejn_connected_with_records(federation: Federation, context: Any) -> None:
    sea = federation.sea
    page = sign_in(context, sea, "admin")
    deadline = time.monotonic() + 30
    while True:  # the API and the page each ask the federation service; both must agree
        page.goto(f"{sea.url}/console/admin/peers")
        peers = sea.api("GET", "/api/v1/federation/peers", "admin").json()["items"]
        ejn = next(p for p in peers if p["network"] == "EJN")
        section = page.locator("section", has=page.get_by_role("heading", name="EJN", exact=True))
        state = section.locator("dl .jn-tag").first.inner_text()
        if ejn["state"] == "connected" and state == "connected":
            break
        assert time.monotonic() < deadline, f"EJN never connected: {ejn}"
        time.sleep(1)
    check_subnav(page, "Peers")
    expect(section.locator("dl .jn-tag--green").first).to_have_text("connected")
    expect(section).to_contain_text(ejn["endpoint"])
    records = section.locator(".jn-summary__row", has_text="Records").locator("dd")
    assert number(records.inner_text()) > 0 and ejn["records"] > 0
    feeds = section.locator("table tbody tr")
    assert feeds.count() == len(ejn["feeds"]) >= 1
    directory = section.locator("tbody tr", has=page.get_by_role("rowheader", name="directory"))
    expect(directory.locator(".jn-tag")).to_have_text("connected")
    assert number(directory.locator("td").nth(2).inner_text()) > 0  # records of the feed
    # The states EJN speaks for here, and the quarantine as the API lists it (empty here).
    accepted = section.locator(".jn-summary__row", has_text="States it speaks for here")
    expect(accepted.locator("dd")).to_contain_text(", ".join(ejn["accepted_jurisdictions"]))
    held = sea.api("GET", "/api/v1/federation/quarantine", "admin").json()["items"]
    expect(page.get_by_role("heading", name="Quarantine")).to_be_visible()
    if not held:
        expect(page.get_by_text("Nothing is in quarantine.")).to_be_visible()
    check_page(page, "peers")


def _trace_of(node: Node, path: str, want_error: bool) -> dict[str, Any]:
    """Calls `path` as a member and waits until the node's processes report its spans."""
    resp = node.api("GET", path, "member")
    trace_id = resp.headers["X-Trace-Id"]
    deadline = time.monotonic() + 20
    while True:
        found = node.api("GET", f"/api/v1/admin/traces/{trace_id}", "admin")
        if found.status_code == 200:
            data: dict[str, Any] = found.json()
            if len(data["services"]) > 1 and (data["errors"] > 0 or not want_error):
                return data
        assert time.monotonic() < deadline, f"no spans from several services for {path}"
        time.sleep(0.5)


def test_traces_page_opens_a_waterfall_across_processes(
    federation: Federation, context: Any
) -> None:
    sea = federation.sea
    # A lookup no one asked before (not answered from the gateway's memory): the gateway
    # calls the directory service, another process.
    lookup = _trace_of(sea, f"/api/v1/lookup?jurisdiction=TH&q=adm{uuid.uuid4().hex[:8]}", False)
    page = sign_in(context, sea, "admin")
    page.goto(f"{sea.url}/console/admin/traces")
    check_subnav(page, "Traces")
    links = page.locator("main table a[href^='/console/admin/traces/']")
    assert links.count() >= 1
    check_page(page, "traces")

    # A bad id is a field error; a good one opens the trace (what an admin is handed).
    page.get_by_label("Trace ID").fill("not-a-trace")
    page.get_by_role("button", name="Open trace").click()
    expect(page.locator(".jn-error-summary")).to_contain_text("32 hexadecimal digits")
    page.get_by_label("Trace ID").fill(lookup["trace_id"].upper())
    page.get_by_role("button", name="Open trace").click()
    page.wait_for_url(f"**/console/admin/traces/{lookup['trace_id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(lookup["root"])
    rows = page.locator("tr.jn-waterfall__row")
    services = {rows.nth(i).get_attribute("data-service") for i in range(rows.count())}
    spans = sea.api("GET", f"/api/v1/admin/traces/{lookup['trace_id']}", "admin").json()
    assert rows.count() >= len(lookup["spans"]) and len(services) > 1, services
    assert services <= {s["service"] for s in spans["spans"]}
    assert any(int(rows.nth(i).get_attribute("data-depth") or 0) > 0 for i in range(rows.count()))
    # The root's bar starts at 0 and spans the whole width; children are placed within it.
    root_bar = rows.first.locator("svg rect")
    assert float(root_bar.get_attribute("x") or -1) == 0
    assert float(root_bar.get_attribute("width") or 0) > 900
    for i in range(rows.count()):
        bar = rows.nth(i).locator("svg rect")
        x, width = float(bar.get_attribute("x") or -1), float(bar.get_attribute("width") or 0)
        assert x >= 0 and width > 0 and x + width <= 1000.01
    check_page(page, "trace")

    # A failing call: its failed span is red and says so in words.
    failed = _trace_of(sea, f"/api/v1/authorities/{uuid.uuid4()}", True)
    page.goto(f"{sea.url}/console/admin/traces/{failed['trace_id']}")
    error_rows = page.locator("tr.jn-span--error")
    assert error_rows.count() == failed["errors"] >= 1
    expect(error_rows.first.locator("rect.jn-waterfall__bar--error")).to_have_count(1)
    expect(error_rows.first).to_contain_text("Error")
    ok_rows = page.locator(
        "tr.jn-waterfall__row:not(.jn-span--error) rect.jn-waterfall__bar--error"
    )
    assert ok_rows.count() == 0
    check_page(page, "trace-error")

    # An unknown trace is a 404 page, not an error of the server.
    resp = page.goto(f"{sea.url}/console/admin/traces/{'0' * 32}")
    assert resp is not None and resp.status == 404


def _invite(page: Any, email: str, name: str, role: str, jurisdiction: str) -> str:
    invite = page.locator("form[action='/console/admin/people']")
    invite.get_by_label("Email").fill(email)
    invite.get_by_label("Name").fill(name)
    invite.get_by_label("Role").select_option(role)
    invite.get_by_label("Jurisdiction").fill(jurisdiction)
    invite.get_by_role("button", name="Invite").click()
    return str(page.locator("#password-link").inner_text()).strip()


def test_people_invite_role_disable_tokens_and_audit(
    federation: Federation, context: Any, browser: Any
) -> None:
    sea = federation.sea
    page = sign_in(context, sea, "admin")
    page.goto(f"{sea.url}/console/admin/people")
    check_subnav(page, "People")
    check_page(page, "people")

    # Invalid input names the fields; nothing is added.
    page.get_by_role("button", name="Invite").click()
    summary = page.locator(".jn-error-summary")
    expect(summary.get_by_role("link", name=re.compile("^Email"))).to_be_visible()
    expect(summary.get_by_role("link", name=re.compile("^Name"))).to_be_visible()

    suffix = uuid.uuid4().hex[:6]
    email, name = f"newcomer-{suffix}@example.org", f"Nadia Newcomer {suffix}"
    link = _invite(page, email, name, "member", "TH")
    assert link.startswith(f"{sea.url}/console/set-password?token="), link
    expect(page.locator(".jn-banner")).to_contain_text(f"{name} is invited")
    check_page(page, "people-invited")
    # Shown once: the page itself never shows it again.
    page.goto(f"{sea.url}/console/admin/people")
    assert page.locator("#password-link").count() == 0
    row = page.locator("tbody tr", has=page.get_by_role("link", name=name))
    expect(row).to_contain_text(email)
    expect(row).to_contain_text("Invited")
    expect(row).to_contain_text("TH")
    # The same email again is a field error.
    _invite_again = page.locator("form[action='/console/admin/people']")
    _invite_again.get_by_label("Email").fill(email.upper())
    _invite_again.get_by_label("Name").fill("Someone else")
    _invite_again.get_by_role("button", name="Invite").click()
    expect(page.locator(".jn-error-summary")).to_contain_text("exists already")

    # The invited person sets a password through the link, in a browser of their own.
    theirs = browser.new_context(viewport=DESKTOP, bypass_csp=True, locale="en-GB")
    theirs.set_default_timeout(15_000)
    try:
        person_page = theirs.new_page()
        person_page.goto(link)
        person_page.get_by_label("New password").fill("a long enough password 42")
        person_page.get_by_label("Confirm password").fill("a long enough password 42")
        person_page.get_by_role("button", name="Set password").click()
        person_page.wait_for_url("**/console/sign-in?password=set")
        person_page.get_by_label("Email").fill(email)
        person_page.get_by_label("Password").fill("a long enough password 42")
        person_page.get_by_role("button", name="Sign in").click()
        person_page.wait_for_url("**/console/lookup**")
        person_page.goto(f"{sea.url}/console/account")
        expect(person_page.locator("main")).to_contain_text(email)
        # Their mail: one digest a day, in French.
        person_page.get_by_label("Mail notifications").select_option("digest")
        person_page.get_by_label("Language of the mails").select_option("fr")
        person_page.get_by_role("button", name="Save mail settings").click()
        expect(person_page.get_by_role("status")).to_contain_text("Your mail settings are saved")
        expect(person_page.get_by_label("Mail notifications")).to_have_value("digest")
        check_page(person_page, "account-mail")

        # The admin opens their page and makes them an editor.
        page.get_by_role("link", name=name).click()
        page.wait_for_url(re.compile(r".*/console/admin/people/[0-9a-f-]{36}$"))
        person_url = page.url
        person_id = person_url.rsplit("/", 1)[1]
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        check_subnav(page, "People")
        check_page(page, "person")
        page.get_by_label("Role").select_option("editor")
        page.get_by_role("button", name="Change role").click()
        expect(page.locator(".jn-banner")).to_contain_text(f"The role of {name} is now Editor")
        expect(page.locator(".jn-summary__row", has_text="Role")).to_contain_text("Editor")
        person_page.reload()
        expect(person_page.locator(".jn-summary__row", has_text="Role")).to_contain_text("Editor")

        # They turn two-step verification on; the admin resets it (a lost phone).
        person_page.goto(f"{sea.url}/console/account/second-factor")
        secret = person_page.locator("#totp-secret").inner_text().strip()
        person_page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
        person_page.get_by_role("button", name="Confirm").click()
        expect(person_page.locator("#recovery-codes li")).to_have_count(10)
        person_page.get_by_role("link", name="Continue").click()
        person_page.wait_for_url("**/console/account")
        page.goto(person_url)
        second_factor = page.locator(".jn-summary__row", has_text="Two-step verification")
        expect(second_factor).to_contain_text("On")
        page.get_by_role("button", name="Reset two-step verification").click()
        expect(page.locator(".jn-banner")).to_contain_text(
            f"Two-step verification of {name} is reset"
        )
        expect(second_factor).to_contain_text("Off")
        expect(page.get_by_role("button", name="Reset two-step verification")).to_have_count(0)

        # A new set-password link (a forgotten password), shown once.
        page.get_by_role("button", name="Create a set-password link").click()
        expect(page.locator("#password-link")).to_contain_text("/console/set-password?token=")

        # A token that acts as them, shown once.
        page.get_by_role("button", name="Create token").click()
        token = str(page.locator("#new-token").inner_text()).strip()
        assert token.startswith("jn_")
        check_page(page, "person-token")
        own = requests.get(
            f"{sea.url}/api/v1/requests", headers={"Authorization": f"Bearer {token}"}, timeout=15
        )
        assert own.status_code == 200, own.text
        page.goto(person_url)
        assert page.locator("#new-token").count() == 0
        expect(page.locator("table.jn-tokens tbody tr")).to_have_count(1)

        # A POST without the CSRF field changes nothing.
        forged = page.request.post(f"{person_url}/disable", form={})
        assert forged.status == 403
        person_page.reload()
        assert "/console/account" in person_page.url

        # Disabled: their session and their token stop at once.
        page.get_by_role("button", name="Disable").click()
        expect(page.locator(".jn-banner")).to_contain_text(f"{name} is disabled")
        expect(page.locator(".jn-summary__row", has_text="State")).to_contain_text("Disabled")
        person_page.reload()
        assert "/console/sign-in" in person_page.url
        expect(person_page.get_by_role("button", name="Sign in")).to_be_visible()
        gone = requests.get(
            f"{sea.url}/api/v1/requests", headers={"Authorization": f"Bearer {token}"}, timeout=15
        )
        assert gone.status_code == 401
        expect(page.locator("table.jn-tokens")).to_contain_text("Revoked")
        check_page(page, "person-disabled")

        # Enabled again, they can sign in (their old token stays revoked).
        page.get_by_role("button", name="Enable").click()
        expect(page.locator(".jn-summary__row", has_text="State")).to_contain_text("Active")
        person_page.get_by_label("Email").fill(email)
        person_page.get_by_label("Password").fill("a long enough password 42")
        person_page.get_by_role("button", name="Sign in").click()
        person_page.wait_for_url("**/console/account")
        again = requests.get(
            f"{sea.url}/api/v1/requests", headers={"Authorization": f"Bearer {token}"}, timeout=15
        )
        assert again.status_code == 401
    finally:
        theirs.close()

    # An administrator cannot disable or demote themselves: a clear error, nothing changes.
    people = page.goto(f"{sea.url}/console/admin/people")
    assert people is not None and people.status == 200
    page.locator("tbody tr", has_text="(you)").get_by_role("link").click()
    my_url = page.url
    expect(page.get_by_role("button", name="Disable")).to_have_count(0)
    token_field = csrf_of(page)
    refused = page.request.post(f"{my_url}/disable", form={"csrf_token": token_field})
    assert refused.status == 409 and "You cannot disable yourself" in refused.text()
    demote = page.request.post(f"{my_url}/role", form={"csrf_token": token_field, "role": "member"})
    assert demote.status == 409 and "You cannot change your own role" in demote.text()
    page.reload()
    expect(page.locator(".jn-summary__row", has_text="Role")).to_contain_text("Administrator")
    expect(page.locator(".jn-summary__row", has_text="State")).to_contain_text("Active")

    # A named service token: created, used, revoked.
    page.goto(f"{sea.url}/console/admin/people")
    token_form = page.locator("form[action='/console/admin/tokens']")
    token_form.get_by_label("Name").fill(f"statistics export {suffix}")
    token_form.get_by_label("Role").select_option("editor")
    token_form.get_by_role("button", name="Create token").click()
    service_token = str(page.locator("#new-token").inner_text()).strip()
    expect(page.locator(".jn-banner")).to_contain_text(f"statistics export {suffix}")
    assert requests.get(
        f"{sea.url}/api/v1/requests",
        headers={"Authorization": f"Bearer {service_token}"},
        timeout=15,
    ).ok
    page.goto(f"{sea.url}/console/admin/people")
    token_row = page.locator("table.jn-tokens tbody tr", has_text=f"statistics export {suffix}")
    expect(token_row).to_contain_text("service token")
    expect(token_row).to_contain_text("Editor")
    token_id = str(token_row.get_attribute("id")).removeprefix("token-")
    token_row.get_by_role("button", name="Revoke").click()
    expect(page.locator(".jn-banner")).to_contain_text("is revoked")
    expect(token_row).to_contain_text("Revoked")
    assert (
        requests.get(
            f"{sea.url}/api/v1/requests",
            headers={"Authorization": f"Bearer {service_token}"},
            timeout=15,
        ).status_code
        == 401
    )

    # The audit log shows the admin's own actions, each naming the person or the token.
    page.get_by_role("navigation", name="Administration").get_by_role("link", name="Audit").click()
    page.wait_for_url("**/console/admin/audit")
    check_subnav(page, "Audit")
    entries = sea.api("GET", "/api/v1/admin/audit?limit=100", "admin").json()["items"]
    admin_name = "Demo admin (SEAJUST)"
    mine = [e for e in entries if e["subject_name"] == admin_name]
    targets = {e["target"] for e in mine}
    for target in (
        f"/console/admin/people/{person_id}/role",
        f"/console/admin/people/{person_id}/second-factor/reset",
        f"/console/admin/people/{person_id}/password-link",
        f"/console/admin/people/{person_id}/tokens",
        f"/console/admin/people/{person_id}/disable",
        f"/console/admin/people/{person_id}/enable",
        f"/console/admin/tokens/{token_id}/revoke",
        f"user:{person_id}",  # the invitation names whom it created
        f"token:{token_id}",  # and a new token its id
    ):
        assert target in targets, target
        rows = page.locator("table.jn-audit tbody tr", has_text=target).filter(has_text=admin_name)
        expect(rows.first).to_contain_text(mine[0]["subject"])
    disable_row = page.locator(
        "table.jn-audit tbody tr", has_text=f"/console/admin/people/{person_id}/disable"
    ).first
    expect(disable_row).to_contain_text("status 303")
    expect(disable_row.get_by_role("link")).to_have_attribute(
        "href", re.compile(r"^/console/admin/traces/[0-9a-f]{32}$")
    )
    assert page.locator("table.jn-audit tbody tr").count() == len(entries)
    check_page(page, "audit")


def test_admin_pages_are_for_administrators(federation: Federation, context: Any) -> None:
    sea = federation.sea
    anonymous = context.new_page()
    for path in ADMIN_PAGES:
        anonymous.goto(f"{sea.url}{path}")
        assert "/console/sign-in?next=" in anonymous.url, path
    member = sign_in(context, sea, "member")
    for path in (*ADMIN_PAGES, f"/console/admin/traces/{'0' * 32}"):
        resp = member.goto(f"{sea.url}{path}")
        assert resp is not None and resp.status == 403, path
    expect(member.get_by_role("heading", level=1)).to_have_text(
        "You do not have access to this page"
    )
    assert member.get_by_role("link", name="Administration").count() == 0
    check_page(member, "forbidden")
    # A member's forged POST is refused too, whatever the CSRF field holds.
    resp = member.request.post(
        f"{sea.url}/console/admin/tokens",
        form={"csrf_token": csrf_of(member), "token_name": "x", "token_role": "admin"},
    )
    assert resp.status == 403
