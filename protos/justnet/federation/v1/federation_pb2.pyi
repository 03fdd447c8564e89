import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NodeDescriptor(_message.Message):
    __slots__ = ("network", "name", "peer_endpoint", "jurisdictions", "key_id", "public_key", "certificate_fingerprint", "certificate_pem")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PEER_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    JURISDICTIONS_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    network: str
    name: str
    peer_endpoint: str
    jurisdictions: _containers.RepeatedScalarFieldContainer[str]
    key_id: str
    public_key: str
    certificate_fingerprint: str
    certificate_pem: str
    def __init__(self, network: _Optional[str] = ..., name: _Optional[str] = ..., peer_endpoint: _Optional[str] = ..., jurisdictions: _Optional[_Iterable[str]] = ..., key_id: _Optional[str] = ..., public_key: _Optional[str] = ..., certificate_fingerprint: _Optional[str] = ..., certificate_pem: _Optional[str] = ...) -> None: ...

class GetNodeInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PeerStatus(_message.Message):
    __slots__ = ("network", "endpoint", "state", "cursor", "lag_seconds", "last_success_at", "last_error", "records")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LAG_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESS_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    network: str
    endpoint: str
    state: str
    cursor: int
    lag_seconds: float
    last_success_at: _timestamp_pb2.Timestamp
    last_error: str
    records: int
    def __init__(self, network: _Optional[str] = ..., endpoint: _Optional[str] = ..., state: _Optional[str] = ..., cursor: _Optional[int] = ..., lag_seconds: _Optional[float] = ..., last_success_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., records: _Optional[int] = ...) -> None: ...

class ListPeersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListPeersResponse(_message.Message):
    __slots__ = ("peers",)
    PEERS_FIELD_NUMBER: _ClassVar[int]
    peers: _containers.RepeatedCompositeFieldContainer[PeerStatus]
    def __init__(self, peers: _Optional[_Iterable[_Union[PeerStatus, _Mapping]]] = ...) -> None: ...
