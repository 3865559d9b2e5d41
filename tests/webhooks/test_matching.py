"""Which webhooks an event reaches: event types, "*", tag conditions, inactive webhooks, system warnings,
and a constant number of queries however many webhooks match."""

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.receiver import Answer
from tests.webhooks.conftest import video
from webhooks_app import events, fanout, relay
from webhooks_app.models import Delivery, Event, Webhook

pytestmark = pytest.mark.django_db


def received_types(receiver) -> list[str]:
    return [json.loads(r.body)["type"] for r in receiver.requests]


def test_a_webhook_gets_only_the_event_types_it_subscribes_to(receiver, make_webhook, publish):
    make_webhook(receiver.url, events=["video.ready", "video.failed"])
    publish("video.created")
    publish("video.ready")
    publish("video.updated")
    publish("video.failed")
    receiver.wait_for(2)
    assert received_types(receiver) == ["video.ready", "video.failed"]
    assert Delivery.objects.count() == 2


def test_the_wildcard_gets_every_event(receiver, make_webhook, publish):
    make_webhook(receiver.url, events=["*"])
    for event_type in ("video.created", "playlist.deleted", "livestream.started", "user.updated"):
        publish(event_type)
    receiver.wait_for(4)
    assert received_types(receiver) == ["video.created", "playlist.deleted", "livestream.started", "user.updated"]


def test_an_any_condition_needs_one_of_its_tags(receiver, make_webhook, publish):
    make_webhook(receiver.url, tags=["news", "sport"], tag_match="any")
    publish(tags=["sport"])
    publish(tags=["music"])
    publish(tags=[])
    publish(tags=["news", "music"])
    receiver.wait_for(2)
    assert [json.loads(r.body)["data"]["tags"] for r in receiver.requests] == [["sport"], ["news", "music"]]


def test_an_all_condition_needs_every_tag(receiver, make_webhook, publish):
    make_webhook(receiver.url, tags=["news", "sport"], tag_match="all")
    publish(tags=["news"])
    publish(tags=["sport", "news", "extra"])
    publish(tags=["sport"])
    receiver.wait_for(1)
    assert [json.loads(r.body)["data"]["tags"] for r in receiver.requests] == [["sport", "news", "extra"]]


def test_a_condition_may_name_tags_no_object_has_yet(staff_api, receiver, publish):
    answer = staff_api.post("/api/webhooks/", {"url": receiver.url, "events": ["video.ready"],
                                               "tags": ["launch-2031"]}, format="json")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["tags"] == ["launch-2031"]
    publish(tags=["launch-2031"])
    assert len(receiver.wait_for(1)) == 1


def test_a_deleted_video_matches_on_the_tags_of_its_last_snapshot(staff_api, receiver, make_webhook,
                                                                   django_capture_on_commit_callbacks):
    created = staff_api.post("/api/videos/", {"title": "Goodbye", "tags": ["news"]}, format="json")
    assert created.status_code == 201, created.json()
    video_id = created.json()["id"]
    make_webhook(receiver.url, events=["video.deleted"], tags=["news"])
    sport = Webhook.objects.create(url=receiver.url + "/sport", events=["video.deleted"], tags=["sport"])
    with django_capture_on_commit_callbacks(execute=True):
        assert staff_api.delete(f"/api/videos/{video_id}/").status_code == 204
    (request,) = receiver.wait_for(1)
    payload = json.loads(request.body)
    assert payload["type"] == "video.deleted"
    assert payload["data"]["id"] == video_id
    assert payload["data"]["tags"] == ["news"]
    assert not sport.deliveries.exists()


def test_an_inactive_webhook_gets_nothing(receiver, make_webhook, publish):
    make_webhook(receiver.url, is_active=False)
    publish()
    assert not Delivery.objects.exists()
    assert receiver.requests == []


def test_a_webhook_switched_off_after_fan_out_gets_a_cancelled_delivery(receiver, make_webhook):
    webhook = make_webhook(receiver.url)
    with transaction.atomic():
        event = events.record("video.ready", video())
    fanout.expand_due()
    Webhook.objects.filter(pk=webhook.pk).update(is_active=False)
    relay.drain()
    delivery = Delivery.objects.get(event=event)
    assert delivery.status == Delivery.Status.CANCELLED
    assert delivery.last_error == "cancelled: the webhook is disabled"
    assert receiver.requests == []


def test_a_webhook_switched_off_before_the_event_never_receives_it_even_if_switched_on_before_fan_out(
        receiver, make_webhook, publish):
    webhook = make_webhook(receiver.url, is_active=False)
    with transaction.atomic():
        event = events.record("video.ready", video())
    webhook.set_active(True)  # on again after the event, before any worker fanned it out
    webhook.save()
    relay.drain()
    assert not Delivery.objects.filter(event=event).exists()
    later = publish("video.ready")
    assert Delivery.objects.get(event=later).status == Delivery.Status.SUCCEEDED
    assert [r.header("webhook-id") for r in receiver.requests] == [later.id]


def test_a_webhook_created_after_the_event_never_receives_it(receiver, make_webhook, publish):
    with transaction.atomic():
        event = events.record("video.ready", video())
    make_webhook(receiver.url)  # before the fan-out, after the event
    relay.drain()
    assert not Delivery.objects.filter(event=event).exists()
    assert receiver.requests == []


def test_a_rolled_back_transaction_records_and_sends_nothing(receiver, make_webhook,
                                                             django_capture_on_commit_callbacks):
    make_webhook(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                events.record("video.ready", video())
                raise RuntimeError("the save failed")
    assert not Event.objects.exists() and not Delivery.objects.exists()
    assert receiver.requests == []


def test_a_system_warning_never_goes_to_the_webhook_it_is_about(receiver, other_receiver, make_webhook, publish,
                                                                settings):
    settings.WEBHOOK_RETRY_SCHEDULE = []
    failing = make_webhook(receiver.url, events=["*"])
    watcher = make_webhook(other_receiver.url, events=["system.warning"])
    receiver.always(Answer(500, b"down"))
    event = publish("video.ready")
    (warning_request,) = other_receiver.wait_for(1)
    warning = json.loads(warning_request.body)
    assert warning["type"] == "system.warning"
    assert warning["data"]["webhook"] == {"id": failing.pk, "url": failing.url}
    assert warning["data"]["delivery"]["event"] == {"id": event.id, "type": "video.ready"}
    assert received_types(receiver) == ["video.ready"]
    assert not failing.deliveries.filter(event__type="system.warning").exists()
    assert watcher.deliveries.filter(event__type="system.warning").count() == 1


def test_recording_is_one_insert_however_many_webhooks_match_and_fan_out_writes_them_all(make_webhook):
    make_webhook("http://127.0.0.1:9/one", events=["video.ready"])

    def record_counting() -> tuple[list[str], Event]:
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            event = events.record("video.ready", video(["news"]), tags=["news"])
        return [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]], event

    one, first = record_counting()
    Webhook.objects.bulk_create(
        Webhook(url=f"http://127.0.0.1:9/{n}", events=["video.ready"], tags=["news"]) for n in range(199)
    )
    Webhook.objects.bulk_create(Webhook(url=f"http://127.0.0.1:9/x{n}", events=["video.failed"]) for n in range(50))
    many, second = record_counting()
    assert len(one) == len(many) == 1 and one[0].startswith("INSERT")  # the event row, nothing per subscriber
    assert not first.deliveries.exists() and not second.deliveries.exists()
    with CaptureQueriesContext(connection) as fanning:
        assert fanout.expand_due() == 2
    assert first.deliveries.count() == 1  # the webhooks made after it do not get it
    assert second.deliveries.count() == 200
    assert len(fanning) <= 20  # a claim, then per event: its lock, the match, the inserts, the end of its claim


def test_an_event_for_more_webhooks_than_one_sqlite_insert_holds_reaches_every_one(make_webhook):
    count = fanout.ROWS_PER_STATEMENT + 37
    Webhook.objects.bulk_create(Webhook(url=f"http://127.0.0.1:9/{n}", events=["*"]) for n in range(count))

    with transaction.atomic():
        event = events.record("video.ready", video(["news"]), tags=["news"])
    assert fanout.expand_due() == 1

    deliveries = event.deliveries.all()
    assert deliveries.count() == count
    assert len({d.pk for d in deliveries}) == count
    assert set(deliveries.values_list("webhook_id", flat=True)) == set(Webhook.objects.values_list("pk", flat=True))
    assert {(d.status, d.channel, d.attempt_count, d.next_attempt_at) for d in deliveries} == {
        ("pending", "webhook", 0, event.timestamp)}
