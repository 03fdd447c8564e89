"""Pages of a store's lists: opaque cursors (the sort key and id of the last item of a
page), the limits, and the page itself."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from services.common.errors import InvalidInput

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    next_cursor: str  # empty on the last page


def page_size(limit: int) -> int:
    """The rows a page holds for a requested `limit` (0: the default)."""
    return min(max(limit or DEFAULT_LIMIT, 1), MAX_LIMIT)


def page_of(
    rows: list[T], size: int, sort_key: Callable[[T], str], row_id: Callable[[T], str]
) -> Page[T]:
    """A page of `size` from up to size + 1 rows read in order: a row past the page
    means another page, whose cursor is the last row's sort key and id."""
    if len(rows) <= size:
        return Page(rows, "")
    rows = rows[:size]
    return Page(rows, encode_cursor(sort_key(rows[-1]), row_id(rows[-1])))


def encode_cursor(name: str, record_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([name, record_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        name, record_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(name, str) or not isinstance(record_id, str):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput.one("cursor", "not a cursor returned by this API") from None
    return name, record_id
