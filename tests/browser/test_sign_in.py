"""Signing in and out in a real browser: a wrong password, the hardened session cookie, a
form without its CSRF token, the administrator's second step, the language switch, and the
pages' accessibility and width on a phone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    Federation,
    assert_accessible,
    assert_fits_phone,
    shot,
    sign_in,
    totp_now,
)

pytestmark = pytest.mark.slow


def test_wrong_password_then_sign_in_and_out(federation: Federation, page: Any) -> None:
    node = federation.sea
    account = node.accounts["member"]
    page.goto(f"{node.url}/")
    assert page.url.endswith("/console/lookup")  # the root leads to the console
    page.get_by_role("link", name="Sign in").click()
    assert_accessible(page)
    assert_fits_phone(page)
    shot(page, "sign-in")

    page.get_by_label("Email").fill(account["email"])
    page.get_by_label("Password").fill("not the password, surely")
    page.get_by_role("button", name="Sign in").click()
    summary = page.locator(".jn-error-summary")
    assert "The email address or the password is not right" in summary.inner_text()
    # The summary links to the field it is about.
    assert summary.get_by_role("link").get_attribute("href") == "#email"
    assert_accessible(page)
    shot(page, "sign-in-wrong-password")

    page.get_by_label("Password").fill(account["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/console/lookup")
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["jn_session_seajust"]
    assert session["httpOnly"] and session["sameSite"] == "Lax" and not session["secure"]
    assert page.get_by_role("button", name="Sign out").is_visible()

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/sign-in")
    page.goto(f"{node.url}/console/requests")
    assert "/console/sign-in" in page.url  # signed out: the page asks to sign in


def test_a_form_without_its_csrf_token_is_refused(federation: Federation, page: Any) -> None:
    node = federation.sea
    account = node.accounts["editor"]
    page.goto(f"{node.url}/console/sign-in")
    page.get_by_label("Email").fill(account["email"])
    page.get_by_label("Password").fill(account["password"])
    # What a forged cross-site form would lack: the token.
    page.evaluate("document.querySelector('input[name=csrf_token]').remove()")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("heading", name="You do not have access to this page").is_visible()
    assert "did not come from this site" in page.content()
    assert "jn_session_seajust" not in {c["name"] for c in page.context.cookies()}
    shot(page, "csrf-refused")


def test_the_administrator_enrols_then_uses_a_code(federation: Federation, browser: Any) -> None:
    node = federation.ejn
    assert "admin" not in node.storage, "EJN's admin is kept for this test's enrolment"
    first = browser.new_context(bypass_csp=True)
    try:
        page = first.new_page()
        account = node.accounts["admin"]
        page.goto(f"{node.url}/console/sign-in")
        page.get_by_label("Email").fill(account["email"])
        page.get_by_label("Password").fill(account["password"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console/sign-in/enrol**")
        assert page.locator(".jn-enrol__qr svg").is_visible()
        secret = page.locator("#totp-secret").inner_text().strip()
        assert_accessible(page)
        assert_fits_phone(page)
        shot(page, "sign-in-enrol")
        page.get_by_label("Code").fill("123456" if totp_now(secret) != "123456" else "654321")
        page.get_by_role("button", name="Confirm").click()
        assert "The code does not match" in page.locator(".jn-error-summary").inner_text()
        page.get_by_label("Code").fill(totp_now(secret))
        page.get_by_role("button", name="Confirm").click()
        codes = page.locator("#recovery-codes li").all_inner_texts()
        assert len(codes) == 10
        assert_accessible(page)
        shot(page, "sign-in-recovery-codes")
        page.get_by_role("link", name="Continue").click()
        page.wait_for_url("**/console/lookup**")
        node.totp_secret["admin"] = secret
        node.storage["admin"] = first.cookies()
    finally:
        first.close()

    # Another browser: password, then a recovery code (the app's code of this half-minute
    # has just been used, and each is accepted once).
    second = browser.new_context(bypass_csp=True)
    try:
        page = second.new_page()
        page.goto(f"{node.url}/console/sign-in")
        page.get_by_label("Email").fill(account["email"])
        page.get_by_label("Password").fill(account["password"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console/sign-in/code**")
        assert_accessible(page)
        shot(page, "sign-in-code")
        page.get_by_label("Code").fill(codes[0])
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_url("**/console/lookup**")
        page.goto(f"{node.url}/console/account")
        assert "9 recovery codes left" in page.content()
        assert_accessible(page)
        shot(page, "account")
    finally:
        second.close()


def test_french_pages_with_french_dates(federation: Federation, context: Any) -> None:
    node = federation.sea
    page = sign_in(context, node, "member")
    page.goto(f"{node.url}/console/events")
    page.get_by_role("link", name="Français").click()
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.get_by_role("button", name="Se déconnecter").is_visible()
    text = page.locator("main").inner_text()
    assert any(
        month in text
        for month in (
            "janv.",
            "févr.",
            "mars",
            "avr.",
            "mai",
            "juin",
            "juil.",
            "août",
            "sept.",
            "oct.",
            "nov.",
            "déc.",
        )
    )
    assert_accessible(page)
    assert_fits_phone(page)
    shot(page, "events-fr")
    page.goto(f"{node.url}/console/lookup?jurisdiction=FR&competence=mla")
    assert page.get_by_role("button", name="Rechercher").is_visible()
    page.set_viewport_size(PHONE)
    shot(page, "lookup-fr-phone")
    page.set_viewport_size(DESKTOP)
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("button", name="Search").is_visible()
