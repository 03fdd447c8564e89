import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from justnet.common.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Venue(_message.Message):
    __slots__ = ("city", "country")
    CITY_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    city: str
    country: str
    def __init__(self, city: _Optional[str] = ..., country: _Optional[str] = ...) -> None: ...

class AgendaItem(_message.Message):
    __slots__ = ("title", "starts_at", "description")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    title: str
    starts_at: str
    description: str
    def __init__(self, title: _Optional[str] = ..., starts_at: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class Document(_message.Message):
    __slots__ = ("title", "url", "language")
    TITLE_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    title: str
    url: str
    language: str
    def __init__(self, title: _Optional[str] = ..., url: _Optional[str] = ..., language: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("meta", "title", "kind", "starts_at", "ends_at", "timezone", "visibility", "description", "venue", "online_url", "languages", "interpretation", "agenda", "documents", "capacity", "registration_deadline", "starts_at_utc", "ends_at_utc", "confirmed", "waitlisted")
    META_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    ONLINE_URL_FIELD_NUMBER: _ClassVar[int]
    LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    INTERPRETATION_FIELD_NUMBER: _ClassVar[int]
    AGENDA_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_DEADLINE_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_UTC_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_UTC_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    WAITLISTED_FIELD_NUMBER: _ClassVar[int]
    meta: _common_pb2.RecordMeta
    title: str
    kind: str
    starts_at: str
    ends_at: str
    timezone: str
    visibility: str
    description: str
    venue: Venue
    online_url: str
    languages: _containers.RepeatedScalarFieldContainer[str]
    interpretation: _containers.RepeatedScalarFieldContainer[str]
    agenda: _containers.RepeatedCompositeFieldContainer[AgendaItem]
    documents: _containers.RepeatedCompositeFieldContainer[Document]
    capacity: int
    registration_deadline: str
    starts_at_utc: str
    ends_at_utc: str
    confirmed: int
    waitlisted: int
    def __init__(self, meta: _Optional[_Union[_common_pb2.RecordMeta, _Mapping]] = ..., title: _Optional[str] = ..., kind: _Optional[str] = ..., starts_at: _Optional[str] = ..., ends_at: _Optional[str] = ..., timezone: _Optional[str] = ..., visibility: _Optional[str] = ..., description: _Optional[str] = ..., venue: _Optional[_Union[Venue, _Mapping]] = ..., online_url: _Optional[str] = ..., languages: _Optional[_Iterable[str]] = ..., interpretation: _Optional[_Iterable[str]] = ..., agenda: _Optional[_Iterable[_Union[AgendaItem, _Mapping]]] = ..., documents: _Optional[_Iterable[_Union[Document, _Mapping]]] = ..., capacity: _Optional[int] = ..., registration_deadline: _Optional[str] = ..., starts_at_utc: _Optional[str] = ..., ends_at_utc: _Optional[str] = ..., confirmed: _Optional[int] = ..., waitlisted: _Optional[int] = ...) -> None: ...

class CreateEventRequest(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: Event
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ...) -> None: ...

class GetEventRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class UpdateEventRequest(_message.Message):
    __slots__ = ("event", "expected_version")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    event: Event
    expected_version: int
    def __init__(self, event: _Optional[_Union[Event, _Mapping]] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteEventRequest(_message.Message):
    __slots__ = ("id", "expected_version")
    ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    expected_version: int
    def __init__(self, id: _Optional[str] = ..., expected_version: _Optional[int] = ...) -> None: ...

class DeleteEventResponse(_message.Message):
    __slots__ = ("id", "version")
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ("page", "network", "kind", "to")
    PAGE_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    network: str
    kind: str
    to: str
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ..., network: _Optional[str] = ..., kind: _Optional[str] = ..., to: _Optional[str] = ..., **kwargs) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("items", "next_cursor")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Event]
    next_cursor: str
    def __init__(self, items: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...

class Registration(_message.Message):
    __slots__ = ("id", "event_id", "event_origin", "network", "subject", "name", "email", "contact_point_id", "state", "waitlist_position", "attended", "details_confirmed", "created_at", "updated_at", "attended_at", "reason", "recorded_on_contact_point", "event_title")
    ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    EVENT_ORIGIN_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    WAITLIST_POSITION_FIELD_NUMBER: _ClassVar[int]
    ATTENDED_FIELD_NUMBER: _ClassVar[int]
    DETAILS_CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTENDED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECORDED_ON_CONTACT_POINT_FIELD_NUMBER: _ClassVar[int]
    EVENT_TITLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    event_id: str
    event_origin: str
    network: str
    subject: str
    name: str
    email: str
    contact_point_id: str
    state: str
    waitlist_position: int
    attended: bool
    details_confirmed: bool
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    attended_at: _timestamp_pb2.Timestamp
    reason: str
    recorded_on_contact_point: bool
    event_title: str
    def __init__(self, id: _Optional[str] = ..., event_id: _Optional[str] = ..., event_origin: _Optional[str] = ..., network: _Optional[str] = ..., subject: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., contact_point_id: _Optional[str] = ..., state: _Optional[str] = ..., waitlist_position: _Optional[int] = ..., attended: _Optional[bool] = ..., details_confirmed: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attended_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., recorded_on_contact_point: _Optional[bool] = ..., event_title: _Optional[str] = ...) -> None: ...

class RegisterRequest(_message.Message):
    __slots__ = ("event_id", "name", "email", "contact_point_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    name: str
    email: str
    contact_point_id: str
    def __init__(self, event_id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., contact_point_id: _Optional[str] = ...) -> None: ...

class GetRegistrationRequest(_message.Message):
    __slots__ = ("event_id", "id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    id: str
    def __init__(self, event_id: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class ListRegistrationsRequest(_message.Message):
    __slots__ = ("event_id", "state", "mine")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MINE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    state: str
    mine: bool
    def __init__(self, event_id: _Optional[str] = ..., state: _Optional[str] = ..., mine: _Optional[bool] = ...) -> None: ...

class ListRegistrationsResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Registration]
    def __init__(self, items: _Optional[_Iterable[_Union[Registration, _Mapping]]] = ...) -> None: ...

class MarkAttendanceRequest(_message.Message):
    __slots__ = ("event_id", "id", "attended", "details_confirmed")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    ATTENDED_FIELD_NUMBER: _ClassVar[int]
    DETAILS_CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    id: str
    attended: bool
    details_confirmed: bool
    def __init__(self, event_id: _Optional[str] = ..., id: _Optional[str] = ..., attended: _Optional[bool] = ..., details_confirmed: _Optional[bool] = ...) -> None: ...

class GetCalendarRequest(_message.Message):
    __slots__ = ("event_id", "network", "kind", "to")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    network: str
    kind: str
    to: str
    def __init__(self, event_id: _Optional[str] = ..., network: _Optional[str] = ..., kind: _Optional[str] = ..., to: _Optional[str] = ..., **kwargs) -> None: ...

class Calendar(_message.Message):
    __slots__ = ("content", "events")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    content: bytes
    events: int
    def __init__(self, content: _Optional[bytes] = ..., events: _Optional[int] = ...) -> None: ...

class RegistrationMessage(_message.Message):
    __slots__ = ("event_id", "registration_id", "subject", "name", "email", "contact_point_id", "registered_at")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    registration_id: str
    subject: str
    name: str
    email: str
    contact_point_id: str
    registered_at: _timestamp_pb2.Timestamp
    def __init__(self, event_id: _Optional[str] = ..., registration_id: _Optional[str] = ..., subject: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., contact_point_id: _Optional[str] = ..., registered_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CancellationMessage(_message.Message):
    __slots__ = ("event_id", "registration_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    registration_id: str
    def __init__(self, event_id: _Optional[str] = ..., registration_id: _Optional[str] = ...) -> None: ...

class RegistrationReply(_message.Message):
    __slots__ = ("state", "waitlist_position", "registration_id")
    STATE_FIELD_NUMBER: _ClassVar[int]
    WAITLIST_POSITION_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_ID_FIELD_NUMBER: _ClassVar[int]
    state: str
    waitlist_position: int
    registration_id: str
    def __init__(self, state: _Optional[str] = ..., waitlist_position: _Optional[int] = ..., registration_id: _Optional[str] = ...) -> None: ...

class RegistrationUpdate(_message.Message):
    __slots__ = ("event_id", "registration_id", "state", "waitlist_position")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTRATION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    WAITLIST_POSITION_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    registration_id: str
    state: str
    waitlist_position: int
    def __init__(self, event_id: _Optional[str] = ..., registration_id: _Optional[str] = ..., state: _Optional[str] = ..., waitlist_position: _Optional[int] = ...) -> None: ...

class EventStatisticsRequest(_message.Message):
    __slots__ = ("from_date", "to_date")
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    from_date: str
    to_date: str
    def __init__(self, from_date: _Optional[str] = ..., to_date: _Optional[str] = ...) -> None: ...

class EventStatisticsGroup(_message.Message):
    __slots__ = ("network", "kind", "registrations", "confirmed", "waitlisted", "cancelled", "attended", "attendance_share")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REGISTRATIONS_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    WAITLISTED_FIELD_NUMBER: _ClassVar[int]
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    ATTENDED_FIELD_NUMBER: _ClassVar[int]
    ATTENDANCE_SHARE_FIELD_NUMBER: _ClassVar[int]
    network: str
    kind: str
    registrations: int
    confirmed: int
    waitlisted: int
    cancelled: int
    attended: int
    attendance_share: float
    def __init__(self, network: _Optional[str] = ..., kind: _Optional[str] = ..., registrations: _Optional[int] = ..., confirmed: _Optional[int] = ..., waitlisted: _Optional[int] = ..., cancelled: _Optional[int] = ..., attended: _Optional[int] = ..., attendance_share: _Optional[float] = ...) -> None: ...

class EventKindCount(_message.Message):
    __slots__ = ("kind", "events")
    KIND_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    kind: str
    events: int
    def __init__(self, kind: _Optional[str] = ..., events: _Optional[int] = ...) -> None: ...

class EventStatistics(_message.Message):
    __slots__ = ("from_date", "to_date", "groups", "events")
    FROM_DATE_FIELD_NUMBER: _ClassVar[int]
    TO_DATE_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    from_date: str
    to_date: str
    groups: _containers.RepeatedCompositeFieldContainer[EventStatisticsGroup]
    events: _containers.RepeatedCompositeFieldContainer[EventKindCount]
    def __init__(self, from_date: _Optional[str] = ..., to_date: _Optional[str] = ..., groups: _Optional[_Iterable[_Union[EventStatisticsGroup, _Mapping]]] = ..., events: _Optional[_Iterable[_Union[EventKindCount, _Mapping]]] = ...) -> None: ...
