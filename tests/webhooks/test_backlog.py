"""One subscriber with a backlog larger than its share of a worker's slots (PER_WEBHOOK) keeps flowing: when its
parked deliveries run low and it answers, the next claim takes more of its backlog at once, instead of waiting for
the relay's next look at the outbox (a quarter of a second with wake-ups, at every turn); so does one that a claim
brought to its limit with none of its deliveries parked. A subscriber that does not answer is left to the looks."""

import threading

import pytest
from django.db import connection, transaction

from tests.conftest import fan_out
from tests.receiver import Answer
from tests.webhooks.conftest import video
from webhooks_app import events, relay
from webhooks_app.models import Delivery
from webhooks_app.results import Released


class ConnectedListener:
    """What run_forever asks of a wake-up listener: connected, so the relay looks at the outbox only every
    IDLE_POLL_SECONDS (wake-ups tell it about new work)."""

    connected = True


@pytest.fixture
def small_limits(monkeypatch, receiver):
    """A webhook takes 4 attempts at a time, claims take 8, and the relay's look at the outbox would come only
    after the test's end; answers take a while, so a webhook is at its limit when claims run."""
    monkeypatch.setattr(relay, "PER_WEBHOOK", 4)
    monkeypatch.setattr(relay, "REFILL_AT", 2)
    monkeypatch.setattr(relay, "BATCH_SIZE", 8)
    monkeypatch.setattr(relay, "IDLE_POLL_SECONDS", 3600)
    receiver.always(Answer(200, delay=0.05))


def run_until_received(receiver, count: int) -> relay.Relay:
    """Run a worker with wake-ups (it looks at the outbox once, at its start) until `count` requests arrived."""
    worker, stop = relay.Relay(), threading.Event()

    def run() -> None:
        try:
            worker.run_forever(stop, ConnectedListener())
        finally:
            connection.close()  # this thread's own

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert len(receiver.wait_for(count, timeout=30)) == count
    finally:
        stop.set()
        worker.kick.set()
        thread.join(30)
    return worker


@pytest.mark.django_db(transaction=True)
def test_a_backlog_beyond_the_webhooks_limit_is_claimed_as_it_drains_not_at_the_next_look(
        receiver, make_webhook, small_limits, broker_wakeups):
    make_webhook(receiver.url)
    with transaction.atomic():
        for _ in range(40):
            events.record("video.ready", video())
    assert fan_out() == 40

    # Given a worker with wake-ups, started on a backlog of 40 deliveries to one webhook that takes 4 at a time
    # When it has looked at the outbox once (at its start), all 40 arrive: no claim waited for another look
    worker = run_until_received(receiver, 40)
    assert Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count() == 40
    assert not worker.in_flight


def test_only_an_answering_webhook_at_its_limit_is_claimed_for_again_at_once():
    worker = relay.Relay()
    worker.more_due = False
    worker.passed_over = {"whk_hung", "whk_answering"}  # the last claim skipped both: at their limit
    worker.webhook_load.update({"whk_hung": relay.PER_WEBHOOK, "whk_answering": relay.PER_WEBHOOK})

    # When an attempt of each ends, the hung one's by its timeout, the other one's with an answer
    worker._one_less("whk_hung", answered=False)
    assert not worker.refill and not worker.more_due
    worker._one_less("whk_answering", answered=True)

    # Then the next claim is due now and takes the answering webhook's backlog, whatever its load by then; the
    # hung one is skipped while it is at its limit
    assert worker.refill == {"whk_answering"} and worker.more_due
    worker.webhook_load.update({"whk_hung": relay.PER_WEBHOOK, "whk_answering": relay.PER_WEBHOOK})
    assert worker.busy() == {"whk_hung"}


def test_a_delivery_released_before_it_started_frees_no_slot_of_its_webhook():
    worker = relay.Relay()
    worker.webhook_load["whk_full"] = relay.PER_WEBHOOK  # its attempts in flight: as many as it may have
    never_started = Delivery(pk="dlv_released", webhook_id="whk_full")
    worker.finished.put((never_started, Released("its lease had no room left for a whole attempt")))
    worker.take_finished()
    assert worker.webhook_load["whk_full"] == relay.PER_WEBHOOK  # not one less: the next parked one stays parked
    assert [d.pk for d, _result in worker.unsettled] == ["dlv_released"]  # due again once recorded


@pytest.mark.django_db(transaction=True)
def test_webhooks_a_claim_brings_to_their_limit_with_nothing_parked_keep_flowing(
        receiver, make_webhook, small_limits, broker_wakeups):
    make_webhook(receiver.url)
    make_webhook(receiver.url)
    with transaction.atomic():
        for _ in range(20):
            events.record("video.ready", video())
    assert fan_out() == 20

    # Given two webhooks with a backlog of 20 each: a claim of 8 takes 4 of each, which brings both to their
    # limit of 4 with none of their deliveries parked in the worker
    # Then the rest of both backlogs is claimed as their attempts end, not at the next look
    run_until_received(receiver, 40)
    assert Delivery.objects.filter(status=Delivery.Status.SUCCEEDED).count() == 40
