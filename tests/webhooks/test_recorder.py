"""On PostgreSQL a worker's outcomes are written by the relay's Recorder, in a thread and a connection of its own,
while the relay goes on claiming and starting attempts: a batch it could not write (its connection died) is written
once the database answers again, nothing twice; and a worker on PostgreSQL really writes through it."""

import logging
import threading

import pytest
from django.db import connection, transaction

from tests.conftest import fan_out, wait_until
from tests.webhooks.conftest import video
from webhooks_app import events, relay
from webhooks_app.models import Delivery, DeliveryAttempt

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only(broker_wakeups):
    """(Commits wake workers through the broker: nothing is delivered inline.)"""
    if connection.vendor != "postgresql":
        pytest.skip("the relay writes through a Recorder on PostgreSQL only (on SQLite a second writer would wait)")


def attempted(receiver, make_webhook, count: int) -> list[tuple[Delivery, object]]:
    """`count` deliveries claimed and attempted for real, their outcomes not written yet."""
    make_webhook(receiver.url)
    with transaction.atomic():
        for _ in range(count):
            events.record("video.ready", video())
    assert fan_out() == count
    deliveries, deadline = relay.claim()
    return list(zip(deliveries, relay.send_batch(deliveries, deadline), strict=True))


def succeeded(*batch) -> bool:
    pks = [delivery.pk for delivery, _result in batch]
    return Delivery.objects.filter(pk__in=pks, status="succeeded").count() == len(pks)


def test_a_batch_the_recorder_could_not_write_is_written_once_its_database_answers(receiver, make_webhook, caplog):
    first, second = attempted(receiver, make_webhook, 2)
    recorder = relay.Recorder()
    try:
        recorder.record([first])
        wait_until(lambda: succeeded(first))  # the recorder's connection is open, and idle

        # When its connection dies (the server ends it) and a batch comes
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                           " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        with caplog.at_level(logging.ERROR, logger="webhooks_app.relay"):
            recorder.record([second])
            # Then the write fails, the recorder reconnects, and writes the batch
            wait_until(lambda: succeeded(second))
    finally:
        assert recorder.close(timeout=10)
    assert "Delivery recorder: database error; reconnecting." in caplog.text
    assert DeliveryAttempt.objects.filter(delivery__in=[first[0].pk, second[0].pk]).count() == 2  # nothing twice
    assert len(receiver.requests) == 2


def test_a_worker_on_postgresql_writes_its_outcomes_through_its_recorder(receiver, make_webhook, monkeypatch):
    monkeypatch.setattr(relay, "Recorder", CountingRecorder)
    monkeypatch.setattr(CountingRecorder, "handed", 0)
    make_webhook(receiver.url)
    with transaction.atomic():
        event_id = events.record("video.ready", video()).id
    worker, stop = relay.Relay(), threading.Event()
    thread = threading.Thread(target=run, args=(worker, stop))
    thread.start()
    try:
        wait_until(lambda: Delivery.objects.filter(event_id=event_id, status="succeeded").exists())
    finally:
        stop.set()
        worker.kick.set()
        thread.join(30)
    assert CountingRecorder.handed == 1  # the one outcome went through it
    assert worker.recorder is None  # closed as the worker stopped


class CountingRecorder(relay.Recorder):
    """The relay's Recorder, counting the outcomes handed to it."""

    handed = 0

    def record(self, batch) -> None:
        type(self).handed += len(batch)
        super().record(batch)


def run(worker: relay.Relay, stop: threading.Event) -> None:
    try:
        worker.run_forever(stop)
    finally:
        connection.close()  # this thread's own
