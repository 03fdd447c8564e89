"""The statistics kit: nearest-rank percentiles, periods, CSV cells, content negotiation,
chart geometry."""

from __future__ import annotations

import csv
import io

import pytest
from aiohttp.test_utils import make_mocked_request

from gateway.console.charts import LABEL_WIDTH, WIDTH, bar_chart
from gateway.routes.statistics import csv_text, wants_csv
from services.common import statistics as st
from services.common.validation import Validator


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, None),
        ([7.0], 50, 7.0),
        ([7.0], 90, 7.0),
        ([1.0, 2.0], 50, 1.0),  # the lower middle: rank ceil(1) = 1
        ([1.0, 2.0, 4.0], 50, 2.0),  # rank ceil(1.5) = 2
        ([1.0, 2.0, 4.0], 90, 4.0),  # rank ceil(2.7) = 3
        ([float(i) for i in range(1, 11)], 90, 9.0),  # rank 9 exactly
        ([float(i) for i in range(1, 12)], 90, 10.0),  # rank ceil(9.9) = 10
    ],
)
def test_nearest_rank(values: list[float], p: int, expected: float | None) -> None:
    assert st.nearest_rank(values, p) == expected


def test_period_is_inclusive_and_names_bad_fields() -> None:
    v = Validator()
    period = st.period("2026-02-01", "2026-02-28", v)
    assert not v.errors
    assert period.start is not None and period.start.isoformat() == "2026-02-01T00:00:00+00:00"
    assert period.end is not None and period.end.isoformat() == "2026-03-01T00:00:00+00:00"
    for first, last, field in (
        ("2026-02-30", "", "from"),
        ("", "soon", "to"),
        ("2026-03-01", "2026-02-01", "to"),
    ):
        v = Validator()
        st.period(first, last, v)
        assert [e.field for e in v.errors] == [field]


def test_csv_cells_that_could_start_a_formula_are_escaped() -> None:
    text = csv_text(["network", "requests"], [{"network": '=HYPERLINK("x")', "requests": 3}])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["network", "requests"], ['\'=HYPERLINK("x")', "3"]]
    # An absent figure (no request had that step) is an empty cell.
    assert csv_text(["a"], [{"a": None}]) == 'a\n""\n'


@pytest.mark.parametrize(
    ("accept", "csv_wanted"),
    [
        ("", False),
        ("*/*", False),
        ("text/csv", True),
        ("application/json, text/csv", False),
        ("application/json;q=0.5, text/csv", True),
        ("text/csv;q=0.2, application/json;q=0.9", False),
        ("text/csv;q=bad", False),
    ],
)
def test_content_negotiation(accept: str, csv_wanted: bool) -> None:
    request = make_mocked_request("GET", "/", headers={"Accept": accept} if accept else {})
    assert wants_csv(request) is csv_wanted


def test_bar_chart_scales_to_the_largest_or_given_maximum() -> None:
    chart = bar_chart("c", "t", "d", [("a", 1), ("b", 4)], str)
    full = chart.bars[1].width
    assert chart.bars[0].width == round(full / 4, 1)
    assert LABEL_WIDTH + full < WIDTH
    shares = bar_chart("s", "t", "d", [("a", 0.5)], str, maximum=1.0)
    assert shares.bars[0].width == round(full / 2, 1)
    assert bar_chart("e", "t", "d", [], str).bars == []
