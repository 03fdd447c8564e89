"""The resource route factory: one declaration gives a record type its create, read,
update and delete routes with the API's conventions, stated once here:

- the minimum role comes from the declaration (the route registry enforces it);
- `POST {path}` answers 201 with the record, its `ETag` and `Location: {path}/{id}`;
- `GET {path}/{id}` answers the record with its `ETag` (404 when the caller may not see it);
- `PUT {path}/{id}` replaces it, `If-Match` guarding against a stale copy (412), with the new
  `ETag`; `DELETE {path}/{id}` answers 204, with the same `If-Match` rule.

The same `Resource` object serves the console's pages, so a page makes exactly the calls
and checks the API makes. Lists stay with each module (their filters differ).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiohttp import web
from google.protobuf.message import Message

from gateway import keys
from gateway.api import Api, Handler, if_match, json_response, read_json
from gateway.schema import Obj, parse_body
from services.common.identity import Caller

R = TypeVar("R", bound=Message)


@dataclass(frozen=True)
class Resource(Generic[R]):
    """One record type of one service, and how the API shows it."""

    path: str  # the collection, e.g. /api/v1/authorities
    schema: str  # its OpenAPI component, e.g. Authority
    noun: str  # for summaries: "an authority"
    body: Obj  # the JSON body of create and replace (types checked here)
    service: Callable[[web.Application], Any]  # the service's stub
    rpc: str  # the methods' noun: CreateAuthority, GetAuthority, ...
    to_message: Callable[[dict[str, Any]], R]  # a checked body as the service's message
    create_request: Callable[[R], Message]
    get_request: Callable[[str], Message]
    update_request: Callable[[R, int], Message]  # (record, expected version)
    delete_request: Callable[[str, int], Message]
    render: Callable[[R], dict[str, Any]]

    async def _call(self, app: web.Application, verb: str, msg: Message, caller: Caller) -> Any:
        return await getattr(self.service(app), verb + self.rpc)(msg, metadata=caller.metadata())

    async def create(self, app: web.Application, caller: Caller, body: Any) -> R:
        """`POST {path}`."""
        record = self.to_message(parse_body(self.body, body))
        reply: R = await self._call(app, "Create", self.create_request(record), caller)
        return reply

    async def read(self, app: web.Application, caller: Caller, record_id: str) -> dict[str, Any]:
        """One record as `GET {path}/{id}` gives it to `caller`."""
        return self.render(await self._call(app, "Get", self.get_request(record_id), caller))

    async def update(
        self, app: web.Application, caller: Caller, record_id: str, body: Any, expected_version: int
    ) -> R:
        """`PUT {path}/{id}` (expected_version: If-Match, 0 for none)."""
        record = self.to_message(parse_body(self.body, body))
        record.meta.id = record_id  # type: ignore[attr-defined]
        msg = self.update_request(record, expected_version)
        reply: R = await self._call(app, "Update", msg, caller)
        return reply

    async def delete(
        self, app: web.Application, caller: Caller, record_id: str, expected_version: int
    ) -> None:
        """`DELETE {path}/{id}`."""
        await self._call(app, "Delete", self.delete_request(record_id, expected_version), caller)


def crud_routes(
    api: Api,
    resource: Resource[Any],
    *,
    tag: str,
    name: str,
    role: str = "editor",
    read_role: str = "anonymous",
    update_summary: str = "",
    delete_summary: str = "",
) -> None:
    """Declares `resource`'s four routes on `api`; `name` names their operations
    (create_{name}, get_{name}, update_{name}, delete_{name})."""
    create, read, update, delete = _handlers(resource, name)
    ref = {"$ref": f"#/components/schemas/{resource.schema}"}
    item = f"{resource.path}/{{id}}"
    noun = resource.noun
    body = resource.body
    api.route(
        "POST", resource.path, summary=f"Add {noun}", tag=tag, role=role, body=body,
        response=ref, success=201, etag=True,
    )(create)  # fmt: skip
    api.route(
        "GET", item, summary=f"One {noun.split(' ', 1)[1]}", tag=tag, role=read_role,
        response=ref, errors=(404,), etag=True,
    )(read)  # fmt: skip
    api.route(
        "PUT", item, summary=update_summary or f"Replace {noun}", tag=tag, role=role,
        body=body, response=ref, errors=(404, 412), etag=True,
    )(update)  # fmt: skip
    api.route(
        "DELETE", item, summary=delete_summary or f"Remove {noun}", tag=tag, role=role,
        success=204, errors=(404, 412),
    )(delete)  # fmt: skip


def _handlers(resource: Resource[Any], name: str) -> tuple[Handler, Handler, Handler, Handler]:
    """The four handlers, named for their operation ids."""

    async def create(request: web.Request) -> web.Response:
        reply = await resource.create(request.app, request[keys.CALLER], await read_json(request))
        response = json_response(resource.render(reply), status=201, version=_version(reply))
        response.headers["Location"] = f"{resource.path}/{reply.meta.id}"
        return response

    async def read(request: web.Request) -> web.Response:
        record = await resource.read(request.app, request[keys.CALLER], request.match_info["id"])
        return json_response(record, version=record["version"])

    async def update(request: web.Request) -> web.Response:
        body = await read_json(request)
        reply = await resource.update(
            request.app, request[keys.CALLER], request.match_info["id"], body, if_match(request)
        )
        return json_response(resource.render(reply), version=_version(reply))

    async def delete(request: web.Request) -> web.Response:
        await resource.delete(
            request.app, request[keys.CALLER], request.match_info["id"], if_match(request)
        )
        return web.Response(status=204)

    handlers = (create, read, update, delete)
    for verb, handler in zip(("create", "get", "update", "delete"), handlers, strict=True):
        handler.__name__ = handler.__qualname__ = f"{verb}_{name}"  # the operation ids
    return handlers


def _version(record: Message) -> int:
    return int(record.meta.version)  # type: ignore[attr-defined]
