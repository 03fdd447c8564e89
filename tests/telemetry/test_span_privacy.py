"""Spans carry what a request is about, never whom it is about: a lookup's `q` (a person's
name) is not in any span's attributes, only the allow-listed query parameters are."""

from __future__ import annotations

import json
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.common.telemetry import scrub_query
from tests.conftest import Node
from tests.integration.test_console_accounts import person, sign_in
from tests.integration.test_gateway_directory import AUTHORITY, create

NAME = "Anong Rattanakul"


async def _trace_text(node: Node, trace_id: str, spans: InMemorySpanExporter) -> str:
    """Everything recorded about one trace: the node's admin view and the exporter's spans
    (names, attributes, events and their attributes, resource)."""
    resp = await node.client.get(f"/api/v1/admin/traces/{trace_id}", headers=node.auth("admin"))
    assert resp.status == 200, await resp.text()
    admin = await resp.text()
    exported: list[Any] = [
        [s.name, dict(s.attributes or {}), [(e.name, dict(e.attributes or {})) for e in s.events]]
        for s in spans.get_finished_spans()
        if s.context is not None and s.context.trace_id == int(trace_id, 16)
    ]
    assert exported, "the exporter saw the trace"
    return admin + json.dumps(exported, default=str)


async def test_no_span_carries_a_looked_up_name(node: Node, spans: InMemorySpanExporter) -> None:
    authority = await create(node, "/api/v1/authorities", AUTHORITY)
    await create(
        node,
        "/api/v1/contact-points",
        {
            "authority_id": authority["id"],
            "jurisdiction": "TH",
            "name": NAME,
            "competences": ["mla"],
            "email": "anong.r@ago.th.example",
        },
    )
    spans.clear()
    resp = await node.client.get(
        "/api/v1/lookup",
        params={"q": NAME, "jurisdiction": "TH"},
        headers=node.auth("member"),
    )
    assert resp.status == 200
    assert NAME in await resp.text(), "the lookup found the person"
    text = await _trace_text(node, resp.headers["X-Trace-Id"], spans)
    for secret in (NAME, "Anong", "Rattanakul", "anong.r@"):
        assert secret not in text
    assert "jurisdiction=TH" in text and "q=REDACTED" in text

    member = await person(node)
    assert (await sign_in(node.client, member.email)).status == 303
    spans.clear()
    page = await node.client.get("/console/lookup", params={"q": NAME, "jurisdiction": "TH"})
    assert page.status == 200
    assert NAME in await page.text()
    text = await _trace_text(node, page.headers["X-Trace-Id"], spans)
    assert "Anong" not in text and "Rattanakul" not in text
    assert "jurisdiction=TH" in text


def test_the_allow_list() -> None:
    assert scrub_query("q=x&jurisdiction=TH&limit=5&competence=mla") == (
        "q=REDACTED&jurisdiction=TH&limit=5&competence=mla"
    )
    # names of parameters the API does not know are the caller's text: left out entirely
    assert scrub_query("Anong=1&cursor=abc&status=open") == "cursor=REDACTED&status=open"
