"""Real `runworker` processes against the test database: retry timing in real seconds, a worker killed
mid-attempt, two workers racing, and a broker that is down when the event commits."""

import json
import logging
import threading
import time
from collections import Counter

import pytest
from django.db import transaction
from django_q.conf import Conf

from tests.conftest import wait_until
from tests.receiver import Answer
from tests.webhooks.conftest import video
from webhooks_app import events, wakeups
from webhooks_app.models import Delivery, Event, Webhook

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True)]


def record(event_type: str = "video.ready") -> str:
    with transaction.atomic():
        return events.record(event_type, video()).id


def status_of(event_id: str) -> str | None:
    """The status of the event's one delivery, None until a worker has fanned the event out."""
    return Delivery.objects.filter(event_id=event_id).values_list("status", flat=True).first()


def wait_for_start(worker, timeout: float = 20.0) -> float:
    """Wait until the worker says it runs; returns the time it did."""
    wait_until(lambda: "delivery relay started" in worker.output(), timeout=timeout)
    return time.time()


def test_a_failing_endpoint_gets_exactly_the_scheduled_attempts_on_time(receiver, start_worker, broker_wakeups):
    receiver.always(Answer(500, b"broken"))
    Webhook.objects.create(url=receiver.url, events=["*"])
    wait_for_start(start_worker(WEBHOOK_RETRY_SCHEDULE="1,1,1", WEBHOOK_RETRY_JITTER="0"))
    event_id = record()
    wait_until(lambda: status_of(event_id) == Delivery.Status.FAILED, timeout=30)
    arrivals = [r.at for r in receiver.requests]
    assert len(arrivals) == 4
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert all(1.0 <= gap < 3.5 for gap in gaps), gaps
    assert Delivery.objects.get(event_id=event_id).attempt_count == 4
    time.sleep(1.5)  # nothing comes after the last attempt
    assert len(receiver.requests) == 4


def test_a_delivery_survives_its_worker_being_killed_mid_attempt(receiver, start_worker, broker_wakeups):
    hang = threading.Event()
    receiver.answer(Answer(200, hang=hang))  # the first request never gets its answer from this worker
    Webhook.objects.create(url=receiver.url, events=["*"])
    settings = {"WEBHOOK_TIMEOUT": "2", "WEBHOOK_LEASE_SECONDS": "4"}
    try:
        first = start_worker(**settings)
        event_id = record()
        (hung,) = receiver.wait_for(1, timeout=20)
        first.kill()
        lease_expires_at = Delivery.objects.get(event_id=event_id).lease_expires_at.timestamp()
        ready = wait_for_start(start_worker(**settings))
        wait_until(lambda: status_of(event_id) == Delivery.Status.SUCCEEDED, timeout=20)
    finally:
        hang.set()
    retried = receiver.requests[1]
    assert len(receiver.requests) == 2
    assert hung.header("webhook-id") == retried.header("webhook-id") == event_id
    assert hung.body == retried.body
    assert retried.at >= lease_expires_at
    assert retried.at < max(lease_expires_at, ready) + 2.5
    delivery = Delivery.objects.get(event_id=event_id)
    assert delivery.attempt_count == 1 and delivery.lease_token is None


def test_two_workers_send_each_event_exactly_once(receiver, start_worker, broker_wakeups):
    receiver.always(Answer(200, delay=0.01))
    Webhook.objects.create(url=receiver.url, events=["*"])
    workers = [start_worker(), start_worker()]
    for worker in workers:
        wait_for_start(worker)
    event_ids = [record() for _ in range(50)]
    wait_until(lambda: Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count() == 50, timeout=30)
    time.sleep(0.5)
    arrived = Counter(r.header("webhook-id") for r in receiver.requests)
    assert arrived == Counter(event_ids)
    assert set(Delivery.objects.values_list("attempt_count", flat=True)) == {1}


def test_an_event_whose_wake_up_reached_no_worker_is_delivered_by_the_next_worker(receiver, start_worker,
                                                                                  broker_wakeups):
    Webhook.objects.create(url=receiver.url, events=["*"])
    # Given: an event committed while no worker runs, so its wake-up (NOTIFY or PUBLISH, if any) is lost
    event_id = record("video.published")
    assert Event.objects.get(pk=event_id).fanout_pending
    assert receiver.requests == []
    # When: a worker starts; Then: it finds the event by polling, fans it out and delivers it
    start_worker()
    (request,) = receiver.wait_for(1, timeout=20)
    assert request.header("webhook-id") == event_id
    assert json.loads(request.body)["type"] == "video.published"
    wait_until(lambda: status_of(event_id) == Delivery.Status.SUCCEEDED)


def test_a_failed_wake_up_is_logged_and_loses_nothing(settings, caplog, monkeypatch):
    monkeypatch.setattr(Conf, "SYNC", False)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nobody listens there
    monkeypatch.setattr(wakeups, "_redis", None)
    monkeypatch.setattr(wakeups, "mode", lambda: "redis")  # as on SQLite with Redis, whatever this run's database
    with caplog.at_level(logging.WARNING, logger="webhooks_app.wakeups"):
        event_id = record("video.published")
    assert "Could not wake the workers" in caplog.text
    assert Event.objects.get(pk=event_id).fanout_pending  # committed, waiting for a worker's poll
