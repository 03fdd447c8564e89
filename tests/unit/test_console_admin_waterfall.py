"""The trace page's waterfall: spans after their parent, indented by depth, each bar placed
by its start and sized by its duration within the trace (what the SVG's x and width say)."""

from __future__ import annotations

from typing import Any

from gateway.console.admin_pages import WATERFALL_WIDTH, waterfall


def span(span_id: str, parent: str | None, start_ms: float, ms: float, **kw: Any) -> dict[str, Any]:
    whole, frac = divmod(int(start_ms * 1000), 1_000_000)  # microseconds past 12:00:00
    return {
        "span_id": span_id,
        "parent_span_id": parent,
        "service": kw.get("service", "gateway"),
        "name": span_id,
        "start": f"2026-01-01T12:00:{whole:02d}.{frac:06d}Z",
        "duration_ms": ms,
        "status": kw.get("status", "UNSET"),
    }


def test_rows_follow_the_call_tree_with_bars_on_the_trace_scale() -> None:
    spans = [  # in start order, as the API gives them
        span("root", None, 0, 100),
        span("a", "root", 10, 40),
        span("b", "root", 20, 70, service="directory"),
        span("a1", "a", 15, 5, status="ERROR"),
        span("tiny", "b", 99.99, 0.001),
    ]
    rows = waterfall({"spans": spans})
    assert [(r["span"]["span_id"], r["depth"]) for r in rows] == [
        ("root", 0),
        ("a", 1),
        ("a1", 2),
        ("b", 1),
        ("tiny", 2),
    ]
    by_id = {r["span"]["span_id"]: r for r in rows}
    assert (by_id["root"]["x"], by_id["root"]["width"]) == (0, WATERFALL_WIDTH)
    assert (by_id["a"]["x"], by_id["a"]["width"]) == (100, 400)
    assert by_id["b"]["x"] == 200 and by_id["b"]["width"] == 700
    assert by_id["a1"]["error"] and not by_id["a"]["error"]
    # A span too short to see still gets a visible bar, and no bar leaves the scale.
    assert by_id["tiny"]["width"] >= 2
    assert all(r["x"] >= 0 and r["x"] + r["width"] <= WATERFALL_WIDTH for r in rows)


def test_orphans_and_cycles_are_shown_not_lost() -> None:
    spans = [
        span("x", "missing", 0, 10),  # its parent is in another node's memory
        span("c1", "c2", 1, 1),
        span("c2", "c1", 2, 1),
        span("self", "self", 3, 1),
    ]
    rows = waterfall({"spans": spans})
    assert sorted(r["span"]["span_id"] for r in rows) == ["c1", "c2", "self", "x"]
    assert rows[0]["span"]["span_id"] == "x" and rows[0]["depth"] == 0
    assert waterfall({"spans": []}) == []


def test_deep_trees_indent_up_to_a_limit() -> None:
    spans = [span("s0", None, 0, 50)] + [span(f"s{i}", f"s{i - 1}", i, 1) for i in range(1, 40)]
    rows = waterfall({"spans": spans})
    assert rows[-1]["depth"] == 39 and rows[-1]["indent"] == 12
