"""Directory rules: who may write what, references between records, lookup."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from justnet.directory.v1 import directory_pb2

from services.common import codes
from services.common.db import decode_codes, encode_codes
from services.common.errors import (
    FieldError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    ReadOnlyReplica,
    Unauthenticated,
)
from services.common.identity import Caller
from services.common.ids import is_id, new_id
from services.common.paging import MAX_LIMIT
from services.common.replication import Committed
from services.common.timeutil import as_utc, utcnow
from services.common.validation import Validator, country_code
from services.common.visibility import can_see
from services.directory import convert, reference, validate
from services.directory.index import LookupIndex
from services.directory.ranking import Query
from services.directory.statistics import DirectoryStatistics
from services.directory.store import DirectoryStore, ListFilter

INSTRUMENT_TYPES = ("multilateral", "regional", "bilateral")
# Where a routing profile stands among those for one state, best first.
STANDINGS = ("own_network", "reference_network", "other_network")


@dataclass
class _ImportCheck:
    """What checking an import file knows and learns as it goes, row by row."""

    held: dict[str, dict[str, tuple[str, str]]]  # kind -> id -> (origin, jurisdiction)
    pending: dict[str, str]  # authority id -> jurisdiction, for contact points' references
    contacts: set[str]  # contact point ids a successor may name
    seen: dict[str, int] = field(default_factory=dict)  # record id -> its first row
    existing: int = 0  # rows that update a record this node holds


class DirectoryLogic:
    def __init__(
        self, store: DirectoryStore, index: LookupIndex, jurisdictions: Sequence[str]
    ) -> None:
        self.store = store
        self.index = index
        self.network = store.local_network
        self.jurisdictions = tuple(jurisdictions)
        self.statistics_queries = DirectoryStatistics(store.engine, self.network)

    # ------------------------------------------------------------ permissions

    def require_editor(self, caller: Caller) -> None:
        if not caller.authenticated:
            raise Unauthenticated("an editor token is required")
        if not (caller.at_least("editor") and caller.network == self.network):
            raise PermissionDenied(f"only editors of {self.network} can change its directory")

    async def statistics(self, caller: Caller) -> directory_pb2.DirectoryStatistics:
        if not caller.authenticated:
            raise Unauthenticated("an editor token is required")
        if not (caller.at_least("editor") and caller.network == self.network):
            raise PermissionDenied(f"statistics are for editors of {self.network}")
        return await self.statistics_queries.compute(utcnow())

    def _check_member(self, jurisdiction: str, v: Validator, field: str = "jurisdiction") -> None:
        if (
            jurisdiction
            and self.jurisdictions
            and country_code(jurisdiction) is not None
            and jurisdiction not in self.jurisdictions
        ):
            v.fail(
                field,
                f"{jurisdiction} is not a member state of {self.network} "
                f"({', '.join(self.jurisdictions)})",
            )

    async def _check_authority_ref(
        self,
        authority_id: str,
        jurisdiction: str,
        v: Validator,
        field: str,
        pending: dict[str, str] | None = None,
    ) -> None:
        if not authority_id:
            return
        if pending and authority_id in pending:
            found_jurisdiction = pending[authority_id]
        else:
            row = await self.store.get("authority", authority_id) if is_id(authority_id) else None
            if row is None:
                v.fail(field, f"no authority {authority_id}")
                return
            found_jurisdiction = row.jurisdiction
        if jurisdiction and found_jurisdiction != jurisdiction:
            v.fail(
                field, f"authority {authority_id} is in {found_jurisdiction}, not {jurisdiction}"
            )

    async def _owned(self, kind: str, record_id: str, caller: Caller) -> None:
        """The record exists for this caller and this node owns it (else 404 or 403)."""
        current = await self.get(kind, record_id, caller)
        if current.meta.origin != self.network:
            raise ReadOnlyReplica(current.meta.origin)

    # ------------------------------------------------------------ reads

    async def get(self, kind: str, record_id: str, caller: Caller) -> Any:
        row = await self.store.get(kind, record_id) if is_id(record_id) else None
        # Not visible and absent look the same, so ids of restricted records do not leak.
        if row is None or not can_see(caller, row.origin, row.visibility, self.network):
            raise NotFound(f"no {kind.replace('_', ' ')} {record_id}")
        return convert.to_message(kind, row, self.network)

    async def list_records(
        self, kind: str, caller: Caller, flt: ListFilter, limit: int, cursor: str
    ) -> tuple[list[Any], str]:
        v = Validator()
        flt = ListFilter(
            jurisdiction=v.country("jurisdiction", flt.jurisdiction, required=False),
            competence=(
                v.choice("competence", flt.competence, codes.COMPETENCES) if flt.competence else ""
            ),
            language=v.language("language", flt.language),
            network=flt.network.strip().upper(),
            q=v.text("q", flt.q, max_len=200),
            available_24_7=flt.available_24_7,
        )
        if limit < 0 or limit > MAX_LIMIT:
            v.fail("limit", f"must be between 1 and {MAX_LIMIT}")
        v.raise_if_errors()
        page = await self.store.list_records(kind, caller, flt, limit, cursor)
        return [convert.to_message(kind, r, self.network) for r in page.rows], page.next_cursor

    async def routing_profile(
        self, jurisdiction: str, caller: Caller, origin: str = ""
    ) -> directory_pb2.RoutingProfile:
        code = country_code(jurisdiction.strip())
        if code is None:
            raise InvalidInput.one("jurisdiction", f"{jurisdiction!r} is not an ISO 3166-1 code")
        rows = [
            r
            for r in await self.store.routing_profile(code, origin.upper())
            if can_see(caller, r.origin, r.visibility, self.network)
        ]
        if not rows:
            raise NotFound(f"no routing profile for {code}")
        # A peer speaks only for its states (ARCHITECTURE section 4): where several
        # networks publish a profile for the state, this node's own comes first, then
        # that of a network the reference data lists the state in, then any other; the
        # rest are alternatives, each with its provenance. Never the newest by
        # last_verified_at: a later date is no claim to speak for a state.
        listed = reference.jurisdictions().get(code)
        members = listed.networks if listed is not None else ()
        ranked = sorted(
            ((self._standing(r.origin, members), r) for r in rows),
            key=lambda pair: (STANDINGS.index(pair[0]), pair[1].origin),
        )
        standing, chosen = ranked[0]
        profile = convert.routing_profile(chosen, self.network)
        profile.standing = standing
        for other_standing, row in ranked[1:]:
            alternative = convert.routing_profile(row, self.network)
            alternative.standing = other_standing
            profile.alternatives.append(alternative)
        return profile

    def _standing(self, origin: str, members: Sequence[str]) -> str:
        if origin == self.network:
            return "own_network"
        return "reference_network" if origin in members else "other_network"

    def lookup(self, req: directory_pb2.LookupRequest, caller: Caller) -> bytes:
        """The answer as a serialised LookupResponse (the index keeps answers as bytes)."""
        v = Validator()
        query = Query(
            jurisdiction=v.country("jurisdiction", req.jurisdiction, required=False),
            competence=(
                v.choice("competence", req.competence, codes.COMPETENCES) if req.competence else ""
            ),
            language=v.language("language", req.language),
            q=v.text("q", req.q, max_len=200),
            urgent=req.urgent,
            network=req.network.strip().upper(),
            limit=req.limit or 50,
        )
        if not 1 <= query.limit <= MAX_LIMIT:
            v.fail("limit", f"must be between 1 and {MAX_LIMIT}")
        v.raise_if_errors()
        if req.known_token and req.known_token == self.index.token():
            # Nothing changed since the caller's copy: answer without items.
            return directory_pb2.LookupResponse(
                not_modified=True, token=req.known_token
            ).SerializeToString()
        return self.index.lookup(query, caller)

    # ------------------------------------------------------------ writes

    async def create_authority(
        self, msg: directory_pb2.Authority, caller: Caller
    ) -> directory_pb2.Authority:
        self.require_editor(caller)
        v = Validator()
        values = validate.authority(msg, v)
        self._check_member(values["jurisdiction"], v)
        v.raise_if_errors()
        row = await self.store.create("authority", new_id(), values)
        await self.index.catch_up()
        return convert.authority(row, self.network)

    async def update_authority(
        self, msg: directory_pb2.Authority, expected: int, caller: Caller
    ) -> directory_pb2.Authority:
        self.require_editor(caller)
        await self._owned("authority", msg.meta.id, caller)
        v = Validator()
        values = validate.authority(msg, v)
        self._check_member(values["jurisdiction"], v)
        v.raise_if_errors()
        row = await self.store.update("authority", msg.meta.id, values, expected)
        await self.index.catch_up()
        return convert.authority(row, self.network)

    async def create_contact_point(
        self, msg: directory_pb2.ContactPoint, caller: Caller
    ) -> directory_pb2.ContactPoint:
        self.require_editor(caller)
        values = await self._contact_point_values(msg)
        row = await self.store.create("contact_point", new_id(), values)
        await self.index.catch_up()
        return convert.contact_point(row, self.network)

    async def update_contact_point(
        self, msg: directory_pb2.ContactPoint, expected: int, caller: Caller
    ) -> directory_pb2.ContactPoint:
        self.require_editor(caller)
        await self._owned("contact_point", msg.meta.id, caller)
        values = await self._contact_point_values(msg, msg.meta.id)
        row = await self.store.update("contact_point", msg.meta.id, values, expected)
        await self.index.catch_up()
        return convert.contact_point(row, self.network)

    async def _contact_point_values(
        self,
        msg: directory_pb2.ContactPoint,
        own_id: str = "",
        pending: dict[str, str] | None = None,
        v: Validator | None = None,
        contacts: set[str] | None = None,
    ) -> dict[str, Any]:
        raise_now = v is None
        v = v or Validator()
        values = validate.contact_point(msg, v)
        self._check_member(values["jurisdiction"], v)
        await self._check_authority_ref(
            values["authority_id"], values["jurisdiction"], v, "authority_id", pending
        )
        successor = values["successor_id"]
        if successor:
            if successor == own_id:
                v.fail("successor_id", "a contact point cannot succeed itself")
            elif contacts is not None:
                if successor not in contacts:
                    v.fail("successor_id", f"no contact point {successor}")
            elif not is_id(successor) or await self.store.get("contact_point", successor) is None:
                v.fail("successor_id", f"no contact point {successor}")
        if raise_now:
            v.raise_if_errors()
        return values

    async def record_attendance(
        self, req: directory_pb2.RecordAttendanceRequest, caller: Caller
    ) -> directory_pb2.ContactPoint:
        self.require_editor(caller)
        v = Validator()
        note = v.text("note", req.note, required=True, max_len=300)
        if not is_id(req.contact_point_id):
            v.fail("contact_point_id", f"{req.contact_point_id[:60]!r} is not a UUID")
        v.raise_if_errors()
        await self._owned("contact_point", req.contact_point_id, caller)
        row = await self.store.record_attendance(req.contact_point_id, note, req.details_confirmed)
        await self.index.catch_up()
        return convert.contact_point(row, self.network)

    async def delete(
        self, kind: str, record_id: str, expected: int, caller: Caller
    ) -> tuple[str, int]:
        self.require_editor(caller)
        await self._owned(kind, record_id, caller)
        result = await self.store.delete(kind, record_id, expected)
        await self.index.catch_up()
        return result

    async def put_routing_profile(
        self, msg: directory_pb2.RoutingProfile, expected: int, caller: Caller
    ) -> directory_pb2.RoutingProfile:
        self.require_editor(caller)
        v = Validator()
        values = validate.routing_profile(msg, v)
        self._check_member(values["jurisdiction"], v)
        await self._check_authority_ref(
            values["central_authority_id"], values["jurisdiction"], v, "central_authority_id"
        )
        v.raise_if_errors()
        row = await self.store.put_routing_profile(
            values["jurisdiction"], values, expected, new_id()
        )
        return convert.routing_profile(row, self.network)

    async def import_directory(
        self, req: directory_pb2.ImportDirectoryRequest, caller: Caller
    ) -> directory_pb2.ImportDirectoryResponse:
        """Checks every row; writes all of them in one transaction only if none is bad."""
        self.require_editor(caller)
        check = await self._import_check(req)
        errors: list[directory_pb2.RowError] = []
        planned: list[tuple[str, str, dict[str, Any]]] = []
        for row in req.rows:
            kind = row.WhichOneof("record")
            if kind is None:
                errors.append(
                    directory_pb2.RowError(row=row.row, field="kind", message="row has no record")
                )
                continue
            v = Validator()
            record_id, values = await self._import_row(row, kind, check, v)
            errors.extend(
                directory_pb2.RowError(row=row.row, field=e.field, message=e.message)
                for e in v.errors
            )
            planned.append((kind, record_id, values))
        if errors:
            return directory_pb2.ImportDirectoryResponse(errors=errors)
        if req.dry_run:
            return directory_pb2.ImportDirectoryResponse(
                created=len(planned) - check.existing, updated=check.existing
            )
        created, updated = await self.store.import_rows(planned)
        await self.index.catch_up()
        return directory_pb2.ImportDirectoryResponse(created=created, updated=updated)

    async def _import_check(self, req: directory_pb2.ImportDirectoryRequest) -> _ImportCheck:
        """Every lookup the checks of a file need, fetched up front in a few queries."""
        ids: dict[str, list[str]] = {"authority": [], "contact_point": []}
        for row in req.rows:
            kind = row.WhichOneof("record")
            if kind is not None:
                msg = getattr(row, kind)
                if is_id(msg.meta.id.strip()):
                    ids[kind].append(msg.meta.id.strip())
                if kind == "contact_point":
                    ids["authority"] += [i for i in (msg.authority_id,) if is_id(i)]
                    ids["contact_point"] += [i for i in (msg.successor_id,) if is_id(i)]
        held = {kind: await self.store.origins_of(kind, sorted(set(v))) for kind, v in ids.items()}
        # a successor may be another contact point of the same file
        contacts: set[str] = set(held["contact_point"]) | {
            r.contact_point.meta.id.strip()
            for r in req.rows
            if r.WhichOneof("record") == "contact_point" and r.contact_point.meta.id.strip()
        }
        pending = {rid: j for rid, (_, j) in held["authority"].items()}
        return _ImportCheck(held, pending, contacts)

    async def _import_row(
        self, row: directory_pb2.ImportRow, kind: str, check: _ImportCheck, v: Validator
    ) -> tuple[str, dict[str, Any]]:
        """One row's record id and values, its errors in `v`."""
        msg = getattr(row, kind)
        record_id = msg.meta.id.strip() or new_id()
        if not is_id(record_id):
            v.fail("id", f"{record_id!r} is not a UUID")
        elif record_id in check.seen:
            v.fail("id", f"duplicate of row {check.seen[record_id]}")
        else:
            existing = check.held[kind].get(record_id)
            if existing is not None and existing[0] != self.network:
                v.fail("id", f"record {record_id} is a replica owned by {existing[0]}")
            check.existing += existing is not None
        check.seen[record_id] = row.row
        if kind == "authority":
            values = validate.authority(msg, v)
            self._check_member(values["jurisdiction"], v)
            if not v.errors:
                check.pending[record_id] = values["jurisdiction"]
        else:
            values = await self._contact_point_values(
                msg, record_id, check.pending, v, check.contacts
            )
        return record_id, values

    # ------------------------------------------------------------ replicas

    async def replicas_changed(self, committed: list[Committed]) -> None:
        """Replicas were applied or dropped (the kit's ReplicaFeedServicer): the lookup
        index follows, from the change rows the batch wrote when it has them."""
        if committed:
            await self.index.committed(committed)
        else:
            await self.index.catch_up()

    # ------------------------------------------------------------ reference data

    async def instruments(self, party: str = "") -> list[directory_pb2.Instrument]:
        v = Validator()
        party = v.country("party", party, required=False)
        v.raise_if_errors()
        edited = {row.code: row for row in await self.store.instruments()}
        out: list[directory_pb2.Instrument] = []
        for code, info in reference.instruments().items():
            row = edited.pop(code, None)
            if row is None:
                msg = directory_pb2.Instrument(
                    code=code, title=info.title, type=info.type, parties=sorted(info.parties)
                )
            else:
                msg = self._instrument_message(row)
            if not party or party in msg.parties:
                out.append(msg)
        for row in edited.values():  # instruments the editors added
            msg = self._instrument_message(row)
            if not party or party in msg.parties:
                out.append(msg)
        return out

    @staticmethod
    def _instrument_message(row: Any) -> directory_pb2.Instrument:
        msg = directory_pb2.Instrument(
            code=row.code,
            title=row.title,
            type=row.type,
            parties=decode_codes(row.parties),
            edited=True,
            updated_by=row.updated_by,
        )
        msg.updated_at.FromDatetime(as_utc(row.updated_at))
        return msg

    async def put_instrument(
        self, msg: directory_pb2.Instrument, caller: Caller
    ) -> directory_pb2.Instrument:
        """An editor corrects an instrument's parties (ratifications change)."""
        self.require_editor(caller)
        v = Validator()
        code = validate.legal_basis("code", msg.code, v)
        if code == "RECIPROCITY":
            v.fail("code", "reciprocity is not an instrument and has no parties")
        shipped = reference.instruments().get(code)
        title = v.text("title", msg.title, max_len=500) or (shipped.title if shipped else "")
        if not title:
            v.fail("title", "is required for an instrument not shipped with the node")
        kind = v.choice("type", msg.type or (shipped.type if shipped else ""), INSTRUMENT_TYPES)
        parties: list[str] = []
        for i, p in enumerate(msg.parties):
            iso = v.country(f"parties[{i}]", p)
            if iso and iso not in parties:
                parties.append(iso)
        v.raise_if_errors()
        row = await self.store.put_instrument(
            {
                "code": code,
                "title": title,
                "type": kind,
                "parties": encode_codes(sorted(parties)),
                "updated_at": utcnow(),
                "updated_by": caller.subject,
            }
        )
        return self._instrument_message(row)

    def network_message(self, info: reference.NetworkInfo) -> directory_pb2.Network:
        return directory_pb2.Network(
            code=info.code,
            name=info.name,
            region=info.region,
            secretariat=info.secretariat,
            website=info.website,
            working_languages=list(info.working_languages),
            members=[
                directory_pb2.NetworkMembership(
                    jurisdiction=m.jurisdiction, since=m.since, until=m.until
                )
                for m in info.members
            ],
            partner_networks=list(info.partner_networks),
            founding_instrument=info.founding_instrument,
            is_local=info.code == self.network,
        )

    def networks(self) -> list[directory_pb2.Network]:
        return [self.network_message(n) for n in reference.networks().values()]

    def get_network(self, code: str) -> directory_pb2.Network:
        info = reference.networks().get(code.strip().upper())
        if info is None:
            raise NotFound(f"no network {code}")
        return self.network_message(info)

    def jurisdiction_message(self, info: reference.JurisdictionInfo) -> directory_pb2.Jurisdiction:
        return directory_pb2.Jurisdiction(
            code=info.code,
            name=info.name,
            official_languages=list(info.official_languages),
            legal_tradition=info.legal_tradition,
            networks=list(info.networks),
        )

    def jurisdictions_list(self, network: str) -> list[directory_pb2.Jurisdiction]:
        network = network.strip().upper()
        if network and network not in reference.networks():
            raise InvalidInput([FieldError("network", f"unknown network {network!r}")])
        return [
            self.jurisdiction_message(j)
            for j in reference.jurisdictions().values()
            if not network or network in j.networks
        ]

    async def get_jurisdiction(self, code: str, caller: Caller) -> directory_pb2.Jurisdiction:
        iso = country_code(code.strip())
        if iso is None:
            raise InvalidInput.one("iso2", f"{code!r} is not an ISO 3166-1 alpha-2 code")
        info = reference.jurisdictions().get(iso)
        if info is None:
            raise NotFound(f"{iso} is not a member of any network this node knows")
        msg = self.jurisdiction_message(info)
        try:
            msg.routing_profile.CopyFrom(await self.routing_profile(iso, caller))
        except NotFound:
            msg.ClearField("routing_profile")
        return msg
