"""Field validation that collects every error, each naming its field.

Codes and formats come from maintained libraries: ISO 3166 and ISO 639 from
pycountry, phone numbers from phonenumbers, e-mail syntax from email-validator.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

import email_validator
import phonenumbers
import pycountry

from services.common.errors import FieldError, InvalidInput

VISIBILITIES = ("public", "network", "federation", "private")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# The common case of an address that is already in email-validator's normalised form:
# an ASCII dot-atom local part and a lower-case ASCII host name ending in a letters-only
# top-level domain. Anything this accepts, email-validator accepts unchanged (test
# `test_email_fast_path_agrees_with_email_validator`); everything else goes to it, so
# the same inputs are refused with the same messages. Saves ~100 us per address, which
# matters when a peer replicates ten thousand contact points.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@((?:{_LABEL}\.)+[a-z]{{2,63}})")
_SPECIAL_USE = tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def _plain_email(value: str) -> bool:
    m = _PLAIN_EMAIL.fullmatch(value)
    if m is None or len(value) > 254 or len(m.group(1)) > 64 or len(m.group(2)) > 253:
        return False
    domain = m.group(2)
    labels = domain.split(".")
    # "xx--" labels are IDNA (punycode) territory: leave them to the full check.
    if any(len(label) >= 4 and label[2:4] == "--" for label in labels):
        return False
    return not any(domain == d or domain.endswith("." + d) for d in _SPECIAL_USE)


@lru_cache(maxsize=4096)
def _phone_e164(value: str, region: str | None) -> str | None:
    """The E.164 form of a valid number, None when invalid, "" when it does not parse.

    Cached: a pure function of its input, and replicas repeat the same numbers.
    """
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(number):
        return None
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


@lru_cache(maxsize=512)
def country_code(value: str) -> str | None:
    """The ISO 3166-1 alpha-2 code for `value`, or None when it is not one."""
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        return None
    country = pycountry.countries.get(alpha_2=value.upper())
    return None if country is None else str(country.alpha_2)


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


@lru_cache(maxsize=512)
def language_code(value: str) -> str | None:
    """The ISO 639-1 code for `value`, or None when it is not one."""
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        return None
    lang = pycountry.languages.get(alpha_2=value.lower())
    return None if lang is None else str(lang.alpha_2)


def warm_up() -> None:
    """Loads the ISO tables now: pycountry reads them on first use (~0.3 s), which would
    otherwise land on the first request (e.g. the first replica batch from a peer)."""
    country_code("TH")
    language_code("en")


# A code a newer version may have added: a lower-case token.
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# A phone number as a peer gave it, when this node's phonenumbers data rejects it.
_PHONE_AS_GIVEN = re.compile(r"^\+?[0-9 ().-]{3,40}$")


class Validator:
    """Collects every field error of a record (names the field, changes nothing).

    `from_peer`: the record is a peer's replica. A peer may run a newer version, with
    codes this one does not know yet, or newer phone-number data: such values are kept
    and shown as given instead of refusing the record (the peer's own node validated
    them). Everything else, and any `strict` choice (e.g. which table a record is), is
    checked as for this node's own records.
    """

    def __init__(self, prefix: str = "", *, from_peer: bool = False) -> None:
        self.prefix = prefix
        self.from_peer = from_peer
        self.errors: list[FieldError] = []

    def _unknown_ok(self, value: str) -> bool:
        return self.from_peer and bool(_CODE.match(value))

    def fail(self, field: str, message: str) -> None:
        self.errors.append(FieldError(self.prefix + field, message))

    def raise_if_errors(self) -> None:
        if self.errors:
            raise InvalidInput(self.errors)

    def text(self, field: str, value: str, *, required: bool = False, max_len: int = 500) -> str:
        value = value.strip()
        if required and not value:
            self.fail(field, "is required")
        elif len(value) > max_len:
            self.fail(field, f"must be at most {max_len} characters")
        elif _CONTROL.search(value):
            self.fail(field, "must not contain control characters")
        return value

    def choice(
        self,
        field: str,
        value: str,
        allowed: Iterable[str],
        *,
        default: str = "",
        strict: bool = False,
    ) -> str:
        allowed = tuple(allowed)
        value = value.strip() or default
        if not value and "" not in allowed:
            self.fail(field, f"is required (one of {', '.join(allowed)})")
        elif value not in allowed and (strict or not self._unknown_ok(value)):
            self.fail(field, f"{value!r} is not one of {', '.join(allowed)}")
        return value

    def choices(self, field: str, values: Iterable[str], allowed: Iterable[str]) -> list[str]:
        allowed = tuple(allowed)
        out: list[str] = []
        for i, value in enumerate(values):
            value = value.strip()
            if value not in allowed and not self._unknown_ok(value):
                self.fail(f"{field}[{i}]", f"{value!r} is not one of {', '.join(allowed)}")
            elif value not in out:
                out.append(value)
        return out

    def country(self, field: str, value: str, *, required: bool = True) -> str:
        value = value.strip()
        if not value:
            if required:
                self.fail(field, "is required (an ISO 3166-1 alpha-2 code)")
            return ""
        code = country_code(value)
        if code is None:
            self.fail(field, f"{value!r} is not an ISO 3166-1 alpha-2 country code")
            return value
        return code

    def languages(self, field: str, values: Iterable[str]) -> list[str]:
        out: list[str] = []
        for i, value in enumerate(values):
            code = language_code(value.strip())
            if code is None:
                self.fail(f"{field}[{i}]", f"{value!r} is not an ISO 639-1 language code")
            elif code not in out:
                out.append(code)
        return out

    def language(self, field: str, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        code = language_code(value)
        if code is None:
            self.fail(field, f"{value!r} is not an ISO 639-1 language code")
            return value
        return code

    def email(self, field: str, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        if _plain_email(value):
            return value
        try:
            result = email_validator.validate_email(value, check_deliverability=False)
        except email_validator.EmailNotValidError as exc:
            self.fail(field, f"not a valid e-mail address: {exc}")
            return value
        return str(result.normalized)

    def phone(self, field: str, value: str, *, region: str | None = None) -> str:
        value = value.strip()
        if not value:
            return ""
        e164 = _phone_e164(value, region)
        if not e164 and self.from_peer and _PHONE_AS_GIVEN.match(value):
            return value  # newer numbering data at the peer: shown as given
        if e164 == "":
            self.fail(field, "not a phone number; use the international form, e.g. +66 2 141 1111")
            return value
        if e164 is None:
            self.fail(field, "not a valid phone number for its country code")
            return value
        return e164

    def url(self, field: str, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(value) > 2000:
            self.fail(field, "must be an http or https URL")
        return value

    def date(self, field: str, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            self.fail(field, f"{value!r} is not a date (YYYY-MM-DD)")
            return value

    def visibility(self, field: str, value: str) -> str:
        return self.choice(field, value, VISIBILITIES, default="network")

    def int_range(self, field: str, value: int, low: int, high: int) -> int:
        if not low <= value <= high:
            self.fail(field, f"must be between {low} and {high}")
        return value
