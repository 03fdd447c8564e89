"""The one retry delay every loop uses: exponential from half a second, capped, jittered.

Jitter keeps many nodes (or many peers of one node) that failed together from retrying in
lock step. What is retried is each caller's decision, by status code or exception type,
never by the text of an error.
"""

from __future__ import annotations

import random

START_SECONDS = 0.5
CAP_SECONDS = 30.0
# A peer or service that could not be reached at all is tried again at least this often: a
# refused connection costs nothing, and the work waiting for it (a federation starting
# together, a partition healing) then resumes within seconds.
UNREACHABLE_CAP_SECONDS = 4.0


def backoff_seconds(failures: int, *, cap: float = CAP_SECONDS) -> float:
    """How long to wait after `failures` failures in a row (1 for the first)."""
    base = min(cap, START_SECONDS * 2.0 ** min(max(failures - 1, 0), 30))
    return base * random.uniform(0.8, 1.4)
