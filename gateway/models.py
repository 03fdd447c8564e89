"""The gateway's own tables: people, their sessions and second factors, API tokens (hashes
only) and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import new_metadata


class Base(AsyncAttrs, DeclarativeBase):
    metadata = new_metadata()


class UserRow(Base):
    """A person. Their principal id is `user:<id>`; email and name may change, the id not."""

    __tablename__ = "gateway_users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    jurisdiction: Mapped[str] = mapped_column(String(2), default="")
    password_hash: Mapped[str] = mapped_column(String(200), default="")  # argon2id; "" = none yet
    totp_secret: Mapped[str] = mapped_column(String(64), default="")  # base32; "" = no 2nd factor
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)  # a code is used once
    language: Mapped[str] = mapped_column(String(8), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Mail notifications: "each" (one mail per notice), "digest" (one a day), "off".
    notifications: Mapped[str] = mapped_column(String(8), default="each", server_default="each")


class TokenRow(Base):
    __tablename__ = "gateway_tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    # A person's token acts as that person (their role and principal); without one it is
    # a named service token whose principal is `token:<id>`.
    user_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("gateway_users.id"), nullable=True
    )
    # The name that owned records before principals existed (set by migration 0002 only).
    legacy_subject: Mapped[str] = mapped_column(String(200), default="")
    # sha256 of the token: tokens are 256-bit random, so a fast hash is enough and a
    # stolen table yields nothing usable.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SessionRow(Base):
    """A console session; the cookie holds a random value, the table only its SHA-256."""

    __tablename__ = "gateway_sessions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("gateway_users.id"))
    csrf: Mapped[str] = mapped_column(String(64))
    # "password": the second factor is still due (or its enrolment); "full": signed in.
    stage: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_gateway_sessions_user", "user_id"),)


class PasswordLinkRow(Base):
    """A one-time link to set a password (invitation or reset), valid for 24 hours."""

    __tablename__ = "gateway_password_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("gateway_users.id"))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RecoveryCodeRow(Base):
    __tablename__ = "gateway_recovery_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), ForeignKey("gateway_users.id"))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (Index("ix_gateway_recovery_codes_user", "user_id"),)


class SignInFailureRow(Base):
    """A failed sign-in, by account and by address, for throttling (kept 1 hour)."""

    __tablename__ = "gateway_sign_in_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(400))  # "account:<email>" or "address:<ip>"
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_gateway_sign_in_failures_key_at", "key", "at"),)


class AuthEpochRow(Base):
    """One row: bumped by every change that takes access away (see gateway.auth_cache)."""

    __tablename__ = "gateway_auth_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class AuditRow(Base):
    __tablename__ = "gateway_audit"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    subject: Mapped[str] = mapped_column(String(200))  # principal id
    subject_name: Mapped[str] = mapped_column(String(200), default="")  # as it was then
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="")
    trace_id: Mapped[str] = mapped_column(String(32), default="")

    __table_args__ = (Index("ix_gateway_audit_at", "at"),)


class MailRow(Base):
    """A mail to one person (gateway/notify/): written once per `dedup_key` (what it is
    about and for whom, plus the day for reminders and digests), then sent with backoff.
    Holds the person's id, never their address, which is read when sending."""

    __tablename__ = "gateway_mail_outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    user_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # pending (to send), held (for the person's daily digest), digested (went in one),
    # sent, failed (the server refused it for good), dropped (the person opted out or
    # was disabled before it went)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str] = mapped_column(String(300), default="")  # a code, no addresses
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    __table_args__ = (
        Index("ix_gateway_mail_outbox_due", "state", "next_attempt_at"),
        Index("ix_gateway_mail_outbox_user_state", "user_id", "state"),
    )


class NoticeCursorRow(Base):
    """How far the notifier has handled one service's notices (NoticeFeed)."""

    __tablename__ = "gateway_notice_cursors"

    feed: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
