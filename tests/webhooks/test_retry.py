"""Retry timing (no database): the schedule, jitter that only stretches, Retry-After, exhaustion."""

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from webhooks_app import retry

SCHEDULE = [5.0, 300.0, 1800.0]


def test_attempts_are_one_plus_the_schedule_length():
    assert retry.max_attempts(SCHEDULE) == 4
    assert retry.max_attempts([]) == 1


def test_each_failed_attempt_waits_for_the_next_delay_of_the_schedule():
    assert [retry.next_delay(n, SCHEDULE, 0) for n in (1, 2, 3)] == [5.0, 300.0, 1800.0]


def test_no_attempt_follows_the_last_one():
    assert retry.next_delay(4, SCHEDULE, 0) is None
    assert retry.next_delay(1, [], 0) is None


def test_jitter_stretches_each_delay_within_one_to_one_plus_jitter():
    assert retry.next_delay(2, SCHEDULE, 0.2, rand=lambda: 0.0) == 300.0
    assert retry.next_delay(2, SCHEDULE, 0.2, rand=lambda: 0.5) == pytest.approx(330.0)
    generator = random.Random(7)
    delays = [retry.next_delay(2, SCHEDULE, 0.2, rand=generator.random) for _ in range(2000)]
    assert all(300.0 <= delay <= 360.0 for delay in delays)
    assert max(delays) - min(delays) > 50  # it really spreads the retries
    assert all(300.0 <= retry.next_delay(2, SCHEDULE, 0.2) <= 360.0 for _ in range(200))


def test_zero_jitter_is_exact():
    assert {retry.next_delay(1, [1.0, 1.0, 1.0], 0) for _ in range(100)} == {1.0}


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_wins_when_longer_than_the_schedule(status):
    assert retry.next_delay(1, SCHEDULE, 0, status_code=status, retry_after=120) == 120


@pytest.mark.parametrize("status", [429, 503])
def test_the_schedule_wins_when_longer_than_retry_after(status):
    assert retry.next_delay(1, SCHEDULE, 0, status_code=status, retry_after=1) == 5
    assert retry.next_delay(3, SCHEDULE, 0, status_code=status, retry_after=60) == 1800


def test_retry_after_is_capped_at_one_hour():
    assert retry.next_delay(1, SCHEDULE, 0, status_code=503, retry_after=7200) == 3600
    assert retry.next_delay(1, SCHEDULE, 0, status_code=429, retry_after=10**9) == 3600


def test_retry_after_never_shortens_a_schedule_delay_longer_than_the_cap():
    assert retry.next_delay(1, [7200.0], 0, status_code=503, retry_after=10) == 7200


def test_retry_after_counts_only_for_429_and_503():
    assert retry.next_delay(1, SCHEDULE, 0, status_code=500, retry_after=120) == 5


def test_retry_after_does_not_extend_the_attempts():
    assert retry.next_delay(4, SCHEDULE, 0, status_code=429, retry_after=10) is None


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert retry.parse_retry_after("120", now) == 120
    assert retry.parse_retry_after(" 7 ", now) == 7
    assert retry.parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert retry.parse_retry_after(format_datetime(now - timedelta(seconds=90), usegmt=True), now) == 0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "Tue, 99 Foo 2026", "\u00b2", "1\u00b9",
                                   "Mon, 01 Jan 99999 00:00:00 GMT", "Mon, 01 Jan 99999999999 00:00:00 GMT",
                                   "Mon, 01 Jan 2026 00:00:00 +99999999999999999999"])
def test_an_unreadable_retry_after_is_ignored(value):
    assert retry.parse_retry_after(value, datetime(2026, 11, 22, tzinfo=UTC)) is None


@pytest.mark.parametrize("value", ["9" * 400, "Fri, 31 Dec 9999 23:59:59 -2359"])
def test_an_absurdly_distant_retry_after_waits_at_most_the_cap(value):
    waited = retry.parse_retry_after(value, datetime(2026, 11, 22, tzinfo=UTC))
    assert retry.next_delay(1, SCHEDULE, 0, status_code=503, retry_after=waited) == retry.RETRY_AFTER_CAP
