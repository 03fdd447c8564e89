"""Mail in tests: a real SMTP server on loopback (aiosmtpd) that keeps what it got, people
with their mail choices, and a node's notifier driven step by step with a given clock."""

from __future__ import annotations

import contextlib
import email
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from aiosmtpd.controller import Controller

from gateway.accounts import AccountStore, Person
from gateway.auth import TokenStore
from gateway.notify.notifier import Feeds, Notifier
from gateway.notify.outbox import MailOutbox
from gateway.notify.smtp import SmtpSender
from services.common.db import create_engine
from services.common.settings import MailSettings, NodeSettings
from tests.requests_nodes import ReqNode, free_port

PASSWORD = "a long enough password"


class _Keep:
    def __init__(self, inbox: list[tuple[list[str], EmailMessage]]) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.inbox.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    """aiosmtpd on a fixed loopback port, so it can stop (the server is down) and come back."""

    port: int = field(default_factory=free_port)
    inbox: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(_Keep(self.inbox), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for rcpt, m in self.inbox if address in rcpt]

    def settings(self, network: str) -> MailSettings:
        return MailSettings(
            enabled=True,
            host="127.0.0.1",
            port=self.port,
            security="none",
            from_address=f"justnet@{network.lower()}.example",
            reminder_days=3,
            digest_hour=7,
        )


@contextlib.contextmanager
def smtp_server() -> Any:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def subject(message: EmailMessage) -> str:
    """The subject as a person reads it (a long one is folded on the wire)."""
    return " ".join(str(message["Subject"]).split())


async def add_person(
    node: ReqNode,
    email_address: str,
    role: str,
    *,
    jurisdiction: str = "",
    language: str = "en",
    notifications: str = "each",
) -> tuple[Person, dict[str, str]]:
    """A person of the node with their mail choices, and an API token acting as them."""
    engine = create_engine(node.settings.gateway.database_url, instrument=False)
    try:
        accounts = AccountStore(engine)
        person = await accounts.add(
            email_address, email_address.split("@")[0], role, jurisdiction, password=PASSWORD
        )
        await accounts.set_mail_preferences(person.id, notifications, language)
        token, _ = await TokenStore(engine, node.network).create_for(person.id)
    finally:
        await engine.dispose()
    return person, {"Authorization": f"Bearer {token}"}


def with_mail(settings: NodeSettings, smtp: SmtpServer) -> NodeSettings:
    return replace(settings, mail=smtp.settings(settings.network))


@contextlib.asynccontextmanager
async def notifier_of(node: ReqNode, smtp: SmtpServer) -> AsyncIterator[Notifier]:
    """A node's notifier as the gateway runs it, over the node's own services, stepped by
    the test (a new one is a restart: all it keeps is in the gateway's database)."""
    settings = with_mail(node.settings, smtp)
    engine = create_engine(settings.gateway.database_url, instrument=False)
    requests_channel = node.internal(node.requests_rt.port)
    events_channel = node.internal(node.events_rt.port)
    try:
        yield Notifier(
            settings,
            MailOutbox(engine),
            Feeds.over(requests_channel, events_channel),
            SmtpSender(settings.mail, settings.network),
        )
    finally:
        await requests_channel.close()
        await events_channel.close()
        await engine.dispose()
