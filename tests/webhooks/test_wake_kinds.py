"""A wake-up about recorded events alone (the outbox trigger's, or its PUBLISH with Redis) makes the relay fan them
out and start their deliveries, and nothing more: no claim of other deliveries and no look for hook runs on the
path to those first POSTs. Such wake-ups never put off the periodic look, which finds retries come due; a wake-up
about new deliveries claims them at once."""

import time

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.webhooks.conftest import video
from webhooks_app import events, fanout, functions, hook_runner, relay
from webhooks_app.models import Delivery

pytestmark = pytest.mark.django_db


def record() -> str:
    with transaction.atomic():
        return events.record("video.ready", video()).id


@pytest.fixture
def waiting_delivery(receiver, make_webhook) -> Delivery:
    """A delivery due now, fanned out earlier and not claimed by anyone."""
    make_webhook(receiver.url)
    record()
    assert fanout.expand_due() == 1
    (delivery,) = Delivery.objects.all()
    assert delivery.lease_token is None
    return delivery


def woken_relay(*, everything: bool, look_due: bool = False) -> relay.Relay:
    worker = relay.Relay()
    worker.wake_ups, worker.woken, worker.everything = True, False, False  # past its first look
    worker.next_look = time.monotonic() + (-1 if look_due else 3600)
    worker.wake(everything=everything)
    return worker


def delivery_table_statements(queries) -> list[str]:
    table = Delivery._meta.db_table
    return [q["sql"] for q in queries.captured_queries if f'"{table}"' in q["sql"] and "WITH ended AS" not in q["sql"]
            and not q["sql"].startswith(f'INSERT INTO "{table}"')]  # the fan-out's own write (SQLite: INSERTs)


def test_an_events_wake_up_fans_out_and_sends_without_claiming_or_looking(receiver, waiting_delivery):
    new_event = record()
    worker = woken_relay(everything=False)

    with CaptureQueriesContext(connection) as queries:
        assert worker.step()
    (request,) = receiver.wait_for(1)
    assert request.header("webhook-id") == new_event
    waiting_delivery.refresh_from_db()
    assert waiting_delivery.lease_token is None  # not claimed: it waits for a look or a wake-up about it
    assert delivery_table_statements(queries) == []  # no claim, no look for deliveries or hook runs
    worker.drain_in_flight(stop_grace=5)


def test_a_wake_up_about_deliveries_claims_them_at_once(receiver, waiting_delivery):
    worker = woken_relay(everything=True)

    assert worker.step()
    (request,) = receiver.wait_for(1)
    assert request.header("webhook-id") == waiting_delivery.event_id
    worker.drain_in_flight(stop_grace=5)
    waiting_delivery.refresh_from_db()
    assert waiting_delivery.status == "succeeded"


def test_events_wake_ups_do_not_put_off_the_periodic_look(receiver, waiting_delivery):
    """The look finds the delivery when it is due, even when event wake-ups keep arriving."""
    new_event = record()
    worker = woken_relay(everything=False, look_due=True)

    assert worker.step()
    received = {request.header("webhook-id") for request in receiver.wait_for(2)}
    assert received == {new_event, waiting_delivery.event_id}
    assert worker.next_look > time.monotonic()  # the look was made: the next one is a poll away
    worker.drain_in_flight(stop_grace=5)


def test_an_events_wake_up_does_not_put_the_next_look_off(receiver, make_webhook):
    make_webhook(receiver.url)
    record()
    worker = woken_relay(everything=False)
    next_look = worker.next_look

    assert worker.step()
    assert worker.next_look == next_look
    receiver.wait_for(1)
    worker.drain_in_flight(stop_grace=5)


def noted(event) -> None:
    """A function subscriber that does nothing."""


@pytest.fixture
def function_subscriber():
    name = "tests.webhooks.test_wake_kinds.noted"
    functions.register(name, noted, events=["*"])
    yield name
    functions.unregister(name)
    hook_runner.close()  # the children forked for this registry


def test_with_function_subscribers_the_fan_out_looks_for_the_hook_runs_it_wrote(receiver, make_webhook,
                                                                               function_subscriber):
    make_webhook(receiver.url)
    record()
    worker = woken_relay(everything=False)

    worker.step()
    (run,) = Delivery.objects.filter(channel="hook", hook=function_subscriber)
    assert run.lease_token is not None  # claimed in the same turn, and handed to the hook runner
    receiver.wait_for(1)
    worker.drain_in_flight(stop_grace=5)
    run.refresh_from_db()
    assert run.status == "succeeded"
