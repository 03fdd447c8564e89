"""The console's French catalogue is complete and keeps every placeholder of its texts."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import console_messages

from gateway.console import i18n

PLACEHOLDER = re.compile(r"\{[a-z_]+\}|%\([a-z_]+\)[ds]")


def test_every_console_text_has_a_french_translation() -> None:
    missing = console_messages.missing(console_messages.extract(), "fr")
    assert not missing, f"untranslated (run scripts/console_messages.py): {missing[:20]}"


def test_translations_keep_their_placeholders() -> None:
    with console_messages.po_path("fr").open("rb") as f:
        catalog = read_po(f, locale="fr")
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, (tuple, list)) else [message.id]
        strings = message.string if isinstance(message.string, (tuple, list)) else [message.string]
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) <= wanted | set(PLACEHOLDER.findall(ids[0]))
            assert wanted <= set(PLACEHOLDER.findall(text)) or len(ids) > 1, (message.id, text)


def test_the_page_language_follows_the_choice_then_the_browser() -> None:
    assert i18n.negotiate("fr", "en-GB,en;q=0.9") == "fr"
    assert i18n.negotiate(None, "fr-FR,fr;q=0.9,en;q=0.8") == "fr"
    assert i18n.negotiate("xx", "de-DE,de") == "en"
    i18n.set_language("fr")
    try:
        assert i18n.gettext("Sign in") == "Se connecter"
        assert i18n.format_number(1234.5) == "1\u202f234,5"
    finally:
        i18n.set_language("en")
    assert i18n.gettext("Sign in") == "Sign in"
