"""The route registry: each route is declared once, with what OpenAPI says about it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from justnet.common.v1 import common_pb2

from gateway.auth import require_declared_role
from gateway.schema import Obj, Param
from services.common.errors import InvalidInput

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ERROR_STATUSES = {
    400: "Malformed or invalid input; `errors` names each bad field",
    401: "A token is needed, or the token is unknown",
    403: "The token's role or the record's visibility does not allow this",
    404: "Not found (also for records the caller may not see)",
    409: "The change conflicts with the record's state",
    412: "If-Match does not match the current version",
    413: "Body too large",
    503: "A service is unavailable",
    504: "A service or peer did not answer in time",
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    role: str
    query: Sequence[Param]
    body: Obj | None
    response: dict[str, Any]
    success: int
    errors: Sequence[int]
    etag: bool
    content_type: str
    # Other media types the handler gives by content negotiation (Accept), with schemas.
    alternatives: Mapping[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


@dataclass
class Api:
    operations: list[Operation] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tag: str,
        role: str = "anonymous",
        query: Sequence[Param] = (),
        body: Obj | None = None,
        response: dict[str, Any] | None = None,
        success: int = 200,
        errors: Sequence[int] = (),
        etag: bool = False,
        content_type: str = "application/json",
        alternatives: Mapping[str, dict[str, Any]] | None = None,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            implied = {400, 503, 504} if body is not None or query else {503, 504}
            if role != "anonymous":
                implied |= {401, 403}
            if body is not None:
                implied |= {413}
            if method in ("PUT", "DELETE"):
                implied |= {400, 412}  # a malformed or stale If-Match
            self.operations.append(
                Operation(
                    method=method,
                    path=path,
                    handler=handler,
                    summary=summary,
                    tag=tag,
                    role=role,
                    query=query,
                    body=body,
                    response=response or {"type": "object"},
                    success=success,
                    errors=sorted(implied | set(errors)),
                    etag=etag,
                    content_type=content_type,
                    alternatives=dict(alternatives or {}),
                )
            )
            return handler

        return register

    def install(self, app: web.Application) -> None:
        for op in self.operations:
            app.router.add_route(op.method, op.path, guarded(op), name=op.operation_id)


def guarded(op: Operation) -> Handler:
    """`op`'s handler behind the check of the role it declares: the one place a route's
    minimum role is enforced, before the handler reads anything (401 for an anonymous
    caller, 403 for a lower role). The OpenAPI document states the same role
    (`x-justnet-role`), so the two cannot differ."""
    if op.role == "anonymous":
        return op.handler
    handler, role = op.handler, op.role

    async def check_role_then_handle(request: web.Request) -> web.StreamResponse:
        require_declared_role(request, role)
        return await handler(request)

    return check_role_then_handle


def json_response(data: Any, status: int = 200, version: int | None = None) -> web.Response:
    response = web.Response(
        status=status,
        body=json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(),
        content_type="application/json",
    )
    if version is not None:
        response.headers["ETag"] = f'"{version}"'
    return response


def raw_json_response(body: bytes, status: int = 200) -> web.Response:
    """A response whose JSON body is already assembled (see render.JsonFragments)."""
    return web.Response(status=status, body=body, content_type="application/json")


async def read_json(request: web.Request) -> Any:
    """The request body as JSON; a clear 400 when it is not."""
    if request.content_type not in ("application/json", "") and not request.content_type.endswith(
        "+json"
    ):
        raise InvalidInput.one(
            "body", f"send JSON (Content-Type: application/json), not {request.content_type}"
        )
    raw = await request.read()
    if not raw.strip():
        raise InvalidInput.one("body", "a JSON object is required")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput.one("body", f"not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidInput.one("body", "JSON nested too deeply") from None


def page_request(q: Mapping[str, Any]) -> common_pb2.PageRequest:
    """The page a parsed query asks for, from its `limit` and `cursor` parameters."""
    return common_pb2.PageRequest(limit=q["limit"] or 0, cursor=q["cursor"] or "")


def if_match(request: web.Request) -> int:
    """The version an If-Match header names; 0 when absent or '*'."""
    header = request.headers.get("If-Match", "").strip()
    if not header or header == "*":
        return 0
    value = header.removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput.one("If-Match", 'must be an ETag from this API, e.g. "3"')
    return int(value)
