"""Extracts the console's texts and updates its catalogues.

Usage: python scripts/console_messages.py           # writes messages.pot, updates fr
       python scripts/console_messages.py --check   # exit 1 if a French text is missing

Texts come from `_()` / `ngettext()` in gateway/console/*.py and the templates. New texts
enter `locales/fr/LC_MESSAGES/messages.po` untranslated; translate them there (no compiling:
the gateway reads .po files at start).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

CONSOLE = Path(__file__).resolve().parent.parent / "gateway" / "console"
LOCALES = CONSOLE / "locales"
LANGUAGES = ("fr",)
METHODS = [("locales/**", "ignore"), ("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}


def extract() -> Catalog:
    catalog = Catalog(project="JustNet console", msgid_bugs_address="", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        CONSOLE, METHODS, OPTIONS, strip_comment_tags=True
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


def missing(template: Catalog, language: str) -> list[str]:
    """Texts of the template with no (or a fuzzy) translation in `language`."""
    path = po_path(language)
    if not path.exists():
        return [str(m.id) for m in template if m.id]
    with path.open("rb") as f:
        catalog = read_po(f, locale=language)
    out = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id, context=message.context)
        strings = (
            found.string
            if found is not None and isinstance(found.string, (tuple, list))
            else [found.string if found is not None else ""]
        )
        if found is None or found.fuzzy or not all(strings):
            out.append(str(message.id))
    return out


def update() -> None:
    template = extract()
    with (LOCALES / "messages.pot").open("wb") as f:
        write_po(f, template, width=100, omit_header=False, sort_output=True)
    for language in LANGUAGES:
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as f:
                catalog = read_po(f, locale=language)
        else:
            catalog = Catalog(locale=language, project="JustNet console")
        catalog.update(template, no_fuzzy_matching=True)
        with path.open("wb") as f:
            write_po(f, catalog, width=100, sort_output=True, ignore_obsolete=True)
        print(f"{language}: {len(missing(template, language))} texts to translate")


if __name__ == "__main__":
    if "--check" in sys.argv:
        gaps = {lang: missing(extract(), lang) for lang in LANGUAGES}
        for lang, texts in gaps.items():
            for text in texts:
                print(f"{lang}: untranslated: {text!r}")
        sys.exit(1 if any(gaps.values()) else 0)
    update()
