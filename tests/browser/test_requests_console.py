"""MLA requests in the console, between the two real nodes of the demo: a SEAJUST member
drafts a request from Thailand to France (routed to EJN), edits and submits it; EJN's
editor finds it among the incoming requests and acknowledges it; the member then sees the
acknowledgement, the signed history with verified marks and the delivery receipt. Pages
are compared with the JSON API for the same person, checked with axe and at 375 px."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import make_url

from services.common.settings import load_settings
from tests.browser.conftest import (
    DESKTOP,
    Federation,
    Node,
    assert_accessible,
    assert_fits_phone,
    shot,
    sign_in,
)
from tests.e2e.conftest import run_justnet

pytestmark = pytest.mark.slow

TITLE = "Bank records of a shell company in Lyon"
EDITED = "Bank and phone records of a shell company in Lyon"
WAIT = 60.0


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def check_page(page: Any, name: str) -> None:
    """Every page: no inline style, a screenshot, axe, no sideways scrolling at 375 px."""
    # Checked first: Playwright's screenshot leaves an empty style attribute behind.
    assert page.locator("[style]").count() == 0, "inline style attributes (strict CSP)"
    shot(page, f"requests-{name}")
    assert_accessible(page)
    assert_fits_phone(page)


def node_config(federation: Federation, node: Node) -> Path:
    """The demo node's justnet.toml (the demo was started with --data-dir)."""
    args = list(federation.process.args)  # type: ignore[arg-type]
    return Path(str(args[args.index("--data-dir") + 1])) / node.network / "justnet.toml"


def person_token(federation: Federation, node: Node, role: str) -> str:
    """An API token of the demo person who signs in as `role` (`justnet token create
    --user`), so the page and the API answer for the same person."""
    config = node_config(federation, node)
    done = run_justnet(
        "token", "create", "--user", node.accounts[role]["email"], "--config", config
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def make_overdue(federation: Federation, node: Node, rid: str) -> None:
    """Moves a request's deadline into the past in the node's database (the API refuses a
    past deadline, and waiting for one is not an option)."""
    url = make_url(load_settings(node_config(federation, node)).requests.database_url)
    db = sqlite3.connect(str(url.database), timeout=10)
    try:
        with db:  # one committed transaction
            db.execute("UPDATE requests_requests SET deadline = '2001-01-01' WHERE id = ?", (rid,))
    finally:
        db.close()


def new_request(node: Node, token: str, title: str, submit: bool = False) -> str:
    resp = requests.post(
        f"{node.url}/api/v1/requests",
        json={"requesting_jurisdiction": "TH", "requested_jurisdiction": "FR", "title": title},
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    assert resp.status_code == 201, resp.text
    rid = str(resp.json()["id"])
    if submit:
        resp = requests.post(
            f"{node.url}/api/v1/requests/{rid}/submit",
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
        assert resp.status_code == 200, resp.text
    return rid


def api(node: Node, token: str, path: str) -> Any:
    resp = requests.get(node.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=15)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture
def other_context(browser: Any) -> Iterator[Any]:
    """A second person's browser (two people of one node cannot share one)."""
    ctx = browser.new_context(viewport=DESKTOP, bypass_csp=True, locale="en-GB")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def third_context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport=DESKTOP, bypass_csp=True, locale="en-GB")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def row_of(page: Any, title: str) -> Any:
    return page.locator("table.jn-table tbody tr", has=page.get_by_role("link", name=title))


def status_shown(page: Any) -> str:
    row = page.locator(".jn-summary__row", has=page.locator("dt", has_text=re.compile("^Status$")))
    return str(row.locator(".jn-tag").first.inner_text()).strip()


def test_draft_edit_submit_acknowledge_across_nodes(
    federation: Federation, context: Any, other_context: Any, third_context: Any
) -> None:
    sea, ejn = federation.sea, federation.ejn

    # ---- SEAJUST: a member's requests and the draft form
    page = sign_in(context, sea, "member")
    page.goto(f"{sea.url}/console/requests")
    expect(page.get_by_role("heading", level=1)).to_have_text("Requests")
    check_page(page, "list-member")
    page.get_by_role("link", name="New request").click()
    page.wait_for_url("**/console/requests/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("New request")
    check_page(page, "new")

    # Bad input: the error summary names the API's fields and links to them.
    page.get_by_label("Title").fill("")
    page.get_by_label("Requesting jurisdiction").select_option("TH")
    page.get_by_label("Requested jurisdiction").select_option("TH")
    page.get_by_label("Deadline").fill("2001-01-01")
    page.get_by_role("button", name="Save draft").click()
    summary = page.locator(".jn-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link", name=re.compile("^Title: "))).to_have_attribute(
        "href", "#title"
    )
    check_page(page, "new-errors")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_role("button", name="Save draft").click()
    expect(
        summary.get_by_role("link", name=re.compile("^Requested jurisdiction: "))
    ).to_have_attribute("href", "#requested_jurisdiction")

    # A good draft, from Thailand to France: routed to EJN.
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Reference").fill("OAG-2026-0777")
    page.get_by_label("Requesting jurisdiction").select_option("TH")
    page.get_by_label("Requested jurisdiction").select_option("FR")
    page.get_by_label("Banking records").check()
    page.get_by_label("Urgency").select_option("normal")
    page.get_by_role("combobox", name="Language").select_option("fr")
    page.get_by_label("Offences").fill("money laundering\nfraud")
    page.get_by_label("Summary").fill("Funds from an investment fraud in Bangkok reached Lyon.")
    page.get_by_label("Deadline").fill("2099-06-30")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(re.compile(r"/console/requests/[0-9a-f-]{36}\?done=created$"))
    rid = re.search(r"/console/requests/([0-9a-f-]{36})", page.url).group(1)  # type: ignore[union-attr]
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    assert status_shown(page) == "Draft"
    expect(page.get_by_text("France (FR) · EJN")).to_be_visible()
    check_page(page, "draft")

    # ---- edit the draft
    page.get_by_role("link", name="Edit draft").click()
    page.wait_for_url(f"**/console/requests/{rid}/edit")
    expect(page.get_by_label("Title")).to_have_value(TITLE)
    expect(page.get_by_label("Banking records")).to_be_checked()
    expect(page.get_by_label("Offences")).to_have_value("money laundering\nfraud")
    check_page(page, "edit")
    page.get_by_label("Title").fill(EDITED)
    page.get_by_label("Electronic evidence").check()
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url(f"**/console/requests/{rid}?done=saved")
    expect(page.get_by_role("heading", level=1)).to_have_text(EDITED)
    expect(page.locator(".jn-summary").first.get_by_text("Electronic evidence")).to_be_visible()

    # ---- submit: the member may withdraw it now, never acknowledge it
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/console/requests/{rid}?done=submitted")
    assert status_shown(page) == "Submitted"
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.get_by_role("button", name="Withdraw")).to_be_visible()
    expect(page.get_by_role("link", name="Edit draft")).to_have_count(0)
    check_page(page, "submitted")

    # ---- EJN: the editor finds it among the incoming requests and acknowledges it
    epage = sign_in(other_context, ejn, "editor")
    deadline = time.monotonic() + WAIT
    while True:
        epage.goto(f"{ejn.url}/console/requests")
        epage.get_by_label("Direction").select_option("incoming")
        epage.get_by_role("button", name="Filter").click()
        epage.wait_for_url(re.compile(r"/console/requests\?direction=incoming"))
        if row_of(epage, EDITED).count():
            break
        assert time.monotonic() < deadline, "the request never reached EJN"
        time.sleep(1)
    row = row_of(epage, EDITED)
    expect(row.get_by_role("cell").nth(0)).to_have_text("Incoming")
    expect(row).to_contain_text("Thailand (TH)")
    expect(row).to_contain_text("Submitted")
    check_page(epage, "list-incoming")
    row.get_by_role("link", name=EDITED).click()
    epage.wait_for_url(f"**/console/requests/{rid}")
    for allowed in ("Acknowledge", "Ask for more information", "Start execution", "Refuse"):
        expect(epage.get_by_role("button", name=allowed)).to_be_visible()
    expect(epage.get_by_role("button", name="Withdraw")).to_have_count(0)
    check_page(epage, "incoming")
    epage.get_by_label("Note (optional)").fill("Received; assigned to BEPI")
    epage.get_by_role("button", name="Acknowledge").click()
    epage.wait_for_url(f"**/console/requests/{rid}?done=status")
    assert status_shown(epage) == "Acknowledged"
    expect(epage.get_by_text("Received; assigned to BEPI")).to_be_visible()
    check_page(epage, "acknowledged")

    # A member of EJN sees the (non-confidential) incoming request, with no action.
    mpage = sign_in(third_context, ejn, "member")
    mpage.goto(f"{ejn.url}/console/requests/{rid}")
    assert status_shown(mpage) == "Acknowledged"
    expect(mpage.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(mpage.get_by_role("heading", name="What you can do")).to_have_count(0)
    check_page(mpage, "incoming-member")

    # ---- SEAJUST again: the member sees the acknowledgement, verified, and the receipt
    deadline = time.monotonic() + WAIT
    while True:
        page.goto(f"{sea.url}/console/requests/{rid}")
        events = page.locator(".jn-timeline__item")
        if (
            status_shown(page) == "Acknowledged"
            and events.count() == 2
            and events.nth(0).get_by_text("Receipt verified").count()
            and events.nth(1).get_by_text("Verified", exact=True).count()
        ):
            break
        assert time.monotonic() < deadline, "SEAJUST never showed the acknowledgement"
        time.sleep(1)
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.get_by_text("Every event verified")).to_be_visible()
    first, second = events.nth(0), events.nth(1)
    expect(first.get_by_role("heading")).to_have_text("Submitted")
    expect(first).to_contain_text("by SEAJUST")
    expect(first.get_by_text("Verified", exact=True)).to_be_visible()
    expect(first.get_by_text("Delivered", exact=True)).to_be_visible()
    expect(first.get_by_text("Receipt verified")).to_be_visible()
    expect(second.get_by_role("heading")).to_have_text("Acknowledged")
    expect(second).to_contain_text("by EJN")
    expect(second).to_contain_text("Received; assigned to BEPI")
    delivery = page.locator(
        ".jn-summary__row", has=page.locator("dt", has_text=re.compile("^Delivery$"))
    )
    expect(delivery).to_contain_text("Delivered")
    expect(delivery).to_contain_text("Receipt verified")
    check_page(page, "request")

    # ---- the page shows what the API answers for the same person
    token = person_token(federation, sea, "member")
    got = api(sea, token, f"/api/v1/requests/{rid}")
    assert got["status"] == "acknowledged"
    assert status_shown(page) == "Acknowledged"
    assert got["title"] == EDITED
    assert got["delivery"]["state"] == "delivered"
    assert got["delivery"]["receipt_verified"] is True
    hist = api(sea, token, f"/api/v1/requests/{rid}/history")
    assert hist["verified"] is True
    assert [(e["status"], e["author"], e["verified"]) for e in hist["events"]] == [
        ("submitted", "SEAJUST", True),
        ("acknowledged", "EJN", True),
    ]
    assert events.count() == len(hist["events"])
    listed = api(sea, token, "/api/v1/requests")
    page.goto(f"{sea.url}/console/requests")
    shown = [
        str(href).rsplit("/", 1)[-1]
        for href in page.locator("table.jn-table tbody th a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
    ]
    assert shown == [r["id"] for r in listed["items"]]
    expect(row_of(page, EDITED)).to_contain_text("Acknowledged")
    check_page(page, "list-after")


def test_filters_paging_overdue_and_refusals(
    federation: Federation, context: Any, other_context: Any
) -> None:
    """Status filter and paging as the API pages; an overdue request highlighted in words;
    a stale or refused action is a message on the page; a POST without the CSRF field
    changes nothing."""
    sea = federation.sea
    token = person_token(federation, sea, "member")
    for i in range(3):
        rid = new_request(sea, token, f"Paging draft {i}")
    page = sign_in(context, sea, "member")

    # Filtered by status, one per page: the same pages as the API.
    listed = api(sea, token, "/api/v1/requests?status=draft&limit=1")
    page.goto(f"{sea.url}/console/requests?status=draft&limit=1")
    expect(page.get_by_label("Status")).to_have_value("draft")
    assert page.locator("table.jn-table tbody tr").count() == 1
    expect(row_of(page, listed["items"][0]["title"])).to_be_visible()
    page.get_by_role("link", name="Next page").click()
    second = api(
        sea, token, f"/api/v1/requests?status=draft&limit=1&cursor={listed['next_cursor']}"
    )
    expect(row_of(page, second["items"][0]["title"])).to_be_visible()
    expect(page.get_by_role("link", name="First page")).to_be_visible()
    check_page(page, "list-paged")

    # An overdue request: highlighted, and said in words, as the API flags it.
    late = new_request(sea, token, "Overdue freezing order", submit=True)
    make_overdue(federation, sea, late)
    assert api(sea, token, f"/api/v1/requests/{late}")["overdue"] is True
    page.goto(f"{sea.url}/console/requests")
    row = row_of(page, "Overdue freezing order")
    expect(row).to_have_class(re.compile(r"\bjn-row--overdue\b"))
    expect(row.get_by_text("Overdue", exact=True)).to_be_visible()
    for other in page.locator("table.jn-table tbody tr").all():
        if "Overdue freezing order" not in other.inner_text():
            expect(other).not_to_have_class(re.compile(r"\bjn-row--overdue\b"))
    check_page(page, "list-overdue")
    row.get_by_role("link", name="Overdue freezing order").click()
    expect(page.get_by_text("past the deadline")).to_be_visible()

    # Someone else (the node's editor) edits the draft while the member has it open: the
    # member's save is refused with 412 and the page says so.
    page.goto(f"{sea.url}/console/requests/{rid}/edit")
    resp = requests.put(
        f"{sea.url}/api/v1/requests/{rid}",
        json={
            "requesting_jurisdiction": "TH",
            "requested_jurisdiction": "FR",
            "title": "Changed by the secretariat",
        },
        headers={"Authorization": f"Bearer {sea.tokens['editor']}"},
        timeout=15,
    )
    assert resp.status_code == 200, resp.text
    page.get_by_label("Title").fill("My late change")
    with page.expect_response(f"**/console/requests/{rid}/edit") as answer:
        page.get_by_role("button", name="Save draft").click()
    assert answer.value.status == 412
    expect(page.get_by_role("alert")).to_contain_text("Someone else changed this request")
    check_page(page, "edit-stale")
    assert api(sea, token, f"/api/v1/requests/{rid}")["title"] == "Changed by the secretariat"

    # Submitting a draft no node covers is refused (409) and shown on the page.
    resp = requests.put(
        f"{sea.url}/api/v1/requests/{rid}",
        json={"requesting_jurisdiction": "TH", "requested_jurisdiction": "US", "title": "Nowhere"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["route"]["destination_network"] is None
    page.goto(f"{sea.url}/console/requests/{rid}")
    with page.expect_response(f"**/console/requests/{rid}/submit") as answer:
        page.get_by_role("button", name="Submit").click()
    assert answer.value.status == 409
    expect(page.get_by_role("alert")).to_contain_text("This change is not possible now")
    assert status_shown(page) == "Draft"
    check_page(page, "submit-refused")

    # SEAJUST's editor sees every request of the node and may edit a draft.
    epage = sign_in(other_context, sea, "editor")
    epage.goto(f"{sea.url}/console/requests/{rid}")
    expect(epage.get_by_role("heading", level=1)).to_have_text("Nowhere")
    expect(epage.get_by_role("link", name="Edit draft")).to_be_visible()

    # A POST without the CSRF field is refused and changes nothing.
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    resp = requests.post(
        f"{sea.url}/console/requests/{rid}/edit",
        data={"title": "No token", "requesting_jurisdiction": "TH", "requested_jurisdiction": "FR"},
        cookies=cookies,
        timeout=15,
        allow_redirects=False,
    )
    assert resp.status_code == 403
    assert api(sea, token, f"/api/v1/requests/{rid}")["title"] == "Nowhere"
    resp = requests.post(
        f"{sea.url}/console/requests/new",
        data={"title": "No token", "requesting_jurisdiction": "TH", "requested_jurisdiction": "FR"},
        cookies=cookies,
        timeout=15,
        allow_redirects=False,
    )
    assert resp.status_code == 403
    assert "No token" not in [r["title"] for r in api(sea, token, "/api/v1/requests")["items"]]
