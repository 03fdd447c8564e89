"""What every console page shares: the session and CSRF middleware, rendering with the
base context, sign-in checks, and turning service errors into form errors or error pages.

Pages call the same gRPC methods and the same converters as the HTTP API (`gateway.routes`),
so a page shows what the API answers; this module only adds the browser's concerns.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
import grpc
from aiohttp import web
from multidict import MultiDictProxy

from gateway import keys
from gateway.accounts import AccountStore, ConsoleSession
from gateway.console import i18n
from gateway.console.i18n import _
from gateway.console.names import role_names
from gateway.problems import GRPC_TO_HTTP
from services.common.errors import DomainError, FieldError, InvalidInput, detail_from_trailers
from services.common.identity import Caller

log = logging.getLogger(__name__)

# Cookies are scoped by host, not port: several nodes on one host (the demo) would sign each
# other out, so each cookie's name carries the node's network.
SESSION_COOKIE = "jn_session"
CSRF_COOKIE = "jn_csrf"  # before sign-in: a double-submit value
CSRF_FIELD = "csrf_token"
PREFIX = "/console"
STATIC = f"{PREFIX}/static/"
SESSION: web.RequestKey[ConsoleSession | None] = web.RequestKey("console_session")
CSRF: web.RequestKey[str] = web.RequestKey("console_csrf")
ACCOUNTS: web.AppKey[AccountStore] = web.AppKey("accounts")

# No inline script or style anywhere: the console works with none, and a strict policy
# makes an injected script inert even if escaping were ever missed.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Set-password links carry a secret in the URL: never send it on as a Referer.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class SignInRequired(Exception):
    """The page needs a signed-in person: redirect to the sign-in page and back."""


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str
    role: str  # the least role that sees it


def nav_items() -> list[NavItem]:
    return [
        NavItem(f"{PREFIX}/lookup", _("Lookup"), "anonymous"),
        NavItem(f"{PREFIX}/routes", _("Routes"), "anonymous"),
        NavItem(f"{PREFIX}/requests", _("Requests"), "member"),
        NavItem(f"{PREFIX}/events", _("Events"), "anonymous"),
        NavItem(f"{PREFIX}/directory", _("Directory"), "editor"),
        NavItem(f"{PREFIX}/statistics", _("Statistics"), "editor"),
        NavItem(f"{PREFIX}/admin/peers", _("Administration"), "admin"),
    ]


def caller(request: web.Request) -> Caller:
    return request[keys.CALLER]


def secure_cookies(request: web.Request) -> bool:
    return request.app[keys.SETTINGS].gateway.url.startswith("https://")


def cookie_name(request: web.Request, name: str) -> str:
    return f"{name}_{request.app[keys.SETTINGS].network.lower()}"


def set_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    max_age: int | None = None,
) -> None:
    response.set_cookie(
        cookie_name(request, name),
        value,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=secure_cookies(request),
        max_age=max_age,
    )


def require_person(request: web.Request, role: str = "member") -> Caller:
    """The signed-in caller if they hold `role`; else the sign-in page, or 403."""
    who = caller(request)
    if not who.authenticated:
        raise SignInRequired()
    if not who.at_least(role):
        role_name = role_names().get(role, role)
        raise web.HTTPForbidden(
            reason=_("This page is for the role {role}.").format(role=role_name)
        )
    return who


def see_other(location: str) -> web.Response:
    """After a POST (or to send a person elsewhere): 303, so a reload does not re-post."""
    return web.Response(status=303, headers={"Location": location})


def safe_next(value: str | None, default: str = f"{PREFIX}/lookup") -> str:
    """Only this console's own paths: never an open redirect."""
    if not value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith(f"{PREFIX}/"):
        return default
    if "\\" in value or value.startswith("//"):
        return default
    return value


def render(
    request: web.Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> web.Response:
    who = caller(request)
    settings = request.app[keys.SETTINGS]
    session = request.get(SESSION)
    base = {
        "request": request,
        "caller": who,
        "signed_in": who.authenticated,
        "session": session,
        "csrf_field": CSRF_FIELD,
        "csrf_token": request.get(CSRF, ""),
        "lang": i18n.language(),
        "languages": i18n.LANGUAGES,
        "network": settings.network,
        "node_name": settings.name,
        "path": request.path,
        "path_qs": request.path_qs,
        "nav": [n for n in nav_items() if who.at_least(n.role)],
        "errors": [],
        # A form's field name -> its label, so the error summary names fields as the form
        # does; a field without one is named after the API field it is.
        "field_labels": {},
    }
    base.update(context or {})
    return aiohttp_jinja2.render_template(template, request, base, status=status)


def field_errors(exc: Exception) -> list[FieldError] | None:
    """The field errors of a validation failure (local or from a service), else None."""
    if isinstance(exc, InvalidInput):
        return list(exc.errors)
    if isinstance(exc, grpc.aio.AioRpcError) and exc.code() in (
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.OUT_OF_RANGE,
    ):
        info = detail_from_trailers(exc.trailing_metadata())
        if info is not None and info.violations:
            return [FieldError(v.field, v.message) for v in info.violations]
        return [FieldError("", exc.details() or "invalid input")]
    return None


def problem_text(exc: Exception) -> str:
    """What a person is told when a service refuses (409, 403 ...)."""
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, grpc.aio.AioRpcError):
        if exc.code() == grpc.StatusCode.UNAVAILABLE:
            return _("A JustNet service is unavailable; try again shortly.")
        return str(exc.details() or exc.code().name)
    return str(exc)


async def form(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form (its CSRF token was checked by the middleware)."""
    return await request.post()


def _status_of(exc: Exception) -> int:
    if isinstance(exc, DomainError):
        return GRPC_TO_HTTP.get(exc.code, (500, "", ""))[0]
    if isinstance(exc, grpc.aio.AioRpcError):
        return GRPC_TO_HTTP.get(exc.code(), (502, "", ""))[0]
    return 500


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    titles = {
        400: _("Something in the request is not right"),
        401: _("Sign in to continue"),
        403: _("You do not have access to this page"),
        404: _("Page not found"),
        409: _("This change is not possible now"),
        412: _("Someone else changed this record"),
        413: _("The file is too large"),
        429: _("Too many attempts"),
        503: _("A service is unavailable"),
        504: _("A service did not answer in time"),
    }
    title = titles.get(status, _("Sorry, there is a problem with the service"))
    return render(request, "error.html", {"title": title, "message": message}, status=status)


async def _load_session(request: web.Request) -> None:
    request[SESSION] = None
    secret = request.cookies.get(cookie_name(request, SESSION_COOKIE), "")
    if secret and secret.isascii() and len(secret) <= 100:
        request[SESSION] = await request.app[ACCOUNTS].session(secret)
    session = request[SESSION]
    if session is not None:
        request[CSRF] = session.csrf
        if session.complete:  # a half-signed-in session grants nothing yet
            person = session.person
            request[keys.CALLER] = Caller(
                role=person.role,
                network=request.app[keys.SETTINGS].network,
                subject=person.principal,
                name=person.name,
            )
    else:
        given = request.cookies.get(cookie_name(request, CSRF_COOKIE), "")
        request[CSRF] = given if 20 <= len(given) <= 100 and given.isascii() else ""


async def _csrf_ok(request: web.Request) -> bool:
    expected = request[CSRF]
    if not expected:
        return False
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return False
    posted = await request.post()
    given = posted.get(CSRF_FIELD, "")
    return isinstance(given, str) and secrets.compare_digest(given.encode(), expected.encode())


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not (request.path == PREFIX or request.path.startswith(f"{PREFIX}/")):
        return await handler(request)
    if request.path.startswith(STATIC):
        # Stylesheet and icon: no session or CSRF work; their URLs carry the content's hash
        # (`static()` in __init__), so browsers may keep them.
        asset = await handler(request)
        asset.headers["X-Content-Type-Options"] = "nosniff"
        if "v" in request.query:
            asset.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return asset
    i18n.set_language(
        i18n.negotiate(
            request.cookies.get(cookie_name(request, i18n.LANGUAGE_COOKIE)),
            request.headers.get("Accept-Language", ""),
        )
    )
    await _load_session(request)
    new_csrf = ""
    if request[SESSION] is None and not request[CSRF]:
        new_csrf = request[CSRF] = secrets.token_urlsafe(32)
    response: web.StreamResponse
    try:
        if request.method not in ("GET", "HEAD") and not await _csrf_ok(request):
            response = error_page(
                request,
                403,
                _(
                    "This form has expired or did not come from this site. "
                    "Go back, reload the page and try again."
                ),
            )
        else:
            response = await handler(request)
    except SignInRequired:
        response = see_other(f"{PREFIX}/sign-in?next={quote(request.path_qs)}")
    except web.HTTPRedirection as exc:
        response = web.Response(
            status=exc.status, headers={"Location": exc.headers.get("Location", "")}
        )
    except web.HTTPException as exc:
        response = error_page(request, exc.status, exc.reason or "")
    except (DomainError, grpc.aio.AioRpcError) as exc:
        status = _status_of(exc)
        if status >= 500:
            log.warning("console %s %s: %s", request.method, request.path, type(exc).__name__)
        response = error_page(request, status, problem_text(exc))
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if new_csrf:
        set_cookie(request, response, CSRF_COOKIE, new_csrf)
    return response
