"""The languages people use the node in (the console's pages and mail to people).

A module of its own so that accounts and the console (which imports accounts) both read it
without importing each other."""

from __future__ import annotations

LANGUAGES = {"en": "English", "fr": "Français"}
DEFAULT = "en"
