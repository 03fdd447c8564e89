"""Sending one mail over SMTP (aiosmtplib), and the one place SMTP errors are mapped.

A failure is either worth retrying with backoff (the server is down, slow, busy, or
refused us for a reason of its own: 4xx, authentication) or final (the server refused
this recipient or this message with a 5xx). Decided by exception type and reply code,
never by an error's text. Errors carry a short code, never an address or a body.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from services.common.settings import MailSettings


class MailFailed(Exception):
    def __init__(self, code: str, retry: bool) -> None:
        super().__init__(code)
        self.code = code
        self.retry = retry


def classify(exc: Exception) -> MailFailed:
    """What an exception of aiosmtplib (or the socket under it) means for this mail."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [e.code for e in exc.recipients]
        return MailFailed(f"recipient refused {codes}", retry=all(c < 500 for c in codes))
    if isinstance(exc, (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError)):
        return MailFailed(f"refused {exc.code}", retry=exc.code < 500)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):
        return MailFailed("timeout", retry=True)
    if isinstance(exc, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected)):
        return MailFailed("unreachable", retry=True)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return MailFailed(f"server {exc.code}", retry=True)  # auth, sender, busy: the server's
    if isinstance(exc, (aiosmtplib.SMTPException, OSError)):
        return MailFailed(type(exc).__name__, retry=True)
    raise exc


def message_id(dedup_key: str, network: str) -> str:
    """The same for every attempt at one mail, so a resend after a crash can be
    recognised by the receiving side as the same message."""
    digest = hashlib.sha256(dedup_key.encode()).hexdigest()[:32]
    return f"<{digest}@{network.lower()}.justnet>"


class SmtpSender:
    def __init__(self, settings: MailSettings, network: str) -> None:
        self.settings = settings
        self.network = network

    async def send(self, to: str, subject: str, body: str, dedup_key: str) -> None:
        """Raises MailFailed (see `classify`)."""
        s = self.settings
        msg = EmailMessage()
        msg["From"] = s.from_address
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = message_id(dedup_key, self.network)
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        msg.set_content(body)
        try:
            await aiosmtplib.send(
                msg,
                hostname=s.host,
                port=s.port,
                username=s.username or None,
                password=s.password or None,
                use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                timeout=s.timeout_seconds,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise classify(exc) from None
