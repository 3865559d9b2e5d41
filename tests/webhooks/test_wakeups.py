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
def listening(monkeypatch):
    """A real Listener of this process's wake-up mode, and an Event set by each wake-up it gets."""
    monkeypatch.setattr(Conf, "SYNC", False)  # wake-ups go out, instead of draining inline
    if wakeups.mode() == "poll":
        pytest.skip("SQLite without Redis has no wake-ups: the relay polls (REDIS_URL or PostgreSQL needed)")
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


def test_on_postgresql_an_event_costs_no_statement_beyond_its_insert(listening):
    if connection.vendor != "postgresql":
        pytest.skip("the NOTIFY trigger exists on PostgreSQL")
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        events.record("video.ready", video())
    statements = [q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"))]
    assert len(statements) == 1 and statements[0].startswith("INSERT")
    assert listening.wait(5)
