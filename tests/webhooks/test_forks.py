"""A process forked from a worker (the task cluster, a hook runner's child) while the relay is in the middle of a
turn must still be able to write: SQLite keeps its lock bookkeeping per process, so a fork made inside the relay's
transaction would inherit a lock nobody releases, and every write of the child would wait out the busy timeout."""

import multiprocessing
import threading
import time

import pytest
from django.db import connection, connections, transaction

from webhooks_app import relay

pytestmark = pytest.mark.django_db(transaction=True)

HOLD_SECONDS = 0.5


def write() -> None:
    """A write that takes the database's write lock and changes nothing (no event, no wake-up)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE django_migrations SET name = name WHERE id = -1")


def _write_in_child(database: dict, answers) -> None:
    for wrapper in connections.all(initialized_only=True):
        wrapper.connection = None  # the parent's connections stay the parent's; open our own
    if connection.vendor == "sqlite":  # its busy timeout, short (PostgreSQL has no such lock bookkeeping)
        settings = connection.settings_dict
        settings["OPTIONS"] = {**settings.get("OPTIONS", {}), "timeout": 3}
    started = time.monotonic()
    try:
        write()
    except Exception as exc:  # reported to the parent, whatever it is
        answers.send(f"failed after {time.monotonic() - started:.1f} s: {exc}")
    else:
        answers.send("wrote")
    finally:
        connection.close()


def test_a_process_forked_while_the_relay_is_in_a_turn_can_write():
    relay.Relay()  # a worker's relay: from now on, forks wait for the relay to be between turns
    in_turn = threading.Event()

    def a_turn_that_writes():
        with relay._turn:  # as the relay does all its database work: inside its turns
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("UPDATE django_migrations SET name = name WHERE id = -1")  # holds the write lock
                in_turn.set()
                time.sleep(HOLD_SECONDS)
            connection.close()

    turn = threading.Thread(target=a_turn_that_writes)
    turn.start()
    assert in_turn.wait(10)
    context = multiprocessing.get_context("fork")
    answers, child_end = context.Pipe()
    started = time.monotonic()
    child = context.Process(target=_write_in_child, args=(connection.settings_dict, child_end))
    child.start()  # the fork waits for the end of the turn
    forked_after = time.monotonic() - started
    turn.join(10)
    assert answers.poll(20), "the child never answered"
    assert answers.recv() == "wrote"
    child.join(10)
    assert forked_after >= HOLD_SECONDS / 2
    write()  # and this process still writes too
