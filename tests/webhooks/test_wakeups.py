"""Wake-ups reach a listening relay: a committed event NOTIFYs on PostgreSQL (a trigger, at commit), and a
PUBLISH after commit wakes it on SQLite with Redis. Polling stays the safety net (tests/webhooks/test_workers.py)."""

import threading

import pytest
from django.db import connection, transaction
from django_q.conf import Conf

from tests.webhooks.conftest import video
from webhooks_app import events, wakeups

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listening(monkeypatch, settings, redis_port):
    """A real Listener of this run's wake-up mode, and an Event set by each wake-up it gets. On SQLite without
    Redis (where the relay only polls), a Redis of the test's own stands in, as a SQLite + Redis setup has."""
    monkeypatch.setattr(Conf, "SYNC", False)  # wake-ups go out, instead of draining inline
    if wakeups.mode() == "poll":
        port, start_redis = redis_port
        start_redis()
        settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
        monkeypatch.setattr(wakeups, "_redis", None)
    assert wakeups.mode() in ("postgresql", "redis")
    woken = threading.Event()
    stop = threading.Event()
    listener = wakeups.Listener(woken.set, stop)
    listener.start()
    assert woken.wait(10), "the listener did not connect"  # it wakes once when it (re)connects
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
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        events.record("video.ready", video())
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))]
    assert len(statements) == 1 and statements[0].startswith("INSERT")
    assert listening.wait(5)
