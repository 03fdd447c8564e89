import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from justnet.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NetworkMembership(_message.Message):
    __slots__ = ("jurisdiction", "since", "until")
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    jurisdiction: str
    since: str
    until: str
    def __init__(self, jurisdiction: _Optional[str] = ..., since: _Optional[str] = ..., until: _Optional[str] = ...) -> None: ...

class Network(_message.Message):
    __slots__ = ("code", "name", "region", "secretariat", "website", "working_languages", "members", "partner_networks", "founding_instrument", "is_local")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SECRETARIAT_FIELD_NUMBER: _ClassVar[int]
    WEBSITE_FIELD_NUMBER: _ClassVar[int]
    WORKING_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    PARTNER_NETWORKS_FIELD_NUMBER: _ClassVar[int]
    FOUNDING_INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    IS_LOCAL_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    region: str
    secretariat: str
    website: str
    working_languages: _containers.RepeatedScalarFieldContainer[str]
    members: _containers.RepeatedCompositeFieldContainer[NetworkMembership]
    partner_networks: _containers.RepeatedScalarFieldContainer[str]
    founding_instrument: str
    is_local: bool
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., region: _Optional[str] = ..., secretariat: _Optional[str] = ..., website: _Optional[str] = ..., working_languages: _Optional[_Iterable[str]] = ..., members: _Optional[_Iterable[_Union[NetworkMembership, _Mapping]]] = ..., partner_networks: _Optional[_Iterable[str]] = ..., founding_instrument: _Optional[str] = ..., is_local: _Optional[bool] = ...) -> None: ...

class ListNetworksRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListNetworksResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Network]
    def __init__(self, items: _Optional[_Iterable[_Union[Network, _Mapping]]] = ...) -> None: ...

class GetNetworkRequest(_message.Message):
    __slots__ = ("code",)
    CODE_FIELD_NUMBER: _ClassVar[int]
    code: str
    def __init__(self, code: _Optional[str] = ...) -> None: ...

class Jurisdiction(_message.Message):
    __slots__ = ("code", "name", "official_languages", "legal_tradition", "networks", "routing_profile")
    CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OFFICIAL_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    LEGAL_TRADITION_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    ROUTING_PROFILE_FIELD_NUMBER: _ClassVar[int]
    code: str
    name: str
    official_languages: _containers.RepeatedScalarFieldContainer[str]
    legal_tradition: str
    networks: _containers.RepeatedScalarFieldContainer[str]
    routing_profile: RoutingProfile
    def __init__(self, code: _Optional[str] = ..., name: _Optional[str] = ..., official_languages: _Optional[_Iterable[str]] = ..., legal_tradition: _Optional[str] = ..., networks: _Optional[_Iterable[str]] = ..., routing_profile: _Optional[_Union[RoutingProfile, _Mapping]] = ...) -> None: ...

class Instrument(_message.Message):
    __slots__ = ("code", "title", "type", "parties", "edited", "updated_at", "updated_by")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PARTIES_FIELD_NUMBER: _ClassVar[int]
    EDITED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    code: str
    title: str
    type: str
    parties: _containers.RepeatedScalarFieldContainer[str]
    edited: bool
    updated_at: _timestamp_pb2.Timestamp
    updated_by: str
    def __init__(self, code: _Optional[str] = ..., title: _Optional[str] = ..., type: _Optional[str] = ..., parties: _Optional[_Iterable[str]] = ..., edited: _Optional[bool] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ...) -> None: ...

class ListInstrumentsRequest(_message.Message):
    __slots__ = ("party",)
    PARTY_FIELD_NUMBER: _ClassVar[int]
    party: str
    def __init__(self, party: _Optional[str] = ...) -> None: ...

class ListInstrumentsResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Instrument]
    def __init__(self, items: _Optional[_Iterable[_Union[Instrument, _Mapping]]] = ...) -> None: ...

class PutInstrumentRequest(_message.Message):
    __slots__ = ("instrument",)
    INSTRUMENT_FIELD_NUMBER: _ClassVar[int]
    instrument: Instrument
    def __init__(self, instrument: _Optional[_Union[Instrument, _Mapping]] = ...) -> None: ...

class ListJurisdictionsRequest(_message.Message):
    __slots__ = ("network",)
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    network: str
    def __init__(self, network: _Optional[str] = ...) -> None: ...

class ListJurisdictionsResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Jurisdiction]
    def __init__(self, items: _Optional[_Iterable[_Union[Jurisdiction, _Mapping]]] = ...) -> None: ...

class GetJurisdictionRequest(_message.Message):
    __slots__ = ("code",)
    CODE_FIELD_NUMBER: _ClassVar[int]
    code: str
    def __init__(self, code: _Optional[str] = ...) -> None: ...

class Authority(_message.Message):
    __slots__ = ("meta", "jurisdiction", "name", "kind", "competences", "accepted_languages", "email", "phone", "address", "website", "available_24_7", "visibility")
    META_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    COMPETENCES_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    WEBSITE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_24_7_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.RecordMeta
    jurisdiction: str
    name: str
    kind: str
    competences: _containers.RepeatedScalarFieldContainer[str]
    accepted_languages: _containers.RepeatedScalarFieldContainer[str]
    email: str
    phone: str
    address: str
    website: str
    available_24_7: bool
    visibility: str
    def __init__(self, meta: _Optional[_Union[_common_pb2.RecordMeta, _Mapping]] = ..., jurisdiction: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[str] = ..., competences: _Optional[_Iterable[str]] = ..., accepted_languages: _Optional[_Iterable[str]] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., address: _Optional[str] = ..., website: _Optional[str] = ..., available_24_7: _Optional[bool] = ..., visibility: _Optional[str] = ...) -> None: ...

class ContactPoint(_message.Message):
    __slots__ = ("meta", "authority_id", "jurisdiction", "name", "title", "languages", "competences", "email", "phone", "available_24_7", "visibility", "term_end", "successor_id", "met_at")
    META_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_ID_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    COMPETENCES_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_24_7_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    TERM_END_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_ID_FIELD_NUMBER: _ClassVar[int]
    MET_AT_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.RecordMeta
    authority_id: str
    jurisdiction: str
    name: str
    title: str
    languages: _containers.RepeatedScalarFieldContainer[str]
    competences: _containers.RepeatedScalarFieldContainer[str]
    email: str
    phone: str
    available_24_7: bool
    visibility: str
    term_end: str
    successor_id: str
    met_at: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, meta: _Optional[_Union[_common_pb2.RecordMeta, _Mapping]] = ..., authority_id: _Optional[str] = ..., jurisdiction: _Optional[str] = ..., name: _Optional[str] = ..., title: _Optional[str] = ..., languages: _Optional[_Iterable[str]] = ..., competences: _Optional[_Iterable[str]] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., available_24_7: _Optional[bool] = ..., visibility: _Optional[str] = ..., term_end: _Optional[str] = ..., successor_id: _Optional[str] = ..., met_at: _Optional[_Iterable[str]] = ...) -> None: ...

class Channel(_message.Message):
    __slots__ = ("kind", "address", "formal")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FORMAL_FIELD_NUMBER: _ClassVar[int]
    kind: str
    address: str
    formal: bool
    def __init__(self, kind: _Optional[str] = ..., address: _Optional[str] = ..., formal: _Optional[bool] = ...) -> None: ...

class MeasureProfile(_message.Message):
    __slots__ = ("code", "applicability", "notes")
    CODE_FIELD_NUMBER: _ClassVar[int]
    APPLICABILITY_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    code: str
    applicability: str
    notes: str
    def __init__(self, code: _Optional[str] = ..., applicability: _Optional[str] = ..., notes: _Optional[str] = ...) -> None: ...

class RoutingProfile(_message.Message):
    __slots__ = ("meta", "jurisdiction", "central_authority_id", "accepted_languages", "channels", "legal_bases", "measures", "acknowledgement_days", "urgent_procedure", "visibility", "standing", "alternatives")
    META_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    CENTRAL_AUTHORITY_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASES_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGEMENT_DAYS_FIELD_NUMBER: _ClassVar[int]
    URGENT_PROCEDURE_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    STANDING_FIELD_NUMBER: _ClassVar[int]
    ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.RecordMeta
    jurisdiction: str
    central_authority_id: str
    accepted_languages: _containers.RepeatedScalarFieldContainer[str]
    channels: _containers.RepeatedCompositeFieldContainer[Channel]
    legal_bases: _containers.RepeatedScalarFieldContainer[str]
    measures: _containers.RepeatedCompositeFieldContainer[MeasureProfile]
    acknowledgement_days: int
    urgent_procedure: str
    visibility: str
    standing: str
    alternatives: _containers.RepeatedCompositeFieldContainer[RoutingProfile]
    def __init__(self, meta: _Optional[_Union[_common_pb2.RecordMeta, _Mapping]] = ..., jurisdiction: _Optional[str] = ..., central_authority_id: _Optional[str] = ..., accepted_languages: _Optional[_Iterable[str]] = ..., channels: _Optional[_Iterable[_Union[Channel, _Mapping]]] = ..., legal_bases: _Optional[_Iterable[str]] = ..., measures: _Optional[_Iterable[_Union[MeasureProfile, _Mapping]]] = ..., acknowledgement_days: _Optional[int] = ..., urgent_procedure: _Optional[str] = ..., visibility: _Optional[str] = ..., standing: _Optional[str] = ..., alternatives: _Optional[_Iterable[_Union[RoutingProfile, _Mapping]]] = ...) -> None: ...

class GetRecordRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteRecordRequest(_message.Message):
    __slots__ = ("id", "expected_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    expected_version: int
    def __init__(self, id: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteRecordResponse(_message.Message):
    __slots__ = ("id", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetRoutingProfileRequest(_message.Message):
    __slots__ = ("jurisdiction", "origin")
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    jurisdiction: str
    origin: str
    def __init__(self, jurisdiction: _Optional[str] = ..., origin: _Optional[str] = ...) -> None: ...

class PutRoutingProfileRequest(_message.Message):
    __slots__ = ("profile", "expected_version")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    profile: RoutingProfile
    expected_version: int
    def __init__(self, profile: _Optional[_Union[RoutingProfile, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class CreateAuthorityRequest(_message.Message):
    __slots__ = ("authority",)
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    authority: Authority
    def __init__(self, authority: _Optional[_Union[Authority, _Mapping]] = ...) -> None: ...

class UpdateAuthorityRequest(_message.Message):
    __slots__ = ("authority", "expected_version")
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    authority: Authority
    expected_version: int
    def __init__(self, authority: _Optional[_Union[Authority, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ListAuthoritiesRequest(_message.Message):
    __slots__ = ("page", "jurisdiction", "competence", "network", "q")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    COMPETENCE_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    Q_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    jurisdiction: str
    competence: str
    network: str
    q: str
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., jurisdiction: _Optional[str] = ..., competence: _Optional[str] = ..., network: _Optional[str] = ..., q: _Optional[str] = ...) -> None: ...

class ListAuthoritiesResponse(_message.Message):
    __slots__ = ("items", "next_cursor")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Authority]
    next_cursor: str
    def __init__(self, items: _Optional[_Iterable[_Union[Authority, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class CreateContactPointRequest(_message.Message):
    __slots__ = ("contact_point",)
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    contact_point: ContactPoint
    def __init__(self, contact_point: _Optional[_Union[ContactPoint, _Mapping]] = ...) -> None: ...

class UpdateContactPointRequest(_message.Message):
    __slots__ = ("contact_point", "expected_version")
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    contact_point: ContactPoint
    expected_version: int
    def __init__(self, contact_point: _Optional[_Union[ContactPoint, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class ListContactPointsRequest(_message.Message):
    __slots__ = ("page", "jurisdiction", "competence", "language", "network", "q", "available_24_7")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    COMPETENCE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    Q_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_24_7_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    jurisdiction: str
    competence: str
    language: str
    network: str
    q: str
    available_24_7: bool
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., jurisdiction: _Optional[str] = ..., competence: _Optional[str] = ..., language: _Optional[str] = ..., network: _Optional[str] = ..., q: _Optional[str] = ..., available_24_7: _Optional[bool] = ...) -> None: ...

class RecordAttendanceRequest(_message.Message):
    __slots__ = ("contact_point_id", "event_id", "note", "details_confirmed")
    CONTACT_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    contact_point_id: str
    event_id: str
    note: str
    details_confirmed: bool
    def __init__(self, contact_point_id: _Optional[str] = ..., event_id: _Optional[str] = ..., note: _Optional[str] = ..., details_confirmed: _Optional[bool] = ...) -> None: ...

class ListContactPointsResponse(_message.Message):
    __slots__ = ("items", "next_cursor")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ContactPoint]
    next_cursor: str
    def __init__(self, items: _Optional[_Iterable[_Union[ContactPoint, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class LookupRequest(_message.Message):
    __slots__ = ("jurisdiction", "competence", "language", "q", "urgent", "limit", "network", "known_token")
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    COMPETENCE_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    Q_FIELD_NUMBER: _ClassVar[int]
    URGENT_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    KNOWN_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jurisdiction: str
    competence: str
    language: str
    q: str
    urgent: bool
    limit: int
    network: str
    known_token: str
    def __init__(self, jurisdiction: _Optional[str] = ..., competence: _Optional[str] = ..., language: _Optional[str] = ..., q: _Optional[str] = ..., urgent: _Optional[bool] = ..., limit: _Optional[int] = ..., network: _Optional[str] = ..., known_token: _Optional[str] = ...) -> None: ...

class LookupItem(_message.Message):
    __slots__ = ("kind", "authority", "contact_point", "score", "matched")
    KIND_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    MATCHED_FIELD_NUMBER: _ClassVar[int]
    kind: str
    authority: Authority
    contact_point: ContactPoint
    score: float
    matched: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kind: _Optional[str] = ..., authority: _Optional[_Union[Authority, _Mapping]] = ..., contact_point: _Optional[_Union[ContactPoint, _Mapping]] = ..., score: _Optional[float] = ..., matched: _Optional[_Iterable[str]] = ...) -> None: ...

class LookupResponse(_message.Message):
    __slots__ = ("items", "networks_consulted", "networks_unavailable", "token", "not_modified")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_CONSULTED_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    NOT_MODIFIED_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[LookupItem]
    networks_consulted: _containers.RepeatedScalarFieldContainer[str]
    networks_unavailable: _containers.RepeatedScalarFieldContainer[str]
    token: str
    not_modified: bool
    def __init__(self, items: _Optional[_Iterable[_Union[LookupItem, _Mapping]]] = ..., networks_consulted: _Optional[_Iterable[str]] = ..., networks_unavailable: _Optional[_Iterable[str]] = ..., token: _Optional[str] = ..., not_modified: _Optional[bool] = ...) -> None: ...

class LookupResponseItems(_message.Message):
    __slots__ = ("items", "networks_consulted", "networks_unavailable", "token", "not_modified")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_CONSULTED_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    NOT_MODIFIED_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedScalarFieldContainer[bytes]
    networks_consulted: _containers.RepeatedScalarFieldContainer[str]
    networks_unavailable: _containers.RepeatedScalarFieldContainer[str]
    token: str
    not_modified: bool
    def __init__(self, items: _Optional[_Iterable[bytes]] = ..., networks_consulted: _Optional[_Iterable[str]] = ..., networks_unavailable: _Optional[_Iterable[str]] = ..., token: _Optional[str] = ..., not_modified: _Optional[bool] = ...) -> None: ...

class ImportRow(_message.Message):
    __slots__ = ("row", "authority", "contact_point")
    ROW_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    row: int
    authority: Authority
    contact_point: ContactPoint
    def __init__(self, row: _Optional[int] = ..., authority: _Optional[_Union[Authority, _Mapping]] = ..., contact_point: _Optional[_Union[ContactPoint, _Mapping]] = ...) -> None: ...

class ImportDirectoryRequest(_message.Message):
    __slots__ = ("rows", "dry_run")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[ImportRow]
    dry_run: bool
    def __init__(self, rows: _Optional[_Iterable[_Union[ImportRow, _Mapping]]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class RowError(_message.Message):
    __slots__ = ("row", "field", "message")
    ROW_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    row: int
    field: str
    message: str
    def __init__(self, row: _Optional[int] = ..., field: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ImportDirectoryResponse(_message.Message):
    __slots__ = ("created", "updated", "errors")
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    created: int
    updated: int
    errors: _containers.RepeatedCompositeFieldContainer[RowError]
    def __init__(self, created: _Optional[int] = ..., updated: _Optional[int] = ..., errors: _Optional[_Iterable[_Union[RowError, _Mapping]]] = ...) -> None: ...

class WatchLookupTokenRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LookupToken(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class DirectoryStatisticsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DirectoryStatisticsGroup(_message.Message):
    __slots__ = ("jurisdiction", "authorities", "contact_points", "routing_profiles", "records", "confirmed_within_12_months", "confirmed_share", "term_ended_without_successor")
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    AUTHORITIES_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINTS_FIELD_NUMBER: _ClassVar[int]
    ROUTING_PROFILES_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_WITHIN_12_MONTHS_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_SHARE_FIELD_NUMBER: _ClassVar[int]
    TERM_ENDED_WITHOUT_SUCCESSOR_FIELD_NUMBER: _ClassVar[int]
    jurisdiction: str
    authorities: int
    contact_points: int
    routing_profiles: int
    records: int
    confirmed_within_12_months: int
    confirmed_share: float
    term_ended_without_successor: int
    def __init__(self, jurisdiction: _Optional[str] = ..., authorities: _Optional[int] = ..., contact_points: _Optional[int] = ..., routing_profiles: _Optional[int] = ..., records: _Optional[int] = ..., confirmed_within_12_months: _Optional[int] = ..., confirmed_share: _Optional[float] = ..., term_ended_without_successor: _Optional[int] = ...) -> None: ...

class DirectoryStatistics(_message.Message):
    __slots__ = ("groups", "computed_at")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[DirectoryStatisticsGroup]
    computed_at: _timestamp_pb2.Timestamp
    def __init__(self, groups: _Optional[_Iterable[_Union[DirectoryStatisticsGroup, _Mapping]]] = ..., computed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
