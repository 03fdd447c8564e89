import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from justnet.common.v1 import exchange_pb2 as _exchange_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VerifyKey(_message.Message):
    __slots__ = ("key_id", "public_key", "valid_until", "expired_at", "valid_from")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    EXPIRED_AT_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    public_key: str
    valid_until: _timestamp_pb2.Timestamp
    expired_at: _timestamp_pb2.Timestamp
    valid_from: _timestamp_pb2.Timestamp
    def __init__(self, key_id: _Optional[str] = ..., public_key: _Optional[str] = ..., valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expired_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class KeyAnnouncement(_message.Message):
    __slots__ = ("network", "new_key", "certificate_pem", "certificate_fingerprint", "previous_key_id", "previous_certificate_fingerprint", "active_from", "overlap_until", "issued_at")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    NEW_KEY_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CERTIFICATE_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    OVERLAP_UNTIL_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    network: str
    new_key: VerifyKey
    certificate_pem: str
    certificate_fingerprint: str
    previous_key_id: str
    previous_certificate_fingerprint: str
    active_from: _timestamp_pb2.Timestamp
    overlap_until: _timestamp_pb2.Timestamp
    issued_at: _timestamp_pb2.Timestamp
    def __init__(self, network: _Optional[str] = ..., new_key: _Optional[_Union[VerifyKey, _Mapping]] = ..., certificate_pem: _Optional[str] = ..., certificate_fingerprint: _Optional[str] = ..., previous_key_id: _Optional[str] = ..., previous_certificate_fingerprint: _Optional[str] = ..., active_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., overlap_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SignedKeyAnnouncement(_message.Message):
    __slots__ = ("announcement", "key_id", "signature", "new_key_signature")
    ANNOUNCEMENT_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    NEW_KEY_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    announcement: bytes
    key_id: str
    signature: bytes
    new_key_signature: bytes
    def __init__(self, announcement: _Optional[bytes] = ..., key_id: _Optional[str] = ..., signature: _Optional[bytes] = ..., new_key_signature: _Optional[bytes] = ...) -> None: ...

class AnnounceKeysRequest(_message.Message):
    __slots__ = ("announcements",)
    ANNOUNCEMENTS_FIELD_NUMBER: _ClassVar[int]
    announcements: _containers.RepeatedCompositeFieldContainer[SignedKeyAnnouncement]
    def __init__(self, announcements: _Optional[_Iterable[_Union[SignedKeyAnnouncement, _Mapping]]] = ...) -> None: ...

class AnnounceKeysResponse(_message.Message):
    __slots__ = ("current_key_id",)
    CURRENT_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    current_key_id: str
    def __init__(self, current_key_id: _Optional[str] = ...) -> None: ...

class PreviousCertificate(_message.Message):
    __slots__ = ("certificate_pem", "accepted_until")
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    certificate_pem: str
    accepted_until: _timestamp_pb2.Timestamp
    def __init__(self, certificate_pem: _Optional[str] = ..., accepted_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class NodeDescriptor(_message.Message):
    __slots__ = ("network", "name", "peer_endpoint", "jurisdictions", "key_id", "public_key", "certificate_fingerprint", "certificate_pem", "old_keys", "key_valid_until", "certificate_valid_until", "key_valid_from", "previous_certificates", "announcements")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PEER_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    JURISDICTIONS_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    OLD_KEYS_FIELD_NUMBER: _ClassVar[int]
    KEY_VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    KEY_VALID_FROM_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENTS_FIELD_NUMBER: _ClassVar[int]
    network: str
    name: str
    peer_endpoint: str
    jurisdictions: _containers.RepeatedScalarFieldContainer[str]
    key_id: str
    public_key: str
    certificate_fingerprint: str
    certificate_pem: str
    old_keys: _containers.RepeatedCompositeFieldContainer[VerifyKey]
    key_valid_until: _timestamp_pb2.Timestamp
    certificate_valid_until: _timestamp_pb2.Timestamp
    key_valid_from: _timestamp_pb2.Timestamp
    previous_certificates: _containers.RepeatedCompositeFieldContainer[PreviousCertificate]
    announcements: _containers.RepeatedCompositeFieldContainer[SignedKeyAnnouncement]
    def __init__(self, network: _Optional[str] = ..., name: _Optional[str] = ..., peer_endpoint: _Optional[str] = ..., jurisdictions: _Optional[_Iterable[str]] = ..., key_id: _Optional[str] = ..., public_key: _Optional[str] = ..., certificate_fingerprint: _Optional[str] = ..., certificate_pem: _Optional[str] = ..., old_keys: _Optional[_Iterable[_Union[VerifyKey, _Mapping]]] = ..., key_valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., certificate_valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., key_valid_from: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., previous_certificates: _Optional[_Iterable[_Union[PreviousCertificate, _Mapping]]] = ..., announcements: _Optional[_Iterable[_Union[SignedKeyAnnouncement, _Mapping]]] = ...) -> None: ...

class NodeKeys(_message.Message):
    __slots__ = ("network", "verify_keys", "old_verify_keys", "announcements")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    VERIFY_KEYS_FIELD_NUMBER: _ClassVar[int]
    OLD_VERIFY_KEYS_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCEMENTS_FIELD_NUMBER: _ClassVar[int]
    network: str
    verify_keys: _containers.RepeatedCompositeFieldContainer[VerifyKey]
    old_verify_keys: _containers.RepeatedCompositeFieldContainer[VerifyKey]
    announcements: _containers.RepeatedCompositeFieldContainer[SignedKeyAnnouncement]
    def __init__(self, network: _Optional[str] = ..., verify_keys: _Optional[_Iterable[_Union[VerifyKey, _Mapping]]] = ..., old_verify_keys: _Optional[_Iterable[_Union[VerifyKey, _Mapping]]] = ..., announcements: _Optional[_Iterable[_Union[SignedKeyAnnouncement, _Mapping]]] = ...) -> None: ...

class GetKeysRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetNodeInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SharingPolicy(_message.Message):
    __slots__ = ("kinds", "visibilities", "personal_details")
    KINDS_FIELD_NUMBER: _ClassVar[int]
    VISIBILITIES_FIELD_NUMBER: _ClassVar[int]
    PERSONAL_DETAILS_FIELD_NUMBER: _ClassVar[int]
    kinds: _containers.RepeatedScalarFieldContainer[str]
    visibilities: _containers.RepeatedScalarFieldContainer[str]
    personal_details: bool
    def __init__(self, kinds: _Optional[_Iterable[str]] = ..., visibilities: _Optional[_Iterable[str]] = ..., personal_details: _Optional[bool] = ...) -> None: ...

class PeerStatus(_message.Message):
    __slots__ = ("network", "endpoint", "state", "cursor", "lag_seconds", "last_success_at", "last_error", "records", "policy", "key_id", "certificate_fingerprint", "jurisdictions", "feeds", "accepted_jurisdictions", "quarantined", "quarantine", "key_valid_until", "certificate_valid_until")
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LAG_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESS_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    JURISDICTIONS_FIELD_NUMBER: _ClassVar[int]
    FEEDS_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_JURISDICTIONS_FIELD_NUMBER: _ClassVar[int]
    QUARANTINED_FIELD_NUMBER: _ClassVar[int]
    QUARANTINE_FIELD_NUMBER: _ClassVar[int]
    KEY_VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    network: str
    endpoint: str
    state: str
    cursor: int
    lag_seconds: float
    last_success_at: _timestamp_pb2.Timestamp
    last_error: str
    records: int
    policy: SharingPolicy
    key_id: str
    certificate_fingerprint: str
    jurisdictions: _containers.RepeatedScalarFieldContainer[str]
    feeds: _containers.RepeatedCompositeFieldContainer[FeedStatus]
    accepted_jurisdictions: _containers.RepeatedScalarFieldContainer[str]
    quarantined: int
    quarantine: _containers.RepeatedCompositeFieldContainer[QuarantineCount]
    key_valid_until: _timestamp_pb2.Timestamp
    certificate_valid_until: _timestamp_pb2.Timestamp
    def __init__(self, network: _Optional[str] = ..., endpoint: _Optional[str] = ..., state: _Optional[str] = ..., cursor: _Optional[int] = ..., lag_seconds: _Optional[float] = ..., last_success_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., records: _Optional[int] = ..., policy: _Optional[_Union[SharingPolicy, _Mapping]] = ..., key_id: _Optional[str] = ..., certificate_fingerprint: _Optional[str] = ..., jurisdictions: _Optional[_Iterable[str]] = ..., feeds: _Optional[_Iterable[_Union[FeedStatus, _Mapping]]] = ..., accepted_jurisdictions: _Optional[_Iterable[str]] = ..., quarantined: _Optional[int] = ..., quarantine: _Optional[_Iterable[_Union[QuarantineCount, _Mapping]]] = ..., key_valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., certificate_valid_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class QuarantineCount(_message.Message):
    __slots__ = ("kind", "reason", "records")
    KIND_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    kind: str
    reason: str
    records: int
    def __init__(self, kind: _Optional[str] = ..., reason: _Optional[str] = ..., records: _Optional[int] = ...) -> None: ...

class FeedStatus(_message.Message):
    __slots__ = ("feed", "state", "cursor", "records", "last_error")
    FEED_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    feed: str
    state: str
    cursor: int
    records: int
    last_error: str
    def __init__(self, feed: _Optional[str] = ..., state: _Optional[str] = ..., cursor: _Optional[int] = ..., records: _Optional[int] = ..., last_error: _Optional[str] = ...) -> None: ...

class ListPeersRequest(_message.Message):
    __slots__ = ("brief",)
    BRIEF_FIELD_NUMBER: _ClassVar[int]
    brief: bool
    def __init__(self, brief: _Optional[bool] = ...) -> None: ...

class ListPeersResponse(_message.Message):
    __slots__ = ("peers",)
    PEERS_FIELD_NUMBER: _ClassVar[int]
    peers: _containers.RepeatedCompositeFieldContainer[PeerStatus]
    def __init__(self, peers: _Optional[_Iterable[_Union[PeerStatus, _Mapping]]] = ...) -> None: ...

class AddPeerRequest(_message.Message):
    __slots__ = ("descriptor", "share", "replace", "accepted_jurisdictions")
    DESCRIPTOR_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    REPLACE_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_JURISDICTIONS_FIELD_NUMBER: _ClassVar[int]
    descriptor: NodeDescriptor
    share: str
    replace: bool
    accepted_jurisdictions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, descriptor: _Optional[_Union[NodeDescriptor, _Mapping]] = ..., share: _Optional[str] = ..., replace: _Optional[bool] = ..., accepted_jurisdictions: _Optional[_Iterable[str]] = ...) -> None: ...

class RemovePeerRequest(_message.Message):
    __slots__ = ("network",)
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    network: str
    def __init__(self, network: _Optional[str] = ...) -> None: ...

class RemovePeerResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: bool
    def __init__(self, removed: _Optional[bool] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("since_cursor", "feed", "max_batch")
    SINCE_CURSOR_FIELD_NUMBER: _ClassVar[int]
    FEED_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    since_cursor: int
    feed: str
    max_batch: int
    def __init__(self, since_cursor: _Optional[int] = ..., feed: _Optional[str] = ..., max_batch: _Optional[int] = ...) -> None: ...

class RecordEnvelope(_message.Message):
    __slots__ = ("origin", "destination", "kind", "record_id", "version", "deleted", "payload", "cursor", "issued_at", "changed_at")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    origin: str
    destination: str
    kind: str
    record_id: str
    version: int
    deleted: bool
    payload: bytes
    cursor: int
    issued_at: _timestamp_pb2.Timestamp
    changed_at: _timestamp_pb2.Timestamp
    def __init__(self, origin: _Optional[str] = ..., destination: _Optional[str] = ..., kind: _Optional[str] = ..., record_id: _Optional[str] = ..., version: _Optional[int] = ..., deleted: _Optional[bool] = ..., payload: _Optional[bytes] = ..., cursor: _Optional[int] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., changed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BatchEnvelope(_message.Message):
    __slots__ = ("origin", "destination", "first_cursor", "last_cursor", "issued_at", "records")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    FIRST_CURSOR_FIELD_NUMBER: _ClassVar[int]
    LAST_CURSOR_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    origin: str
    destination: str
    first_cursor: int
    last_cursor: int
    issued_at: _timestamp_pb2.Timestamp
    records: _containers.RepeatedCompositeFieldContainer[RecordEnvelope]
    def __init__(self, origin: _Optional[str] = ..., destination: _Optional[str] = ..., first_cursor: _Optional[int] = ..., last_cursor: _Optional[int] = ..., issued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., records: _Optional[_Iterable[_Union[RecordEnvelope, _Mapping]]] = ...) -> None: ...

class SignedRecord(_message.Message):
    __slots__ = ("envelope", "key_id", "signature", "heartbeat", "cursor", "batch")
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    BATCH_FIELD_NUMBER: _ClassVar[int]
    envelope: bytes
    key_id: str
    signature: bytes
    heartbeat: bool
    cursor: int
    batch: bytes
    def __init__(self, envelope: _Optional[bytes] = ..., key_id: _Optional[str] = ..., signature: _Optional[bytes] = ..., heartbeat: _Optional[bool] = ..., cursor: _Optional[int] = ..., batch: _Optional[bytes] = ...) -> None: ...

class SendRequest(_message.Message):
    __slots__ = ("destination", "message_id", "kind", "payload", "ordering_key", "traceparent")
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    ORDERING_KEY_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    destination: str
    message_id: str
    kind: str
    payload: bytes
    ordering_key: str
    traceparent: str
    def __init__(self, destination: _Optional[str] = ..., message_id: _Optional[str] = ..., kind: _Optional[str] = ..., payload: _Optional[bytes] = ..., ordering_key: _Optional[str] = ..., traceparent: _Optional[str] = ...) -> None: ...

class SendBatchRequest(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[SendRequest]
    def __init__(self, messages: _Optional[_Iterable[_Union[SendRequest, _Mapping]]] = ...) -> None: ...

class SendBatchResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[_exchange_pb2.Delivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[_exchange_pb2.Delivery, _Mapping]]] = ...) -> None: ...

class GetDeliveryRequest(_message.Message):
    __slots__ = ("message_id",)
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    def __init__(self, message_id: _Optional[str] = ...) -> None: ...

class MessageEnvelope(_message.Message):
    __slots__ = ("origin", "destination", "message_id", "kind", "payload", "sent_at")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    origin: str
    destination: str
    message_id: str
    kind: str
    payload: bytes
    sent_at: _timestamp_pb2.Timestamp
    def __init__(self, origin: _Optional[str] = ..., destination: _Optional[str] = ..., message_id: _Optional[str] = ..., kind: _Optional[str] = ..., payload: _Optional[bytes] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SignedMessage(_message.Message):
    __slots__ = ("envelope", "key_id", "signature")
    ENVELOPE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    envelope: bytes
    key_id: str
    signature: bytes
    def __init__(self, envelope: _Optional[bytes] = ..., key_id: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class FetchContactDetailsRequest(_message.Message):
    __slots__ = ("origin", "contact_point_id")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    origin: str
    contact_point_id: str
    def __init__(self, origin: _Optional[str] = ..., contact_point_id: _Optional[str] = ...) -> None: ...

class PeerDetailsRequest(_message.Message):
    __slots__ = ("contact_point_id", "requester", "requester_role")
    CONTACT_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_ROLE_FIELD_NUMBER: _ClassVar[int]
    contact_point_id: str
    requester: str
    requester_role: str
    def __init__(self, contact_point_id: _Optional[str] = ..., requester: _Optional[str] = ..., requester_role: _Optional[str] = ...) -> None: ...

class ContactDetails(_message.Message):
    __slots__ = ("origin", "contact_point_id", "email", "phone", "fetched_at")
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    FETCHED_AT_FIELD_NUMBER: _ClassVar[int]
    origin: str
    contact_point_id: str
    email: str
    phone: str
    fetched_at: _timestamp_pb2.Timestamp
    def __init__(self, origin: _Optional[str] = ..., contact_point_id: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., fetched_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetNetworkKeysRequest(_message.Message):
    __slots__ = ("network",)
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    network: str
    def __init__(self, network: _Optional[str] = ...) -> None: ...

class ListContactDetailRequestsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class ContactDetailRequest(_message.Message):
    __slots__ = ("at", "network", "requester", "requester_role", "contact_point_id", "outcome")
    AT_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_ROLE_FIELD_NUMBER: _ClassVar[int]
    CONTACT_POINT_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    network: str
    requester: str
    requester_role: str
    contact_point_id: str
    outcome: str
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., network: _Optional[str] = ..., requester: _Optional[str] = ..., requester_role: _Optional[str] = ..., contact_point_id: _Optional[str] = ..., outcome: _Optional[str] = ...) -> None: ...

class ListContactDetailRequestsResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ContactDetailRequest]
    def __init__(self, items: _Optional[_Iterable[_Union[ContactDetailRequest, _Mapping]]] = ...) -> None: ...

class ListQuarantineRequest(_message.Message):
    __slots__ = ("limit", "cursor", "peer")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    limit: int
    cursor: str
    peer: str
    def __init__(self, limit: _Optional[int] = ..., cursor: _Optional[str] = ..., peer: _Optional[str] = ...) -> None: ...

class QuarantinedRecord(_message.Message):
    __slots__ = ("peer", "feed", "kind", "record_id", "version", "jurisdiction", "reason", "detail", "received_at")
    PEER_FIELD_NUMBER: _ClassVar[int]
    FEED_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    JURISDICTION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    peer: str
    feed: str
    kind: str
    record_id: str
    version: int
    jurisdiction: str
    reason: str
    detail: str
    received_at: _timestamp_pb2.Timestamp
    def __init__(self, peer: _Optional[str] = ..., feed: _Optional[str] = ..., kind: _Optional[str] = ..., record_id: _Optional[str] = ..., version: _Optional[int] = ..., jurisdiction: _Optional[str] = ..., reason: _Optional[str] = ..., detail: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListQuarantineResponse(_message.Message):
    __slots__ = ("items", "next_cursor")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[QuarantinedRecord]
    next_cursor: str
    def __init__(self, items: _Optional[_Iterable[_Union[QuarantinedRecord, _Mapping]]] = ..., next_cursor: _Optional[str] = ...) -> None: ...
