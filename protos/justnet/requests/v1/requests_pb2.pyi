import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from justnet.common.v1 import common_pb2 as _common_pb2
from justnet.common.v1 import exchange_pb2 as _exchange_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PlanRouteRequest(_message.Message):
    __slots__ = ("requesting_jurisdiction", "requested_jurisdiction", "measures", "urgency", "language")
    REQUESTING_JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    URGENCY_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    requesting_jurisdiction: str
    requested_jurisdiction: str
    measures: _containers.RepeatedScalarFieldContainer[str]
    urgency: str
    language: str
    def __init__(self, requesting_jurisdiction: _Optional[str] = ..., requested_jurisdiction: _Optional[str] = ..., measures: _Optional[_Iterable[str]] = ..., urgency: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class AuthorityRef(_message.Message):
    __slots__ = ("id", "name", "jurisdiction", "origin", "email", "phone", "website", "accepted_languages", "available_24_7")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    WEBSITE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_24_7_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    jurisdiction: str
    origin: str
    email: str
    phone: str
    website: str
    accepted_languages: _containers.RepeatedScalarFieldContainer[str]
    available_24_7: bool
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., jurisdiction: _Optional[str] = ..., origin: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., website: _Optional[str] = ..., accepted_languages: _Optional[_Iterable[str]] = ..., available_24_7: _Optional[bool] = ...) -> None: ...

class RouteChannel(_message.Message):
    __slots__ = ("kind", "address", "formal")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    FORMAL_FIELD_NUMBER: _ClassVar[int]
    kind: str
    address: str
    formal: bool
    def __init__(self, kind: _Optional[str] = ..., address: _Optional[str] = ..., formal: _Optional[bool] = ...) -> None: ...

class LegalBasis(_message.Message):
    __slots__ = ("code", "title", "kind", "last_resort", "listed_by_requested_state")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LAST_RESORT_FIELD_NUMBER: _ClassVar[int]
    LISTED_BY_REQUESTED_STATE_FIELD_NUMBER: _ClassVar[int]
    code: str
    title: str
    kind: str
    last_resort: bool
    listed_by_requested_state: bool
    def __init__(self, code: _Optional[str] = ..., title: _Optional[str] = ..., kind: _Optional[str] = ..., last_resort: _Optional[bool] = ..., listed_by_requested_state: _Optional[bool] = ...) -> None: ...

class MeasureAdvice(_message.Message):
    __slots__ = ("code", "applicability", "notes", "alternatives")
    CODE_FIELD_NUMBER: _ClassVar[int]
    APPLICABILITY_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    ALTERNATIVES_FIELD_NUMBER: _ClassVar[int]
    code: str
    applicability: str
    notes: str
    alternatives: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, code: _Optional[str] = ..., applicability: _Optional[str] = ..., notes: _Optional[str] = ..., alternatives: _Optional[_Iterable[str]] = ...) -> None: ...

class ContactSuggestion(_message.Message):
    __slots__ = ("id", "name", "title", "jurisdiction", "origin", "authority_id", "languages", "competences", "available_24_7", "email", "phone", "score", "reasons")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    AUTHORITY_ID_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    COMPETENCES_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_24_7_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    title: str
    jurisdiction: str
    origin: str
    authority_id: str
    languages: _containers.RepeatedScalarFieldContainer[str]
    competences: _containers.RepeatedScalarFieldContainer[str]
    available_24_7: bool
    email: str
    phone: str
    score: float
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., title: _Optional[str] = ..., jurisdiction: _Optional[str] = ..., origin: _Optional[str] = ..., authority_id: _Optional[str] = ..., languages: _Optional[_Iterable[str]] = ..., competences: _Optional[_Iterable[str]] = ..., available_24_7: _Optional[bool] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., score: _Optional[float] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class RouteWarning(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class Route(_message.Message):
    __slots__ = ("requesting_jurisdiction", "requested_jurisdiction", "destination_network", "destination_is_local", "central_authority", "channels", "legal_bases", "accepted_languages", "translation_required", "language", "measures", "contacts", "warnings", "urgency", "acknowledgement_days", "urgent_procedure", "profile_origin", "profile_last_verified_at")
    REQUESTING_JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_NETWORK_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_IS_LOCAL_FIELD_NUMBER: _ClassVar[int]
    CENTRAL_AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASES_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    TRANSLATION_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    CONTACTS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    URGENCY_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGEMENT_DAYS_FIELD_NUMBER: _ClassVar[int]
    URGENT_PROCEDURE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_ORIGIN_FIELD_NUMBER: _ClassVar[int]
    PROFILE_LAST_VERIFIED_AT_FIELD_NUMBER: _ClassVar[int]
    requesting_jurisdiction: str
    requested_jurisdiction: str
    destination_network: str
    destination_is_local: bool
    central_authority: AuthorityRef
    channels: _containers.RepeatedCompositeFieldContainer[RouteChannel]
    legal_bases: _containers.RepeatedCompositeFieldContainer[LegalBasis]
    accepted_languages: _containers.RepeatedScalarFieldContainer[str]
    translation_required: bool
    language: str
    measures: _containers.RepeatedCompositeFieldContainer[MeasureAdvice]
    contacts: _containers.RepeatedCompositeFieldContainer[ContactSuggestion]
    warnings: _containers.RepeatedCompositeFieldContainer[RouteWarning]
    urgency: str
    acknowledgement_days: int
    urgent_procedure: str
    profile_origin: str
    profile_last_verified_at: _timestamp_pb2.Timestamp
    def __init__(self, requesting_jurisdiction: _Optional[str] = ..., requested_jurisdiction: _Optional[str] = ..., destination_network: _Optional[str] = ..., destination_is_local: _Optional[bool] = ..., central_authority: _Optional[_Union[AuthorityRef, _Mapping]] = ..., channels: _Optional[_Iterable[_Union[RouteChannel, _Mapping]]] = ..., legal_bases: _Optional[_Iterable[_Union[LegalBasis, _Mapping]]] = ..., accepted_languages: _Optional[_Iterable[str]] = ..., translation_required: _Optional[bool] = ..., language: _Optional[str] = ..., measures: _Optional[_Iterable[_Union[MeasureAdvice, _Mapping]]] = ..., contacts: _Optional[_Iterable[_Union[ContactSuggestion, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[RouteWarning, _Mapping]]] = ..., urgency: _Optional[str] = ..., acknowledgement_days: _Optional[int] = ..., urgent_procedure: _Optional[str] = ..., profile_origin: _Optional[str] = ..., profile_last_verified_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RequestInput(_message.Message):
    __slots__ = ("requesting_jurisdiction", "requested_jurisdiction", "measures", "urgency", "language", "title", "reference", "offences", "summary", "deadline", "confidential")
    REQUESTING_JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    URGENCY_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    OFFENCES_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENTIAL_FIELD_NUMBER: _ClassVar[int]
    requesting_jurisdiction: str
    requested_jurisdiction: str
    measures: _containers.RepeatedScalarFieldContainer[str]
    urgency: str
    language: str
    title: str
    reference: str
    offences: _containers.RepeatedScalarFieldContainer[str]
    summary: str
    deadline: str
    confidential: bool
    def __init__(self, requesting_jurisdiction: _Optional[str] = ..., requested_jurisdiction: _Optional[str] = ..., measures: _Optional[_Iterable[str]] = ..., urgency: _Optional[str] = ..., language: _Optional[str] = ..., title: _Optional[str] = ..., reference: _Optional[str] = ..., offences: _Optional[_Iterable[str]] = ..., summary: _Optional[str] = ..., deadline: _Optional[str] = ..., confidential: _Optional[bool] = ...) -> None: ...

class DeliveryState(_message.Message):
    __slots__ = ("state", "message_id", "event_seq", "destination", "attempts", "last_error", "reason", "settled_at", "receipt", "receipt_body", "receipt_verified")
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_SEQ_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SETTLED_AT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_BODY_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    state: str
    message_id: str
    event_seq: int
    destination: str
    attempts: int
    last_error: str
    reason: str
    settled_at: _timestamp_pb2.Timestamp
    receipt: _exchange_pb2.SignedReceipt
    receipt_body: _exchange_pb2.ReceiptBody
    receipt_verified: bool
    def __init__(self, state: _Optional[str] = ..., message_id: _Optional[str] = ..., event_seq: _Optional[int] = ..., destination: _Optional[str] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., reason: _Optional[str] = ..., settled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receipt: _Optional[_Union[_exchange_pb2.SignedReceipt, _Mapping]] = ..., receipt_body: _Optional[_Union[_exchange_pb2.ReceiptBody, _Mapping]] = ..., receipt_verified: _Optional[bool] = ...) -> None: ...

class Request(_message.Message):
    __slots__ = ("id", "origin", "version", "created_at", "updated_at", "direction", "status", "requesting_network", "requested_network", "requesting_jurisdiction", "requested_jurisdiction", "measures", "urgency", "language", "title", "reference", "offences", "summary", "deadline", "confidential", "owner", "submitted_at", "acknowledgement_due", "overdue", "overdue_reasons", "route", "delivery", "events", "conflict")
    ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REQUESTING_NETWORK_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_NETWORK_FIELD_NUMBER: _ClassVar[int]
    REQUESTING_JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    URGENCY_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    OFFENCES_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENTIAL_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGEMENT_DUE_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_REASONS_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_FIELD_NUMBER: _ClassVar[int]
    id: str
    origin: str
    version: int
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    direction: str
    status: str
    requesting_network: str
    requested_network: str
    requesting_jurisdiction: str
    requested_jurisdiction: str
    measures: _containers.RepeatedScalarFieldContainer[str]
    urgency: str
    language: str
    title: str
    reference: str
    offences: _containers.RepeatedScalarFieldContainer[str]
    summary: str
    deadline: str
    confidential: bool
    owner: str
    submitted_at: _timestamp_pb2.Timestamp
    acknowledgement_due: _timestamp_pb2.Timestamp
    overdue: bool
    overdue_reasons: _containers.RepeatedScalarFieldContainer[str]
    route: Route
    delivery: DeliveryState
    events: int
    conflict: str
    def __init__(self, id: _Optional[str] = ..., origin: _Optional[str] = ..., version: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., direction: _Optional[str] = ..., status: _Optional[str] = ..., requesting_network: _Optional[str] = ..., requested_network: _Optional[str] = ..., requesting_jurisdiction: _Optional[str] = ..., requested_jurisdiction: _Optional[str] = ..., measures: _Optional[_Iterable[str]] = ..., urgency: _Optional[str] = ..., language: _Optional[str] = ..., title: _Optional[str] = ..., reference: _Optional[str] = ..., offences: _Optional[_Iterable[str]] = ..., summary: _Optional[str] = ..., deadline: _Optional[str] = ..., confidential: _Optional[bool] = ..., owner: _Optional[str] = ..., submitted_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledgement_due: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., overdue: _Optional[bool] = ..., overdue_reasons: _Optional[_Iterable[str]] = ..., route: _Optional[_Union[Route, _Mapping]] = ..., delivery: _Optional[_Union[DeliveryState, _Mapping]] = ..., events: _Optional[int] = ..., conflict: _Optional[str] = ...) -> None: ...

class CreateRequestRequest(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: RequestInput
    def __init__(self, request: _Optional[_Union[RequestInput, _Mapping]] = ...) -> None: ...

class UpdateDraftRequest(_message.Message):
    __slots__ = ("id", "request", "expected_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    request: RequestInput
    expected_version: int
    def __init__(self, id: _Optional[str] = ..., request: _Optional[_Union[RequestInput, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class GetRequestRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListRequestsRequest(_message.Message):
    __slots__ = ("page", "status", "direction")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    status: str
    direction: str
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., status: _Optional[str] = ..., direction: _Optional[str] = ...) -> None: ...

class ListRequestsResponse(_message.Message):
    __slots__ = ("items", "next_cursor")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Request]
    next_cursor: str
    def __init__(self, items: _Optional[_Iterable[_Union[Request, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class SubmitRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ChangeStatusRequest(_message.Message):
    __slots__ = ("id", "status", "note", "expected_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    note: str
    expected_version: int
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., note: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class GetHistoryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ListOverdueRequest(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class HistoryEntry(_message.Message):
    __slots__ = ("seq", "status", "author", "note", "at", "key_id", "signature", "hash", "prev_hash", "verified", "problem", "delivery")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    PROBLEM_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    seq: int
    status: str
    author: str
    note: str
    at: _timestamp_pb2.Timestamp
    key_id: str
    signature: bytes
    hash: bytes
    prev_hash: bytes
    verified: bool
    problem: str
    delivery: DeliveryState
    def __init__(self, seq: _Optional[int] = ..., status: _Optional[str] = ..., author: _Optional[str] = ..., note: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., key_id: _Optional[str] = ..., signature: _Optional[bytes] = ..., hash: _Optional[bytes] = ..., prev_hash: _Optional[bytes] = ..., verified: _Optional[bool] = ..., problem: _Optional[str] = ..., delivery: _Optional[_Union[DeliveryState, _Mapping]] = ...) -> None: ...

class History(_message.Message):
    __slots__ = ("request_id", "events", "verified")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    events: _containers.RepeatedCompositeFieldContainer[HistoryEntry]
    verified: bool
    def __init__(self, request_id: _Optional[str] = ..., events: _Optional[_Iterable[_Union[HistoryEntry, _Mapping]]] = ..., verified: _Optional[bool] = ...) -> None: ...

class RequestEvent(_message.Message):
    __slots__ = ("request_id", "seq", "prev_hash", "author", "status", "note", "at", "payload")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    seq: int
    prev_hash: bytes
    author: str
    status: str
    note: str
    at: _timestamp_pb2.Timestamp
    payload: bytes
    def __init__(self, request_id: _Optional[str] = ..., seq: _Optional[int] = ..., prev_hash: _Optional[bytes] = ..., author: _Optional[str] = ..., status: _Optional[str] = ..., note: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payload: _Optional[bytes] = ...) -> None: ...

class SignedEvent(_message.Message):
    __slots__ = ("event", "key_id", "signature")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    event: bytes
    key_id: str
    signature: bytes
    def __init__(self, event: _Optional[bytes] = ..., key_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class RequestSummary(_message.Message):
    __slots__ = ("id", "requesting_network", "requested_network", "requesting_jurisdiction", "requested_jurisdiction", "measures", "urgency", "language", "title", "reference", "offences", "summary", "deadline", "confidential", "route", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTING_NETWORK_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_NETWORK_FIELD_NUMBER: _ClassVar[int]
    REQUESTING_JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    URGENCY_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    OFFENCES_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENTIAL_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    requesting_network: str
    requested_network: str
    requesting_jurisdiction: str
    requested_jurisdiction: str
    measures: _containers.RepeatedScalarFieldContainer[str]
    urgency: str
    language: str
    title: str
    reference: str
    offences: _containers.RepeatedScalarFieldContainer[str]
    summary: str
    deadline: str
    confidential: bool
    route: Route
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., requesting_network: _Optional[str] = ..., requested_network: _Optional[str] = ..., requesting_jurisdiction: _Optional[str] = ..., requested_jurisdiction: _Optional[str] = ..., measures: _Optional[_Iterable[str]] = ..., urgency: _Optional[str] = ..., language: _Optional[str] = ..., title: _Optional[str] = ..., reference: _Optional[str] = ..., offences: _Optional[_Iterable[str]] = ..., summary: _Optional[str] = ..., deadline: _Optional[str] = ..., confidential: _Optional[bool] = ..., route: _Optional[_Union[Route, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EventMessage(_message.Message):
    __slots__ = ("request_id", "events", "first_seq", "head_hash")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEQ_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    events: _containers.RepeatedCompositeFieldContainer[SignedEvent]
    first_seq: int
    head_hash: bytes
    def __init__(self, request_id: _Optional[str] = ..., events: _Optional[_Iterable[_Union[SignedEvent, _Mapping]]] = ..., first_seq: _Optional[int] = ..., head_hash: _Optional[bytes] = ...) -> None: ...

class EventReceipt(_message.Message):
    __slots__ = ("request_id", "held_seq", "applied", "head_hash")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    HELD_SEQ_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    HEAD_HASH_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    held_seq: int
    applied: int
    head_hash: bytes
    def __init__(self, request_id: _Optional[str] = ..., held_seq: _Optional[int] = ..., applied: _Optional[int] = ..., head_hash: _Optional[bytes] = ...) -> None: ...

class RequestStatisticsRequest(_message.Message):
    __slots__ = ("from_date", "to_date", "group_by", "direction")
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    from_date: str
    to_date: str
    group_by: str
    direction: str
    def __init__(self, from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., group_by: _Optional[str] = ..., direction: _Optional[str] = ...) -> None: ...

class RequestStatisticsGroup(_message.Message):
    __slots__ = ("direction", "key", "requests", "acknowledged", "executed", "refused", "overdue", "overdue_share", "refused_share", "median_days_to_acknowledge", "p90_days_to_acknowledge", "median_days_to_execute", "p90_days_to_execute")
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    EXECUTED_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_FIELD_NUMBER: _ClassVar[int]
    OVERDUE_SHARE_FIELD_NUMBER: _ClassVar[int]
    REFUSED_SHARE_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_DAYS_TO_ACKNOWLEDGE_FIELD_NUMBER: _ClassVar[int]
    P90_DAYS_TO_ACKNOWLEDGE_FIELD_NUMBER: _ClassVar[int]
    MEDIAN_DAYS_TO_EXECUTE_FIELD_NUMBER: _ClassVar[int]
    P90_DAYS_TO_EXECUTE_FIELD_NUMBER: _ClassVar[int]
    direction: str
    key: str
    requests: int
    acknowledged: int
    executed: int
    refused: int
    overdue: int
    overdue_share: float
    refused_share: float
    median_days_to_acknowledge: float
    p90_days_to_acknowledge: float
    median_days_to_execute: float
    p90_days_to_execute: float
    def __init__(self, direction: _Optional[str] = ..., key: _Optional[str] = ..., requests: _Optional[int] = ..., acknowledged: _Optional[int] = ..., executed: _Optional[int] = ..., refused: _Optional[int] = ..., overdue: _Optional[int] = ..., overdue_share: _Optional[float] = ..., refused_share: _Optional[float] = ..., median_days_to_acknowledge: _Optional[float] = ..., p90_days_to_acknowledge: _Optional[float] = ..., median_days_to_execute: _Optional[float] = ..., p90_days_to_execute: _Optional[float] = ...) -> None: ...

class RequestStatistics(_message.Message):
    __slots__ = ("group_by", "from_date", "to_date", "groups", "computed_at")
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    group_by: str
    from_date: str
    to_date: str
    groups: _containers.RepeatedCompositeFieldContainer[RequestStatisticsGroup]
    computed_at: _timestamp_pb2.Timestamp
    def __init__(self, group_by: _Optional[str] = ..., from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., groups: _Optional[_Iterable[_Union[RequestStatisticsGroup, _Mapping]]] = ..., computed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
