"""The one place where errors become HTTP: gRPC status -> problem+json (RFC 9457)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from aiohttp import web

from services.common.errors import DomainError, FieldError, InvalidInput, detail_from_trailers

log = logging.getLogger(__name__)
PROBLEM_TYPE = "application/problem+json"

# gRPC status -> (HTTP status, title, problem type slug)
GRPC_TO_HTTP: dict[grpc.StatusCode, tuple[int, str, str]] = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "Invalid input", "validation"),
    grpc.StatusCode.OUT_OF_RANGE: (400, "Invalid input", "validation"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "Authentication required", "unauthenticated"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "Forbidden", "forbidden"),
    grpc.StatusCode.NOT_FOUND: (404, "Not found", "not-found"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "Conflict", "conflict"),
    grpc.StatusCode.ABORTED: (409, "Conflict", "conflict"),
    grpc.StatusCode.FAILED_PRECONDITION: (412, "Precondition failed", "version-mismatch"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "Too many requests", "rate-limited"),
    grpc.StatusCode.UNAVAILABLE: (503, "Service unavailable", "unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "Timed out", "timeout"),
    grpc.StatusCode.UNIMPLEMENTED: (501, "Not implemented", "not-implemented"),
}


def problem(
    status: int,
    title: str,
    detail: str,
    slug: str,
    errors: list[FieldError] | None = None,
    **extra: Any,
) -> web.Response:
    body: dict[str, Any] = {
        "type": f"urn:justnet:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    body.update(extra)
    return web.Response(status=status, text=json.dumps(body), content_type=PROBLEM_TYPE)


def from_rpc_error(exc: grpc.aio.AioRpcError) -> web.Response:
    code = exc.code()
    status, title, slug = GRPC_TO_HTTP.get(code, (502, "Bad gateway", "upstream"))
    detail = exc.details() or title
    info = detail_from_trailers(exc.trailing_metadata())
    errors = [FieldError(v.field, v.message) for v in info.violations] if info else []
    extra: dict[str, Any] = {}
    if info is not None and info.owner:
        extra["owner"] = info.owner
    if code == grpc.StatusCode.UNAVAILABLE and info is None:
        # A transport failure: its text names addresses, not anything a user can act on.
        # A service that answered UNAVAILABLE itself (a peer is down) says which one.
        detail = "a JustNet service is unavailable; try again shortly"
    if status >= 500:
        log.warning("upstream %s: %s", code.name, exc.details())
    return problem(status, title, detail, slug, errors, **extra)


def from_domain_error(exc: DomainError) -> web.Response:
    status, title, slug = GRPC_TO_HTTP.get(exc.code, (500, "Internal error", "internal"))
    errors = exc.errors if isinstance(exc, InvalidInput) else None
    return problem(status, title, exc.message, slug, errors)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except grpc.aio.AioRpcError as exc:
        return from_rpc_error(exc)
    except DomainError as exc:
        return from_domain_error(exc)
    except web.HTTPRequestEntityTooLarge as exc:
        return problem(413, "Payload too large", exc.text or "request body too large", "too-large")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status, "http")
        return problem(exc.status, exc.reason, exc.reason, slug)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "Internal error", "an unexpected error occurred", "internal")
