"""The relay's own fan-out writes the deliveries it has room for already leased to itself and starts them after
the commit, without claiming them again: the shortest path from a commit to the first delivery. Leased so, they
keep every guarantee of a claim: due again when the lease runs out, never taken by two workers."""

from collections import deque
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.webhooks.conftest import video
from webhooks_app import events, fanout, functions, relay
from webhooks_app.models import Delivery, Webhook

pytestmark = pytest.mark.django_db


class Taker:
    """Wants the deliveries of the webhooks it names; keeps what it is handed."""

    def __init__(self, *webhook_ids: str) -> None:
        self.webhook_ids = set(webhook_ids)
        self.taken: list[Delivery] = []
        self.deadline = None

    def wants(self, webhook_id: str) -> bool:
        return webhook_id in self.webhook_ids

    def take(self, deliveries, lease_deadline) -> None:
        self.taken += deliveries
        self.deadline = lease_deadline


def record() -> str:
    with transaction.atomic():
        return events.record("video.ready", video()).id


def test_the_deliveries_a_taker_wants_are_written_leased_to_it_and_handed_over_with_webhook_and_body(make_webhook):
    mine = make_webhook("https://a.example.com/hook")
    other = make_webhook("https://b.example.com/hook")
    event_id = record()
    taker = Taker(mine.pk)

    assert fanout.expand_due(taker=taker) == 1

    (taken,) = taker.taken
    assert (taken.webhook_id, taken.event_id) == (mine.pk, event_id)
    assert taken.webhook.url == mine.url and taken.webhook.secret == mine.secret
    assert bytes(taken.event.body) == bytes(events.Event.objects.get(pk=event_id).body)
    leased = Delivery.objects.get(pk=taken.pk)
    assert leased.lease_token == taken.lease_token and leased.lease_expires_at > timezone.now()
    assert leased.next_attempt_at == leased.lease_expires_at  # claims skip it until the lease runs out
    free = Delivery.objects.get(webhook=other)
    assert free.lease_token is None and free.next_attempt_at <= timezone.now()
    # the free one is there for any worker to claim; the leased one is not
    claimed, _deadline = relay.claim(10)
    assert [d.pk for d in claimed] == [free.pk]


def test_a_leased_delivery_whose_worker_died_is_due_again_when_its_lease_runs_out(make_webhook, settings):
    webhook = make_webhook("https://a.example.com/hook")
    record()
    taker = Taker(webhook.pk)
    fanout.expand_due(taker=taker)  # and the taker never sends: its worker died
    (taken,) = taker.taken
    assert relay.claim(10)[0] == []
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS + 1), tick=False):
        claimed, _deadline = relay.claim(10)
    assert [d.pk for d in claimed] == [taken.pk] and claimed[0].lease_token != taken.lease_token


def test_nothing_is_handed_over_when_the_event_was_fanned_out_by_another_worker_meanwhile(make_webhook):
    webhook = make_webhook("https://a.example.com/hook")
    record()
    events_claimed, token = fanout.claim()
    # Another worker took the event over (this claim's lease ran out) and fanned it out
    events.Event.objects.update(lease_token="someone-else")
    taker = Taker(webhook.pk)
    assert fanout.expand(events_claimed, token, taker) == []
    assert taker.taken == [] and not Delivery.objects.exists()


def test_the_relay_starts_its_own_fan_outs_deliveries_without_claiming_them(receiver, make_webhook):
    make_webhook(receiver.url)
    event_id = record()
    worker = relay.Relay()
    with CaptureQueriesContext(connection) as queries:
        assert worker.run_until_idle() == 1
    (request,) = receiver.wait_for(1)
    assert request.header("webhook-id") == event_id
    assert Delivery.objects.get().status == "succeeded"
    table = Delivery._meta.db_table
    claims = [q["sql"] for q in queries.captured_queries
              if q["sql"].startswith(f'UPDATE "{table}" SET "lease_token"')]
    assert claims == []


def test_the_relay_offers_its_fan_out_only_the_room_it_has():
    worker = relay.Relay()
    worker.webhook_load["whk_full"] = relay.PER_WEBHOOK
    worker.parked["whk_waiting"] = deque([(object(), 0.0)])
    room = relay._Room(worker)
    assert not room.wants("whk_full")  # as many attempts in flight as one webhook may have
    assert not room.wants("whk_waiting")  # its claimed deliveries go first
    taken = sum(room.wants("whk_free") for _ in range(relay.PER_WEBHOOK + 1))
    assert taken == relay.PER_WEBHOOK
    room.free = 1
    assert room.wants("whk_other") and not room.wants("whk_another")  # no more than the free slots


def test_webhooks_created_after_an_event_get_none_of_its_deliveries_leased_or_not(make_webhook):
    before = make_webhook("https://a.example.com/hook")
    record()
    after = make_webhook("https://b.example.com/hook")
    taker = Taker(before.pk, after.pk)
    fanout.expand_due(taker=taker)
    assert [d.webhook_id for d in taker.taken] == [before.pk]
    assert list(Delivery.objects.values_list("webhook_id", flat=True)) == [before.pk]
    assert Webhook.objects.count() == 2


def test_every_column_of_a_fanned_out_delivery_holds_what_it_should_leased_free_or_hook(make_webhook):
    mine = make_webhook("https://a.example.com/hook")
    other = make_webhook("https://b.example.com/hook")
    functions.register("tests.on_ready", lambda event: None, events=["video.ready"])
    try:
        event_id = record()
        taker = Taker(mine.pk)
        assert fanout.expand_due(taker=taker) == 1
    finally:
        functions.unregister("tests.on_ready")
    event = events.Event.objects.get(pk=event_id)
    assert (event.fanout_pending, event.lease_token, event.lease_expires_at) == (False, None, None)
    (taken,) = taker.taken
    leased = Delivery.objects.get(webhook=mine)
    common = {"event_id": event_id, "target_url": "", "is_test": False, "status": "pending", "attempt_count": 0,
              "last_status_code": None, "last_error": "", "created_at": event.timestamp, "completed_at": None}

    def columns(delivery: Delivery) -> dict:
        return {f.attname: getattr(delivery, f.attname) for f in Delivery._meta.concrete_fields}

    assert columns(leased) == {**common, "id": taken.pk, "webhook_id": mine.pk, "channel": "webhook", "hook": "",
                               "next_attempt_at": taken.lease_expires_at, "lease_token": taken.lease_token,
                               "lease_expires_at": taken.lease_expires_at}
    assert columns(taken) == columns(leased)  # what the taker holds is what was written
    free = Delivery.objects.get(webhook=other)
    assert columns(free) == {**common, "id": free.pk, "webhook_id": other.pk, "channel": "webhook", "hook": "",
                             "next_attempt_at": event.timestamp, "lease_token": None, "lease_expires_at": None}
    hook = Delivery.objects.get(channel="hook")
    assert columns(hook) == {**common, "id": hook.pk, "webhook_id": None, "channel": "hook",
                             "hook": "tests.on_ready", "next_attempt_at": event.timestamp, "lease_token": None,
                             "lease_expires_at": None}
    assert len({leased.pk, free.pk, hook.pk}) == 3


def test_a_claimed_event_holds_what_the_database_holds():
    with transaction.atomic():
        event_id = events.record("video.ready", video(["news", "sport"]), tags=["news", "sport"]).id
    (claimed,), _token = fanout.claim()
    stored = events.Event.objects.get(pk=event_id)
    for name in fanout.CLAIMED_FIELDS:
        assert getattr(claimed, name) == getattr(stored, name), name
    assert claimed.tags == ["news", "sport"] and isinstance(claimed.body, bytes | memoryview)


@pytest.mark.django_db(transaction=True)
def test_a_webhook_deleted_between_the_match_and_the_write_leaves_the_others_their_deliveries_at_once(
        make_webhook, monkeypatch, broker_wakeups):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite matches after taking its write lock: no other connection can delete in between")
    kept, gone = make_webhook("https://a.example.com/hook"), make_webhook("https://b.example.com/hook")
    event_id = record()
    matched = fanout.matching_webhooks
    calls = []

    def match_then_delete(event, **kwargs):
        found = matched(event, **kwargs)
        calls.append(sorted(pk for pk, _since in found))
        if len(calls) == 1:
            Webhook.objects.filter(pk=gone.pk).delete()  # committed (autocommit), as another process would
        return found

    monkeypatch.setattr(fanout, "matching_webhooks", match_then_delete)
    taker = Taker(kept.pk, gone.pk)
    assert fanout.expand_due(taker=taker) == 1
    assert calls == [sorted([kept.pk, gone.pk]), [kept.pk]]  # matched again, without the deleted one
    assert [d.webhook_id for d in taker.taken] == [kept.pk]
    (delivery,) = Delivery.objects.all()
    assert (delivery.webhook_id, delivery.event_id) == (kept.pk, event_id)
    event = events.Event.objects.get(pk=event_id)
    assert (event.fanout_pending, event.lease_token) == (False, None)


@pytest.mark.django_db(transaction=True)
def test_a_write_that_fails_twice_leaves_the_events_claimed_for_the_next_worker_after_the_lease(
        make_webhook, monkeypatch, settings, broker_wakeups):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite matches after taking its write lock: no other connection can delete in between")
    webhooks = [make_webhook(f"https://{name}.example.com/hook") for name in "abc"]
    event_id = record()
    matched = fanout.matching_webhooks
    doomed = iter(webhooks[:2])

    def match_then_delete(event, **kwargs):
        found = matched(event, **kwargs)
        victim = next(doomed, None)
        if victim is not None:
            Webhook.objects.filter(pk=victim.pk).delete()
        return found

    monkeypatch.setattr(fanout, "matching_webhooks", match_then_delete)
    with pytest.raises(IntegrityError):
        fanout.expand_due(taker=Taker())
    assert not Delivery.objects.exists()  # nothing half-written
    event = events.Event.objects.get(pk=event_id)
    assert event.fanout_pending and event.lease_token is not None  # still claimed, until its lease runs out
    monkeypatch.setattr(fanout, "matching_webhooks", matched)
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS + 1), tick=False):
        assert fanout.expand_due() == 1
    assert list(Delivery.objects.values_list("webhook_id", flat=True)) == [webhooks[2].pk]
