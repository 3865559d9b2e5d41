"""What each answer (or non-answer) does: success, failed attempts with an error, Retry-After, 410, failing for
good (mail, failure count, automatic disabling, system.warning), and secrets kept out of the attempt log."""

import json
import logging
import socket
import ssl
import subprocess
from datetime import timedelta

import pytest
from django.core import mail

from tests.receiver import Answer, Receiver
from webhooks_app.models import Delivery, DeliveryAttempt, Event, Webhook
from webhooks_app.sending import STORE_LIMIT

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def single_retry(settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [5.0]


def only_delivery() -> Delivery:
    return Delivery.objects.select_related("webhook").get(event__internal=False, event__type__startswith="video.")


def last_attempt(delivery: Delivery) -> DeliveryAttempt:
    return delivery.attempts.order_by("-number").first()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_a_2xx_answer_is_a_success(receiver, make_webhook, publish, status):
    make_webhook(receiver.url)
    receiver.always(Answer(status, b"" if status == 204 else b"thanks"))
    publish()
    delivery = only_delivery()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert (delivery.attempt_count, delivery.last_status_code, delivery.last_error) == (1, status, "")
    assert delivery.completed_at is not None and delivery.next_attempt_at is None
    attempt = last_attempt(delivery)
    assert attempt.success and attempt.status_code == status and attempt.error == ""
    assert attempt.response_body == ("" if status == 204 else "thanks")


def test_a_500_is_a_failed_attempt_with_the_code_and_the_start_of_the_body(receiver, make_webhook, publish):
    make_webhook(receiver.url)
    receiver.always(Answer(500, b"Internal   error:\n database is down"))
    publish()
    delivery = only_delivery()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_status_code == 500
    assert delivery.last_error == "HTTP 500: Internal error: database is down"
    attempt = last_attempt(delivery)
    assert not attempt.success and attempt.error == delivery.last_error
    assert delivery.next_attempt_at is not None


@pytest.mark.parametrize("status", [200, 500])
def test_an_answer_with_nul_bytes_is_recorded_with_the_rest_of_its_batch(receiver, make_webhook, publish, status):
    # PostgreSQL's text refuses NUL: written as sent, one such answer failed the whole batch's record, every try.
    refusing = make_webhook(receiver.url.replace("/hook", "/nul"))
    make_webhook(receiver.url)
    receiver.route("/nul", Answer(status, b"bad\x00news \xff"))
    publish()
    assert sorted(Delivery.objects.values_list("attempt_count", "last_status_code")) == sorted([(1, 200), (1, status)])
    nul = Delivery.objects.get(webhook=refusing)
    attempt = last_attempt(nul)
    assert attempt.response_body == "bad\ufffdnews \ufffd"
    if status == 500:
        assert nul.status == Delivery.Status.PENDING and nul.last_error == "HTTP 500: bad\ufffdnews \ufffd"
        assert attempt.error == nul.last_error
    else:
        assert nul.status == Delivery.Status.SUCCEEDED and attempt.success


def test_a_4xx_without_a_body_still_has_an_error(receiver, make_webhook, publish):
    make_webhook(receiver.url)
    receiver.always(Answer(404, b""))
    publish()
    assert only_delivery().last_error == "HTTP 404"


def test_no_answer_within_the_timeout_is_a_failed_attempt(receiver, make_webhook, publish, settings):
    settings.WEBHOOK_TIMEOUT = 0.3
    make_webhook(receiver.url)
    receiver.always(Answer(200, delay=1.5))
    publish()
    delivery = only_delivery()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_status_code is None
    assert delivery.last_error == "timed out after 0.3 s waiting for the response"


def test_only_the_first_4_kb_of_a_huge_answer_is_stored(receiver, make_webhook, publish):
    make_webhook(receiver.url)
    receiver.always(Answer(200, "é".encode() * 150_000))
    publish()
    delivery = only_delivery()
    assert delivery.status == Delivery.Status.SUCCEEDED
    body = last_attempt(delivery).response_body
    assert 0 < len(body.encode()) <= STORE_LIMIT + 4
    assert set(body) <= {"é", "\ufffd"}


def test_the_error_of_a_huge_failed_answer_is_short(receiver, make_webhook, publish):
    make_webhook(receiver.url)
    receiver.always(Answer(502, b"x" * 500_000))
    publish()
    delivery = only_delivery()
    assert delivery.last_error.startswith("HTTP 502: xxx")
    assert len(delivery.last_error) < 300
    assert len(last_attempt(delivery).response_body) == STORE_LIMIT


def test_a_redirect_is_not_followed_and_fails_the_attempt(receiver, other_receiver, make_webhook, publish):
    make_webhook(receiver.url)
    receiver.always(Answer(302, b"", headers={"Location": other_receiver.url}))
    publish()
    delivery = only_delivery()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_status_code == 302
    assert delivery.last_error == f"HTTP 302: redirect to {other_receiver.url} not followed"
    assert other_receiver.requests == []


def test_a_dropped_connection_is_a_failed_attempt(receiver, make_webhook, publish):
    make_webhook(receiver.url)
    receiver.always(Answer(drop=True))
    publish()
    delivery = only_delivery()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_status_code is None
    assert delivery.last_error.startswith("connection error: ")
    assert len(receiver.requests) == 1


def test_a_refused_connection_is_a_failed_attempt(make_webhook, publish):
    make_webhook(f"http://127.0.0.1:{closed_port()}/hook")
    publish()
    delivery = only_delivery()
    assert delivery.attempt_count == 1
    assert delivery.last_error.startswith("connection error: ")
    assert "refused" in delivery.last_error.lower()


def test_a_certificate_nobody_vouches_for_is_a_tls_error_and_nothing_is_sent(make_webhook, publish, tmp_path):
    # Given an HTTPS subscriber whose certificate is self-signed (no authority the sender trusts signed it)
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with Receiver(tls=tls) as subscriber:
        make_webhook(subscriber.url)
        publish()
        delivery = only_delivery()
        # Then the attempt fails on the handshake, saying so, and is retried; no request was made
        assert delivery.attempt_count == 1 and delivery.status == Delivery.Status.PENDING
        assert delivery.last_error.startswith("TLS error: ") and "certificate" in delivery.last_error
        assert last_attempt(delivery).status_code is None
        assert subscriber.requests == []


def test_the_guard_refuses_a_private_address_at_send_time(receiver, make_webhook, publish, settings):
    make_webhook(receiver.url)  # saved while private targets were allowed; DNS could also change later
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    publish()
    delivery = only_delivery()
    assert delivery.attempt_count == 1 and delivery.status == Delivery.Status.PENDING
    assert "not a public address" in delivery.last_error
    assert receiver.requests == []


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured_when_longer_than_the_schedule(receiver, make_webhook, publish, status):
    make_webhook(receiver.url)
    receiver.always(Answer(status, b"slow down", headers={"Retry-After": "120"}))
    publish()
    delivery = only_delivery()
    ended = last_attempt(delivery).started_at + timedelta(milliseconds=last_attempt(delivery).duration_ms)
    wait = (delivery.next_attempt_at - ended).total_seconds()
    assert 120 <= wait < 120.01


def test_retry_after_is_capped_at_one_hour(receiver, make_webhook, publish):
    make_webhook(receiver.url)
    receiver.always(Answer(503, b"", headers={"Retry-After": "86400"}))
    publish()
    delivery = only_delivery()
    wait = (delivery.next_attempt_at - last_attempt(delivery).started_at).total_seconds()
    assert 3600 <= wait < 3601


def test_retry_after_of_another_status_is_ignored(receiver, make_webhook, publish):
    make_webhook(receiver.url)
    receiver.always(Answer(500, b"", headers={"Retry-After": "120"}))
    publish()
    delivery = only_delivery()
    wait = (delivery.next_attempt_at - last_attempt(delivery).started_at).total_seconds()
    assert 5 <= wait < 6


def test_410_disables_the_webhook_at_once_and_fails_without_retry(receiver, make_webhook, publish, admins):
    webhook = make_webhook(receiver.url)
    receiver.always(Answer(410, b"gone"))
    publish()
    delivery = only_delivery()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempt_count == 1 and delivery.next_attempt_at is None
    webhook.refresh_from_db()
    assert not webhook.is_active and webhook.status == "disabled"
    assert "410" in webhook.disabled_reason
    warnings = [event.data for event in Event.objects.filter(type="system.warning")]
    assert any("410" in data["reason"] for data in warnings)
    assert any("disabled" in message.subject for message in mail.outbox)
    publish()
    assert len(receiver.requests) == 1


def test_after_the_last_attempt_the_delivery_fails_and_the_admins_hear_of_it(receiver, make_webhook, publish,
                                                                             admins, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0, 0.0]
    webhook = make_webhook(receiver.url)
    receiver.always(Answer(500, b"still broken"))
    event = publish("video.ready")
    delivery = only_delivery()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempt_count == 3 and len(receiver.requests) == 3
    assert delivery.completed_at is not None and delivery.next_attempt_at is None
    assert delivery.last_error == "HTTP 500: still broken"
    (message,) = mail.outbox
    assert message.to == ["ops@example.com"]
    text = message.subject + "\n" + message.body
    for needle in (webhook.url, event.id, "video.ready", delivery.id, "HTTP 500: still broken"):
        assert needle in text
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 1 and webhook.is_active
    (warning,) = Event.objects.filter(type="system.warning")
    assert warning.data["delivery"] == {"id": delivery.id, "event": {"id": event.id, "type": "video.ready"}}
    assert warning.data["webhook"] == {"id": webhook.pk, "url": webhook.url}


def test_a_webhook_is_disabled_after_too_many_deliveries_failed_for_good(receiver, make_webhook, publish, admins,
                                                                         settings):
    settings.WEBHOOK_RETRY_SCHEDULE = []
    settings.WEBHOOK_DISABLE_AFTER = 3
    webhook = make_webhook(receiver.url)
    receiver.always(Answer(500, b"nope"))
    for expected in (1, 2):
        publish()
        webhook.refresh_from_db()
        assert (webhook.consecutive_failures, webhook.is_active) == (expected, True)
    publish()
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 3
    assert not webhook.is_active
    assert webhook.disabled_reason.startswith("3 consecutive deliveries failed for good")
    assert "HTTP 500: nope" in webhook.disabled_reason
    disabled = [e for e in Event.objects.filter(type="system.warning") if e.data["reason"] == webhook.disabled_reason]
    assert len(disabled) == 1 and disabled[0].data["webhook"]["id"] == webhook.pk
    assert [m for m in mail.outbox if m.subject.startswith("[MediaHooks] Webhook disabled")]
    publish()
    assert len(receiver.requests) == 3


def test_a_success_resets_the_failure_count(receiver, make_webhook, publish):
    webhook = make_webhook(receiver.url, consecutive_failures=4)
    publish()
    webhook.refresh_from_db()
    assert webhook.consecutive_failures == 0


def test_switching_a_disabled_webhook_back_on_clears_the_reason_and_the_count(make_webhook, staff_api):
    webhook = make_webhook("http://127.0.0.1:9/hook", is_active=False, disabled_reason="5 failed",
                           consecutive_failures=5)
    answer = staff_api.patch(f"/api/webhooks/{webhook.pk}/", {"is_active": True}, format="json")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "active" and answer.json()["disabled_reason"] == ""
    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.disabled_reason, webhook.consecutive_failures) == (True, "", 0)


def test_an_admin_switch_off_leaves_no_reason(make_webhook, staff_api):
    webhook = make_webhook("http://127.0.0.1:9/hook")
    answer = staff_api.patch(f"/api/webhooks/{webhook.pk}/", {"is_active": False}, format="json")
    assert answer.json()["status"] == "disabled" and answer.json()["disabled_reason"] == ""


def test_credentials_in_extra_headers_are_sent_but_never_stored(receiver, make_webhook, publish):
    credentials = {"Authorization": "Bearer tok-123456789", "X-Api-Key": "key-abcdef", "X-Auth-Token": "t-0001",
                   "X-Client-Secret": "cs-9999", "Cookie": "session=s-42"}
    webhook = make_webhook(receiver.url, headers={**credentials, "X-Tenant": "acme"})
    publish()
    (request,) = receiver.wait_for(1)
    for name, value in credentials.items():
        assert request.header(name) == value
    stored = last_attempt(only_delivery()).request_headers
    assert stored["X-Tenant"] == "acme"
    text = json.dumps(stored)
    for name, value in credentials.items():
        assert name in stored and value not in text
    assert webhook.secret not in text


def test_a_failed_attempt_never_crashes_the_relay(make_webhook, publish, receiver):
    make_webhook("http://127.0.0.1:1/unreachable")
    make_webhook(receiver.url)
    publish()
    statuses = sorted(Webhook.objects.values_list("deliveries__status", flat=True))
    assert statuses == [Delivery.Status.PENDING, Delivery.Status.SUCCEEDED]
    assert len(receiver.requests) == 1


def test_a_header_http_cannot_carry_fails_its_attempt_without_stopping_the_others(make_webhook, publish, receiver):
    broken = make_webhook(receiver.url + "/broken", headers={"X-Title": "✓ saved before validation"})
    healthy = make_webhook(receiver.url)
    publish()
    failed = Delivery.objects.get(webhook=broken)
    assert failed.status == Delivery.Status.PENDING and failed.lease_token is None
    assert failed.attempt_count == 1 and failed.last_error.startswith("invalid request header: ")
    assert Delivery.objects.get(webhook=healthy).status == Delivery.Status.SUCCEEDED
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_secrets_never_reach_the_logs(receiver, make_webhook, publish, admins, settings, caplog):
    settings.WEBHOOK_RETRY_SCHEDULE = []
    settings.WEBHOOK_DISABLE_AFTER = 1
    webhook = make_webhook(receiver.url, headers={"Authorization": "Bearer log-me-not-42"})
    receiver.always(Answer(500, b"boom"))
    with caplog.at_level(logging.DEBUG):
        publish()
    webhook.refresh_from_db()
    assert not webhook.is_active and "disabled" in caplog.text  # the failure and the disabling were logged
    assert webhook.secret not in caplog.text and "log-me-not-42" not in caplog.text
    assert not any(webhook.secret in m.body or "log-me-not-42" in m.body for m in mail.outbox)
