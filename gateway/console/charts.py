"""Bar charts drawn on the server as SVG geometry (no script, no inline style: the strict
CSP holds). A template draws each `Chart` (`_macros.html`'s `bar_chart`) with a title and
a description for screen readers; the same numbers are in a table beside it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 640  # the viewBox; the SVG scales to its box (375 px on a phone)
LABEL_WIDTH = 170  # the category labels' column
VALUE_ROOM = 80  # right of the longest bar, for its value
ROW = 30
BAR = 20
TOP = 6


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as shown (formatted for the person's language)
    x: float
    y: float
    width: float
    label_y: float
    text_x: float


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    bars: list[Bar]
    width: int
    height: int
    label_x: int  # the labels are right-aligned here


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    items: Sequence[tuple[str, float]],
    fmt: Callable[[float], str],
    maximum: float | None = None,
) -> Chart:
    """Horizontal bars, one per (label, value), scaled to `maximum` (default: the largest
    value) so a share's bars can be scaled to 1."""
    top = maximum if maximum is not None else max((v for _, v in items), default=0)
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    bars = []
    for i, (label, value) in enumerate(items):
        width = round(room * value / top, 1) if top > 0 else 0.0
        y = TOP + i * ROW
        bars.append(
            Bar(
                label=label,
                value=value,
                text=fmt(value),
                x=LABEL_WIDTH,
                y=y,
                width=width,
                label_y=y + BAR / 2,
                text_x=LABEL_WIDTH + width + 6,
            )
        )
    height = TOP * 2 + ROW * max(len(items), 1)
    return Chart(chart_id, title, description, bars, WIDTH, height, LABEL_WIDTH - 8)
