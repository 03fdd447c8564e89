"""Opaque list cursors: the sort key and id of the last item of a page."""

from __future__ import annotations

import base64
import binascii
import json

from services.common.errors import InvalidInput


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
