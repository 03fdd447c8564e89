"""Mail to people about what happened on the node (see notifier.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from gateway import keys
from gateway.notify.notifier import Feeds, Notifier
from gateway.notify.outbox import MailOutbox
from gateway.notify.smtp import SmtpSender
from services.common.db import create_engine


async def notifier_ctx(app: web.Application) -> AsyncIterator[None]:
    """Runs the notifier beside the gateway when `[mail] enabled` (after the channels)."""
    settings = app[keys.SETTINGS]
    if not settings.mail.enabled:
        yield
        return
    engine = create_engine(settings.gateway.database_url)
    channels = app[keys.CLIENTS].channels
    notifier = Notifier(
        settings,
        MailOutbox(engine),
        Feeds.over(channels["requests"], channels["events"]),
        SmtpSender(settings.mail, settings.network),
    )
    notifier.start()
    yield
    await notifier.stop()
    await engine.dispose()
