"""The web console: server-rendered pages for practitioners, secretariats and administrators.

`setup(app)` installs the templates (Jinja2, autoescaped, gettext), the static files and every
page's routes; `web.console_middleware` (in the app's middleware chain) gives each page its
session, CSRF check, language and security headers. Page modules hold one area each.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from gateway.console import (
    account,
    admin_pages,
    directory_pages,
    events_pages,
    i18n,
    lookup_pages,
    names,
    requests_pages,
    routes_pages,
    statistics_pages,
)
from gateway.console.web import ACCOUNTS, PREFIX, STATIC, see_other

HERE = Path(__file__).parent
PAGE_MODULES = (
    account,
    lookup_pages,
    routes_pages,
    requests_pages,
    events_pages,
    directory_pages,
    statistics_pages,
    admin_pages,
)


def environment(app: web.Application) -> jinja2.Environment:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code: no stat() of every template on every render.
        auto_reload=False,
        cache_size=-1,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["datetime"] = i18n.format_datetime
    env.filters["date"] = i18n.format_date
    env.filters["ago"] = i18n.format_ago
    env.filters["number"] = i18n.format_number
    env.filters["percent"] = i18n.format_percent
    env.globals["static"] = _static_url
    # Codes shown in words wherever a template has one at hand.
    env.globals["role_name"] = lambda code: names.role_names().get(code, code)
    env.globals["visibility_name"] = lambda code: names.visibility_names().get(code, code)
    return env


def _static_url(name: str) -> str:
    """A static file's URL with its content hash, so browsers may cache it for good."""
    path = HERE / "static" / name
    digest = _DIGESTS.get(name)
    if digest is None:
        digest = _DIGESTS[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    return f"{STATIC}{name}?v={digest}"


_DIGESTS: dict[str, str] = {}


async def _root(request: web.Request) -> web.Response:
    return see_other(f"{PREFIX}/lookup")


def setup(app: web.Application) -> None:
    environment(app)
    app.router.add_get("/", _root)
    app.router.add_get(PREFIX, _root)
    app.router.add_get(f"{PREFIX}/", _root)
    app.router.add_static(STATIC.rstrip("/"), HERE / "static")
    for module in PAGE_MODULES:
        app.router.add_routes(module.routes)


__all__ = ["ACCOUNTS", "setup"]
