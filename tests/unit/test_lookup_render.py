"""The gateway renders a lookup item from its bytes, and an item met before from memory:
the JSON must be what rendering the parsed item gives, for every score and `matched`."""

from __future__ import annotations

import json

from justnet.common.v1 import common_pb2
from justnet.directory.v1 import directory_pb2

from gateway import render


def _expected(item: directory_pb2.LookupItem) -> dict[str, object]:
    if item.kind == "authority":
        record = render.authority(item.authority)
    else:
        record = render.contact_point(item.contact_point)
    return {
        **record,
        "record_type": item.kind,
        "score": round(item.score, 3),
        "matched": list(item.matched),
    }


def test_items_render_from_their_bytes_and_cache_by_them() -> None:
    meta = common_pb2.RecordMeta(id="00000000-0000-4000-8000-000000000001", origin="SEAJUST")
    cp = directory_pb2.ContactPoint(meta=meta, jurisdiction="TH", name="Ana", languages=["th"])
    ca = directory_pb2.Authority(meta=meta, jurisdiction="TH", name="CA", kind="central_authority")
    items = [
        directory_pb2.LookupItem(kind="contact_point", contact_point=cp, score=3.25),
        directory_pb2.LookupItem(kind="contact_point", contact_point=cp, score=1.0),
        directory_pb2.LookupItem(
            kind="contact_point", contact_point=cp, score=1.0, matched=["language"]
        ),
        directory_pb2.LookupItem(kind="authority", authority=ca, score=2.0, matched=["text"]),
    ]
    fragments = render.JsonFragments(items_size=3)  # small: the cache also empties itself
    for _ in range(3):  # the first round renders, the next ones mostly hit the cache
        for order in (items, items[::-1]):
            body = fragments.lookup_items(i.SerializeToString() for i in order)
            assert json.loads(body) == [_expected(i) for i in order]
