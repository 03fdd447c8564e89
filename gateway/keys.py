"""Typed keys for the aiohttp application and requests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from gateway.lookup_watch import LookupTokenWatch
from gateway.render import JsonFragments, LookupAnswers
from services.common.identity import Caller
from services.common.settings import NodeSettings

if TYPE_CHECKING:
    from gateway.audit import AuditLog
    from gateway.auth import TokenStore
    from gateway.clients import ServiceClients

SETTINGS = web.AppKey("settings", NodeSettings)
CLIENTS: web.AppKey[ServiceClients] = web.AppKey("clients")
TOKENS: web.AppKey[TokenStore] = web.AppKey("tokens")
OPENAPI: web.AppKey[dict] = web.AppKey("openapi")  # type: ignore[type-arg]
AUDIT: web.AppKey[AuditLog] = web.AppKey("audit")
CALLER = web.RequestKey("caller", Caller)
SCRAPER = web.RequestKey("scraper", bool)  # the request carries gateway.scrape_token
FRAGMENTS = web.AppKey("fragments", JsonFragments)
LOOKUPS = web.AppKey("lookups", LookupAnswers)
LOOKUP_WATCH = web.AppKey("lookup_watch", LookupTokenWatch)
