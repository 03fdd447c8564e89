"""Sample directory for a new node (`justnet init --sample-data`).

Real states, institutions and legal instruments (sample/institutions.json); fictional
people. E-mail addresses use the reserved `.example` domain (RFC 2606) and phone
numbers are libphonenumber's example numbers, so no real person or office is reached.
Ids are derived from the content, so loading twice changes nothing.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from importlib import resources
from typing import Any

import phonenumbers
from justnet.directory.v1 import directory_pb2 as pb

from services.common.identity import Caller
from services.directory import reference
from services.directory.logic import DirectoryLogic

NAMESPACE = uuid.UUID("6f1c7c1e-2a55-4d7e-9a51-0d3c5e7b9a10")


def _id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", ".", ascii_text.lower()).strip(".") or "contact"


def _phone(iso: str) -> str:
    number = phonenumbers.example_number(iso)
    if number is None:
        return ""
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def institutions() -> dict[str, Any]:
    text = resources.files("services.directory").joinpath("sample", "institutions.json")
    data: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return data


def build_rows(
    network: str, jurisdictions: list[str]
) -> tuple[list[pb.ImportRow], list[pb.RoutingProfile]]:
    data = institutions()
    rows: list[pb.ImportRow] = []
    profiles: list[pb.RoutingProfile] = []
    n = 0
    for iso in jurisdictions:
        entry = data.get(iso)
        if entry is None:
            continue
        official = list(reference.official_languages(iso))
        domain = f"{iso.lower()}.justnet.example"
        ca = entry["central_authority"]
        ca_id = _id(network, iso, "authority", ca["name"])
        authorities = [
            (
                ca_id,
                {
                    "name": ca["name"],
                    "kind": ca.get("kind", "central_authority"),
                    "competences": ["mla", "extradition", "transfer_sentenced_persons"],
                    "website": ca.get("website", ""),
                    "accepted_languages": ca.get("accepted_languages", official),
                    "available_24_7": False,
                    "address_city": ca.get("address_city", ""),
                    "visibility": "public",
                },
            )
        ]
        for other in entry.get("authorities", []):
            authorities.append(
                (
                    _id(network, iso, "authority", other["name"]),
                    {
                        **other,
                        "accepted_languages": other.get("accepted_languages", official),
                        "visibility": "federation",
                    },
                )
            )
        for aid, a in authorities:
            n += 1
            rows.append(
                pb.ImportRow(
                    row=n,
                    authority=pb.Authority(
                        meta={"id": aid},
                        jurisdiction=iso,
                        name=a["name"],
                        kind=a["kind"],
                        competences=a.get("competences", []),
                        accepted_languages=a["accepted_languages"],
                        email=f"{_slug(a['kind'])}@{domain}",
                        phone=_phone(iso),
                        address=a.get("address_city", ""),
                        website=a.get("website", ""),
                        available_24_7=bool(a.get("available_24_7", False)),
                        visibility=a["visibility"],
                    ),
                )
            )
        names = entry.get("contact_point_names", [])
        titles = entry.get("contact_point_titles", [])
        # Visibilities vary so a new user sees the rules at work: the first contact
        # point is shared with peer networks, the others stay in the network, and
        # the last is private to the node's editors.
        for i, name in enumerate(names):
            aid, a = authorities[i % len(authorities)]
            visibility = (
                "federation"
                if i == 0
                else ("private" if i == len(names) - 1 and i > 1 else "network")
            )
            n += 1
            competences = list(a.get("competences", ["mla"]))
            rows.append(
                pb.ImportRow(
                    row=n,
                    contact_point=pb.ContactPoint(
                        meta={"id": _id(network, iso, "contact_point", name)},
                        authority_id=aid,
                        jurisdiction=iso,
                        name=name,
                        title=titles[i] if i < len(titles) else "",
                        languages=list(dict.fromkeys([*official[:2], "en"])),
                        competences=competences,
                        email=f"{_slug(name)}@{domain}",
                        phone=_phone(iso),
                        available_24_7=bool(a.get("available_24_7", False)),
                        visibility=visibility,
                    ),
                )
            )
        routing = entry.get("routing")
        if routing:
            profiles.append(
                pb.RoutingProfile(
                    jurisdiction=iso,
                    central_authority_id=ca_id,
                    accepted_languages=ca.get("accepted_languages", official),
                    channels=[
                        pb.Channel(
                            kind=c["kind"],
                            formal=bool(c.get("formal", False)),
                            address=c.get("address") or _channel_address(c["kind"], domain),
                        )
                        for c in routing.get("channels", [])
                    ],
                    legal_bases=routing.get("legal_bases", []),
                    measures=[pb.MeasureProfile(**m) for m in routing.get("measures", [])],
                    acknowledgement_days=int(routing.get("acknowledgement_days", 0)),
                    urgent_procedure=routing.get("urgent_procedure", ""),
                    visibility="public",
                )
            )
    return rows, profiles


def _channel_address(kind: str, domain: str) -> str:
    if kind in ("email", "email_encrypted"):
        return f"mla@{domain}"
    if kind == "post":
        return "Central Authority, International Cooperation Unit"
    return ""


async def load(logic: DirectoryLogic, network: str, jurisdictions: list[str]) -> tuple[int, int]:
    """Loads the sample directory; returns (records, routing profiles) written."""
    editor = Caller("editor", network, "sample-data")
    rows, profiles = build_rows(network, jurisdictions)
    result = await logic.import_directory(pb.ImportDirectoryRequest(rows=rows), editor)
    if result.errors:
        first = result.errors[0]
        raise ValueError(f"sample data row {first.row}: {first.field}: {first.message}")
    for profile in profiles:
        await logic.put_routing_profile(profile, 0, editor)
    return result.created + result.updated, len(profiles)
