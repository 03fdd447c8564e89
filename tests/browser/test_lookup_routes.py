"""The console's lookup and route pages show what the JSON API answers the same person:
a member finds EJN's replicated French records with their verified mark, an anonymous
visitor sees only public records, a planned route matches `POST /api/v1/routes`, and bad
input names the field. Every page: a screenshot, axe, and 375 px."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from tests.browser.conftest import (
    Federation,
    assert_accessible,
    assert_fits_phone,
    shot,
    sign_in,
)

pytestmark = pytest.mark.slow


def api_lookup(federation: Federation, query: dict[str, str], role: str | None) -> dict[str, Any]:
    resp = federation.sea.api("GET", "/api/v1/lookup?" + urlencode(query), role)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def shown_names(page: Any) -> list[str]:
    """The record names in the results table, in order."""
    rows = page.locator("table.jn-table tbody tr")
    return [rows.nth(i).locator("td").first.locator("a").inner_text() for i in range(rows.count())]


def search(page: Any, jurisdiction: str, competence: str) -> None:
    page.get_by_label("Jurisdiction").select_option(jurisdiction)
    page.get_by_label("Competence").select_option(competence)
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()


def check_page(page: Any, name: str) -> None:
    shot(page, name)
    assert_accessible(page)
    assert_fits_phone(page)


def test_member_finds_ejn_replicas_with_their_verified_mark(
    federation: Federation, context: Any
) -> None:
    sea = federation.sea
    page = sign_in(context, sea, "member")
    page.goto(f"{sea.url}/console/lookup")
    check_page(page, "lookup-form")
    search(page, "FR", "mla")
    assert page.url.startswith(f"{sea.url}/console/lookup?")

    expected = api_lookup(federation, {"jurisdiction": "FR", "competence": "mla"}, "member")
    assert shown_names(page) == [item["name"] for item in expected["items"]]
    replica = next(
        item
        for item in expected["items"]
        if item["origin"] == "EJN" and item.get("provenance", {}).get("verified")
    )
    row = page.locator("table.jn-table tbody tr").filter(has_text=replica["name"])
    assert "Verified · EJN" in row.inner_text()
    consulted = ", ".join(expected["networks_consulted"])
    assert f"Networks consulted: {consulted}" in page.locator("main").inner_text()
    check_page(page, "lookup-results-member")

    # Looking people up in the console is audited like the API's lookups.
    seen = False
    deadline = time.monotonic() + 10
    while not seen and time.monotonic() < deadline:
        audit = sea.api("GET", "/api/v1/admin/audit?limit=50", "admin").json()["items"]
        seen = any(
            e["target"].startswith("/console/lookup?")
            and e["detail"].startswith("/console/lookup;")
            for e in audit
        )
        time.sleep(0.3)
    assert seen, "the console lookup is in the audit log"

    row.get_by_role("link", name=replica["name"]).click()
    page.wait_for_load_state()
    kind = "authorities" if replica["record_type"] == "authority" else "contact-points"
    assert page.url == f"{sea.url}/console/lookup/{kind}/{replica['id']}"
    assert page.get_by_role("heading", level=1).inner_text() == replica["name"]
    record = sea.api("GET", f"/api/v1/{kind}/{replica['id']}", "member").json()
    main = page.locator("main").inner_text()
    assert "Verified · EJN" in main
    assert "Synced at" in main and "Origin network" in main
    assert record["id"] in main
    check_page(page, "lookup-record")


def test_contact_details_on_demand_show_what_the_api_gives(
    federation: Federation, context: Any
) -> None:
    sea = federation.sea
    expected = api_lookup(federation, {"jurisdiction": "FR", "competence": "mla"}, "member")
    contact = next(i for i in expected["items"] if i["record_type"] == "contact_point")
    details = sea.api("GET", f"/api/v1/contact-points/{contact['id']}/details", "member")
    assert details.status_code == 200, details.text

    # Anonymous visitors are sent to sign in first.
    anonymous = requests.get(
        f"{sea.url}/console/lookup/contact-points/{contact['id']}/details",
        allow_redirects=False,
        timeout=15,
    )
    assert anonymous.status_code == 303
    assert "/console/sign-in?next=" in anonymous.headers["Location"]

    page = sign_in(context, sea, "member")
    page.goto(f"{sea.url}/console/lookup/contact-points/{contact['id']}/details")
    section = page.locator("main").inner_text()
    assert "Contact details" in section
    assert details.json()["email"] in section and details.json()["phone"] in section
    check_page(page, "lookup-contact-details")


def test_anonymous_lookup_shows_only_public_records(federation: Federation, page: Any) -> None:
    sea = federation.sea
    page.goto(f"{sea.url}/console/lookup")
    search(page, "FR", "mla")
    query = {"jurisdiction": "FR", "competence": "mla"}
    anonymous = api_lookup(federation, query, None)
    member = api_lookup(federation, query, "member")
    assert shown_names(page) == [item["name"] for item in anonymous["items"]]
    assert all(item["visibility"] == "public" for item in anonymous["items"])
    hidden = {i["name"] for i in member["items"]} - {i["name"] for i in anonymous["items"]}
    assert hidden, "the sample data has FR records only members see"
    main = page.locator("main").inner_text()
    assert not any(name in main for name in hidden)
    check_page(page, "lookup-results-anonymous")


def test_route_plan_matches_the_api(federation: Federation, page: Any) -> None:
    sea = federation.sea
    page.goto(f"{sea.url}/console/routes")
    check_page(page, "routes-form")
    page.get_by_label("From", exact=True).select_option("TH")
    page.get_by_label("To", exact=True).select_option("FR")
    page.get_by_role("group", name="Measures").get_by_label("Banking records").check()
    page.get_by_role("combobox", name="Language").select_option("th")
    page.get_by_role("button", name="Plan route").click()
    page.wait_for_load_state()
    assert "requested_jurisdiction=FR" in page.url  # a GET form: the plan is linkable

    resp = sea.api(
        "POST",
        "/api/v1/routes",
        json={
            "requesting_jurisdiction": "TH",
            "requested_jurisdiction": "FR",
            "measures": ["banking_records"],
            "language": "th",
        },
    )
    assert resp.status_code == 200, resp.text
    plan = resp.json()
    main = page.locator("main")

    def row(label: str) -> str:
        text: str = main.locator(f"dt:text-is('{label}') + dd").inner_text()
        return text

    assert plan["destination_network"] == "EJN"
    assert plan["destination_network"] in row("Destination network")
    assert plan["central_authority"]["name"] in row("Central authority")
    bases = page.locator("#legal-bases > li").all_inner_texts()
    assert len(bases) == len(plan["legal_bases"])
    for shown, basis in zip(bases, plan["legal_bases"], strict=True):
        assert f"({basis['code']})" in shown
        assert ("Last resort" in shown) == basis["last_resort"]
    assert plan["translation_required"] is True
    assert "Translation needed" in row("Translation")
    for measure in plan["measures"]:
        measures_table = main.locator("#measures-advice").inner_text()
        assert measure["notes"] in measures_table
    for warning in plan["warnings"]:
        assert warning["message"] in main.inner_text()
    check_page(page, "routes-plan")


def test_bad_input_names_the_field(federation: Federation, page: Any) -> None:
    sea = federation.sea
    page.goto(f"{sea.url}/console/routes")
    page.get_by_label("To", exact=True).select_option("FR")
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Plan route").click()
    assert navigation.value.status == 400
    summary = page.get_by_role("alert")
    assert "There is a problem" in summary.inner_text()
    # Named as the form names the field (its label), linked to the field itself.
    link = summary.get_by_role("link", name="From:")
    assert link.get_attribute("href") == "#requesting_jurisdiction"
    assert page.get_by_label("To", exact=True).input_value() == "FR"  # kept
    check_page(page, "routes-error")

    # An unknown code in a shared link: the service's check names the field, as in the API.
    response = page.goto(
        f"{sea.url}/console/routes?requesting_jurisdiction=TH&requested_jurisdiction=XX"
    )
    assert response is not None and response.status == 400
    api = sea.api(
        "POST",
        "/api/v1/routes",
        json={"requesting_jurisdiction": "TH", "requested_jurisdiction": "XX"},
    )
    assert api.status_code == 400
    [error] = api.json()["errors"]
    assert error["field"] == "requested_jurisdiction"
    assert f"To: {error['message']}" in page.get_by_role("alert").inner_text()

    response = page.goto(f"{sea.url}/console/lookup?jurisdiction=FR&competence=bogus")
    assert response is not None and response.status == 400
    assert "Competence" in page.get_by_role("alert").inner_text()
    check_page(page, "lookup-error")
