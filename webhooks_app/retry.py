"""Retry timing: when the next attempt is due after a failed one. Pure; the clock and randomness are passed in."""

import email.utils
import random
from collections.abc import Callable
from datetime import datetime

RETRY_AFTER_CAP = 3600.0
RETRY_AFTER_STATUSES = {429, 503}


def max_attempts(schedule: list[float]) -> int:
    """One first attempt, then one per delay in the schedule."""
    return 1 + len(schedule)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():  # delta-seconds; a header is Latin-1, so isdigit() also lets "²" and "¹" through
        return float(value) if value.isascii() else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):  # a year or an offset past any datetime
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def next_delay(failed_attempts: int, schedule: list[float], jitter: float, *, status_code: int | None = None,
               retry_after: float | None = None, rand: Callable[[], float] = random.random) -> float | None:
    """Seconds to wait after the `failed_attempts`-th failure, or None when no attempts are left.

    The schedule's delay is stretched by a factor in [1, 1 + jitter], never shortened. A 429/503 with
    Retry-After waits the larger of the two, the Retry-After part capped at one hour.
    """
    if failed_attempts >= max_attempts(schedule):
        return None
    delay = schedule[failed_attempts - 1] * (1 + jitter * rand())
    if status_code in RETRY_AFTER_STATUSES and retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return delay
