"""The webhook, delivery and event API: staff only, secrets shown once, validation that writes nothing,
test events, redelivery, replay, the delivery log and the event log."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import NotFound

from media_lifecycle import catalog as media_catalog
from tests.receiver import Answer
from tests.webhooks.conftest import video
from webhooks_app import events, health, relay
from webhooks_app.api.serializers import WebhookSerializer
from webhooks_app.models import Delivery, Webhook

pytestmark = pytest.mark.django_db

ROUTES = [
    ("get", "/api/webhooks/"), ("post", "/api/webhooks/"), ("get", "/api/webhooks/{id}/"),
    ("patch", "/api/webhooks/{id}/"), ("delete", "/api/webhooks/{id}/"), ("post", "/api/webhooks/{id}/test/"),
    ("post", "/api/webhooks/{id}/rotate-secret/"), ("get", "/api/webhooks/{id}/deliveries/"),
    ("post", "/api/webhooks/{id}/replay/"), ("get", "/api/deliveries/"), ("get", "/api/deliveries/{dlv}/"),
    ("post", "/api/deliveries/{dlv}/redeliver/"), ("get", "/api/events/"), ("get", "/api/events/{evt}/"),
]


@pytest.fixture
def hook(make_webhook, receiver) -> Webhook:
    return make_webhook(receiver.url, events=["video.ready", "video.updated"], secret="plain-secret-0123456789")


def create(staff_api, **body):
    return staff_api.post("/api/webhooks/", body, format="json")


def finished_delivery(hook: Webhook, publish) -> Delivery:
    event = publish("video.ready")
    return Delivery.objects.get(event=event, webhook=hook)


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_webhook_routes_need_staff(api, viewer_api, hook, publish, method, route):
    delivery = finished_delivery(hook, publish)
    url = route.format(id=hook.pk, dlv=delivery.pk, evt=delivery.event_id)
    anonymous = getattr(api, method)(url, {}, format="json")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert getattr(viewer_api, method)(url, {}, format="json").status_code == 403
    assert Webhook.objects.filter(pk=hook.pk, secret=hook.secret).exists()
    assert Delivery.objects.count() == 1


def test_creating_a_webhook_reveals_its_generated_secret_once(staff_api, receiver):
    answer = create(staff_api, url=receiver.url, events=["video.ready"], description="CRM")
    assert answer.status_code == 201, answer.json()
    body = answer.json()
    webhook = Webhook.objects.get(pk=body["id"])
    assert body["id"].startswith("whk_")
    assert body["secret"] == webhook.secret and webhook.secret.startswith("whsec_")
    assert body["status"] == "active" and body["tags"] == [] and body["tag_match"] == "any"
    detail = staff_api.get(f"/api/webhooks/{webhook.pk}/").json()
    listed = staff_api.get("/api/webhooks/").json()
    listed_secrets = [item["secret"] for item in listed.get("results", listed)]
    patched = staff_api.patch(f"/api/webhooks/{webhook.pk}/", {"description": "CRM 2"}, format="json").json()
    for shown in (detail["secret"], patched["secret"], *listed_secrets):
        assert shown == webhook.masked_secret and webhook.secret not in shown
        assert shown.endswith(webhook.secret[-4:])
    assert webhook.secret not in json.dumps(listed) + json.dumps(detail) + json.dumps(patched)


def test_a_creator_may_choose_the_secret(staff_api, receiver):
    answer = create(staff_api, url=receiver.url, events=["*"], secret="my-own-secret-of-24-chars")
    assert answer.status_code == 201
    assert answer.json()["secret"] == "my-own-secret-of-24-chars"
    assert Webhook.objects.get().secret == "my-own-secret-of-24-chars"


@pytest.mark.parametrize("secret", ["abcdefghijklmnop ", " padded-secret-with-spaces ", "\tx" * 8])
def test_a_chosen_secret_is_kept_exactly_as_given_and_signs_with_it(staff_api, receiver, publish, secret):
    answer = create(staff_api, url=receiver.url, events=["*"], secret=secret)
    assert answer.status_code == 201, answer.json()
    assert answer.json()["secret"] == secret and Webhook.objects.get().secret == secret

    publish("video.ready")

    (request,) = receiver.wait_for(1)
    assert request.header("X-Signature") == hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()


def test_a_chosen_secret_counts_its_spaces_too(staff_api, receiver, hook):
    too_short = " " + "x" * 14 + " "  # 16 characters: accepted, though 14 once the spaces were trimmed
    answer = staff_api.post(f"/api/webhooks/{hook.pk}/rotate-secret/", {"secret": too_short}, format="json")
    assert answer.status_code == 200 and answer.json()["secret"] == too_short


@pytest.mark.parametrize(("body", "field"), [
    ({"events": ["video.ready", "video.exploded"]}, "events"),
    ({"events": ["webhook.test"]}, "events"),
    ({"events": []}, "events"),
    ({"url": "ftp://example.com/hook"}, "url"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"secret": "too-short"}, "secret"),
    ({"secret": "x" * 129}, "secret"),
    ({"tags": "news"}, "tags"),
    ({"tag_match": "most"}, "tag_match"),
    ({"headers": {"webhook-signature": "forged"}}, "headers"),
    ({"headers": {"X-Title": "✓ unicode"}}, "headers"),
    ({"headers": {"X-Ü": "x"}}, "headers"),
    ({"headers": {"X-Bad Name": "x"}}, "headers"),
    ({"headers": {"X-Split": "a\r\nInjected: 1"}}, "headers"),
    ({"headers": {"X-Space": " leading"}}, "headers"),
    ({"headers": {"X-Count": 3}}, "headers"),
])
def test_bad_webhook_input_gets_400_naming_the_field_and_writes_nothing(staff_api, body, field):
    answer = create(staff_api, **{"url": "http://127.0.0.1:9/hook", "events": ["video.ready"], **body})
    assert answer.status_code == 400
    assert field in answer.json()
    assert not Webhook.objects.exists()


def test_ordinary_extra_headers_are_accepted(staff_api):
    headers = {"Authorization": "Bearer abc.def", "X-Tenant": "café", "X-Empty": "", "X-List": "a, b\tc"}
    answer = create(staff_api, url="http://127.0.0.1:9/hook", events=["*"], headers=headers)
    assert answer.status_code == 201, answer.json()
    assert Webhook.objects.get().headers == headers


def test_a_private_url_is_refused_when_the_guard_is_on(staff_api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    for url in ("http://127.0.0.1:8000/hook", "http://10.0.0.8/hook", "http://169.254.169.254/", "http://[::1]/"):
        answer = create(staff_api, url=url, events=["video.ready"])
        assert answer.status_code == 400
        assert "private" in " ".join(answer.json()["url"])
    assert not Webhook.objects.exists()
    assert create(staff_api, url="http://93.184.216.34/hook", events=["video.ready"]).status_code == 201


def test_a_bad_update_changes_nothing(staff_api, hook):
    answer = staff_api.patch(f"/api/webhooks/{hook.pk}/", {"url": "file:///etc/passwd", "description": "x"},
                             format="json")
    assert answer.status_code == 400 and "url" in answer.json()
    refreshed = Webhook.objects.get(pk=hook.pk)
    assert (refreshed.url, refreshed.description) == (hook.url, hook.description)
    answer = staff_api.patch(f"/api/webhooks/{hook.pk}/", {"secret": "another-secret-123456"}, format="json")
    assert answer.status_code == 400 and "rotate-secret" in " ".join(answer.json()["secret"])
    assert Webhook.objects.get(pk=hook.pk).secret == hook.secret


@pytest.mark.parametrize("secret", [None, "plain-secret-0123456789"])
def test_a_webhook_read_edited_and_put_back_is_saved(staff_api, make_webhook, receiver, publish, secret):
    webhook = make_webhook(receiver.url, events=["video.ready"], **({"secret": secret} if secret else {}))
    publish("video.ready")
    body = staff_api.get(f"/api/webhooks/{webhook.pk}/").json()
    assert body["last_delivery"]["success"] is True
    body.update(description="edited", tags=["news"])
    answer = staff_api.put(f"/api/webhooks/{webhook.pk}/", body, format="json")
    assert answer.status_code == 200, answer.json()
    saved = Webhook.objects.get(pk=webhook.pk)
    assert (saved.description, saved.tags, saved.secret) == ("edited", ["news"], webhook.secret)


def test_deleting_a_webhook(staff_api, hook):
    assert staff_api.delete(f"/api/webhooks/{hook.pk}/").status_code == 204
    assert not Webhook.objects.exists()
    assert staff_api.get(f"/api/webhooks/{hook.pk}/").status_code == 404


def test_rotating_reveals_the_new_secret_and_keeps_the_old_one_signing(staff_api, hook, receiver, publish):
    answer = staff_api.post(f"/api/webhooks/{hook.pk}/rotate-secret/", {}, format="json")
    assert answer.status_code == 200
    new_secret = answer.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != hook.secret
    hook.refresh_from_db()
    assert hook.signing_secrets() == [new_secret, "plain-secret-0123456789"]
    assert staff_api.get(f"/api/webhooks/{hook.pk}/").json()["secret"] == hook.masked_secret
    publish("video.ready")
    (request,) = receiver.wait_for(1)
    assert len(request.header("webhook-signature").split(" ")) == 2


def test_rotating_to_a_chosen_secret_validates_it(staff_api, hook):
    url = f"/api/webhooks/{hook.pk}/rotate-secret/"
    answer = staff_api.post(url, {"secret": "short"}, format="json")
    assert answer.status_code == 400 and "secret" in answer.json()
    assert Webhook.objects.get(pk=hook.pk).secret == hook.secret
    answer = staff_api.post(url, {"secret": "a-chosen-rotated-secret"}, format="json")
    assert answer.status_code == 200 and answer.json()["secret"] == "a-chosen-rotated-secret"


def test_the_test_action_sends_webhook_test_and_answers_with_the_first_attempt(staff_api, hook, receiver):
    answer = staff_api.post(f"/api/webhooks/{hook.pk}/test/", {}, format="json")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["id"].startswith("dlv_") and body["webhook"] == hook.pk
    assert body["event"]["type"] == "webhook.test"
    assert body["status"] == "succeeded" and body["attempt_count"] == 1
    (attempt,) = body["attempts"]
    assert attempt["number"] == 1 and attempt["status_code"] == 200 and attempt["success"]
    (request,) = receiver.wait_for(1)
    payload = json.loads(request.body)
    assert payload["type"] == "webhook.test" and payload["id"] == body["event"]["id"]
    assert payload["data"]["webhook"]["id"] == hook.pk
    assert not staff_api.get("/api/events/", {"type": "webhook.test"}).json()["results"]


def test_the_test_action_sends_an_example_of_a_catalog_event(staff_api, hook, receiver):
    answer = staff_api.post(f"/api/webhooks/{hook.pk}/test/", {"type": "playlist.created"}, format="json")
    assert answer.status_code == 200
    assert answer.json()["event"]["type"] == "playlist.created"
    payload = json.loads(receiver.wait_for(1)[0].body)
    assert payload["type"] == "playlist.created"
    assert payload["data"]["object"] == "playlist" and payload["data"]["id"].startswith("pl_")


def test_the_video_ready_example_is_realistic(staff_api, hook, receiver):
    answer = staff_api.post(f"/api/webhooks/{hook.pk}/test/", {"type": "video.ready"}, format="json")
    assert answer.status_code == 200
    data = json.loads(receiver.wait_for(1)[0].body)["data"]
    assert data["object"] == "video" and data["status"] == "ready"
    assert data["changes"] == ["status"] and data["previous"] == {"status": "processing"}


RENDITION_FIELDS = {"quality", "format", "url", "size_bytes", "width", "height", "bitrate_kbps"}  # SPEC §3


def test_every_media_example_has_exactly_the_fields_of_a_real_event(staff_api):
    for path in ("videos", "playlists", "livestreams"):
        assert staff_api.post(f"/api/{path}/", {"title": "Real"}, format="json").status_code == 201
    real = {}
    for event in events.Event.objects.filter(type__endswith=".created"):
        data = json.loads(bytes(event.body))["data"]
        real[data["object"]] = set(data)

    for name, (_description, example) in media_catalog.EVENTS.items():
        data = example()
        if data["object"] in real:
            assert set(data) - {"changes", "previous"} == real[data["object"]], name
        for rendition in data.get("renditions", []):
            assert set(rendition) == RENDITION_FIELDS, name


def test_the_test_action_reaches_even_a_disabled_webhook_and_reports_a_failure(staff_api, make_webhook, receiver):
    webhook = make_webhook(receiver.url, events=["video.ready"], is_active=False)
    receiver.always(Answer(500, b"not yet"))
    answer = staff_api.post(f"/api/webhooks/{webhook.pk}/test/", {}, format="json")
    assert answer.status_code == 200
    body = answer.json()
    assert body["attempts"][0]["status_code"] == 500
    assert body["last_error"] == "HTTP 500: not yet"
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0


def test_the_test_action_refuses_an_unknown_event_type(staff_api, hook, receiver):
    answer = staff_api.post(f"/api/webhooks/{hook.pk}/test/", {"type": "video.exploded"}, format="json")
    assert answer.status_code == 400 and "type" in answer.json()
    assert receiver.requests == [] and not Delivery.objects.exists()


def test_redelivery_sends_the_same_bytes_and_webhook_id(staff_api, hook, receiver, publish,
                                                       django_capture_on_commit_callbacks):
    delivery = finished_delivery(hook, publish)
    with django_capture_on_commit_callbacks(execute=True):
        answer = staff_api.post(f"/api/deliveries/{delivery.pk}/redeliver/")
    assert answer.status_code == 201
    fresh_id = answer.json()["id"]
    assert fresh_id != delivery.pk and answer.json()["event"]["id"] == delivery.event_id
    first, second = receiver.wait_for(2)
    assert second.body == first.body
    assert second.header("webhook-id") == first.header("webhook-id") == delivery.event_id
    assert Delivery.objects.get(pk=fresh_id).status == Delivery.Status.SUCCEEDED


def test_a_pending_delivery_cannot_be_redelivered(staff_api, hook, receiver, publish, settings):
    receiver.always(Answer(500))
    delivery = finished_delivery(hook, publish)
    assert delivery.status == Delivery.Status.PENDING
    answer = staff_api.post(f"/api/deliveries/{delivery.pk}/redeliver/")
    assert answer.status_code == 409
    assert Delivery.objects.count() == 1


def record_at(moment, event_type, tags=()):
    with time_machine.travel(moment, tick=False), transaction.atomic():
        return events.record(event_type, video(tags), tags=tags)


def test_replay_resends_the_matching_events_of_a_window(staff_api, make_webhook, receiver,
                                                       django_capture_on_commit_callbacks):
    now = timezone.now()
    old = record_at(now - timedelta(hours=5), "video.ready", ["news"])
    ready = record_at(now - timedelta(hours=3), "video.ready", ["news"])
    updated = record_at(now - timedelta(hours=2), "video.updated", ["news"])
    record_at(now - timedelta(hours=2), "video.ready", ["sport"])  # fails the tag condition
    record_at(now - timedelta(hours=2), "video.deleted", ["news"])  # not subscribed
    late = record_at(now - timedelta(minutes=30), "video.ready", ["news"])
    webhook = make_webhook(receiver.url, events=["video.ready", "video.updated"], tags=["news"])

    def replay(**window):
        with django_capture_on_commit_callbacks(execute=True):
            answer = staff_api.post(f"/api/webhooks/{webhook.pk}/replay/", window, format="json")
        assert answer.status_code == 200, answer.json()
        return answer.json()["deliveries"]

    assert replay(since=(now - timedelta(hours=4)).isoformat(), until=(now - timedelta(hours=1)).isoformat()) == 2
    by_id = {r.header("webhook-id"): r.body for r in receiver.wait_for(2)}
    assert by_id == {ready.id: bytes(ready.body), updated.id: bytes(updated.body)}
    assert replay(since=(now - timedelta(hours=6)).isoformat(), types=["video.updated"]) == 1
    assert replay(since=(now - timedelta(hours=6)).isoformat()) == 4
    ids = [r.header("webhook-id") for r in receiver.wait_for(7)]
    assert sorted(ids[3:]) == sorted([old.id, ready.id, updated.id, late.id])


def test_a_disabled_webhook_cannot_replay(staff_api, make_webhook, receiver):
    webhook = make_webhook(receiver.url, is_active=False)
    record_at(timezone.now() - timedelta(minutes=5), "video.ready")
    answer = staff_api.post(f"/api/webhooks/{webhook.pk}/replay/",
                            {"since": (timezone.now() - timedelta(hours=1)).isoformat()}, format="json")
    assert answer.status_code == 409
    assert not Delivery.objects.exists()


def test_replay_validates_its_window(staff_api, hook):
    url = f"/api/webhooks/{hook.pk}/replay/"
    assert "since" in staff_api.post(url, {}, format="json").json()
    assert "since" in staff_api.post(url, {"since": "yesterday"}, format="json").json()
    now = timezone.now()
    answer = staff_api.post(url, {"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()},
                            format="json")
    assert answer.status_code == 400 and "until" in answer.json()
    answer = staff_api.post(url, {"since": now.isoformat(), "types": ["video.exploded"]}, format="json")
    assert answer.status_code == 400 and "types" in answer.json()
    assert not Delivery.objects.exists()


def test_the_delivery_log_lists_deliveries_and_details_their_attempts(staff_api, hook, receiver, publish,
                                                                      settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0]
    receiver.answer(Answer(500, b"first fails"))
    delivery = finished_delivery(hook, publish)
    listed = staff_api.get(f"/api/webhooks/{hook.pk}/deliveries/").json()
    (item,) = listed["results"]
    assert item["id"] == delivery.pk and item["webhook"] == hook.pk
    assert item["event"] == {"id": delivery.event_id, "type": "video.ready"}
    assert item["status"] == "succeeded" and item["attempt_count"] == 2
    assert set(item) >= {"next_attempt_at", "last_status_code", "last_error", "created_at", "completed_at"}
    assert staff_api.get("/api/deliveries/").json()["results"][0]["id"] == delivery.pk
    assert staff_api.get(f"/api/webhooks/{hook.pk}/deliveries/", {"status": "failed"}).json()["results"] == []
    detail = staff_api.get(f"/api/deliveries/{delivery.pk}/").json()
    first, second = detail["attempts"]
    assert (first["number"], first["status_code"], first["success"]) == (1, 500, False)
    assert first["error"] == "HTTP 500: first fails" and first["response_body"] == "first fails"
    assert (second["number"], second["status_code"], second["success"]) == (2, 200, True)
    assert second["request_headers"]["webhook-id"] == delivery.event_id
    assert set(first) >= {"started_at", "duration_ms", "request_headers", "response_body"}
    webhook = staff_api.get(f"/api/webhooks/{hook.pk}/").json()
    assert webhook["last_delivery"]["success"] is True and webhook["last_delivery"]["status_code"] == 200


def test_the_event_log_filters_by_type_and_time(staff_api):
    now = timezone.now()
    early = record_at(now - timedelta(hours=2), "video.created")
    ready = record_at(now - timedelta(minutes=10), "video.ready", ["news"])
    record_at(now - timedelta(minutes=5), "playlist.created")
    by_type = staff_api.get("/api/events/", {"type": "video.ready"}).json()["results"]
    assert [item["id"] for item in by_type] == [ready.id]
    assert by_type[0] == {"id": ready.id, "type": "video.ready", "timestamp": by_type[0]["timestamp"],
                          "object": "", "object_id": "", "data": json.loads(bytes(ready.body))["data"]}
    since = staff_api.get("/api/events/", {"since": (now - timedelta(hours=1)).isoformat()}).json()["results"]
    assert [item["type"] for item in since if item["type"] != "user.created"] == ["playlist.created", "video.ready"]
    both = staff_api.get("/api/events/", {"since": (now - timedelta(hours=1)).isoformat(), "type": "video.ready"})
    assert [item["id"] for item in both.json()["results"]] == [ready.id]
    assert staff_api.get(f"/api/events/{early.id}/").json()["type"] == "video.created"


def test_a_bad_since_gets_400(staff_api):
    answer = staff_api.get("/api/events/", {"since": "last tuesday"})
    assert answer.status_code == 400
    assert "since" in answer.json()


def test_the_event_log_shows_the_resource_it_is_about(staff_api):
    with transaction.atomic():
        event = events.record("video.ready", video(), object_type="video", object_id="vid_test")
    item = staff_api.get(f"/api/events/{event.id}/").json()
    assert (item["object"], item["object_id"]) == ("video", "vid_test")


@pytest.mark.django_db(transaction=True)
def test_a_test_event_is_one_attempt_shown_at_once_and_never_retried(staff_api, receiver, settings):
    # Given: a retry would be due at once, and the commit's wake-up drains inline (a worker that is quick)
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0, 0.0]
    webhook = Webhook.objects.create(url=receiver.url, events=["video.ready"])
    receiver.always(Answer(500, b"first"))
    # When: "send test event"
    body = staff_api.post(f"/api/webhooks/{webhook.pk}/test/", {}, format="json").json()
    # Then: the answer holds the one attempt, made by this request; it failed for good and is not retried
    assert [(a["number"], a["status_code"]) for a in body["attempts"]] == [(1, 500)]
    assert body["status"] == "failed" and body["next_attempt_at"] is None
    relay.drain()
    assert len(receiver.requests) == 1
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0 and webhook.is_active  # a test says nothing about the webhook's health
    # and clicking again is a new attempt
    again = staff_api.post(f"/api/webhooks/{webhook.pk}/test/", {}, format="json").json()
    assert again["id"] != body["id"] and len(receiver.requests) == 2


def test_an_api_edit_from_an_older_read_leaves_an_automatic_switch_off_alone(staff_api, make_webhook):
    webhook = make_webhook("http://127.0.0.1:9/hook", description="old")
    read = Webhook.objects.get(pk=webhook.pk)  # what the PATCH read, before a worker disabled the webhook
    health.disable(Webhook.objects.get(pk=webhook.pk), "the endpoint answered 410 Gone")
    Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=3)

    serializer = WebhookSerializer(read, data={"description": "new"}, partial=True)
    assert serializer.is_valid(), serializer.errors
    serializer.save()

    webhook.refresh_from_db()
    assert webhook.description == "new"
    assert (webhook.is_active, webhook.disabled_reason, webhook.consecutive_failures) == (
        False, "the endpoint answered 410 Gone", 3)


def test_an_api_switch_on_clears_the_reason_and_a_switch_to_the_same_state_changes_nothing(staff_api,
                                                                                          make_webhook):
    webhook = make_webhook("http://127.0.0.1:9/hook", is_active=False, disabled_reason="auto",
                           consecutive_failures=5)
    url = f"/api/webhooks/{webhook.pk}/"
    assert staff_api.patch(url, {"is_active": False}, format="json").status_code == 200
    webhook.refresh_from_db()
    assert (webhook.disabled_reason, webhook.consecutive_failures) == ("auto", 5)  # already off: as it was

    assert staff_api.patch(url, {"is_active": True}, format="json").status_code == 200
    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.disabled_reason, webhook.consecutive_failures) == (True, "", 0)


def test_an_api_edit_from_an_older_read_keeps_a_rotation_made_meanwhile(staff_api, make_webhook):
    webhook = make_webhook("http://127.0.0.1:9/hook")
    read = Webhook.objects.get(pk=webhook.pk)
    original = read.secret
    rotated = Webhook.objects.get(pk=webhook.pk).rotate_secret()  # the rotate answer the subscriber now trusts

    serializer = WebhookSerializer(read, data={"description": "new"}, partial=True)
    assert serializer.is_valid(), serializer.errors
    serializer.save()

    webhook.refresh_from_db()
    assert (webhook.description, webhook.secret, webhook.previous_secret) == ("new", rotated, original)


def test_an_api_edit_of_a_webhook_deleted_meanwhile_gets_404_and_does_not_bring_it_back(staff_api, make_webhook):
    webhook = make_webhook("http://127.0.0.1:9/hook")
    read = Webhook.objects.get(pk=webhook.pk)
    Webhook.objects.filter(pk=webhook.pk).delete()

    serializer = WebhookSerializer(read, data={"description": "new"}, partial=True)
    assert serializer.is_valid(), serializer.errors
    with pytest.raises(NotFound):
        serializer.save()
    assert not Webhook.objects.exists()
