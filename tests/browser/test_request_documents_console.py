"""A draft's documents in the console, between the two real nodes of the demo: a SEAJUST
member attaches a document with the upload form (its errors first), sees it listed with
its SHA-256 and verified mark, submits, and EJN's editor sees the same hash, verified
after the transfer, and downloads the same bytes. Checked with axe and at 375 px."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, Federation, sign_in
from tests.browser.test_requests_console import (
    api,
    check_page,
    expect,
    new_request,
    person_token,
)
from tests.documents_kit import pdf

pytestmark = pytest.mark.slow

TITLE = "Records of a company in Lyon, with its court order"
WAIT = 60.0


@pytest.fixture
def other_context(browser: Any) -> Iterator[Any]:
    """The other node's editor's browser."""
    ctx = browser.new_context(
        viewport=DESKTOP, bypass_csp=True, locale="en-GB", accept_downloads=True
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def documents_table(page: Any) -> Any:
    return page.locator("#documents + .jn-table-wrap table")


def test_a_member_attaches_a_document_and_the_other_side_verifies_it(
    federation: Federation, context: Any, other_context: Any, tmp_path: Path
) -> None:
    sea, ejn = federation.sea, federation.ejn
    token = person_token(federation, sea, "member")
    rid = new_request(sea, token, TITLE)
    page = sign_in(context, sea, "member")
    page.goto(f"{sea.url}/console/requests/{rid}")
    expect(page.get_by_role("heading", name="Documents")).to_be_visible()
    expect(page.get_by_text("No documents yet.")).to_be_visible()

    # No file and no kind: each error by its field, nothing attached.
    page.get_by_label("Title", exact=True).fill("Court order of 3 March")
    page.get_by_role("button", name="Attach document").click()
    expect(page.locator("#file-error")).to_be_visible()
    expect(page.locator("#kind-error")).to_be_visible()
    expect(page.get_by_label("Title", exact=True)).to_have_value("Court order of 3 March")
    check_page(page, "documents-errors")

    order = pdf(300_000, b"court order")
    path = tmp_path / "court-order.pdf"
    path.write_bytes(order)
    digest = hashlib.sha256(order).hexdigest()
    page.get_by_label("File").set_input_files(str(path))
    page.get_by_label("Kind").select_option("court_order")
    page.get_by_role("textbox", name="Language").fill("fr")
    page.get_by_role("button", name="Attach document").click()
    page.wait_for_url(re.compile(rf"/console/requests/{rid}\?done=attached"))
    row = documents_table(page).locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Court order of 3 March")
    expect(row).to_contain_text(digest)
    expect(row.locator(".jn-tag", has_text="Verified")).to_be_visible()
    check_page(page, "documents")
    listed = api(sea, token, f"/api/v1/requests/{rid}/documents")["items"]
    assert [(d["title"], d["sha256"], d["kind"]) for d in listed] == [
        ("Court order of 3 March", digest, "court_order")
    ]

    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(f"**/console/requests/{rid}?done=submitted")
    expect(page.locator("form[enctype='multipart/form-data']")).to_have_count(0)

    # ---- EJN: the editor sees the same hash, verified once the bytes arrived.
    deadline = time.monotonic() + WAIT
    while True:
        resp = ejn.api("GET", f"/api/v1/requests/{rid}/documents", "editor")
        items = resp.json().get("items") if resp.status_code == 200 else None
        if items and items[0]["verified"]:
            break
        assert time.monotonic() < deadline, f"the document never arrived verified: {items}"
        time.sleep(0.3)
    theirs = sign_in(other_context, ejn, "editor")
    theirs.goto(f"{ejn.url}/console/requests/{rid}")
    row = documents_table(theirs).locator("tbody tr")
    expect(row).to_contain_text(digest)
    expect(row.locator(".jn-tag", has_text="Verified")).to_be_visible()
    with theirs.expect_download() as download:
        theirs.get_by_role("link", name="Court order of 3 March").click()
    assert Path(download.value.path()).read_bytes() == order
    check_page(theirs, "documents-received")
