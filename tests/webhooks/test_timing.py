"""Retry timing and leases under a controlled clock (time-machine): never early, on time, and a claimed
delivery belongs to its worker until the lease runs out."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from tests.receiver import Answer
from tests.webhooks.conftest import video
from webhooks_app import events, fanout, relay
from webhooks_app.models import Delivery
from webhooks_app.results import Attempt

pytestmark = pytest.mark.django_db

START = datetime(2031, 3, 4, 10, 0, 0, tzinfo=UTC)
MOMENT = timedelta(microseconds=1)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def record() -> Delivery:
    """Record an event and fan it out, as a worker does after the commit."""
    with transaction.atomic():
        event = events.record("video.ready", video())
    fanout.expand_due()
    return Delivery.objects.get(event=event)


def test_a_retry_is_not_made_a_moment_before_its_due_time_and_is_made_at_it(receiver, make_webhook, clock,
                                                                             settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [5.0, 300.0]
    make_webhook(receiver.url)
    receiver.answer(Answer(500), Answer(500), Answer(200))
    delivery = record()
    assert relay.drain() == 1
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == START + timedelta(seconds=5)

    clock.move_to(delivery.next_attempt_at - MOMENT)
    assert relay.drain() == 0
    assert len(receiver.requests) == 1
    clock.move_to(delivery.next_attempt_at)
    assert relay.drain() == 1
    assert len(receiver.requests) == 2

    delivery.refresh_from_db()
    assert delivery.next_attempt_at == START + timedelta(seconds=5 + 300)
    clock.move_to(delivery.next_attempt_at - MOMENT)
    assert relay.drain() == 0
    clock.move_to(delivery.next_attempt_at)
    assert relay.drain() == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED and delivery.attempt_count == 3
    assert [int(r.header("webhook-timestamp")) - int(START.timestamp()) for r in receiver.requests] == [0, 5, 305]


def test_the_wait_is_counted_from_the_end_of_the_failed_attempt(receiver, make_webhook, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [5.0]
    make_webhook(receiver.url)
    receiver.answer(Answer(500, delay=0.4))
    with time_machine.travel(START, tick=True):
        delivery = record()
        relay.drain()
    delivery.refresh_from_db()
    attempt = delivery.attempts.get()
    ended = attempt.started_at + timedelta(milliseconds=attempt.duration_ms)
    assert attempt.duration_ms >= 400
    assert abs(delivery.next_attempt_at - (ended + timedelta(seconds=5))) < timedelta(milliseconds=5)


def test_with_zero_jitter_the_retry_is_due_exactly_after_the_delay(receiver, make_webhook, clock, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [1.0, 1.0, 1.0]
    make_webhook(receiver.url)
    receiver.always(Answer(500))
    delivery = record()
    due = []
    for _ in range(4):
        relay.drain()
        delivery.refresh_from_db()
        due.append(delivery.next_attempt_at)
        if delivery.next_attempt_at:
            clock.move_to(delivery.next_attempt_at)
    assert due == [START + timedelta(seconds=n) for n in (1, 2, 3)] + [None]
    assert delivery.status == Delivery.Status.FAILED and len(receiver.requests) == 4


def test_jitter_only_delays_a_retry(receiver, make_webhook, clock, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [100.0]
    settings.WEBHOOK_RETRY_JITTER = 0.5
    make_webhook(receiver.url)
    receiver.always(Answer(500))
    deliveries = [record() for _ in range(20)]
    relay.drain()
    waits = {(Delivery.objects.get(pk=d.pk).next_attempt_at - START).total_seconds() for d in deliveries}
    assert all(100 <= wait <= 150 for wait in waits)
    assert len(waits) > 1


def test_a_claimed_delivery_is_not_claimed_again_while_its_lease_runs(receiver, make_webhook, clock, settings):
    settings.WEBHOOK_LEASE_SECONDS = 30
    make_webhook(receiver.url)
    delivery = record()
    claimed, _deadline = relay.claim()
    assert [d.pk for d in claimed] == [delivery.pk]
    assert relay.claim()[0] == []
    clock.move_to(START + timedelta(seconds=30) - MOMENT)
    assert relay.claim()[0] == []
    assert relay.drain() == 0
    assert receiver.requests == []


def test_a_delivery_is_claimed_again_once_its_lease_expires(receiver, make_webhook, clock, settings):
    settings.WEBHOOK_LEASE_SECONDS = 30
    make_webhook(receiver.url)
    delivery = record()
    first, _ = relay.claim()
    first_token = Delivery.objects.get(pk=delivery.pk).lease_token
    clock.move_to(START + timedelta(seconds=30))
    again, _ = relay.claim()
    assert [d.pk for d in again] == [delivery.pk]
    assert again[0].lease_token != first_token
    relay.process(again, _)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.lease_token is None and delivery.lease_expires_at is None
    assert len(receiver.requests) == 1


def test_a_settled_attempt_releases_its_lease(receiver, make_webhook, clock, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [5.0]
    make_webhook(receiver.url)
    receiver.answer(Answer(500))
    delivery = record()
    relay.drain()
    delivery.refresh_from_db()
    assert delivery.lease_token is None and delivery.lease_expires_at is None
    clock.move_to(delivery.next_attempt_at)
    assert relay.drain() == 1


def test_a_worker_that_overran_its_lease_cannot_overwrite_the_outcome_of_the_worker_that_took_over(
        receiver, make_webhook, clock, settings):
    # Given worker A claimed a delivery and stalled past its lease
    settings.WEBHOOK_RETRY_SCHEDULE = [5.0]
    make_webhook(receiver.url)
    receiver.answer(Answer(200), Answer(500))
    delivery = record()
    stalled, stalled_deadline = relay.claim()
    assert [d.pk for d in stalled] == [delivery.pk]
    clock.move_to(START + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS))

    # When worker B takes it over and succeeds, and A finally records its (failed) attempt
    taken, deadline = relay.claim()
    assert [d.pk for d in taken] == [delivery.pk]
    relay.process(taken, deadline)
    relay.settle(stalled, relay.send_batch(stalled, stalled_deadline + 3600))

    # Then B's success stands, with exactly one recorded attempt
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempt_count == 1
    assert [a.success for a in delivery.attempts.all()] == [True]


def test_a_settled_attempt_is_recorded_exactly_as_it_was_made(make_webhook, clock, settings):
    # The outcome and the attempt are written in bulk (one statement each on PostgreSQL, whatever the batch): every
    # field comes back as given, to the microsecond, with text and headers beyond ASCII.
    settings.WEBHOOK_RETRY_SCHEDULE = [5.0]
    make_webhook("https://subscriber.example/hook")
    delivery = record()
    (claimed,), _deadline = relay.claim()
    started = START + timedelta(microseconds=123457)
    made = Attempt(url="https://subscriber.example/hook", started_at=started,
                   finished_at=started + timedelta(milliseconds=42), duration_ms=42, status_code=503,
                   error="HTTP 503: café fermé — «revenez»", response_body="café fermé — «revenez» 🎬",
                   response_headers={"Content-Type": "text/plain; charset=utf-8", "Retry-After": "7"},
                   request_headers={"webhook-id": delivery.event_id, "X-Note": "naïve"})
    relay.settle([claimed], [made])

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.last_status_code) == ("pending", 1, 503)
    assert delivery.last_error == made.error and delivery.completed_at is None
    assert delivery.next_attempt_at == made.finished_at + timedelta(seconds=5)
    assert delivery.lease_token is None and delivery.lease_expires_at is None
    attempt = delivery.attempts.get()
    assert (attempt.number, attempt.url, attempt.started_at, attempt.duration_ms, attempt.status_code) == (
        1, made.url, started, 42, 503)
    assert (attempt.success, attempt.error, attempt.response_body) == (False, made.error, made.response_body)
    assert attempt.response_headers == made.response_headers and attempt.request_headers == made.request_headers


def test_a_claimed_delivery_and_its_event_hold_what_the_database_holds(make_webhook):
    # PostgreSQL claims and reads in one statement of its own (times read from ISO text): every field must come
    # back as the ORM reads it, to the microsecond, the event's body bytes included.
    make_webhook("https://subscriber.example/hook")
    with time_machine.travel(START + timedelta(microseconds=654321), tick=False):
        delivery = record()
        (claimed,), _deadline = relay.claim()
    stored = Delivery.objects.select_related("event").get(pk=delivery.pk)
    for field in Delivery._meta.concrete_fields:
        assert getattr(claimed, field.attname) == getattr(stored, field.attname), field.name
    assert claimed.created_at.microsecond == 654321 and claimed.created_at.utcoffset() == timedelta(0)
    for field in relay.EVENT_FIELDS:
        assert getattr(claimed.event, field.attname) == getattr(stored.event, field.attname), field.name
    assert bytes(claimed.event.body) == bytes(stored.event.body) and claimed.webhook == stored.webhook
