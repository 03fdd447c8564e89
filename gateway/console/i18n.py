"""The console's languages: gettext catalogues (Babel .po files, read at start, so nothing
needs compiling), the language of the current page, and locale-aware formatting.

Every text a person reads goes through `_()` (Python) or `{{ _("...") }}` / `{% trans %}`
(templates). `scripts/console_messages.sh` extracts them to `messages.pot` and updates the
French catalogue; a test fails when a French translation is missing.
"""

from __future__ import annotations

import contextvars
import gettext as gettext_module
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_timedelta
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.numbers import format_percent as babel_format_percent

from gateway.languages import DEFAULT as DEFAULT
from gateway.languages import LANGUAGES as LANGUAGES
from services.common.timeutil import as_utc, utcnow

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGE_COOKIE = "jn_lang"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("console_language", default=DEFAULT)


def _load(language: str) -> dict[str, str | tuple[str, ...]]:
    path = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        catalog = read_po(f, locale=language)
    _PLURALS[language] = gettext_module.c2py(catalog.plural_expr)
    out: dict[str, str | tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy or not message.string:
            continue
        key = str(message.id[0] if isinstance(message.id, (tuple, list)) else message.id)
        if isinstance(message.string, (tuple, list)):
            if all(message.string):
                out[key] = tuple(str(s) for s in message.string)
        else:
            out[key] = str(message.string)
    return out


_PLURALS: dict[str, Callable[[int], int]] = {}
_CATALOGS = {language: _load(language) for language in LANGUAGES if language != DEFAULT}


def set_language(language: str) -> None:
    _current.set(language if language in LANGUAGES else DEFAULT)


def language() -> str:
    return _current.get()


def negotiate(cookie: str | None, accept_language: str) -> str:
    """The cookie's choice, else the browser's first language we have."""
    if cookie in LANGUAGES:
        return cookie
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT


def gettext(message: str) -> str:
    found = _CATALOGS.get(_current.get(), {}).get(message)
    return found if isinstance(found, str) else message


def ngettext(singular: str, plural: str, n: int) -> str:
    found = _CATALOGS.get(_current.get(), {}).get(singular)
    if isinstance(found, tuple):
        index = _PLURALS[_current.get()](n)
        return found[min(index, len(found) - 1)]
    return singular if n == 1 else plural


_ = gettext


def format_datetime(value: datetime | str | None, fmt: str = "medium") -> str:
    parsed = _parse(value)
    if parsed is None:
        return ""
    # Stored and shown in UTC: people in several time zones read the same page.
    return babel_format_datetime(parsed, fmt, tzinfo=None, locale=_current.get()) + " UTC"


def format_date(value: datetime | str | None, fmt: str = "medium") -> str:
    parsed = _parse(value)
    if parsed is None:
        return ""
    return babel_format_date(parsed, fmt, locale=_current.get())


def format_ago(value: datetime | str | None) -> str:
    """ "3 days ago" / "il y a 3 jours"."""
    parsed = _parse(value)
    if parsed is None:
        return ""
    delta: timedelta = parsed - utcnow()
    return format_timedelta(delta, add_direction=True, locale=_current.get())


def format_number(value: float | int | None) -> str:
    if value is None:
        return ""
    return format_decimal(value, locale=_current.get())


def format_percent(value: float | None) -> str:
    """A share (0..1) as a percentage: "33 %" / "33 %" with the language's spacing."""
    if value is None:
        return ""
    return babel_format_percent(value, locale=_current.get())


def _parse(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return as_utc(value)
