"""What the services' statistics share: the period a caller asks for, nearest-rank
percentiles, shares, and the month of a timestamp in SQL on SQLite and PostgreSQL alike.

Percentiles use the nearest-rank definition, so SQLite and PostgreSQL (and a person
counting by hand) get the same answer: the p-th percentile of n sorted values is the value
at rank ceil(p * n / 100) (1-based); the median is the 50th, so of an even number of values
it is the lower of the two middle ones.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from services.common.validation import Validator

# At most this many durations are read for one statistics answer: a period that holds
# more is refused with a message naming `from`, so no answer reads without bound.
MAX_DURATIONS = 200_000


@dataclass(frozen=True)
class Period:
    """UTC dates, both inclusive; None: unbounded."""

    start: dt.datetime | None
    end: dt.datetime | None  # exclusive: the day after `to`
    from_date: str
    to_date: str


def period(from_date: str, to_date: str, v: Validator) -> Period:
    """The period `from`..`to` (YYYY-MM-DD, inclusive), errors naming those fields."""
    first = v.date("from", from_date)
    last = v.date("to", to_date)
    if v.errors:
        return Period(None, None, first, last)
    start = _midnight(first) if first else None
    end = _midnight(last) + dt.timedelta(days=1) if last else None
    if start is not None and end is not None and end <= start:
        v.fail("to", f"must not be before from ({first})")
    return Period(start, end, first, last)


def _midnight(day: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), dt.UTC)


def nearest_rank(ordered: Sequence[float], p: int) -> float | None:
    """The p-th percentile (nearest rank) of values sorted ascending; None when empty."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p * len(ordered) / 100))
    return ordered[rank - 1]


def share(part: int, whole: int) -> float:
    """part / whole to 4 decimals; 0 when whole is 0."""
    return round(part / whole, 4) if whole else 0.0


def days(seconds: float) -> float:
    """A duration in days, to 2 decimals (about a quarter of an hour)."""
    return round(seconds / 86400, 2)


class year_month(FunctionElement[str]):
    """`YYYY-MM` of a UTC timestamp column, in SQL."""

    type = String()
    inherit_cache = True
    name = "year_month"


@compiles(year_month, "sqlite")
def _year_month_sqlite(element: year_month, compiler: Any, **kw: Any) -> str:
    return f"strftime('%Y-%m', {compiler.process(element.clauses, **kw)})"


@compiles(year_month, "postgresql")
def _year_month_postgresql(element: year_month, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"
