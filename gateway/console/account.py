"""Console pages: signing in and out (password, then a TOTP code or a recovery code), an
administrator's first-time enrolment of a second factor, one-time password links, the
person's own account page, and the language switch."""

from __future__ import annotations

import segno
from aiohttp import web
from markupsafe import Markup

from gateway.accounts import MAX_PASSWORD, MIN_PASSWORD, ConsoleSession, Person, Throttled
from gateway.console import i18n
from gateway.console.i18n import _, ngettext
from gateway.console.web import (
    ACCOUNTS,
    PREFIX,
    SESSION,
    SESSION_COOKIE,
    cookie_name,
    form,
    render,
    require_person,
    safe_next,
    see_other,
    set_cookie,
)
from services.common.errors import FieldError, InvalidInput

routes = web.RouteTableDef()
CODE_PAGE = f"{PREFIX}/sign-in/code"
ENROL_PAGE = f"{PREFIX}/sign-in/enrol"


def _throttled(exc: Throttled) -> str:
    minutes = exc.retry_after // 60 + 1
    return ngettext(
        "Too many failed attempts to sign in. Wait %(num)d minute and try again.",
        "Too many failed attempts to sign in. Wait %(num)d minutes and try again.",
        minutes,
    ) % {"num": minutes}


def _address(request: web.Request) -> str:
    return request.remote or "unknown"


def _qr_svg(uri: str) -> Markup:
    # segno writes attributes only (no inline style), so the strict CSP allows it.
    svg = segno.make(uri, error="m").svg_inline(scale=4, dark="#0b0c0c", light="#ffffff")
    return Markup(svg)


async def _start_session(
    request: web.Request, person: Person, stage: str, location: str
) -> web.Response:
    """A new session cookie (renewed at each step of signing in); the old one ends."""
    accounts = request.app[ACCOUNTS]
    old = request.get(SESSION)
    if old is not None:
        await accounts.end_session(old.id)
    secret, _session = await accounts.open_session(person, stage)
    response = see_other(location)
    set_cookie(request, response, SESSION_COOKIE, secret)
    return response


def _pending(request: web.Request) -> ConsoleSession | None:
    """A session that passed the password and still owes its second factor."""
    session = request.get(SESSION)
    return session if session is not None and not session.complete else None


@routes.get(f"{PREFIX}/sign-in")
async def sign_in_page(request: web.Request) -> web.Response:
    session = request.get(SESSION)
    target = safe_next(request.query.get("next"))
    if session is not None and session.complete:
        return see_other(target)
    if session is not None:
        return see_other(CODE_PAGE if session.person.has_second_factor else ENROL_PAGE)
    return render(request, "sign_in.html", {"next": target, "email": ""})


@routes.post(f"{PREFIX}/sign-in")
async def sign_in(request: web.Request) -> web.Response:
    data = await form(request)
    email = str(data.get("email", ""))[:320]
    password = str(data.get("password", ""))
    target = safe_next(str(data.get("next", "")))
    context = {"next": target, "email": email}
    if not email.strip() or not password:
        errors = []
        if not email.strip():
            errors.append(FieldError("email", _("Enter your email address")))
        if not password:
            errors.append(FieldError("password", _("Enter your password")))
        return render(request, "sign_in.html", {**context, "errors": errors}, status=400)
    try:
        person = await request.app[ACCOUNTS].check_password(email, password, _address(request))
    except Throttled as exc:
        message = _throttled(exc)
        response = render(
            request, "sign_in.html", {**context, "errors": [FieldError("email", message)]}, 429
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if person is None:
        error = FieldError("email", _("The email address or the password is not right"))
        return render(request, "sign_in.html", {**context, "errors": [error]}, status=401)
    if person.has_second_factor:
        return await _start_session(request, person, "password", f"{CODE_PAGE}?next={target}")
    if person.needs_second_factor:
        return await _start_session(request, person, "password", f"{ENROL_PAGE}?next={target}")
    return await _start_session(request, person, "full", target)


@routes.get(CODE_PAGE)
async def code_page(request: web.Request) -> web.Response:
    if _pending(request) is None:
        return see_other(f"{PREFIX}/sign-in")
    return render(request, "sign_in_code.html", {"next": safe_next(request.query.get("next"))})


@routes.post(CODE_PAGE)
async def code(request: web.Request) -> web.Response:
    session = _pending(request)
    if session is None:
        return see_other(f"{PREFIX}/sign-in")
    data = await form(request)
    target = safe_next(str(data.get("next", "")))
    try:
        ok = await request.app[ACCOUNTS].check_second_factor(
            session.person.id, str(data.get("code", ""))[:40], _address(request)
        )
    except Throttled as exc:
        message = _throttled(exc)
        error = FieldError("code", message)
        return render(request, "sign_in_code.html", {"next": target, "errors": [error]}, 429)
    if not ok:
        error = FieldError(
            "code", _("The code is not right; enter the current code or a recovery code")
        )
        return render(request, "sign_in_code.html", {"next": target, "errors": [error]}, 401)
    return await _start_session(request, session.person, "full", target)


def _enrol_context(
    request: web.Request, person: Person, secret: str, target: str
) -> dict[str, object]:
    accounts = request.app[ACCOUNTS]
    return {
        "secret": secret,
        "qr": _qr_svg(accounts.totp_uri(secret, person.email)),
        "next": target,
        "person": person,
    }


@routes.get(ENROL_PAGE)
async def enrol_page(request: web.Request) -> web.Response:
    session = _pending(request)
    if session is None or session.person.has_second_factor:
        return see_other(f"{PREFIX}/sign-in")
    secret = request.app[ACCOUNTS].new_totp_secret()
    target = safe_next(request.query.get("next"))
    return render(request, "enrol.html", _enrol_context(request, session.person, secret, target))


async def _enrol(
    request: web.Request, person: Person, action: str
) -> tuple[list[str] | None, web.Response | None]:
    data = await form(request)
    secret = str(data.get("secret", ""))[:64]
    target = safe_next(str(data.get("next", "")))
    if not secret.isalnum():
        return None, see_other(action)
    try:
        codes = await request.app[ACCOUNTS].enrol_totp(
            person.id, secret, str(data.get("code", ""))[:40]
        )
    except InvalidInput:
        # The store's one refusal here, said in the page's language.
        errors = [
            FieldError(
                "code", _("The code does not match; check that your device's clock is right")
            )
        ]
        context = {
            **_enrol_context(request, person, secret, target),
            "errors": errors,
            "action": action,
        }
        return None, render(request, "enrol.html", context, status=400)
    return codes, None


@routes.post(ENROL_PAGE)
async def enrol(request: web.Request) -> web.Response:
    session = _pending(request)
    if session is None or session.person.has_second_factor:
        return see_other(f"{PREFIX}/sign-in")
    codes, failed = await _enrol(request, session.person, ENROL_PAGE)
    if failed is not None:
        return failed
    accounts = request.app[ACCOUNTS]
    await accounts.end_session(session.id)
    secret, full = await accounts.open_session(session.person, "full")
    request[SESSION] = full
    target = safe_next(str((await form(request)).get("next", "")))
    response = render(request, "recovery_codes.html", {"codes": codes, "next": target})
    set_cookie(request, response, SESSION_COOKIE, secret)
    return response


@routes.post(f"{PREFIX}/sign-out")
async def sign_out(request: web.Request) -> web.Response:
    session = request.get(SESSION)
    if session is not None:
        await request.app[ACCOUNTS].end_session(session.id)
    response = see_other(f"{PREFIX}/sign-in")
    response.del_cookie(cookie_name(request, SESSION_COOKIE), path="/")
    return response


@routes.get(f"{PREFIX}/set-password")
async def set_password_page(request: web.Request) -> web.Response:
    token = request.query.get("token", "")[:100]
    person = await request.app[ACCOUNTS].link_person(token) if token else None
    if person is None:
        return render(request, "set_password.html", {"token": "", "person": None}, status=404)
    return render(request, "set_password.html", {"token": token, "person": person})


@routes.post(f"{PREFIX}/set-password")
async def set_password(request: web.Request) -> web.Response:
    data = await form(request)
    token = str(data.get("token", ""))[:100]
    password = str(data.get("password", ""))
    accounts = request.app[ACCOUNTS]
    person = await accounts.link_person(token) if token else None
    if person is None:
        return render(request, "set_password.html", {"token": "", "person": None}, status=404)
    errors = []
    if password != str(data.get("confirm", "")):
        errors.append(FieldError("confirm", _("The two passwords are not the same")))
    elif not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        message = _("Use at least {min} and at most {max} characters")
        errors.append(FieldError("password", message.format(min=MIN_PASSWORD, max=MAX_PASSWORD)))
    else:
        try:
            await accounts.use_link(token, password)
        except InvalidInput:  # the link was used or expired meanwhile
            return render(request, "set_password.html", {"token": "", "person": None}, status=404)
    if errors:
        context = {"token": token, "person": person, "errors": errors}
        return render(request, "set_password.html", context, status=400)
    return see_other(f"{PREFIX}/sign-in?password=set")


def _own_session(request: web.Request) -> ConsoleSession:
    """The signed-in person's session (without one, the page asks them to sign in)."""
    require_person(request)
    session = request[SESSION]
    assert session is not None
    return session


def _mail_choices() -> dict[str, object]:
    return {
        "notification_choices": [
            ("each", _("A mail for each notification")),
            ("digest", _("One digest a day")),
            ("off", _("No mail")),
        ],
        "language_choices": list(i18n.LANGUAGES.items()),
    }


@routes.get(f"{PREFIX}/account")
async def account_page(request: web.Request) -> web.Response:
    session = _own_session(request)
    person = await request.app[ACCOUNTS].require(session.person.id)  # current choices
    left = await request.app[ACCOUNTS].recovery_codes_left(person.id)
    context = {"person": person, "codes_left": left, "saved": "saved" in request.query}
    return render(request, "account.html", {**context, **_mail_choices()})


@routes.post(f"{PREFIX}/account/notifications")
async def account_notifications(request: web.Request) -> web.Response:
    """The person's mail: each notification, a daily digest or none, and its language."""
    session = _own_session(request)
    data = await form(request)
    accounts = request.app[ACCOUNTS]
    try:
        await accounts.set_mail_preferences(
            session.person.id,
            str(data.get("notifications", ""))[:16],
            str(data.get("mail_language", ""))[:8],
        )
    except InvalidInput as exc:
        person = await accounts.require(session.person.id)
        left = await accounts.recovery_codes_left(person.id)
        context = {"person": person, "codes_left": left, "errors": exc.errors, "saved": False}
        return render(request, "account.html", {**context, **_mail_choices()}, status=400)
    return see_other(f"{PREFIX}/account?saved")


@routes.get(f"{PREFIX}/account/second-factor")
async def account_enrol_page(request: web.Request) -> web.Response:
    session = _own_session(request)
    if session.person.has_second_factor:
        return see_other(f"{PREFIX}/account")
    secret = request.app[ACCOUNTS].new_totp_secret()
    context = _enrol_context(request, session.person, secret, f"{PREFIX}/account")
    return render(request, "enrol.html", {**context, "action": f"{PREFIX}/account/second-factor"})


@routes.post(f"{PREFIX}/account/second-factor")
async def account_enrol(request: web.Request) -> web.Response:
    session = _own_session(request)
    if session.person.has_second_factor:
        return see_other(f"{PREFIX}/account")
    codes, failed = await _enrol(request, session.person, f"{PREFIX}/account/second-factor")
    if failed is not None:
        return failed
    return render(request, "recovery_codes.html", {"codes": codes, "next": f"{PREFIX}/account"})


@routes.get(f"{PREFIX}/language")
async def language(request: web.Request) -> web.Response:
    """Switches the console's language (a preference cookie; nothing on the server)."""
    chosen = request.query.get("lang", "")
    response = see_other(safe_next(request.query.get("next")))
    if chosen in i18n.LANGUAGES:
        set_cookie(request, response, i18n.LANGUAGE_COOKIE, chosen, max_age=365 * 86400)
    return response
