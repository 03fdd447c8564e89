"""Sample calendars for a new node (`justnet init --sample-data`, `justnet demo`).

Real places and time zones, plausible dates, no real people (sample/events.json).
Ids are derived from the network and each event's key, so loading twice changes
nothing, and the same sample event has the same id on every node.
"""

from __future__ import annotations

import json
import uuid
from importlib import resources
from typing import Any

from justnet.events.v1 import events_pb2

from services.common.validation import Validator
from services.events import validate
from services.events.store import EventsStore

NAMESPACE = uuid.UUID("0b8f6d4e-4c1a-4f7e-8d0c-6a2e5b1c9e37")


def calendars() -> dict[str, Any]:
    text = resources.files("services.events").joinpath("sample", "events.json")
    data: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return data


def build(network: str) -> list[tuple[str, dict[str, Any]]]:
    """(id, column values) for the network's sample events; raises if one is invalid."""
    out = []
    for entry in calendars().get(network, []):
        fields = {
            k: v for k, v in entry.items() if k not in ("key", "venue", "agenda", "documents")
        }
        msg = events_pb2.Event(**fields)
        if "venue" in entry:
            msg.venue.city = entry["venue"]["city"]
            msg.venue.country = entry["venue"]["country"]
        msg.agenda.extend(events_pb2.AgendaItem(**a) for a in entry.get("agenda", []))
        msg.documents.extend(events_pb2.Document(**d) for d in entry.get("documents", []))
        v = Validator(f"{network}/{entry['key']}: ")
        values = validate.event(msg, v)
        v.raise_if_errors()
        out.append((str(uuid.uuid5(NAMESPACE, f"{network}/{entry['key']}")), values))
    return out


async def load(store: EventsStore, network: str) -> int:
    """Adds the network's sample events that are not there yet; returns how many."""
    added = 0
    for record_id, values in build(network):
        if await store.get(record_id) is None:
            await store.create("event", record_id, values)
            added += 1
    return added
