"""What a subscriber receives on the wire: method, headers, the frozen body, and signatures that verify."""

import hashlib
import hmac
import json
import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.receiver import Answer
from webhooks_app import events
from webhooks_app.models import Delivery

pytestmark = pytest.mark.django_db

PLAIN_SECRET = "a-plain-string-secret-ü-42"


def x_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def test_a_subscriber_gets_a_json_post_with_the_frozen_compact_body(receiver, make_webhook, publish):
    make_webhook(receiver.url)
    event = publish("video.ready", tags=["news"])
    (request,) = receiver.wait_for(1)
    assert request.method == "POST"
    assert request.path == "/hook"
    assert request.header("Content-Type") == "application/json"
    assert request.body == bytes(event.body)
    payload = json.loads(request.body)
    assert list(payload) == ["id", "type", "timestamp", "data"]
    assert payload["id"] == event.id and payload["id"].startswith("evt_")
    assert payload["type"] == "video.ready"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", payload["timestamp"])
    assert payload["data"] == {"object": "video", "id": "vid_test", "revision": 3, "status": "ready",
                               "title": "Café ✓", "tags": ["news"]}
    assert request.body == json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert "Café ✓".encode() in request.body


def test_a_url_with_characters_outside_ascii_is_sent_percent_encoded(receiver, make_webhook, publish):
    make_webhook(receiver.url + "/café?équipe=vidéo")
    publish("video.ready")
    (request,) = receiver.wait_for(1)
    assert request.path == "/hook/caf%C3%A9?%C3%A9quipe=vid%C3%A9o"
    assert Delivery.objects.get(webhook__isnull=False).status == Delivery.Status.SUCCEEDED


def test_only_the_headers_the_sender_means_go_on_the_wire(receiver, make_webhook, publish):
    make_webhook(receiver.url)
    publish("video.ready", {"object": "video", "description": "x" * 4000})  # a body over 1 KB
    (request,) = receiver.wait_for(1)
    # no Expect: 100-continue (HTTP clients add it to large bodies, then wait), no Accept, no library's User-Agent
    assert len(request.body) > 4000
    assert request.header("Expect") is None and request.header("Accept") is None
    assert request.header("User-Agent") == settings.WEBHOOK_USER_AGENT


def test_every_attempt_carries_the_identity_and_signing_headers(receiver, make_webhook, publish):
    make_webhook(receiver.url, headers={"X-Tenant": "acme", "X-Route": "videos"})
    before = int(time.time())
    event = publish()
    (request,) = receiver.wait_for(1)
    assert request.header("webhook-id") == event.id
    assert before <= int(request.header("webhook-timestamp")) <= int(time.time())
    assert request.header("webhook-signature").startswith("v1,")
    assert re.fullmatch(r"[0-9a-f]{64}", request.header("X-Signature"))
    assert request.header("User-Agent") == f"MediaHooks/{settings.VERSION}"
    assert re.fullmatch(r"MediaHooks/\d+\.\d+\.\d+\S*", request.header("User-Agent"))
    assert request.header("X-Tenant") == "acme"
    assert request.header("X-Route") == "videos"


def test_signatures_of_a_whsec_secret_verify_on_the_bytes_received(receiver, make_webhook, publish):
    webhook = make_webhook(receiver.url)
    assert webhook.secret.startswith("whsec_")
    publish()
    (request,) = receiver.wait_for(1)
    assert StandardWebhook(webhook.secret).verify(request.body, request.headers)["type"] == "video.ready"
    assert request.header("X-Signature") == x_signature(webhook.secret, request.body)


def test_signatures_of_a_plain_secret_verify_on_the_bytes_received(receiver, make_webhook, publish):
    make_webhook(receiver.url, secret=PLAIN_SECRET)
    publish()
    (request,) = receiver.wait_for(1)
    StandardWebhook(PLAIN_SECRET.encode("utf-8")).verify(request.body, request.headers)
    assert request.header("X-Signature") == x_signature(PLAIN_SECRET, request.body)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(PLAIN_SECRET.upper().encode()).verify(request.body, request.headers)


def test_after_rotation_x_signature_keeps_the_old_secret_and_x_signature_next_carries_the_new(receiver, make_webhook,
                                                                                              publish):
    webhook = make_webhook(receiver.url, secret=PLAIN_SECRET)
    new_secret = webhook.rotate_secret()
    publish()
    (request,) = receiver.wait_for(1)
    signatures = request.header("webhook-signature").split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    StandardWebhook(new_secret).verify(request.body, request.headers)
    StandardWebhook(PLAIN_SECRET.encode()).verify(request.body, request.headers)
    # A plain-HMAC verifier still holding the old secret keeps working; one that switched reads X-Signature-Next.
    assert request.header("X-Signature") == x_signature(PLAIN_SECRET, request.body)
    assert request.header("X-Signature-Next") == x_signature(new_secret, request.body)


def test_when_the_rotation_overlap_ends_x_signature_uses_the_new_secret_alone(receiver, make_webhook, publish):
    webhook = make_webhook(receiver.url, secret=PLAIN_SECRET)
    new_secret = webhook.rotate_secret()
    with time_machine.travel(webhook.previous_secret_expires_at + timedelta(seconds=1), tick=False):
        publish()
        (request,) = receiver.wait_for(1)
    assert request.header("X-Signature") == x_signature(new_secret, request.body)
    assert request.header("X-Signature-Next") is None
    assert len(request.header("webhook-signature").split(" ")) == 1


def test_retries_send_the_same_bytes_and_webhook_id(receiver, make_webhook, publish, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0, 0.0]
    webhook = make_webhook(receiver.url)
    receiver.answer(Answer(500), Answer(503))
    event = publish()
    requests = receiver.wait_for(3)
    assert {r.body for r in requests} == {bytes(event.body)}
    assert {r.header("webhook-id") for r in requests} == {event.id}
    for request in requests:
        StandardWebhook(webhook.secret).verify(request.body, request.headers)
    assert Delivery.objects.get(event=event).status == Delivery.Status.SUCCEEDED


def test_the_body_is_frozen_when_recorded(receiver, make_webhook, publish):
    make_webhook(receiver.url)
    data = {"object": "video", "id": "vid_x", "title": "before"}
    event = publish("video.updated", data)
    data["title"] = "after"
    (request,) = receiver.wait_for(1)
    assert json.loads(request.body)["data"]["title"] == "before"
    assert events.encode_body(event.id, event.type, event.timestamp, {"object": "video", "id": "vid_x",
                                                                      "title": "before"}) == request.body
