"""API tokens (stored as SHA-256 hashes) and the middleware that turns one into a Caller."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import keys
from gateway.models import AuditRow, TokenRow
from services.common.db import session_factory
from services.common.errors import InvalidInput, PermissionDenied, Unauthenticated
from services.common.identity import ANONYMOUS, ROLES, Caller
from services.common.ids import new_id
from services.common.timeutil import utcnow

TOKEN_PREFIX = "jn_"
CACHE_SECONDS = 30.0  # a revoked token stops working within this time


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str
    role: str


class TokenStore:
    def __init__(self, engine: AsyncEngine, network: str) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.network = network
        self._cache: dict[str, tuple[float, TokenInfo | None]] = {}

    async def create(self, role: str, name: str) -> tuple[str, TokenInfo]:
        if role not in ROLES:
            raise InvalidInput.one("role", f"{role!r} is not one of {', '.join(ROLES)}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = TokenRow(
            id=new_id(),
            name=name or role,
            role=role,
            token_hash=hash_token(token),
            created_at=utcnow(),
        )
        async with self.sessions.begin() as session:
            session.add(row)
        return token, TokenInfo(row.id, row.name, row.role)

    async def revoke(self, token_id: str) -> bool:
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(TokenRow)
                .where(TokenRow.id == token_id, TokenRow.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        self._cache.clear()
        return bool(result.rowcount)

    async def all_tokens(self) -> list[TokenRow]:
        async with self.sessions() as session:
            return list(
                (await session.scalars(select(TokenRow).order_by(TokenRow.created_at))).all()
            )

    async def resolve(self, token: str) -> TokenInfo | None:
        digest = hash_token(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        async with self.sessions() as session:
            row = await session.scalar(
                select(TokenRow).where(TokenRow.token_hash == digest, TokenRow.revoked_at.is_(None))
            )
        info = TokenInfo(row.id, row.name, row.role) if row is not None else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + CACHE_SECONDS, info)
        return info

    async def audit(
        self, caller: Caller, action: str, target: str, detail: str = "", trace_id: str = ""
    ) -> None:
        async with self.sessions.begin() as session:
            session.add(
                AuditRow(
                    id=new_id(),
                    at=utcnow(),
                    subject=caller.subject or "anonymous",
                    role=caller.role,
                    action=action,
                    target=target[:300],
                    detail=detail[:2000],
                    trace_id=trace_id,
                )
            )

    async def audit_many(self, entries: list[tuple[Caller, str, str, str, str]]) -> None:
        """Several entries (caller, action, target, detail, trace id) in one transaction."""
        async with self.sessions.begin() as session:
            session.add_all(
                AuditRow(
                    id=new_id(),
                    at=utcnow(),
                    subject=caller.subject or "anonymous",
                    role=caller.role,
                    action=action[:32],
                    target=target[:300],
                    detail=detail[:2000],
                    trace_id=trace_id,
                )
                for caller, action, target, detail, trace_id in entries
            )

    async def audit_entries(self, limit: int) -> list[AuditRow]:
        async with self.sessions() as session:
            stmt = select(AuditRow).order_by(AuditRow.at.desc()).limit(limit)
            return list((await session.scalars(stmt)).all())


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    header = request.headers.get("Authorization", "")
    caller = ANONYMOUS
    if header:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
        # Tokens are ASCII (jn_ + base64url); anything else cannot be one of ours.
        valid = token.isascii() and token.isprintable() and len(token) <= 200
        info = await request.app[keys.TOKENS].resolve(token) if valid else None
        if info is None:
            raise Unauthenticated("unknown or revoked token")
        network = request.app[keys.SETTINGS].network
        caller = Caller(role=info.role, network=network, subject=info.name)
    request[keys.CALLER] = caller
    return await handler(request)


def require(request: web.Request, role: str) -> Caller:
    """The caller, if it holds at least `role`; otherwise 401 or 403."""
    caller = request[keys.CALLER]
    if role == "anonymous":
        return caller
    if not caller.authenticated:
        raise Unauthenticated(f"this needs a {role} token")
    if not caller.at_least(role):
        raise PermissionDenied(f"this needs the {role} role; your token has {caller.role}")
    return caller
