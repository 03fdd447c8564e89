"""The audit log: who changed or looked up what, recorded in one middleware.

Writes (POST, PUT, PATCH, DELETE) and every read that discloses personal data (lookups,
contact points and their on-demand details, requests, their history and documents, event
registrations, the directory export; in the API and the console) by authenticated callers
are recorded with the caller's token name and role, the record concerned, the route, the
status and the trace id; never a token or a body. The record concerned is the path and
query, except for a create: there it is the new record's own path, from the response's
`Location` (or its body's `id`), since the posted path names no record. Rows are written
by one background task in batches, so a lookup does not wait for an audit insert; the queue
is bounded, and a full queue is logged rather than slowing the API down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiohttp import web
from opentelemetry import trace

from gateway import keys
from gateway.problems import Handler
from services.common.identity import Caller
from services.common.loops import background, cancel

log = logging.getLogger(__name__)
QUEUE_BOUND = 10_000
BATCH = 200
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# GET routes that disclose people's details: who looked them up is recorded (the console's
# pages too, since they show what the API answers).
LOOKUPS = frozenset(
    {
        "/api/v1/lookup",
        "/api/v1/contact-points",
        "/api/v1/contact-points/{id}",
        "/api/v1/contact-points/{id}/details",
        "/api/v1/requests",
        "/api/v1/requests/overdue",
        "/api/v1/requests/{id}",
        "/api/v1/requests/{id}/history",
        "/api/v1/requests/{id}/documents",
        "/api/v1/requests/{id}/documents/{doc_id}",
        "/api/v1/events/{id}/registrations",
        "/api/v1/events/{id}/registrations/{registration_id}",
        "/console/lookup",
        "/console/lookup/contact-points/{id}",
        "/console/lookup/contact-points/{id}/details",
        "/console/requests",
        "/console/requests/{id}",
        "/console/requests/{id}/edit",
        "/console/requests/{id}/documents/{doc_id}",
        "/console/events/{id}",  # an editor sees the registrations, a member their own
        "/console/directory/contact-points",
        "/console/directory/contact-points/{id}",
        "/console/directory/export.{format}",
    }
)
# Console forms that create a record answer 303 to the new record's page.
CONSOLE_CREATES = frozenset(
    {
        "/console/directory/authorities/new",
        "/console/directory/contact-points/new",
        "/console/requests/new",
    }
)


@dataclass(frozen=True)
class AuditEntry:
    caller: Caller
    action: str
    target: str
    detail: str
    trace_id: str


class AuditLog:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[AuditEntry] = asyncio.Queue(QUEUE_BOUND)
        self.dropped = 0

    def record(self, entry: AuditEntry) -> None:
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("audit queue full; entry dropped", extra={"field": entry.action})

    async def flush(self, app: web.Application, pending: list[AuditEntry] | None = None) -> None:
        """Writes `pending` and whatever is queued now, in order."""
        batch = list(pending or [])
        while not self.queue.empty() and len(batch) < BATCH:
            batch.append(self.queue.get_nowait())
        if batch:
            await app[keys.TOKENS].audit_many(
                [(e.caller, e.action, e.target, e.detail, e.trace_id) for e in batch]
            )
        if not self.queue.empty():
            await self.flush(app)

    async def run(self, app: web.Application) -> None:
        while True:
            pending = [await self.queue.get()]
            try:
                await self.flush(app, pending)
            except Exception:
                log.exception("could not write the audit log; %d entries lost", len(pending))
                await asyncio.sleep(1.0)


async def audit_ctx(app: web.Application) -> AsyncIterator[None]:
    audit = app[keys.AUDIT]
    task = background(audit.run(app), "gateway-audit-writer")
    yield
    await cancel(task)
    with contextlib.suppress(Exception):
        await audit.flush(app)


def created_target(canonical: str, path: str, response: web.StreamResponse | None) -> str | None:
    """The path of the record a successful create made: its `Location` (without query or
    fragment), else `<posted path>/<id>` from a JSON body's `id`; None for anything else."""
    if response is None:
        return None
    location = response.headers.get("Location", "")
    if response.status == 303 and canonical in CONSOLE_CREATES and location:
        return location.split("#", 1)[0].split("?", 1)[0]
    if response.status != 201:
        return None
    if location:
        return location.split("#", 1)[0].split("?", 1)[0]
    body = getattr(response, "body", None)
    if isinstance(body, bytes) and body.startswith(b"{"):
        with contextlib.suppress(ValueError):
            record_id = json.loads(body).get("id")
            if isinstance(record_id, str) and record_id:
                return f"{path.rstrip('/')}/{record_id}"
    return None


@web.middleware
async def audit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    outcome = "status 500"
    response: web.StreamResponse | None = None
    try:
        response = await handler(request)
        outcome = f"status {response.status}"
        return response
    except web.HTTPException as exc:
        outcome = f"status {exc.status}"
        raise
    except Exception as exc:  # mapped to problem+json further out
        outcome = f"refused: {type(exc).__name__}"
        raise
    finally:
        caller = request.get(keys.CALLER)
        if caller is not None and caller.authenticated:
            route = request.match_info.route.resource
            canonical = route.canonical if route is not None else ""
            if request.method in WRITES or (request.method == "GET" and canonical in LOOKUPS):
                context = trace.get_current_span().get_span_context()
                created = (
                    created_target(canonical, request.path, response)
                    if request.method == "POST"
                    else None
                )
                request.app[keys.AUDIT].record(
                    AuditEntry(
                        caller=caller,
                        action=request.method,
                        target=created or request.path_qs,
                        detail=f"{canonical or '-'}; {outcome}",
                        trace_id=f"{context.trace_id:032x}" if context.is_valid else "",
                    )
                )
