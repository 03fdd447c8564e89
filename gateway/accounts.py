"""People: accounts, passwords (argon2id), one-time password links, TOTP second factors with
recovery codes, console sessions and sign-in throttling.

A person's principal id is `user:<id>`; everything they own or did is keyed on it. Secrets
are stored only as hashes (passwords with argon2id; session cookies, password links and
recovery codes, which are 256-bit or 50-bit random, with SHA-256). The TOTP secret must be
readable to check codes, so it is stored as given.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth_cache import AuthCache, access_change
from gateway.languages import LANGUAGES
from gateway.models import (
    PasswordLinkRow,
    RecoveryCodeRow,
    SessionRow,
    SignInFailureRow,
    TokenRow,
    UserRow,
)
from services.common.db import WRITE, session_factory
from services.common.errors import AlreadyExists, InvalidInput, NotFound
from services.common.identity import ROLES, user_principal
from services.common.ids import is_id, new_id
from services.common.timeutil import as_utc, utcnow
from services.common.validation import Validator

PASSWORD_LINK_TTL = timedelta(hours=24)
NOTIFICATIONS = ("each", "digest", "off")  # mail: one per notice, a daily digest, none
MAIL_LANGUAGES = tuple(LANGUAGES)
SESSION_TTL = timedelta(hours=12)
SECOND_FACTOR_TTL = timedelta(minutes=10)  # a half-signed-in session must finish soon
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
RECOVERY_CODES = 10
# Throttling: failures counted over a window, per account and per client address.
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
TOTP_ISSUER = "JustNet"

_hasher = PasswordHasher()  # argon2id with the library's current parameters
# Verified against when the account does not exist, so a wrong email costs the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class Person:
    id: str
    email: str
    name: str
    role: str
    jurisdiction: str
    has_password: bool
    has_second_factor: bool
    language: str
    created_at: datetime
    disabled_at: datetime | None
    notifications: str = "each"  # mail: each, digest, off

    @property
    def principal(self) -> str:
        return user_principal(self.id)

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def needs_second_factor(self) -> bool:
        """Administrators must have one; others may."""
        return self.has_second_factor or self.role == "admin"

    @classmethod
    def of(cls, row: UserRow) -> Person:
        return cls(
            id=row.id,
            email=row.email,
            name=row.name,
            role=row.role,
            jurisdiction=row.jurisdiction,
            has_password=bool(row.password_hash),
            has_second_factor=bool(row.totp_secret),
            language=row.language,
            created_at=row.created_at,
            disabled_at=row.disabled_at,
            notifications=row.notifications or "each",
        )


@dataclass(frozen=True)
class ConsoleSession:
    id: str
    person: Person
    csrf: str
    stage: str  # "password" (second factor due) or "full"

    @property
    def complete(self) -> bool:
        return self.stage == "full"


class Throttled(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-ins; try again in {retry_after // 60 + 1} min")
        self.retry_after = retry_after


def _validate_person(
    email: str, name: str, role: str, jurisdiction: str
) -> tuple[str, str, str, str]:
    v = Validator()
    if not email.strip():
        v.fail("email", "is required")
    email_ok = v.email("email", email)
    name_ok = v.text("name", name, max_len=200, required=True)
    role_ok = v.choice("role", role, ROLES)
    jurisdiction_ok = v.country("jurisdiction", jurisdiction, required=False)
    v.raise_if_errors()
    return email_ok.lower(), name_ok, role_ok, jurisdiction_ok


def check_password(password: str, field: str = "password") -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput.one(field, f"use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput.one(field, f"use at most {MAX_PASSWORD} characters")
    return password


class AccountStore:
    def __init__(self, engine: AsyncEngine, cache: AuthCache | None = None) -> None:
        self.sessions = session_factory(engine)
        self.cache = cache

    # People -----------------------------------------------------------------------------

    async def add(
        self,
        email: str,
        name: str,
        role: str,
        jurisdiction: str = "",
        password: str | None = None,
    ) -> Person:
        email, name, role, jurisdiction = _validate_person(email, name, role, jurisdiction)
        row = UserRow(
            id=new_id(),
            email=email,
            name=name,
            role=role,
            jurisdiction=jurisdiction,
            password_hash=_hasher.hash(check_password(password)) if password is not None else "",
            totp_secret="",
            totp_last_step=0,
            language="",
            created_at=utcnow(),
        )
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)  # reads, then writes
            taken = await session.scalar(select(UserRow.id).where(UserRow.email == email))
            if taken is not None:
                raise AlreadyExists(f"a person with the email {email} exists already")
            session.add(row)
        return Person.of(row)

    async def people(self) -> list[Person]:
        async with self.sessions() as session:
            rows = await session.scalars(select(UserRow).order_by(UserRow.email))
            return [Person.of(r) for r in rows]

    async def by_email(self, email: str) -> Person | None:
        async with self.sessions() as session:
            row = await session.scalar(select(UserRow).where(UserRow.email == email.lower()))
        return Person.of(row) if row is not None else None

    async def by_id(self, user_id: str) -> Person | None:
        if not is_id(user_id):
            return None
        async with self.sessions() as session:
            row = await session.get(UserRow, user_id)
        return Person.of(row) if row is not None else None

    async def require(self, user_id: str) -> Person:
        person = await self.by_id(user_id)
        if person is None:
            raise NotFound(f"no person {user_id}")
        return person

    async def set_role(self, user_id: str, role: str) -> Person:
        v = Validator()
        role = v.choice("role", role, ROLES)
        v.raise_if_errors()
        await self._update(user_id, role=role)
        # Their tokens act with their role, so nothing else changes.
        return await self.require(user_id)

    async def set_language(self, user_id: str, language: str) -> None:
        await self._update(user_id, language=language[:8])

    async def set_mail_preferences(self, user_id: str, notifications: str, language: str) -> None:
        """How the person gets mail (each, digest, off) and in which language."""
        v = Validator()
        notifications = v.choice("notifications", notifications, NOTIFICATIONS)
        language = v.choice("mail_language", language, MAIL_LANGUAGES)
        v.raise_if_errors()
        await self._update(user_id, notifications=notifications, language=language)

    async def disable(self, user_id: str) -> Person:
        """Ends every session and token of the person at once."""
        now = utcnow()
        async with access_change(self.sessions, self.cache) as session:
            row = await session.get(UserRow, user_id)
            if row is None:
                raise NotFound(f"no person {user_id}")
            if row.disabled_at is None:
                row.disabled_at = now
            await session.execute(
                update(SessionRow)
                .where(SessionRow.user_id == user_id, SessionRow.ended_at.is_(None))
                .values(ended_at=now)
            )
            await session.execute(
                update(TokenRow)
                .where(TokenRow.user_id == user_id, TokenRow.revoked_at.is_(None))
                .values(revoked_at=now)
            )
        return await self.require(user_id)

    async def enable(self, user_id: str) -> Person:
        await self._update(user_id, disabled_at=None)
        return await self.require(user_id)

    async def _update(self, user_id: str, **values: object) -> None:
        # A role, a password or the disabled mark may change: callers kept in memory go.
        async with access_change(self.sessions, self.cache) as session:
            result = await session.execute(
                update(UserRow).where(UserRow.id == user_id).values(**values)
            )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound(f"no person {user_id}")

    # Passwords ----------------------------------------------------------------------------

    async def password_link(self, user_id: str) -> str:
        """A one-time secret for /console/set-password, valid for 24 hours."""
        secret = secrets.token_urlsafe(32)
        async with self.sessions.begin() as session:
            session.add(
                PasswordLinkRow(
                    token_hash=sha256(secret),
                    user_id=user_id,
                    expires_at=utcnow() + PASSWORD_LINK_TTL,
                )
            )
        return secret

    async def link_person(self, secret: str) -> Person | None:
        """Whose unused, unexpired link this is."""
        async with self.sessions() as session:
            row = await session.get(PasswordLinkRow, sha256(secret))
            if row is None or row.used_at is not None or as_utc(row.expires_at) < utcnow():
                return None
            user = await session.get(UserRow, row.user_id)
        if user is None or user.disabled_at is not None:
            return None
        return Person.of(user)

    async def use_link(self, secret: str, password: str) -> Person:
        check_password(password)
        now = utcnow()
        async with access_change(self.sessions, self.cache) as session:
            row = await session.get(PasswordLinkRow, sha256(secret), with_for_update=True)
            if row is None or row.used_at is not None or as_utc(row.expires_at) < now:
                raise InvalidInput.one("token", "this link is unknown, used or expired")
            user = await session.get(UserRow, row.user_id)
            if user is None or user.disabled_at is not None:
                raise InvalidInput.one("token", "this link is unknown, used or expired")
            row.used_at = now
            user.password_hash = _hasher.hash(password)
            # A new password ends every session that the old one opened.
            await session.execute(
                update(SessionRow)
                .where(SessionRow.user_id == user.id, SessionRow.ended_at.is_(None))
                .values(ended_at=now)
            )
        return Person.of(user)

    async def set_password(self, user_id: str, password: str) -> None:
        await self._update(user_id, password_hash=_hasher.hash(check_password(password)))

    async def reset_second_factor(self, user_id: str) -> None:
        """Forgets the person's second factor (a lost device); admins enrol again."""
        async with access_change(self.sessions, self.cache) as session:
            await session.execute(
                update(UserRow)
                .where(UserRow.id == user_id)
                .values(totp_secret="", totp_last_step=0)
            )
            await session.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user_id))

    async def check_password(self, email: str, password: str, address: str) -> Person | None:
        """The person, if the password is theirs; failures are counted for throttling.

        Raises Throttled before checking when the account or the address failed too often.
        """
        email = email.strip().lower()
        await self._throttle(email, address)
        async with self.sessions() as session:
            row = await session.scalar(select(UserRow).where(UserRow.email == email))
        ok = False
        try:
            ok = _hasher.verify(
                row.password_hash if row and row.password_hash else _DUMMY_HASH,
                password[:MAX_PASSWORD],
            )
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or row is None or not row.password_hash or row.disabled_at is not None:
            await self._failed(email, address)
            return None
        if _hasher.check_needs_rehash(row.password_hash):
            await self._update(row.id, password_hash=_hasher.hash(password))
        return Person.of(row)

    async def _throttle(self, email: str, address: str) -> None:
        since = utcnow() - THROTTLE_WINDOW
        async with self.sessions() as session:
            for key, limit in (
                (f"account:{email}", MAX_FAILURES_PER_ACCOUNT),
                (f"address:{address}", MAX_FAILURES_PER_ADDRESS),
            ):
                count, first = (
                    await session.execute(
                        select(func.count(), func.min(SignInFailureRow.at)).where(
                            SignInFailureRow.key == key[:400], SignInFailureRow.at > since
                        )
                    )
                ).one()
                if count >= limit:
                    wait = as_utc(first) + THROTTLE_WINDOW - utcnow()
                    raise Throttled(max(1, int(wait.total_seconds())))

    async def _failed(self, email: str, address: str) -> None:
        now = utcnow()
        async with self.sessions.begin() as session:
            session.add(SignInFailureRow(key=f"account:{email}"[:400], at=now))
            session.add(SignInFailureRow(key=f"address:{address}"[:400], at=now))
            await session.execute(
                delete(SignInFailureRow).where(SignInFailureRow.at < now - timedelta(hours=1))
            )

    # Second factor -------------------------------------------------------------------------

    @staticmethod
    def new_totp_secret() -> str:
        return pyotp.random_base32()

    @staticmethod
    def totp_uri(secret: str, email: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)

    async def enrol_totp(self, user_id: str, secret: str, code: str) -> list[str]:
        """Turns the second factor on when `code` matches `secret`; returns ten recovery
        codes, shown once."""
        step = _matching_step(secret, code, 0)
        if step is None:
            raise InvalidInput.one("code", "the code does not match; check your device's clock")
        codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
        async with self.sessions.begin() as session:
            await session.connection(execution_options=WRITE)  # reads, then writes
            user = await session.get(UserRow, user_id)
            if user is None:
                raise NotFound(f"no person {user_id}")
            user.totp_secret = secret
            user.totp_last_step = step
            await session.execute(delete(RecoveryCodeRow).where(RecoveryCodeRow.user_id == user_id))
            session.add_all(
                RecoveryCodeRow(code_hash=sha256(_normal_code(c)), user_id=user_id) for c in codes
            )
        return codes

    async def check_second_factor(self, user_id: str, code: str, address: str) -> bool:
        """A current TOTP code (each used once) or an unused recovery code."""
        async with self.sessions() as session:
            user = await session.get(UserRow, user_id)
        if user is None or not user.totp_secret or user.disabled_at is not None:
            return False
        await self._throttle(user.email, address)
        step = _matching_step(user.totp_secret, code, user.totp_last_step)
        async with self.sessions.begin() as session:
            if step is not None:
                result = await session.execute(
                    update(UserRow)
                    .where(UserRow.id == user_id, UserRow.totp_last_step < step)
                    .values(totp_last_step=step)
                )
                if result.rowcount:
                    return True
            else:
                result = await session.execute(
                    update(RecoveryCodeRow)
                    .where(
                        RecoveryCodeRow.code_hash == sha256(_normal_code(code)),
                        RecoveryCodeRow.user_id == user_id,
                        RecoveryCodeRow.used_at.is_(None),
                    )
                    .values(used_at=utcnow())
                )
                if result.rowcount:
                    return True
        await self._failed(user.email, address)
        return False

    async def recovery_codes_left(self, user_id: str) -> int:
        async with self.sessions() as session:
            count = await session.scalar(
                select(func.count()).where(
                    RecoveryCodeRow.user_id == user_id, RecoveryCodeRow.used_at.is_(None)
                )
            )
        return int(count or 0)

    # Sessions ------------------------------------------------------------------------------

    async def open_session(self, person: Person, stage: str) -> tuple[str, ConsoleSession]:
        """A new session (a new cookie value: sessions are renewed at sign-in)."""
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        ttl = SESSION_TTL if stage == "full" else SECOND_FACTOR_TTL
        row = SessionRow(
            id=new_id(),
            token_hash=sha256(secret),
            user_id=person.id,
            csrf=secrets.token_urlsafe(32),
            stage=stage,
            created_at=now,
            expires_at=now + ttl,
        )
        async with self.sessions.begin() as session:
            session.add(row)
        return secret, ConsoleSession(row.id, person, row.csrf, stage)

    async def session(self, secret: str) -> ConsoleSession | None:
        """The live session a cookie names; None when unknown, ended, expired or disabled."""
        if self.cache is None:
            return (await self._session(secret))[0]
        return await self.cache.get(f"session:{sha256(secret)}", lambda: self._session(secret))

    async def _session(self, secret: str) -> tuple[ConsoleSession | None, float]:
        async with self.sessions() as session:
            found = (
                await session.execute(
                    select(SessionRow, UserRow)
                    .join(UserRow, UserRow.id == SessionRow.user_id)
                    .where(SessionRow.token_hash == sha256(secret), SessionRow.ended_at.is_(None))
                )
            ).one_or_none()
        if found is None:
            return None, 0
        row, user = found
        left = (as_utc(row.expires_at) - utcnow()).total_seconds()
        if user.disabled_at is not None or left <= 0:
            return None, 0
        return ConsoleSession(row.id, Person.of(user), row.csrf, row.stage), min(left, 300.0)

    async def end_session(self, session_id: str) -> None:
        async with access_change(self.sessions, self.cache) as session:
            await session.execute(
                update(SessionRow)
                .where(SessionRow.id == session_id, SessionRow.ended_at.is_(None))
                .values(ended_at=utcnow())
            )


def _matching_step(secret: str, code: str, last_step: int) -> int | None:
    """The time step (30 s) whose code this is, within one step of now, and later than the
    last one used (RFC 6238 section 5.2: a code is accepted once)."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = int(utcnow().timestamp())
    for offset in (0, -1, 1):
        step = now // totp.interval + offset
        if step > last_step and secrets.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


def _recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 bits, shown as xxxxx-xxxxx
    return f"{raw[:5]}-{raw[5:]}"


def _normal_code(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())
