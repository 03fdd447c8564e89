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
from justnet.directory.v1 import directory_pb2

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
) -> tuple[list[directory_pb2.ImportRow], list[directory_pb2.RoutingProfile]]:
    data = institutions()
    rows: list[directory_pb2.ImportRow] = []
    profiles: list[directory_pb2.RoutingProfile] = []
    for iso in jurisdictions:
        entry = data.get(iso)
        if entry is None:
            continue
        sample = _Jurisdiction(network, iso, entry)
        rows += [
            directory_pb2.ImportRow(authority=sample.authority(aid, a))
            for aid, a in sample.authorities
        ]
        rows += [directory_pb2.ImportRow(contact_point=cp) for cp in sample.contact_points()]
        profile = sample.routing_profile()
        if profile is not None:
            profiles.append(profile)
    for n, row in enumerate(rows, start=1):
        row.row = n
    return rows, profiles


class _Jurisdiction:
    """One state's sample records, from its entry in institutions.json."""

    def __init__(self, network: str, iso: str, entry: dict[str, Any]) -> None:
        self.network, self.iso, self.entry = network, iso, entry
        self.official = list(reference.official_languages(iso))
        self.domain = f"{iso.lower()}.justnet.example"
        self.ca = entry["central_authority"]
        self.ca_id = _id(network, iso, "authority", self.ca["name"])
        self.authorities = [(self.ca_id, self._central_authority()), *self._others()]

    def _central_authority(self) -> dict[str, Any]:
        ca = self.ca
        return {
            "name": ca["name"],
            "kind": ca.get("kind", "central_authority"),
            "competences": ["mla", "extradition", "transfer_sentenced_persons"],
            "website": ca.get("website", ""),
            "accepted_languages": ca.get("accepted_languages", self.official),
            "available_24_7": False,
            "address_city": ca.get("address_city", ""),
            "visibility": "public",
        }

    def _others(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (
                _id(self.network, self.iso, "authority", other["name"]),
                {
                    **other,
                    "accepted_languages": other.get("accepted_languages", self.official),
                    "visibility": "federation",
                },
            )
            for other in self.entry.get("authorities", [])
        ]

    def authority(self, aid: str, a: dict[str, Any]) -> directory_pb2.Authority:
        return directory_pb2.Authority(
            meta={"id": aid},
            jurisdiction=self.iso,
            name=a["name"],
            kind=a["kind"],
            competences=a.get("competences", []),
            accepted_languages=a["accepted_languages"],
            email=f"{_slug(a['kind'])}@{self.domain}",
            phone=_phone(self.iso),
            address=a.get("address_city", ""),
            website=a.get("website", ""),
            available_24_7=bool(a.get("available_24_7", False)),
            visibility=a["visibility"],
        )

    def contact_points(self) -> list[directory_pb2.ContactPoint]:
        names = self.entry.get("contact_point_names", [])
        titles = self.entry.get("contact_point_titles", [])
        points = []
        for i, name in enumerate(names):
            aid, a = self.authorities[i % len(self.authorities)]
            points.append(
                directory_pb2.ContactPoint(
                    meta={"id": _id(self.network, self.iso, "contact_point", name)},
                    authority_id=aid,
                    jurisdiction=self.iso,
                    name=name,
                    title=titles[i] if i < len(titles) else "",
                    languages=list(dict.fromkeys([*self.official[:2], "en"])),
                    competences=list(a.get("competences", ["mla"])),
                    email=f"{_slug(name)}@{self.domain}",
                    phone=_phone(self.iso),
                    available_24_7=bool(a.get("available_24_7", False)),
                    visibility=_visibility(i, len(names)),
                )
            )
        return points

    def routing_profile(self) -> directory_pb2.RoutingProfile | None:
        routing = self.entry.get("routing")
        if not routing:
            return None
        return directory_pb2.RoutingProfile(
            jurisdiction=self.iso,
            central_authority_id=self.ca_id,
            accepted_languages=self.ca.get("accepted_languages", self.official),
            channels=[
                directory_pb2.Channel(
                    kind=c["kind"],
                    formal=bool(c.get("formal", False)),
                    address=c.get("address") or _channel_address(c["kind"], self.domain),
                )
                for c in routing.get("channels", [])
            ],
            legal_bases=routing.get("legal_bases", []),
            measures=[directory_pb2.MeasureProfile(**m) for m in routing.get("measures", [])],
            acknowledgement_days=int(routing.get("acknowledgement_days", 0)),
            urgent_procedure=routing.get("urgent_procedure", ""),
            visibility="public",
        )


def _visibility(i: int, count: int) -> str:
    """Visibilities vary so a new user sees the rules at work: the first contact point is
    shared with peer networks, the others stay in the network, and the last is private to
    the node's editors."""
    if i == 0:
        return "federation"
    return "private" if i == count - 1 and i > 1 else "network"


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
    result = await logic.import_directory(directory_pb2.ImportDirectoryRequest(rows=rows), editor)
    if result.errors:
        first = result.errors[0]
        raise ValueError(f"sample data row {first.row}: {first.field}: {first.message}")
    for profile in profiles:
        await logic.put_routing_profile(profile, 0, editor)
    return result.created + result.updated, len(profiles)
