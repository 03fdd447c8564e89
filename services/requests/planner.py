"""The routing planner: where to send an MLA request, on what basis, in which language.

Everything comes from the directory (local and replicated records alike, so a route
to another network's state works from what this node holds while that peer is down)
and from federation's list of peers (which states each peer node covers).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import grpc
from justnet.common.v1 import common_pb2
from justnet.directory.v1 import directory_pb2, directory_pb2_grpc
from justnet.federation.v1 import federation_pb2, federation_pb2_grpc
from justnet.requests.v1 import requests_pb2

from services.common import codes
from services.common.errors import Unavailable
from services.common.identity import Caller
from services.common.timeutil import from_timestamp, utcnow
from services.common.validation import Validator

STALE_AFTER = timedelta(days=365)
REFERENCE_TTL_SECONDS = 30.0
URGENCIES = ("normal", "urgent")
MULTILATERAL_ORDER = ("UNTOC", "UNCAC", "VIENNA_1988")
KIND_ORDER = {"bilateral": 0, "regional": 1, "multilateral": 2, "reciprocity": 3}
MAX_CONTACTS = 5
# What to ask for instead when a measure is not available (Fiches Belges' "alternatives").
ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "search_and_seizure": ("banking_records", "freezing", "electronic_evidence"),
    "banking_records": ("search_and_seizure",),
    "freezing": ("search_and_seizure", "confiscation"),
    "confiscation": ("freezing",),
    "electronic_evidence": ("preservation_of_data", "search_and_seizure"),
    "preservation_of_data": ("electronic_evidence",),
    "hearing_by_videoconference": ("witness_statement",),
    "witness_statement": ("hearing_by_videoconference",),
    "transfer_of_persons_in_custody": ("hearing_by_videoconference", "witness_statement"),
    "location_of_persons": ("service_of_documents",),
    "service_of_documents": ("location_of_persons",),
}


@dataclass(frozen=True)
class RouteQuery:
    requesting: str
    requested: str
    measures: tuple[str, ...]
    urgency: str
    language: str


def check_query(msg: requests_pb2.PlanRouteRequest, v: Validator) -> RouteQuery:
    requesting = v.country("requesting_jurisdiction", msg.requesting_jurisdiction)
    requested = v.country("requested_jurisdiction", msg.requested_jurisdiction)
    if requesting and requesting == requested:
        v.fail("requested_jurisdiction", "must differ from the requesting jurisdiction")
    measures = v.choices("measures", msg.measures, codes.MEASURES)
    urgency = v.choice("urgency", msg.urgency, URGENCIES, default="normal")
    language = v.language("language", msg.language)
    return RouteQuery(requesting, requested, tuple(measures), urgency, language)


class Planner:
    def __init__(
        self,
        network: str,
        jurisdictions: Sequence[str],
        directory: directory_pb2_grpc.DirectoryServiceStub,
        federation: federation_pb2_grpc.FederationServiceStub,
    ) -> None:
        self.network = network
        self.jurisdictions = tuple(jurisdictions)
        self.directory = directory
        self.federation = federation
        self.service = Caller.node_service("requests", network).metadata()
        self._instruments: tuple[float, list[directory_pb2.Instrument]] | None = None
        self._members: tuple[float, dict[str, set[str]]] | None = None

    # ------------------------------------------------------------ directory reads

    async def _call(self, what: str, coro: object) -> object:
        try:
            return await coro  # type: ignore[misc]
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:
                return None
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise
            raise Unavailable(f"{what} did not answer ({exc.code().name})") from None

    async def instruments(self) -> list[directory_pb2.Instrument]:
        now = time.monotonic()
        if self._instruments is None or self._instruments[0] < now:
            reply = await self._call(
                "the directory",
                self.directory.ListInstruments(
                    directory_pb2.ListInstrumentsRequest(), metadata=self.service
                ),
            )
            assert isinstance(reply, directory_pb2.ListInstrumentsResponse)
            self._instruments = (now + REFERENCE_TTL_SECONDS, list(reply.items))
        return self._instruments[1]

    async def reference_members(self) -> dict[str, set[str]]:
        """network code -> its current member states, from the directory's reference data."""
        now = time.monotonic()
        if self._members is None or self._members[0] < now:
            reply = await self._call(
                "the directory",
                self.directory.ListNetworks(
                    directory_pb2.ListNetworksRequest(), metadata=self.service
                ),
            )
            assert isinstance(reply, directory_pb2.ListNetworksResponse)
            members = {
                n.code: {m.jurisdiction for m in n.members if not m.until} for n in reply.items
            }
            self._members = (now + REFERENCE_TTL_SECONDS, members)
        return self._members[1]

    async def peers(self) -> list[federation_pb2.PeerStatus] | None:
        try:
            reply = await self.federation.ListPeers(
                federation_pb2.ListPeersRequest(brief=True), metadata=self.service, timeout=2.0
            )
        except grpc.aio.AioRpcError:
            return None
        return list(reply.peers)

    # ------------------------------------------------------------ planning

    async def plan(self, q: RouteQuery, caller: Caller) -> requests_pb2.Route:
        md = caller.metadata()
        route = requests_pb2.Route(
            requesting_jurisdiction=q.requesting,
            requested_jurisdiction=q.requested,
            urgency=q.urgency,
            language=q.language,
        )
        jurisdiction, instruments, lookup, peers, members = await self._gather(q, md)
        warn = route.warnings.add
        if self.jurisdictions and q.requesting not in self.jurisdictions:
            warn(
                code="not_a_member",
                message=f"{q.requesting} is not a member state of {self.network}; "
                "the request is routed as if sent from this node",
            )
        self._destination(q, route, peers, members)
        profile = (
            jurisdiction.routing_profile
            if jurisdiction is not None and jurisdiction.HasField("routing_profile")
            else None
        )
        official = list(jurisdiction.official_languages) if jurisdiction is not None else []
        if profile is None:
            warn(
                code="no_routing_profile",
                message=f"no routing profile for {q.requested} is known to this node; "
                "languages are its official ones and measures are unknown",
            )
            route.accepted_languages.extend(official)
        else:
            await self._profile(q, route, profile, md)
        self._legal_bases(q, route, instruments, profile)
        _translation(q, route)
        speakers = {self.network} | {c for c, states in members.items() if q.requested in states}
        self._contacts(q, route, lookup, speakers)
        return route

    async def _gather(
        self, q: RouteQuery, md: tuple[tuple[str, str], ...]
    ) -> tuple[
        directory_pb2.Jurisdiction | None,
        list[directory_pb2.Instrument],
        directory_pb2.LookupResponse | None,
        list[federation_pb2.PeerStatus] | None,
        dict[str, set[str]],
    ]:
        """Everything a plan reads, asked for at once."""
        jurisdiction, instruments, lookup, peers, members = await asyncio.gather(
            self._call(
                "the directory",
                self.directory.GetJurisdiction(
                    directory_pb2.GetJurisdictionRequest(code=q.requested), metadata=md
                ),
            ),
            self.instruments(),
            self._call(
                "the directory",
                self.directory.Lookup(
                    directory_pb2.LookupRequest(
                        jurisdiction=q.requested, urgent=q.urgency == "urgent", limit=200
                    ),
                    metadata=md,
                ),
            ),
            self.peers(),
            self.reference_members(),
        )
        assert jurisdiction is None or isinstance(jurisdiction, directory_pb2.Jurisdiction)
        assert lookup is None or isinstance(lookup, directory_pb2.LookupResponse)
        return jurisdiction, instruments, lookup, peers, members

    def _destination(
        self,
        q: RouteQuery,
        route: requests_pb2.Route,
        peers: list[federation_pb2.PeerStatus] | None,
        members: dict[str, set[str]],
    ) -> None:
        if q.requested in self.jurisdictions:
            route.destination_network = self.network
            route.destination_is_local = True
            return
        listed_in = {code for code, states in members.items() if q.requested in states}
        covering = sorted(
            (p.network not in listed_in, p.network)
            for p in peers or []
            # The states this node accepts the peer's records for (its descriptor's, or
            # fewer); an older descriptor without states falls back to the reference
            # membership of its network.
            if q.requested
            in (set(p.accepted_jurisdictions) if p.jurisdictions else members.get(p.network, set()))
        )
        if covering:
            # A network the reference data lists the state in first (ARCHITECTURE 4).
            route.destination_network = covering[0][1]
            if len(covering) > 1:
                others = ", ".join(network for _, network in covering[1:])
                why = "" if covering[0][0] else ", the network the reference data lists it in"
                route.warnings.add(
                    code="several_peers_cover",
                    message=f"{others} also cover {q.requested}; the request goes to "
                    f"{route.destination_network}{why}",
                )
            return
        listed = sorted(code for code, states in members.items() if q.requested in states)
        where = f"; the reference data lists it in {', '.join(listed)}" if listed else ""
        reason = "federation did not answer" if peers is None else "no peer node covers it"
        route.warnings.add(
            code="no_peer",
            message=f"{q.requested} cannot be reached from {self.network}: {reason}{where}",
        )

    async def _profile(
        self,
        q: RouteQuery,
        route: requests_pb2.Route,
        profile: directory_pb2.RoutingProfile,
        md: tuple[tuple[str, str], ...],
    ) -> None:
        """What the requested state's routing profile tells the route, with its warnings."""
        self._profile_standing(q, route, profile)
        route.profile_origin = profile.meta.origin
        route.profile_last_verified_at.CopyFrom(profile.meta.last_verified_at)
        route.accepted_languages.extend(profile.accepted_languages)
        route.acknowledgement_days = profile.acknowledgement_days
        route.urgent_procedure = profile.urgent_procedure
        for ch in profile.channels:
            route.channels.add(kind=ch.kind, address=ch.address, formal=ch.formal)
        _warn_if_stale(
            route,
            profile.meta,
            f"the routing profile of {q.requested} was last verified by {profile.meta.origin} on",
        )
        if profile.central_authority_id:
            await self._central_authority(q, route, profile.central_authority_id, md)
        _measures(q, route, profile)

    @staticmethod
    def _profile_standing(
        q: RouteQuery, route: requests_pb2.Route, profile: directory_pb2.RoutingProfile
    ) -> None:
        if profile.standing == "other_network":
            route.warnings.add(
                code="profile_not_from_member_network",
                message=f"the routing profile of {q.requested} comes from "
                f"{profile.meta.origin}, which the reference data does not list it in; "
                "confirm it with the requested state",
            )
        if profile.alternatives:
            origins = ", ".join(a.meta.origin for a in profile.alternatives)
            route.warnings.add(
                code="alternative_profiles",
                message=f"{origins} also publish a routing profile for {q.requested}; "
                f"this route follows {profile.meta.origin}'s",
            )

    async def _central_authority(
        self,
        q: RouteQuery,
        route: requests_pb2.Route,
        authority_id: str,
        md: tuple[tuple[str, str], ...],
    ) -> None:
        authority = await self._call(
            "the directory",
            self.directory.GetAuthority(
                directory_pb2.GetRecordRequest(id=authority_id), metadata=md
            ),
        )
        if not isinstance(authority, directory_pb2.Authority):
            route.central_authority.id = authority_id
            return
        route.central_authority.CopyFrom(
            requests_pb2.AuthorityRef(
                id=authority.meta.id,
                name=authority.name,
                jurisdiction=authority.jurisdiction,
                origin=authority.meta.origin,
                email=authority.email,
                phone=authority.phone,
                website=authority.website,
                accepted_languages=authority.accepted_languages,
                available_24_7=authority.available_24_7,
            )
        )
        _warn_if_stale(
            route, authority.meta, f"the central authority of {q.requested} was last verified on"
        )

    def _legal_bases(
        self,
        q: RouteQuery,
        route: requests_pb2.Route,
        instruments: list[directory_pb2.Instrument],
        profile: directory_pb2.RoutingProfile | None,
    ) -> None:
        listed = set(profile.legal_bases) if profile is not None else set()
        bases: list[requests_pb2.LegalBasis] = []
        pair = "BILATERAL:" + "-".join(sorted((q.requesting, q.requested)))
        seen: set[str] = set()
        for inst in instruments:
            parties = set(inst.parties)
            if q.requesting in parties and q.requested in parties:
                kind = inst.type if inst.type in KIND_ORDER else "multilateral"
                bases.append(
                    requests_pb2.LegalBasis(
                        code=inst.code,
                        title=inst.title,
                        kind=kind,
                        listed_by_requested_state=inst.code in listed,
                    )
                )
                seen.add(inst.code)
        if pair in listed and pair not in seen:
            bases.append(
                requests_pb2.LegalBasis(
                    code=pair,
                    title=f"Bilateral treaty between {q.requesting} and {q.requested}",
                    kind="bilateral",
                    listed_by_requested_state=True,
                )
            )

        def order(b: requests_pb2.LegalBasis) -> tuple[int, int, str]:
            multi = MULTILATERAL_ORDER.index(b.code) if b.code in MULTILATERAL_ORDER else -1
            return (KIND_ORDER[b.kind], multi, b.code)

        bases.sort(key=order)
        if not bases or "RECIPROCITY" in listed:
            bases.append(
                requests_pb2.LegalBasis(
                    code="RECIPROCITY",
                    title="Reciprocity (comity): no treaty obliges the requested state",
                    kind="reciprocity",
                    last_resort=True,
                    listed_by_requested_state="RECIPROCITY" in listed,
                )
            )
        if len(bases) == 1 and bases[0].code == "RECIPROCITY":
            route.warnings.add(
                code="reciprocity_only",
                message=f"{q.requesting} and {q.requested} share no treaty this node knows; "
                "only reciprocity remains, which the requested state may decline",
            )
        route.legal_bases.extend(bases)

    def _contacts(
        self,
        q: RouteQuery,
        route: requests_pb2.Route,
        lookup: directory_pb2.LookupResponse | None,
        speakers: set[str],
    ) -> None:
        """Contact points to consult, best first; those of this node or of a network the
        reference data lists the state in before those other peers publish for it."""
        urgent = q.urgency == "urgent"
        ranked: list[tuple[bool, float, str, requests_pb2.ContactSuggestion]] = []
        for item in lookup.items if lookup is not None else []:
            if item.kind != "contact_point":
                continue
            c = item.contact_point
            score = 0.0
            reasons: list[str] = []
            if "mla" in c.competences or (urgent and "urgent_24_7" in c.competences):
                score += 2.0
                reasons.append("competence")
            if q.language and q.language in c.languages:
                score += 1.5
                reasons.append("language")
            if urgent and c.available_24_7:
                score += 3.0
                reasons.append("available_24_7")
            suggestion = requests_pb2.ContactSuggestion(
                id=c.meta.id,
                name=c.name,
                title=c.title,
                jurisdiction=c.jurisdiction,
                origin=c.meta.origin,
                authority_id=c.authority_id,
                languages=c.languages,
                competences=c.competences,
                available_24_7=c.available_24_7,
                email=c.email,
                phone=c.phone,
                score=score,
                reasons=reasons,
            )
            ranked.append((c.meta.origin not in speakers, -score, c.name, suggestion))
        ranked.sort(key=lambda t: (t[0], t[1], t[2]))
        route.contacts.extend(s for _, _, _, s in ranked[:MAX_CONTACTS])
        if urgent and not any(s.available_24_7 for _, _, _, s in ranked):
            route.warnings.add(
                code="no_24_7_contact",
                message=f"the request is urgent but no contact point in {q.requested} known "
                "to this node is available 24/7; use the urgent procedure or INTERPOL",
            )


def _warn_if_stale(route: requests_pb2.Route, meta: common_pb2.RecordMeta, what: str) -> None:
    """A `stale_data` warning when the record was last verified over 12 months ago."""
    if not meta.HasField("last_verified_at"):
        return
    verified = from_timestamp(meta.last_verified_at)
    if utcnow() - verified > STALE_AFTER:
        route.warnings.add(
            code="stale_data",
            message=f"{what} {verified.date().isoformat()}, over 12 months ago",
        )


def _measures(
    q: RouteQuery, route: requests_pb2.Route, profile: directory_pb2.RoutingProfile
) -> None:
    """Per requested measure, what the profile says, with alternatives for one it excludes."""
    by_code = {m.code: m for m in profile.measures}
    for code in q.measures:
        m = by_code.get(code)
        if m is None:
            route.measures.add(code=code, applicability="unknown")
            route.warnings.add(
                code="measure_unknown",
                message=f"the routing profile of {q.requested} says nothing about {code}",
            )
            continue
        advice = route.measures.add(code=code, applicability=m.applicability, notes=m.notes)
        if m.applicability == "no":
            alternatives = [
                alt
                for alt in ALTERNATIVES.get(code, ())
                if alt in by_code and by_code[alt].applicability in ("yes", "partial")
            ]
            advice.alternatives.extend(alternatives)
            instead = f"; consider {', '.join(alternatives)}" if alternatives else ""
            route.warnings.add(
                code="measure_unavailable",
                message=f"{code} is not available in {q.requested}{instead}",
            )


def _translation(q: RouteQuery, route: requests_pb2.Route) -> None:
    if q.language and route.accepted_languages:
        route.translation_required = q.language not in route.accepted_languages
        if route.translation_required:
            route.warnings.add(
                code="translation_required",
                message=f"{q.requested} does not accept requests in {q.language}; "
                f"translate into one of {', '.join(route.accepted_languages)}",
            )
