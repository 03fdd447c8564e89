"""Field validation uses the ISO, phone and e-mail libraries and names each field."""

from __future__ import annotations

from services.common.validation import Validator


def test_codes_and_formats_are_normalised() -> None:
    v = Validator()
    assert v.country("jurisdiction", "th") == "TH"
    assert v.languages("languages", ["EN", "th", "en"]) == ["en", "th"]
    assert v.phone("phone", "02 142 1444", region="TH") == "+6621421444"
    assert v.email("email", "MLA@Example.ORG") == "MLA@example.org"
    assert v.date("term_end", "2027-01-31") == "2027-01-31"
    assert v.errors == []


def test_every_bad_field_is_reported() -> None:
    v = Validator("contact.")
    v.country("jurisdiction", "ZZ")
    v.languages("languages", ["english"])
    v.phone("phone", "+1 555")
    v.email("email", "a@b")
    v.url("website", "ftp://example.org")
    v.date("term_end", "31/01/2027")
    v.text("name", "", required=True)
    v.text("title", "bell\x07")
    v.visibility("visibility", "secret")
    assert [e.field for e in v.errors] == [
        "contact.jurisdiction",
        "contact.languages[0]",
        "contact.phone",
        "contact.email",
        "contact.website",
        "contact.term_end",
        "contact.name",
        "contact.title",
        "contact.visibility",
    ]
