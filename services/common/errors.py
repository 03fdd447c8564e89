"""Domain exceptions and their one mapping to gRPC status.

Logic raises these; the server interceptor (`services.common.server`) turns them into
`context.abort(code, details)` with an `ErrorDetail` in trailing metadata, and the
gateway turns the status back into problem+json in one middleware.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from justnet.common.v1 import common_pb2

ERROR_DETAIL_KEY = "justnet-error-bin"
# Trailers must stay under gRPC's 8 KiB soft limit: -bin values grow by 4/3 in
# base64 and the status message is percent-encoded, so keep each well below it.
MAX_DETAIL_BYTES = 4000
MAX_MESSAGE_CHARS = 500


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    reason = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def detail(self) -> common_pb2.ErrorDetail:
        return common_pb2.ErrorDetail(reason=self.reason)


class InvalidInput(DomainError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "VALIDATION"

    def __init__(self, errors: list[FieldError], message: str | None = None) -> None:
        if not errors:
            raise ValueError("InvalidInput needs at least one field error")
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
        super().__init__(message or summary)
        self.errors = errors

    @classmethod
    def one(cls, field: str, message: str) -> InvalidInput:
        return cls([FieldError(field, message)])

    def detail(self) -> common_pb2.ErrorDetail:
        # Bounded so the detail always fits in gRPC trailers (see server._abort).
        detail = common_pb2.ErrorDetail(reason=self.reason)
        budget = MAX_DETAIL_BYTES
        for e in self.errors:
            item = common_pb2.FieldViolation(field=e.field[:200], message=e.message[:300])
            budget -= item.ByteSize() + 3
            if budget < 0:
                break
            detail.violations.append(item)
        return detail


class NotFound(DomainError):
    code = grpc.StatusCode.NOT_FOUND
    reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    code = grpc.StatusCode.ALREADY_EXISTS
    reason = "ALREADY_EXISTS"


class Conflict(DomainError):
    """The record's state forbids the change (HTTP 409)."""

    code = grpc.StatusCode.ABORTED
    reason = "CONFLICT"


class VersionMismatch(DomainError):
    """Optimistic concurrency: `If-Match` / expected_version is stale (HTTP 412)."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "VERSION_MISMATCH"

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"expected version {expected}, current version is {current}")
        self.current = current


class PermissionDenied(DomainError):
    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "PERMISSION_DENIED"


class ReadOnlyReplica(PermissionDenied):
    reason = "READ_ONLY_REPLICA"

    def __init__(self, owner: str) -> None:
        super().__init__(f"this record is a replica owned by {owner}; only {owner} can change it")
        self.owner = owner

    def detail(self) -> common_pb2.ErrorDetail:
        return common_pb2.ErrorDetail(reason=self.reason, owner=self.owner)


class Unauthenticated(DomainError):
    code = grpc.StatusCode.UNAUTHENTICATED
    reason = "UNAUTHENTICATED"


class Unavailable(DomainError):
    code = grpc.StatusCode.UNAVAILABLE
    reason = "UNAVAILABLE"


class PeerTimeout(DomainError):
    """A peer node did not answer in time (the gateway answers 504)."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED
    reason = "PEER_TIMEOUT"


class ResourceExhausted(DomainError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "RESOURCE_EXHAUSTED"


def error_metadata(error: DomainError) -> tuple[tuple[str, bytes], ...]:
    return ((ERROR_DETAIL_KEY, error.detail().SerializeToString()),)


def detail_from_trailers(metadata: object) -> common_pb2.ErrorDetail | None:
    """Reads the ErrorDetail a servicer attached, from a client's trailing metadata."""
    if not metadata:
        return None
    for key, value in metadata:  # type: ignore[attr-defined]
        if key == ERROR_DETAIL_KEY and isinstance(value, bytes):
            detail = common_pb2.ErrorDetail()
            try:
                detail.ParseFromString(value)
            except Exception:  # a garbled detail must not hide the status itself
                return None
            return detail
    return None
