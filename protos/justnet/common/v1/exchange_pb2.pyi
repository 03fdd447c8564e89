import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InboundMessage(_message.Message):
    __slots__ = ("origin", "message_id", "kind", "payload", "sent_at", "key_id")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    origin: str
    message_id: str
    kind: str
    payload: bytes
    sent_at: _timestamp_pb2.Timestamp
    key_id: str
    def __init__(self, origin: _Optional[str] = ..., message_id: _Optional[str] = ..., kind: _Optional[str] = ..., payload: _Optional[bytes] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., key_id: _Optional[str] = ...) -> None: ...

class InboundReply(_message.Message):
    __slots__ = ("accepted", "reason", "reply")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    reason: str
    reply: bytes
    def __init__(self, accepted: _Optional[bool] = ..., reason: _Optional[str] = ..., reply: _Optional[bytes] = ...) -> None: ...

class ReceiptBody(_message.Message):
    __slots__ = ("origin", "destination", "message_id", "kind", "payload_sha256", "accepted", "reason", "reply", "received_at")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_SHA256_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    origin: str
    destination: str
    message_id: str
    kind: str
    payload_sha256: bytes
    accepted: bool
    reason: str
    reply: bytes
    received_at: _timestamp_pb2.Timestamp
    def __init__(self, origin: _Optional[str] = ..., destination: _Optional[str] = ..., message_id: _Optional[str] = ..., kind: _Optional[str] = ..., payload_sha256: _Optional[bytes] = ..., accepted: _Optional[bool] = ..., reason: _Optional[str] = ..., reply: _Optional[bytes] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SignedReceipt(_message.Message):
    __slots__ = ("body", "key_id", "signature")
    BODY_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    body: bytes
    key_id: str
    signature: bytes
    def __init__(self, body: _Optional[bytes] = ..., key_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("message_id", "destination", "kind", "state", "attempts", "last_error", "next_attempt_at", "created_at", "settled_at", "receipt", "receipt_body", "receipt_verified")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SETTLED_AT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_BODY_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    destination: str
    kind: str
    state: str
    attempts: int
    last_error: str
    next_attempt_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    settled_at: _timestamp_pb2.Timestamp
    receipt: SignedReceipt
    receipt_body: ReceiptBody
    receipt_verified: bool
    def __init__(self, message_id: _Optional[str] = ..., destination: _Optional[str] = ..., kind: _Optional[str] = ..., state: _Optional[str] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., next_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., settled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receipt: _Optional[_Union[SignedReceipt, _Mapping]] = ..., receipt_body: _Optional[_Union[ReceiptBody, _Mapping]] = ..., receipt_verified: _Optional[bool] = ...) -> None: ...

class DeliveryOutcome(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: Delivery
    def __init__(self, delivery: _Optional[_Union[Delivery, _Mapping]] = ...) -> None: ...

class SettledAck(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FeedWatchRequest(_message.Message):
    __slots__ = ("since_seq", "follow", "local_only")
    SINCE_SEQ_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    LOCAL_ONLY_FIELD_NUMBER: _ClassVar[int]
    since_seq: int
    follow: bool
    local_only: bool
    def __init__(self, since_seq: _Optional[int] = ..., follow: _Optional[bool] = ..., local_only: _Optional[bool] = ...) -> None: ...

class FeedChange(_message.Message):
    __slots__ = ("seq", "kind", "record_id", "origin", "version", "deleted", "visibility", "at", "payload")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    seq: int
    kind: str
    record_id: str
    origin: str
    version: int
    deleted: bool
    visibility: str
    at: _timestamp_pb2.Timestamp
    payload: bytes
    def __init__(self, seq: _Optional[int] = ..., kind: _Optional[str] = ..., record_id: _Optional[str] = ..., origin: _Optional[str] = ..., version: _Optional[int] = ..., deleted: _Optional[bool] = ..., visibility: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., payload: _Optional[bytes] = ...) -> None: ...

class FeedChangeBatch(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[FeedChange]
    def __init__(self, changes: _Optional[_Iterable[_Union[FeedChange, _Mapping]]] = ...) -> None: ...

class FeedReplica(_message.Message):
    __slots__ = ("origin", "kind", "record_id", "version", "deleted", "payload", "verified", "synced_at")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    SYNCED_AT_FIELD_NUMBER: _ClassVar[int]
    origin: str
    kind: str
    record_id: str
    version: int
    deleted: bool
    payload: bytes
    verified: bool
    synced_at: _timestamp_pb2.Timestamp
    def __init__(self, origin: _Optional[str] = ..., kind: _Optional[str] = ..., record_id: _Optional[str] = ..., version: _Optional[int] = ..., deleted: _Optional[bool] = ..., payload: _Optional[bytes] = ..., verified: _Optional[bool] = ..., synced_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FeedApplyBatchRequest(_message.Message):
    __slots__ = ("origin", "records", "cursor")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    origin: str
    records: _containers.RepeatedCompositeFieldContainer[FeedReplica]
    cursor: int
    def __init__(self, origin: _Optional[str] = ..., records: _Optional[_Iterable[_Union[FeedReplica, _Mapping]]] = ..., cursor: _Optional[int] = ...) -> None: ...

class FeedApplyBatchResponse(_message.Message):
    __slots__ = ("applied", "ignored", "cursor")
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    IGNORED_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    applied: int
    ignored: int
    cursor: int
    def __init__(self, applied: _Optional[int] = ..., ignored: _Optional[int] = ..., cursor: _Optional[int] = ...) -> None: ...

class FeedCursorRequest(_message.Message):
    __slots__ = ("origin",)
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    origin: str
    def __init__(self, origin: _Optional[str] = ...) -> None: ...

class FeedCursor(_message.Message):
    __slots__ = ("origin", "cursor", "updated_at", "records", "last_change_at")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    LAST_CHANGE_AT_FIELD_NUMBER: _ClassVar[int]
    origin: str
    cursor: int
    updated_at: _timestamp_pb2.Timestamp
    records: int
    last_change_at: _timestamp_pb2.Timestamp
    def __init__(self, origin: _Optional[str] = ..., cursor: _Optional[int] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., records: _Optional[int] = ..., last_change_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FeedDropRequest(_message.Message):
    __slots__ = ("origin",)
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    origin: str
    def __init__(self, origin: _Optional[str] = ...) -> None: ...

class FeedDropResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: int
    def __init__(self, removed: _Optional[int] = ...) -> None: ...
