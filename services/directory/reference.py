"""Reference data shipped with the node: networks and their members, jurisdictions,
legal instruments. Names and official languages come from pycountry and Babel (CLDR);
only what no library keeps (memberships, legal traditions, treaty parties) is in the
JSON files beside this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from babel.languages import get_official_languages

from services.common.validation import country_name, language_code


@dataclass(frozen=True)
class Membership:
    jurisdiction: str
    since: str = ""
    until: str = ""

    @property
    def current(self) -> bool:
        return not self.until


@dataclass(frozen=True)
class NetworkInfo:
    code: str
    name: str
    region: str = ""
    secretariat: str = ""
    website: str = ""
    working_languages: tuple[str, ...] = ()
    founding_instrument: str = ""
    partner_networks: tuple[str, ...] = ()
    members: tuple[Membership, ...] = ()

    @property
    def current_members(self) -> tuple[str, ...]:
        return tuple(m.jurisdiction for m in self.members if m.current)


@dataclass(frozen=True)
class JurisdictionInfo:
    code: str
    name: str
    official_languages: tuple[str, ...]
    legal_tradition: str
    networks: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class InstrumentInfo:
    code: str
    title: str
    type: str
    parties: frozenset[str]


def _load(name: str) -> Any:
    text = resources.files("services.directory").joinpath("reference", name).read_text("utf-8")
    return json.loads(text)


@cache
def networks() -> dict[str, NetworkInfo]:
    out: dict[str, NetworkInfo] = {}
    for item in _load("networks.json"):
        out[item["code"]] = NetworkInfo(
            code=item["code"],
            name=item["name"],
            region=item.get("region", ""),
            secretariat=item.get("secretariat", ""),
            website=item.get("website", ""),
            working_languages=tuple(item.get("working_languages", ())),
            founding_instrument=item.get("founding_instrument", ""),
            partner_networks=tuple(item.get("partner_networks", ())),
            members=tuple(
                Membership(m["jurisdiction"], m.get("since", ""), m.get("until", ""))
                for m in item.get("members", ())
            ),
        )
    return out


def official_languages(code: str) -> tuple[str, ...]:
    out: list[str] = []
    for tag in get_official_languages(code, de_facto=True):
        # CLDR tags may carry a script or region ("zh_Hant"); keep ISO 639-1 only.
        base = language_code(tag.split("_")[0])
        if base and base not in out:
            out.append(base)
    return tuple(out)


@cache
def jurisdictions() -> dict[str, JurisdictionInfo]:
    traditions: dict[str, dict[str, str]] = _load("jurisdictions.json")
    member_of: dict[str, list[str]] = {}
    for net in networks().values():
        for code in net.current_members:
            member_of.setdefault(code, []).append(net.code)
    out: dict[str, JurisdictionInfo] = {}
    for code in sorted(set(traditions) | set(member_of)):
        out[code] = JurisdictionInfo(
            code=code,
            name=country_name(code),
            official_languages=official_languages(code),
            legal_tradition=traditions.get(code, {}).get("legal_tradition", ""),
            networks=tuple(sorted(member_of.get(code, ()))),
        )
    return out


@cache
def instruments() -> dict[str, InstrumentInfo]:
    return {
        item["code"]: InstrumentInfo(
            code=item["code"],
            title=item["title"],
            type=item.get("type", ""),
            parties=frozenset(item.get("parties", ())),
        )
        for item in _load("instruments.json")
    }
