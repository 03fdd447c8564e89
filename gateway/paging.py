"""Every list takes `limit` and `cursor` and answers `{"items", "next_cursor"}` (API.md).

Lists the services page themselves (authorities, contact points, events, requests, the
quarantine) pass `limit` and `cursor` through. Short lists a service answers whole
(networks, jurisdictions, peers, instruments, registrations, traces) are paged here with
`page_of`, whose cursor is an opaque offset into that list.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from gateway.schema import Param, parse_query
from services.common.errors import InvalidInput

DEFAULT_LIMIT = 50
LIMIT = Param("limit", "integer", "page size (default 50)", minimum=1, maximum=500)
CURSOR = Param("cursor", description="next_cursor from the previous page", max_len=500)
PAGE = (LIMIT, CURSOR)
NEXT_CURSOR = {
    "type": ["string", "null"],
    "description": "pass as `cursor` for the next page; null on the last",
}

Item = TypeVar("Item")


def page_schema(item: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The response schema of a list of `item`."""
    return {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": dict(item)},
            "next_cursor": NEXT_CURSOR,
            **extra,
        },
        "required": ["items", "next_cursor"],
    }


def page_of(
    items: Sequence[Item], query: Mapping[str, Any], default_limit: int = DEFAULT_LIMIT
) -> dict[str, Any]:
    """One page of a list held whole. `query` holds the parsed `limit` and `cursor`."""
    offset = _offset(query.get("cursor") or "")
    limit = query.get("limit") or default_limit
    end = offset + limit
    return {
        "items": list(items[offset:end]),
        "next_cursor": _cursor(end) if end < len(items) else None,
    }


def parse_page(params: Sequence[Param], query: Mapping[str, str]) -> dict[str, Any]:
    """`params` and the paging parameters, parsed (every unknown one named)."""
    return parse_query((*params, *PAGE), query)


def only(query: Mapping[str, str], *names: str) -> dict[str, str]:
    """The raw query without the paging parameters (for a `*_data` function that parses
    its own filters)."""
    return {k: v for k, v in query.items() if k in names}


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    kind, _, number = text.partition(":")
    if kind != "o" or not number.isdigit() or len(number) > 9:
        raise InvalidInput.one("cursor", "not a cursor this list gave")
    return int(number)
