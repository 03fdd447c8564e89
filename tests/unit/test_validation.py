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


def test_email_fast_path_agrees_with_email_validator() -> None:
    """Addresses the precompiled check accepts are ones email-validator accepts unchanged;
    everything else still gets email-validator's verdict and message."""
    import random

    import email_validator

    from services.common.validation import _plain_email

    rng = random.Random(7)
    samples = [
        "office1@justice-th.example",
        "John.Doe@example.org",
        "x@localhost",
        "a@b.test",
        "a@mail.local",
        "a..b@c.com",
        ".a@b.com",
        "a@-b.com",
        "a@b-.com",
        "a@xn--bcher-kva.com",
        "a@b.c",
        "a@b.co1",
        "a" * 65 + "@b.com",
        "a@" + "b" * 64 + ".com",
        "a@B.com",
    ]
    for _ in range(20000):
        local = "".join(rng.choice('ab.-_+1é" ') for _ in range(rng.randint(0, 6)))
        domain = "".join(rng.choice("ab.-1xnA") for _ in range(rng.randint(0, 10)))
        samples.append(f"{local}@{domain}")
    accepted = 0
    for value in samples:
        if _plain_email(value):
            accepted += 1
            result = email_validator.validate_email(value, check_deliverability=False)
            assert result.normalized == value
    assert accepted > 20
    v = Validator()
    assert v.email("email", "a@b.test") == "a@b.test"  # special-use domain: refused
    assert v.email("email", "a@B.com") == "a@b.com"  # not normalised: the full check
    assert [e.field for e in v.errors] == ["email"]
