from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

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

class Route(_message.Message):
    __slots__ = ("destination_network", "central_authority_id", "legal_bases", "accepted_languages", "translation_required", "warnings")
    DESTINATION_NETWORK_FIELD_NUMBER: _ClassVar[int]
    CENTRAL_AUTHORITY_ID_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASES_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_LANGUAGES_FIELD_NUMBER: _ClassVar[int]
    TRANSLATION_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    destination_network: str
    central_authority_id: str
    legal_bases: _containers.RepeatedScalarFieldContainer[str]
    accepted_languages: _containers.RepeatedScalarFieldContainer[str]
    translation_required: bool
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, destination_network: _Optional[str] = ..., central_authority_id: _Optional[str] = ..., legal_bases: _Optional[_Iterable[str]] = ..., accepted_languages: _Optional[_Iterable[str]] = ..., translation_required: _Optional[bool] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...
