"""The statistics page in chromium, on the demo's SEAJUST node: requests sent to EJN and
answered there (their dates moved to known days), the sample directory and events. An
editor sees the charts (SVG images with a title and description) and the same numbers in
tables as the API gives; the filter form, a bad date, the CSV downloads; a member is
refused; axe, 375 px, the print stylesheet, and a screenshot for the README."""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sqlalchemy.engine import make_url

from services.common.settings import load_settings
from tests.browser.conftest import Federation, Node, assert_accessible, assert_fits_phone, shot
from tests.browser.conftest import sign_in as sign_in_as
from tests.browser.test_requests_console import expect, node_config

pytestmark = pytest.mark.slow

WAIT = 60.0
# (requesting state, submitted on, what EJN answers with the day after submission)
REQUESTS = [
    ("TH", "2026-09-02", [("acknowledged", 2), ("executed", 30)]),
    ("TH", "2026-09-15", [("acknowledged", 5)]),
    ("TH", "2026-10-01", [("refused", 3)]),
    ("VN", "2026-10-20", [("acknowledged", 9)]),
    ("MY", "2026-11-03", []),
]


def _call(node: Node, method: str, path: str, role: str, **kw: Any) -> requests.Response:
    return node.api(method, path, role=role, **kw)


def _wait_status(node: Node, rid: str, status: str) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        resp = _call(node, "GET", f"/api/v1/requests/{rid}", "editor")
        if resp.status_code == 200 and resp.json()["status"] == status:
            return
        time.sleep(0.2)
    raise AssertionError(f"{rid} not {status} on {node.network}")


def _redate(federation: Federation, node: Node, rid: str, day: str, offsets: list[int]) -> None:
    """Known dates for the statistics (the rows they read; the signed events keep theirs)."""
    url = make_url(load_settings(node_config(federation, node)).requests.database_url)
    submitted = datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=UTC)

    def stored(value: datetime) -> str:
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    db = sqlite3.connect(str(url.database), timeout=10)
    try:
        with db:
            db.execute(
                "UPDATE requests_requests SET submitted_at = ?, acknowledgement_due = ? "
                "WHERE id = ?",
                (stored(submitted), stored(submitted + timedelta(days=14)), rid),
            )
            for seq, offset in enumerate([0, *offsets], start=1):
                db.execute(
                    "UPDATE requests_events SET at = ? WHERE request_id = ? AND seq = ?",
                    (stored(submitted + timedelta(days=offset)), rid, seq),
                )
    finally:
        db.close()


def _requests_answered(federation: Federation) -> None:
    sea, ejn = federation.nodes[0], federation.nodes[1]
    for state, day, steps in REQUESTS:
        body = {"requesting_jurisdiction": state, "requested_jurisdiction": "FR", "title": day}
        resp = _call(sea, "POST", "/api/v1/requests", "member", json=body)
        assert resp.status_code == 201, resp.text
        rid = str(resp.json()["id"])
        assert _call(sea, "POST", f"/api/v1/requests/{rid}/submit", "member").status_code == 200
        _wait_status(ejn, rid, "submitted")
        for status, _ in steps:
            resp = _call(
                ejn, "POST", f"/api/v1/requests/{rid}/status", "editor", json={"status": status}
            )
            assert resp.status_code == 200, resp.text
            _wait_status(sea, rid, status)
        _redate(federation, sea, rid, day, [offset for _, offset in steps])


def _registrations(federation: Federation) -> None:
    """People of both networks register for SEAJUST's coming events (for the chart)."""
    sea, ejn = federation.nodes[0], federation.nodes[1]
    today = datetime.now(UTC).date().isoformat()
    events = _call(sea, "GET", f"/api/v1/events?from={today}&network=SEAJUST", "member")
    for event in events.json()["items"][:3]:
        for node in (sea, ejn):
            path = f"/api/v1/events/{event['id']}/registrations"
            _call(node, "POST", path, "member", json={"name": f"Delegate of {node.network}"})


def test_statistics_page_charts_tables_csv_and_print(
    federation: Federation, context: Any, browser: Any
) -> None:
    sea = federation.sea
    _requests_answered(federation)
    _registrations(federation)
    api = _call(sea, "GET", "/api/v1/statistics/requests?direction=outgoing", "editor").json()
    counts = {g["key"]: g["requests"] for g in api["groups"]}
    assert counts["TH"] >= 3 and counts["VN"] >= 1 and counts["MY"] >= 1

    page = sign_in_as(context, sea, "editor")
    page.goto(f"{sea.url}/console/lookup")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Statistics").click()
    page.wait_for_url("**/console/statistics")
    expect(page.get_by_role("heading", level=1, name="Statistics")).to_be_visible()
    # The charts are images named by their title; their description reads out the numbers.
    chart = page.get_by_role("img", name="Outgoing requests", exact=True)
    expect(chart).to_be_visible()
    assert f"Thailand: {counts['TH']}" in str(chart.locator("desc").text_content())
    expect(
        page.get_by_role("img", name="Outgoing requests: median days to acknowledge")
    ).to_be_visible()
    expect(
        page.get_by_role("img", name="Directory records confirmed within 12 months")
    ).to_be_visible()
    # The same numbers in the table as the API gives.
    table = page.get_by_role("table", name="Outgoing requests")
    row = table.locator("tbody tr", has=page.get_by_role("rowheader", name="Thailand"))
    assert row.locator("td").first.inner_text().strip() == str(counts["TH"])
    directory = page.get_by_role("table", name="This network's own directory records per state")
    expect(directory.locator("tbody tr").first).to_be_visible()

    # Printable: the filters and links drop out, the charts stay.
    page.emulate_media(media="print")
    expect(page.locator("form.jn-filters")).to_be_hidden()
    expect(chart).to_be_visible()
    page.emulate_media(media="screen")

    # No inline style (strict CSP), axe, 375 px, the screenshot of the README.
    assert page.locator("[style]").count() == 0
    shot(page, "statistics")
    assert_accessible(page)
    assert_fits_phone(page)

    # The filter form: by month; a bad date is named in the error summary.
    page.get_by_label("Group by").select_option("month")
    page.get_by_role("button", name="Show statistics").click()
    page.wait_for_url("**group_by=month**")
    expect(page.get_by_role("rowheader", name="2026-09")).to_be_visible()
    page.goto(f"{sea.url}/console/statistics?from=2026-02-30")
    summary = page.locator(".jn-error-summary")
    expect(summary).to_contain_text("From")
    assert_accessible(page)

    # CSV downloads with the page's filters, for the signed-in editor.
    resp = page.request.get(f"{sea.url}/console/statistics/requests.csv?group_by=counterpart")
    assert resp.status == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text())))
    assert any(r["counterpart"] == "FR" and int(r["requests"]) >= 5 for r in rows), rows

    # A member gets no link and no page.
    member_context = browser.new_context(bypass_csp=True, locale="en-GB")
    try:
        member = sign_in_as(member_context, sea, "member")
        member.goto(f"{sea.url}/console/lookup")
        nav = member.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Statistics")).to_have_count(0)
        resp = member.request.get(f"{sea.url}/console/statistics")
        assert resp.status == 403
    finally:
        member_context.close()
