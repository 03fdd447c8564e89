"""API tokens (stored as SHA-256 hashes) and the middleware that turns one into a Caller.

A token is either a person's (it acts as them: their current role, their principal
`user:<id>`, and it stops when they are disabled) or a named service token, a principal of
its own (`token:<id>`). A resolved token is kept in memory under the auth epoch
(`gateway.auth_cache`), so a revoked token or a disabled person stops working at once in this
process and within a quarter of a second when the change is made elsewhere.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway import keys
from gateway.auth_cache import AuthCache, access_change
from gateway.models import AuditRow, TokenRow, UserRow
from services.common.db import session_factory
from services.common.errors import InvalidInput, PermissionDenied, Unauthenticated
from services.common.identity import ANONYMOUS, ROLES, Caller, token_principal, user_principal
from services.common.ids import new_id
from services.common.timeutil import utcnow

TOKEN_PREFIX = "jn_"
KEEP_SECONDS = 300.0  # at most; any change that takes access away ends it (auth_cache)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str  # the token's name, or its person's name
    role: str
    principal: str
    legacy_subject: str = ""

    @classmethod
    def of(cls, row: TokenRow, user: UserRow | None) -> TokenInfo:
        if user is not None:
            return cls(row.id, user.name, user.role, user_principal(user.id))
        return cls(row.id, row.name, row.role, token_principal(row.id), row.legacy_subject)


class TokenStore:
    def __init__(self, engine: AsyncEngine, network: str, cache: AuthCache | None = None) -> None:
        self.engine = engine
        self.sessions = session_factory(engine)
        self.network = network
        self.cache = cache

    async def create(self, role: str, name: str) -> tuple[str, TokenInfo]:
        """A named service token."""
        if role not in ROLES:
            raise InvalidInput.one("role", f"{role!r} is not one of {', '.join(ROLES)}")
        name = name.strip()[:200] or f"{role} service token"
        return await self._add(TokenRow(id=new_id(), name=name, role=role), None)

    async def create_for(self, user_id: str) -> tuple[str, TokenInfo]:
        """A token that acts as this person."""
        async with self.sessions() as session:
            user = await session.get(UserRow, user_id)
        if user is None or user.disabled_at is not None:
            raise InvalidInput.one("user", "no such active person")
        row = TokenRow(id=new_id(), name=f"token of {user.email}", role=user.role, user_id=user.id)
        return await self._add(row, user)

    async def _add(self, row: TokenRow, user: UserRow | None) -> tuple[str, TokenInfo]:
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row.token_hash = hash_token(token)
        row.created_at = utcnow()
        row.legacy_subject = ""
        async with self.sessions.begin() as session:
            session.add(row)
        return token, TokenInfo.of(row, user)

    async def revoke(self, token_id: str) -> bool:
        async with access_change(self.sessions, self.cache) as session:
            result = await session.execute(
                update(TokenRow)
                .where(TokenRow.id == token_id, TokenRow.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def all_tokens(self) -> list[TokenRow]:
        async with self.sessions() as session:
            return list(
                (await session.scalars(select(TokenRow).order_by(TokenRow.created_at))).all()
            )

    async def resolve(self, token: str) -> TokenInfo | None:
        if self.cache is None:
            return (await self._resolve(token))[0]
        return await self.cache.get(f"token:{hash_token(token)}", lambda: self._resolve(token))

    async def _resolve(self, token: str) -> tuple[TokenInfo | None, float]:
        async with self.sessions() as session:
            found = (
                await session.execute(
                    select(TokenRow, UserRow)
                    .outerjoin(UserRow, UserRow.id == TokenRow.user_id)
                    .where(TokenRow.token_hash == hash_token(token), TokenRow.revoked_at.is_(None))
                )
            ).one_or_none()
        if found is None:
            return None, 0
        row, user = found
        if row.user_id is not None and (user is None or user.disabled_at is not None):
            return None, 0
        return TokenInfo.of(row, user), KEEP_SECONDS

    async def audit(
        self, caller: Caller, action: str, target: str, detail: str = "", trace_id: str = ""
    ) -> None:
        async with self.sessions.begin() as session:
            session.add(
                AuditRow(
                    id=new_id(),
                    at=utcnow(),
                    subject=caller.subject or "anonymous",
                    subject_name=caller.name[:200],
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
                    subject_name=caller.name[:200],
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
        if valid and is_scrape_token(request, token):
            # Prometheus's token reads /metrics and nothing else (not even as anonymous).
            if request.path != METRICS_PATH:
                raise PermissionDenied("the scrape token reads only /metrics")
            request[keys.SCRAPER] = True
            request[keys.CALLER] = ANONYMOUS
            return await handler(request)
        info = await request.app[keys.TOKENS].resolve(token) if valid else None
        if info is None:
            raise Unauthenticated("unknown or revoked token")
        network = request.app[keys.SETTINGS].network
        caller = Caller(
            role=info.role,
            network=network,
            subject=info.principal,
            name=info.name,
            legacy_subject=info.legacy_subject,
        )
    request[keys.CALLER] = caller
    return await handler(request)


METRICS_PATH = "/metrics"


def is_scrape_token(request: web.Request, token: str) -> bool:
    """Whether `token` is the configured `gateway.scrape_token` (compared in constant time)."""
    expected = request.app[keys.SETTINGS].gateway.scrape_token
    return bool(expected) and secrets.compare_digest(token.encode(), expected.encode())


def require_scraper(request: web.Request) -> None:
    """GET /metrics: the scrape token or an admin token; otherwise 401 or 403."""
    if request.get(keys.SCRAPER, False):
        return
    require(request, "admin")


def require_declared_role(request: web.Request, role: str) -> None:
    """The route registry's check of the role an operation declares (gateway.api.guarded):
    as `require`, except that the scrape token passes; the middleware admits it to
    /metrics alone, whose handler checks it (require_scraper)."""
    if request.get(keys.SCRAPER, False):
        return
    require(request, role)


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
