"""A synthetic SEAJUST directory for the lookup benchmark, in `justnet import` JSON.

10,000 contact points (and the authorities they belong to) spread over SEAJUST's ten
member states roughly by population, with mixed competences, languages and
visibilities (mostly public, so anonymous lookups return items). Everything is
fictional: generated names, `.example` e-mail domains (RFC 2606), and libphonenumber's
example number for each state. A fixed seed makes the file identical on every run.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import Any

import phonenumbers

NAMESPACE = uuid.UUID("0b6c5c9e-7f51-4b0e-93c4-6a2d1f0e5b71")
SEED = 20260

# Share of the contact points per member state (about by population) and the
# ISO 639-1 languages a contact point there might work in (first = most common).
STATES: dict[str, tuple[float, tuple[str, ...]]] = {
    "PH": (0.18, ("en", "tl")),
    "VN": (0.16, ("vi", "en", "fr")),
    "TH": (0.14, ("th", "en")),
    "MM": (0.11, ("my", "en")),
    "MY": (0.11, ("ms", "en", "zh", "ta")),
    "KH": (0.08, ("km", "en", "fr")),
    "LA": (0.06, ("lo", "en", "fr")),
    "SG": (0.06, ("en", "ms", "zh", "ta")),
    "TL": (0.05, ("pt", "en", "id")),
    "BN": (0.05, ("ms", "en")),
}
COUNTRY = {
    "PH": "Philippines",
    "VN": "Viet Nam",
    "TH": "Thailand",
    "MM": "Myanmar",
    "MY": "Malaysia",
    "KH": "Cambodia",
    "LA": "Lao PDR",
    "SG": "Singapore",
    "TL": "Timor-Leste",
    "BN": "Brunei Darussalam",
}
# Competence -> weight of appearing on a contact point.
COMPETENCES = {
    "mla": 0.55,
    "extradition": 0.25,
    "transfer_sentenced_persons": 0.08,
    "asset_recovery": 0.18,
    "cybercrime": 0.15,
    "terrorism": 0.08,
    "corruption": 0.12,
    "trafficking": 0.14,
    "urgent_24_7": 0.06,
}
AUTHORITY_KINDS = (
    ("prosecution", "Provincial Prosecution Office", 0.45),
    ("court", "Regional Court", 0.2),
    ("police", "Police Cooperation Unit", 0.2),
    ("ministry", "Justice Liaison Bureau", 0.08),
    ("other", "Financial Investigation Unit", 0.07),
)
VISIBILITY = (("public", 0.85), ("federation", 0.08), ("network", 0.05), ("private", 0.02))
TITLES = (
    "Public Prosecutor",
    "Senior Public Prosecutor",
    "Legal Officer",
    "Liaison Officer",
    "Head of International Cooperation",
    "Deputy Director",
    "Investigating Judge",
    "Police Inspector",
    "Case Officer",
    "Translator and Legal Assistant",
)
# Syllables for made-up names: no list of real people is used.
SYLLABLES = (
    "ka", "ri", "mo", "na", "su", "le", "ta", "vi", "ro", "pa", "ni", "do",
    "sa", "lu", "ke", "ma", "ti", "bo", "ha", "ye", "an", "el", "or", "un",
)  # fmt: skip
CONTACT_POINTS = 10_000
CONTACTS_PER_AUTHORITY = 25


def _id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def _phone(iso: str) -> str:
    number = phonenumbers.example_number(iso)
    if number is None:
        return ""
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


def _weighted(rng: random.Random, options: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    return rng.choices(options, weights=[o[-1] for o in options])[0]


def _competences(rng: random.Random, base: list[str] | None = None) -> list[str]:
    chosen = [c for c, w in COMPETENCES.items() if rng.random() < w]
    if base:
        chosen = [c for c in chosen if c in base] or [rng.choice(base)]
    return chosen or ["mla"]


def _languages(rng: random.Random, langs: tuple[str, ...]) -> list[str]:
    out = [langs[0]]
    for lang in langs[1:]:
        if rng.random() < (0.7 if lang == "en" else 0.25):
            out.append(lang)
    return out


def build(
    contact_points: int = CONTACT_POINTS, seed: int = SEED
) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed)
    states = list(STATES)
    counts = {iso: int(contact_points * STATES[iso][0]) for iso in states}
    counts[states[0]] += contact_points - sum(counts.values())
    authorities: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    for iso in states:
        langs = STATES[iso][1]
        domain = f"{iso.lower()}.justnet-bench.example"
        phone = _phone(iso)
        mine: list[dict[str, Any]] = [_central(iso, langs, domain, phone)]
        n_auth = max(2, -(-counts[iso] // CONTACTS_PER_AUTHORITY))
        mine += [_authority(rng, iso, k, langs, domain, phone) for k in range(1, n_auth)]
        authorities.extend(mine)
        for i in range(counts[iso]):
            authority = mine[0] if i % 40 == 0 else rng.choice(mine[1:])
            contacts.append(_contact(rng, iso, i, authority, langs, domain, phone))
    return {"authorities": authorities, "contact_points": contacts}


def _central(iso: str, langs: tuple[str, ...], domain: str, phone: str) -> dict[str, Any]:
    return {
        "id": _id(iso, "authority", 0),
        "jurisdiction": iso,
        "name": f"Central Authority for Mutual Legal Assistance, {COUNTRY[iso]}",
        "kind": "central_authority",
        "competences": ["mla", "extradition", "transfer_sentenced_persons"],
        "accepted_languages": list(dict.fromkeys([langs[0], "en"])),
        "email": f"central.authority@{domain}",
        "phone": phone,
        "address": f"International Cooperation Department, Capital City, {COUNTRY[iso]}",
        "website": f"https://{domain}/central-authority",
        "available_24_7": False,
        "visibility": "public",
    }


def _authority(
    rng: random.Random, iso: str, k: int, langs: tuple[str, ...], domain: str, phone: str
) -> dict[str, Any]:
    # The draws happen in the same order as they always did: the data set stays identical.
    kind, label, _ = _weighted(rng, AUTHORITY_KINDS)
    return {
        "id": _id(iso, "authority", k),
        "jurisdiction": iso,
        "name": f"{label} No. {k}, {COUNTRY[iso]}",
        "kind": kind,
        "competences": _competences(rng),
        "accepted_languages": _languages(rng, langs),
        "email": f"office{k}@{domain}",
        "phone": phone if rng.random() < 0.8 else "",
        "address": f"District {k}, {COUNTRY[iso]}",
        "website": "",
        "available_24_7": kind == "police" or rng.random() < 0.05,
        "visibility": "public" if rng.random() < 0.9 else "federation",
    }


def _contact(
    rng: random.Random,
    iso: str,
    i: int,
    authority: dict[str, Any],
    langs: tuple[str, ...],
    domain: str,
    phone: str,
) -> dict[str, Any]:
    given, family = _word(rng, 2), _word(rng, rng.choice((2, 3)))
    return {
        "id": _id(iso, "contact_point", i),
        "authority_id": authority["id"],
        "jurisdiction": iso,
        "name": f"{given} {family}",
        "title": rng.choice(TITLES),
        "languages": _languages(rng, langs),
        "competences": _competences(rng, authority["competences"]),
        "email": f"{given.lower()}.{family.lower()}.{i}@{domain}",
        "phone": phone if rng.random() < 0.6 else "",
        "available_24_7": authority["available_24_7"] and rng.random() < 0.5,
        "visibility": _weighted(rng, VISIBILITY)[0],
    }


def write(path: Path, contact_points: int = CONTACT_POINTS) -> dict[str, int]:
    data = build(contact_points)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    by_state: dict[str, int] = {}
    for c in data["contact_points"]:
        by_state[c["jurisdiction"]] = by_state.get(c["jurisdiction"], 0) + 1
    public = sum(c["visibility"] == "public" for c in data["contact_points"])
    return {
        "authorities": len(data["authorities"]),
        "contact_points": len(data["contact_points"]),
        "public_contact_points": public,
        **{f"contact_points_{k}": v for k, v in sorted(by_state.items())},
    }


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "lookup-directory.json")
    print(json.dumps(write(out), indent=2))
