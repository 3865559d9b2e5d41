"""Wake-ups reach a listening relay: a committed event NOTIFYs on PostgreSQL (a trigger, at commit), and a
PUBLISH after commit wakes it on SQLite with Redis. Polling stays the safety net (tests/webhooks/test_workers.py)."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_q.conf import Conf

from tests.webhooks.conftest import video
from webhooks_app import events, wakeups

pytestmark = pytest.mark.django_db(transaction=True)


class Wakes:
    """What a listener passes on: the `everything` of each wake-up, and `wait` for the next one."""

    def __init__(self) -> None:
        self.kinds: list[bool] = []
        self.arrived = threading.Event()

    def __call__(self, *, everything: bool) -> None:
        self.kinds.append(everything)
        self.arrived.set()

    def wait(self, timeout: float) -> bool:
        return self.arrived.wait(timeout)

    def clear(self) -> None:
        self.kinds.clear()
        self.arrived.clear()


@pytest.fixture
def listening(monkeypatch, settings, redis_port):
    """A real Listener of this run's wake-up mode, and what it passes on. On SQLite without Redis (where the relay
    only polls), a Redis of the test's own stands in, as a SQLite + Redis setup has."""
    monkeypatch.setattr(Conf, "SYNC", False)  # wake-ups go out, instead of draining inline
    if wakeups.mode() == "poll":
        port, start_redis = redis_port
        start_redis()
        settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
        monkeypatch.setattr(wakeups, "_redis", None)
    assert wakeups.mode() in ("postgresql", "redis")
    woken = Wakes()
    stop = threading.Event()
    listener = wakeups.Listener(woken, stop)
    listener.start()
    assert woken.wait(10), "the listener did not connect"  # it wakes once when it (re)connects
    assert woken.kinds == [True]  # wake-ups sent before may have been of any kind
    woken.clear()
    yield woken
    stop.set()
    listener.join(5)


def test_a_committed_event_wakes_a_listening_relay(listening):
    with transaction.atomic():
        events.record("video.ready", video())
        assert not listening.wait(0.3)  # nothing before the commit
    assert listening.wait(5)


def test_a_rolled_back_event_wakes_nobody(listening):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.record("video.ready", video())
        raise RuntimeError("rolled back")
    assert not listening.wait(1.0)


def test_an_event_costs_one_insert_and_still_wakes_the_relay(listening):
    """On PostgreSQL the trigger's NOTIFY rides on the INSERT; with Redis the PUBLISH follows the commit."""
    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        events.record("video.ready", video())
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))]
    assert len(statements) == 1 and statements[0].startswith("INSERT")
    assert listening.wait(5)


def test_a_recorded_event_wakes_for_its_fan_out_only(listening):
    with transaction.atomic():
        events.record("video.ready", video())
    assert listening.wait(5)
    time.sleep(0.2)  # a second wake-up, if one were sent, would have arrived
    assert listening.kinds == [False]


def test_new_deliveries_wake_for_everything(listening, make_webhook):
    webhook = make_webhook("https://a.example.com/hook")
    with transaction.atomic():
        event = events.record("video.ready", video())
    assert listening.wait(5)
    listening.clear()
    with transaction.atomic():
        events.replay(webhook, [event.id])
    assert listening.wait(5)
    assert listening.kinds == [True]


def test_an_internal_message_wakes_for_everything_as_it_has_a_delivery(listening, make_webhook):
    """Its event row fires the outbox trigger too (events only), so that wake-up alone would leave the delivery
    to the next look."""
    webhook = make_webhook("https://a.example.com/hook")
    with transaction.atomic():
        events.record_message("webhook.test", {"message": "hello"}, channel="webhook", webhook=webhook)
    assert listening.wait(5)
    time.sleep(0.2)
    assert True in listening.kinds
