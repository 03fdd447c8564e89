"""The console's events and directory pages, driven as people use them, checked against
the JSON API: a SEAJUST member registers for a SEAJUST event (waitlisted with a position,
then confirmed) and for EJN's plenary across the federation, and cancels; a registration
made through the API with the same person's token shows on the page; the SEAJUST editor
imports a CSV whose bad row is reported by row and column with nothing written, then a
good one; creates, edits and deletes an authority (a stale version is refused); edits a
routing profile; the month view renders. Every page: a screenshot, axe, 375 px.
A POST without the CSRF field is refused and writes nothing."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.browser.conftest import (
    Federation,
    Node,
    assert_accessible,
    assert_fits_phone,
    shot,
    sign_in,
)
from tests.browser.test_requests_console import person_token

pytestmark = pytest.mark.slow


def check_page(page: Any, name: str) -> None:
    shot(page, name)
    assert_accessible(page)
    assert_fits_phone(page)


def main_text(page: Any) -> str:
    return str(page.locator("main").inner_text())


def suffix() -> str:
    return uuid.uuid4().hex[:8]


def new_event(node: Node, title: str, capacity: int) -> dict[str, Any]:
    body = {
        "title": title,
        "kind": "training",
        "starts_at": "2027-08-10T09:00:00",
        "ends_at": "2027-08-10T17:00:00",
        "timezone": "Asia/Bangkok",
        "venue": {"city": "Bangkok", "country": "TH"},
        "languages": ["en"],
        "capacity": capacity,
        "agenda": [{"title": "Requests for electronic evidence"}],
        "documents": [{"title": "Programme", "url": "https://seajust.example/p.pdf"}],
        "visibility": "network",
    }
    resp = node.api("POST", "/api/v1/events", "editor", json=body)
    assert resp.status_code == 201, resp.text
    event: dict[str, Any] = resp.json()
    return event


def registrations(node: Node, event_id: str) -> list[dict[str, Any]]:
    resp = node.api("GET", f"/api/v1/events/{event_id}/registrations", "editor")
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def registration_state(page: Any) -> str:
    return str(page.locator("#registration-state").inner_text())


def press(page: Any, button: str) -> None:
    """Clicks a form's button and waits for the page the POST redirects to."""
    with page.expect_navigation():
        page.get_by_role("button", name=button).click()
    page.wait_for_load_state()


def cancel_button(page: Any, registration_id: str) -> Any:
    return page.locator(f"form[action$='/registrations/{registration_id}/cancel'] button")


# ------------------------------------------------------------------ events


def test_events_list_shows_what_the_api_answers(federation: Federation, context: Any) -> None:
    sea = federation.sea
    page = sign_in(context, sea, "member")
    page.goto(f"{sea.url}/console/events")
    check_page(page, "events-list")
    today = datetime.now(UTC).date().isoformat()
    expected = sea.api("GET", f"/api/v1/events?from={today}", "member").json()["items"]
    shown = page.locator(".jn-result__title a").all_inner_texts()
    assert shown == [e["title"] for e in expected]
    assert any(e["origin"] == "EJN" for e in expected), "EJN's shared events are listed"
    subscribe = page.locator("main a[href*='/api/v1/events.ics']")
    assert subscribe.get_attribute("href") == f"{sea.url}/api/v1/events.ics?from={today}"

    page.get_by_label("Network").select_option("EJN")
    page.get_by_label("Kind").select_option("plenary")
    page.get_by_role("button", name="Show events").click()
    page.wait_for_load_state()
    query = f"network=EJN&kind=plenary&from={today}"
    expected = sea.api("GET", f"/api/v1/events?{query}", "member").json()["items"]
    assert page.locator(".jn-result__title a").all_inner_texts() == [e["title"] for e in expected]
    assert expected, "EJN's plenary is visible to SEAJUST members"
    check_page(page, "events-list-filtered")


def test_member_is_waitlisted_with_a_position_then_confirmed_and_cancels(
    federation: Federation, context: Any
) -> None:
    sea = federation.sea
    title = f"Training on MLA drafting {suffix()}"
    event = new_event(sea, title, capacity=1)
    # The only place goes to someone else (the API's member token, another principal).
    other = sea.api(
        "POST", f"/api/v1/events/{event['id']}/registrations", "member", json={"name": "Other"}
    )
    assert other.status_code == 201 and other.json()["state"] == "confirmed", other.text

    page = sign_in(context, sea, "member")
    page.goto(f"{sea.url}/console/events?from=2027-08-01&to=2027-08-31")
    page.get_by_role("link", name=title).click()
    page.wait_for_url(f"**/console/events/{event['id']}")
    text = main_text(page)
    assert "Training" in text and "Bangkok, TH" in text
    assert "Aug 10, 2027, 9:00\u202fAM (Asia/Bangkok)" in text  # the event's own zone
    assert "Aug 10, 2027, 2:00:00\u202fAM UTC" in text  # and UTC
    assert "1 confirmed, 0 on the waiting list" in text
    assert "Requests for electronic evidence" in text and "Programme" in text
    check_page(page, "events-event")

    press(page, "Register")
    assert page.url.endswith(f"/console/events/{event['id']}#registration")
    state = registration_state(page)
    assert "On the waiting list" in state
    assert "You are number 1 on the waiting list." in state
    mine = [r for r in registrations(sea, event["id"]) if r["state"] == "waitlisted"]
    assert len(mine) == 1 and mine[0]["waitlist_position"] == 1
    assert cancel_button(page, mine[0]["id"]).count() == 1
    check_page(page, "events-event-waitlisted")

    # Back on the page: the events service lists it as the person's (mine=true), so
    # the form is not offered again.
    page.goto(f"{sea.url}/console/events/{event['id']}")
    assert "On the waiting list" in registration_state(page)
    assert page.get_by_role("button", name="Register").count() == 0
    assert not [c for c in page.context.cookies() if c["name"].startswith("jn_regs")]

    press(page, "Cancel registration")
    assert "Cancelled" in registration_state(page)
    assert cancel_button(page, mine[0]["id"]).count() == 0
    assert {r["id"]: r["state"] for r in registrations(sea, event["id"])}[mine[0]["id"]] == (
        "cancelled"
    )

    # The place is freed; registering again now gives a place.
    freed = sea.api(
        "DELETE", f"/api/v1/events/{event['id']}/registrations/{other.json()['id']}", "member"
    )
    assert freed.status_code == 200, freed.text
    press(page, "Register")
    assert "Confirmed" in registration_state(page)
    assert "You have a place." in registration_state(page)
    confirmed = [r for r in registrations(sea, event["id"]) if r["state"] == "confirmed"]
    assert len(confirmed) == 1
    assert cancel_button(page, confirmed[0]["id"]).count() == 1
    press(page, "Cancel registration")
    assert "Cancelled" in registration_state(page)
    assert "Confirmed" not in registration_state(page)


def test_registration_made_through_the_api_shows_on_the_console(
    federation: Federation, context: Any
) -> None:
    """No cookie carries it: the page asks the events service for the person's own."""
    sea = federation.sea
    event = new_event(sea, f"Study visit {suffix()}", capacity=1)
    path = f"/api/v1/events/{event['id']}/registrations"
    # The only place goes to the API's member service token, another principal.
    other = sea.api("POST", path, "member", json={"name": "Other"})
    assert other.status_code == 201, other.text
    token = {"Authorization": f"Bearer {person_token(federation, sea, 'member')}"}
    name = f"Ana {suffix()}"
    made = requests.post(sea.url + path, json={"name": name}, headers=token, timeout=15)
    assert made.status_code == 201 and made.json()["state"] == "waitlisted", made.text
    placed = made.json()

    page = sign_in(context, sea, "member")
    page.goto(f"{sea.url}/console/events/{event['id']}")
    state = registration_state(page)
    assert "On the waiting list" in state and name in state
    assert "You are number 1 on the waiting list." in state
    assert "Other" not in state, "the service token's registration is not the person's"
    assert page.get_by_role("button", name="Register").count() == 0
    check_page(page, "events-event-registered-through-the-api")
    # The page shows what the API answers the same person with mine=true.
    mine = requests.get(sea.url + path, params={"mine": "true"}, headers=token, timeout=15)
    assert [(r["id"], r["waitlist_position"]) for r in mine.json()["items"]] == [(placed["id"], 1)]

    cancel_button(page, placed["id"]).click()
    page.wait_for_url(f"**/console/events/{event['id']}#registration")
    page.wait_for_load_state()
    assert "Cancelled" in registration_state(page)
    mine = requests.get(sea.url + path, params={"mine": "true"}, headers=token, timeout=15)
    assert [r["state"] for r in mine.json()["items"]] == ["cancelled"]
    # The form is offered again.
    assert page.get_by_role("button", name="Register").count() == 1


def test_editor_sees_registrations_and_marks_attendance(
    federation: Federation, context: Any
) -> None:
    sea = federation.sea
    title = f"Working session {suffix()}"
    event = new_event(sea, title, capacity=10)
    placed = sea.api(
        "POST", f"/api/v1/events/{event['id']}/registrations", "member", json={"name": "Ana"}
    )
    assert placed.status_code == 201, placed.text
    page = sign_in(context, sea, "editor")
    page.goto(f"{sea.url}/console/events/{event['id']}")
    table = page.locator("#registrations + .jn-table-wrap table")
    assert "Ana" in table.inner_text() and "Confirmed" in table.inner_text()
    check_page(page, "events-event-editor")
    page.get_by_role("button", name="Mark attended Ana").click()
    page.wait_for_load_state()
    assert "Attended" in page.locator("#registrations + .jn-table-wrap table").inner_text()
    assert registrations(sea, event["id"])[0]["attended"] is True


def test_member_registers_for_ejn_plenary_across_the_federation(
    federation: Federation, context: Any
) -> None:
    sea, ejn = federation.sea, federation.ejn
    found = sea.api("GET", "/api/v1/events?network=EJN&kind=plenary&from=2027-01-01", "member")
    event = next(e for e in found.json()["items"] if e["title"] == "EJN Plenary meeting 2027")
    name = f"Somchai {suffix()}"

    page = sign_in(context, sea, "member")
    page.goto(f"{sea.url}/console/events/{event['id']}")
    assert "EJN organises this event; registrations are sent to EJN." in main_text(page)
    assert "EJN counts the places." in main_text(page)
    page.get_by_label("Name").fill(name)
    press(page, "Register")
    # Pending until EJN's answer comes back through federation; reload to see it.
    deadline = time.monotonic() + 45
    while "Confirmed" not in registration_state(page):
        assert "Waiting for an answer" in registration_state(page), registration_state(page)
        assert time.monotonic() < deadline, "EJN never confirmed the registration"
        time.sleep(1)
        page.reload()
    check_page(page, "events-event-federated-confirmed")
    held = [r for r in registrations(ejn, event["id"]) if r["name"] == name]
    assert len(held) == 1 and held[0]["network"] == "SEAJUST" and held[0]["state"] == "confirmed"

    press(page, "Cancel registration")
    assert "Cancelled" in registration_state(page)
    deadline = time.monotonic() + 45
    while [r["state"] for r in registrations(ejn, event["id"]) if r["name"] == name] != [
        "cancelled"
    ]:
        assert time.monotonic() < deadline, "EJN never learnt of the cancellation"
        time.sleep(1)


def test_month_view_renders_with_previous_and_next_months(
    federation: Federation, context: Any
) -> None:
    sea = federation.sea
    page = sign_in(context, sea, "member")
    page.goto(f"{sea.url}/console/events?view=month&month=2027-10")
    calendar = page.locator("table.jn-calendar")
    assert calendar.locator("caption").inner_text() == "October 2027"
    assert calendar.locator("thead th").all_inner_texts()[0] == "Mon"
    for day in (26, 27, 28):
        cell = calendar.locator("td").filter(has=page.locator(f'time[datetime="2027-10-{day}"]'))
        assert "SEAJUST Plenary 2027" in cell.inner_text()
    expected = sea.api("GET", "/api/v1/events?from=2027-10-01&to=2027-11-01", "member")
    titles = {e["title"] for e in expected.json()["items"]}
    links = set(calendar.locator("a").all_inner_texts())
    assert links == titles
    check_page(page, "events-month")

    page.get_by_role("link", name="Next month").click()
    page.wait_for_load_state()
    assert page.locator("table.jn-calendar caption").inner_text() == "November 2027"
    assert "EJN Plenary meeting 2027" in page.locator("table.jn-calendar").inner_text()
    page.get_by_role("link", name="Previous month").click()
    page.get_by_role("link", name="Previous month").click()
    page.wait_for_load_state()
    assert page.locator("table.jn-calendar caption").inner_text() == "September 2027"

    page.goto(f"{sea.url}/console/events?view=month&month=2027-13")
    assert "Enter a month as YYYY-MM" in page.locator(".jn-error-summary").inner_text()


# ------------------------------------------------------------------ directory


def authorities_named(node: Node, text: str) -> list[dict[str, Any]]:
    resp = node.api("GET", f"/api/v1/authorities?network={node.network}&q={quote(text)}", "editor")
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def test_import_check_reports_row_errors_and_writes_nothing_then_imports(
    federation: Federation, context: Any, tmp_path: Path
) -> None:
    sea = federation.sea
    tag = suffix()
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "record_type,jurisdiction,name,kind,email,competences\n"
        f"authority,TH,Import good {tag},court,good@th.example,mla;extradition\n"
        f"authority,ZZ,Import bad {tag},court,not-an-address,mla\n",
        encoding="utf-8",
    )
    page = sign_in(context, sea, "editor")
    page.goto(f"{sea.url}/console/directory/import")
    check_page(page, "directory-import")
    page.get_by_label("File (CSV or JSON)").set_input_files(str(bad))
    page.get_by_role("button", name="Check").click()
    page.wait_for_load_state()
    rows = page.locator("#check table tbody tr").all_inner_texts()
    cells = [re.split(r"\t", r) for r in rows]
    assert ["line 3", "jurisdiction"] in [c[:2] for c in cells], rows
    assert ["line 3", "email"] in [c[:2] for c in cells], rows
    assert all(c[0] == "line 3" for c in cells), "the good row has no error"
    assert "Nothing was written." in main_text(page)
    assert page.get_by_role("button", name="Import").count() == 0
    check_page(page, "directory-import-errors")
    assert authorities_named(sea, f"Import good {tag}") == []
    assert authorities_named(sea, f"Import bad {tag}") == []

    good = tmp_path / "good.csv"
    good.write_text(
        "record_type,jurisdiction,name,kind,email,competences\n"
        f"authority,TH,Import good {tag},court,good@th.example,mla;extradition\n"
        f"authority,VN,Import second {tag},police,second@vn.example,cybercrime\n",
        encoding="utf-8",
    )
    page.get_by_label("File (CSV or JSON)").set_input_files(str(good))
    page.get_by_role("button", name="Check").click()
    page.wait_for_load_state()
    assert "good.csv is ready to import" in main_text(page)
    assert "2 records to create and 0 to update" in main_text(page)
    assert authorities_named(sea, tag) == [], "the check wrote nothing"
    check_page(page, "directory-import-ready")
    page.get_by_role("button", name="Import").click()
    page.wait_for_url("**/console/directory/import?created=2&updated=0")
    assert "Imported: 2 created, 0 updated." in main_text(page)
    imported = authorities_named(sea, tag)
    assert sorted(a["name"] for a in imported) == [f"Import good {tag}", f"Import second {tag}"]
    first = next(a for a in imported if a["jurisdiction"] == "TH")
    assert first["competences"] == ["mla", "extradition"] and first["kind"] == "court"


def test_editor_creates_edits_and_deletes_an_authority(
    federation: Federation, context: Any
) -> None:
    sea = federation.sea
    name = f"Central Court {suffix()}"
    page = sign_in(context, sea, "editor")
    page.goto(f"{sea.url}/console/directory")
    page.wait_for_url("**/console/directory/authorities")
    check_page(page, "directory-authorities")
    page.get_by_role("link", name="Add an authority").click()
    check_page(page, "directory-authority-new")

    page.get_by_label("Jurisdiction").select_option("TH")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Kind").select_option("court")
    page.get_by_label("Mutual legal assistance").check()
    page.get_by_label("Extradition").check()
    page.get_by_label("Accepted languages").fill("en, th, x1")
    page.get_by_label("Email").fill("court@th.example")
    page.get_by_role("button", name="Save authority").click()
    page.wait_for_load_state()
    summary = page.locator(".jn-error-summary")
    assert "Accepted languages [2]" in summary.inner_text()
    summary.get_by_role("link").first.click()
    assert authorities_named(sea, name) == []
    check_page(page, "directory-authority-errors")

    page.get_by_label("Accepted languages").fill("en, th")
    page.get_by_role("button", name="Save authority").click()
    page.wait_for_url("**/console/directory/authorities/*?saved=1")
    assert "Authority saved: version 1." in main_text(page)
    record_id = page.url.split("/authorities/")[1].split("?")[0]
    got = sea.api("GET", f"/api/v1/authorities/{record_id}", "editor").json()
    assert got["name"] == name and got["jurisdiction"] == "TH" and got["kind"] == "court"
    assert got["competences"] == ["mla", "extradition"]
    assert got["accepted_languages"] == ["en", "th"] and got["email"] == "court@th.example"
    assert got["visibility"] == "network" and got["version"] == 1
    check_page(page, "directory-authority-edit")

    page.get_by_label("Name", exact=True).fill(name + " (renamed)")
    page.get_by_label("Phone").fill("+66 2 141 1111")
    page.get_by_label("Available 24/7").check()
    page.get_by_label("Visibility").select_option("federation")
    page.get_by_role("button", name="Save authority").click()
    page.wait_for_url("**/console/directory/authorities/*?saved=1")
    assert "Authority saved: version 2." in main_text(page)
    got = sea.api("GET", f"/api/v1/authorities/{record_id}", "editor").json()
    assert got["name"] == name + " (renamed)" and got["phone"] == "+6621411111"
    assert got["available_24_7"] is True and got["visibility"] == "federation"
    assert got["version"] == 2

    # Someone else changes it meanwhile (the API, If-Match): the form's version is stale.
    body = {k: got[k] for k in ("jurisdiction", "name", "kind", "competences", "email")}
    body["address"] = "Ratchadaphisek Road"
    changed = sea.api(
        "PUT",
        f"/api/v1/authorities/{record_id}",
        "editor",
        json=body,
        headers={"If-Match": '"2"'},
    )
    assert changed.status_code == 200, changed.text
    page.get_by_label("Name", exact=True).fill(name + " (mine)")
    page.get_by_role("button", name="Save authority").click()
    page.wait_for_load_state()
    assert "Someone else changed this record" in main_text(page)
    got = sea.api("GET", f"/api/v1/authorities/{record_id}", "editor").json()
    assert got["version"] == 3 and got["name"] == name + " (renamed)"
    check_page(page, "directory-authority-stale")
    page.get_by_role("link", name=re.compile("Reload the record")).click()
    page.wait_for_load_state()
    assert page.get_by_label("Address").input_value() == "Ratchadaphisek Road"

    page.get_by_role("link", name="Delete authority").click()
    page.wait_for_url(f"**/console/directory/authorities/{record_id}/delete")
    check_page(page, "directory-authority-delete")
    page.get_by_role("button", name="Delete authority").click()
    page.wait_for_url("**/console/directory/authorities?deleted=*")
    assert "Deleted" in main_text(page)
    assert sea.api("GET", f"/api/v1/authorities/{record_id}", "editor").status_code == 404


def test_editor_adds_a_contact_point_and_lists_it(federation: Federation, context: Any) -> None:
    sea = federation.sea
    authority = sea.api(
        "POST",
        "/api/v1/authorities",
        "editor",
        json={"jurisdiction": "PH", "name": f"PH Office {suffix()}", "kind": "prosecution"},
    ).json()
    name = f"Maria {suffix()}"
    page = sign_in(context, sea, "editor")
    page.goto(f"{sea.url}/console/directory/contact-points")
    check_page(page, "directory-contact-points")
    page.goto(f"{sea.url}/console/directory/authorities/{authority['id']}")
    page.get_by_role("link", name="Add a contact point to this authority").click()
    assert page.get_by_label("Authority").input_value() == authority["id"]
    page.get_by_label("Jurisdiction").select_option("PH")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Title").fill("State prosecutor")
    page.get_by_label("Languages").fill("en, tl")
    page.get_by_label("Cybercrime").check()
    page.get_by_label("Term ends").fill("2029-06-30")
    check_page(page, "directory-contact-point-new")
    page.get_by_role("button", name="Save contact point").click()
    page.wait_for_url("**/console/directory/contact-points/*?saved=1")
    record_id = page.url.split("/contact-points/")[1].split("?")[0]
    got = sea.api("GET", f"/api/v1/contact-points/{record_id}", "editor").json()
    assert got["authority_id"] == authority["id"] and got["name"] == name
    assert got["languages"] == ["en", "tl"] and got["competences"] == ["cybercrime"]
    assert got["term_end"] == "2029-06-30"
    page.goto(f"{sea.url}/console/directory/contact-points?jurisdiction=PH&q={quote(name)}")
    assert page.locator("table tbody tr").count() == 1
    assert name in page.locator("table").inner_text()


def _profile_content(profile: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in profile.items() if k not in ("version", "updated_at", "created_at")}
    kept.pop("last_verified_at", None)
    kept["measures"] = sorted(profile["measures"], key=lambda m: m["code"])
    return kept


def test_editor_edits_a_routing_profile_with_named_field_errors(
    federation: Federation, context: Any
) -> None:
    sea = federation.sea
    before = sea.api("GET", "/api/v1/jurisdictions/TH/routing-profile", "editor").json()
    page = sign_in(context, sea, "editor")
    page.goto(f"{sea.url}/console/directory/routing-profiles")
    assert "TH: Thailand" in page.locator("table").inner_text()
    check_page(page, "directory-profiles")
    page.goto(f"{sea.url}/console/directory/routing-profiles/TH")
    check_page(page, "directory-profile-edit")
    days = page.get_by_label("Acknowledgement days")
    assert days.input_value() == str(before["acknowledgement_days"])

    days.fill("many")
    page.get_by_role("button", name="Save routing profile").click()
    page.wait_for_load_state()
    assert (
        "Acknowledgement days: must be an integer" in page.locator(".jn-error-summary").inner_text()
    )
    unchanged = sea.api("GET", "/api/v1/jurisdictions/TH/routing-profile", "editor").json()
    assert unchanged["version"] == before["version"]
    check_page(page, "directory-profile-errors")

    # Saved back as it was: the form carries every part of the profile unchanged.
    page.get_by_label("Acknowledgement days").fill(str(before["acknowledgement_days"]))
    page.get_by_role("button", name="Save routing profile").click()
    page.wait_for_url("**/console/directory/routing-profiles/TH?saved=1")
    after = sea.api("GET", "/api/v1/jurisdictions/TH/routing-profile", "editor").json()
    assert after["version"] == before["version"] + 1
    assert _profile_content(after) == _profile_content(before)


def test_export_gives_what_the_import_reads(federation: Federation, context: Any) -> None:
    sea = federation.sea
    page = sign_in(context, sea, "editor")
    cookies = {c["name"]: c["value"] for c in context.cookies()}
    got = requests.get(f"{sea.url}/console/directory/export.csv", cookies=cookies, timeout=15)
    assert got.status_code == 200 and got.headers["Content-Type"].startswith("text/csv")
    assert got.text.startswith("record_type,id,jurisdiction,name,kind,")
    listed = sea.api("GET", "/api/v1/authorities?network=SEAJUST&limit=500", "editor").json()
    assert f",{listed['items'][0]['id']}," in got.text
    page.close()


def test_posts_without_the_csrf_field_are_refused_and_write_nothing(
    federation: Federation,
) -> None:
    sea = federation.sea
    session = requests.Session()
    form = session.get(f"{sea.url}/console/sign-in", timeout=15).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    account = sea.accounts["editor"]
    signed = session.post(
        f"{sea.url}/console/sign-in",
        data={"email": account["email"], "password": account["password"], "csrf_token": token[1]},
        timeout=15,
    )
    assert signed.status_code == 200 and "/console/" in signed.url
    page = session.get(f"{sea.url}/console/directory/import", timeout=15)
    assert page.status_code == 200, "signed in as the editor"
    tag = suffix()
    csv = f"record_type,jurisdiction,name,kind\nauthority,TH,No token {tag},court\n"
    refused = session.post(
        f"{sea.url}/console/directory/import/run",
        files={"content": (None, csv), "format": (None, "csv")},
        timeout=15,
    )
    assert refused.status_code == 403
    refused = session.post(
        f"{sea.url}/console/directory/authorities/new",
        data={"jurisdiction": "TH", "name": f"No token {tag}", "kind": "court"},
        timeout=15,
    )
    assert refused.status_code == 403
    assert authorities_named(sea, f"No token {tag}") == []
