"""Signing over the exact bytes: Standard Webhooks' `webhook-signature` and the plain `X-Signature` (no database)."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from webhooks_app import signing
from webhooks_app.models import Webhook

WHSEC = "whsec_" + base64.b64encode(b"0123456789abcdef01234567").decode()
PLAIN = "plain-shared-secret-äß-1234"
BODY = '{"id":"evt_1","type":"video.ready","timestamp":"2026-11-22T12:00:00.123Z","data":{"title":"Café ✓"}}'.encode()


def library_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.startswith("webhook-")}


def test_whsec_key_is_the_base64_decoded_part_after_the_prefix():
    assert signing.key_bytes(WHSEC) == b"0123456789abcdef01234567"


def test_plain_secret_key_is_its_utf8_bytes():
    assert signing.key_bytes(PLAIN) == PLAIN.encode("utf-8")


def test_standard_signature_equals_the_reference_library_for_a_whsec_secret():
    moment = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    ours = signing.standard_signature(WHSEC, "evt_1", int(moment.timestamp()), BODY)
    assert ours == StandardWebhook(WHSEC).sign("evt_1", moment, BODY.decode())


def test_standard_signature_of_a_plain_secret_uses_its_raw_bytes():
    stamp = 1_795_000_000
    expected = base64.b64encode(
        hmac.new(PLAIN.encode(), f"evt_1.{stamp}.".encode() + BODY, hashlib.sha256).digest()
    ).decode()
    assert signing.standard_signature(PLAIN, "evt_1", stamp, BODY) == "v1," + expected


def test_x_signature_is_lowercase_hex_hmac_of_the_body_with_the_secret_string_bytes():
    for secret in (WHSEC, PLAIN):
        expected = hmac.new(secret.encode("utf-8"), BODY, hashlib.sha256).hexdigest()
        assert signing.plain_signature(secret, BODY) == expected
        assert expected == expected.lower()


def test_signature_headers_verify_with_the_reference_library():
    headers = signing.signature_headers([WHSEC], "evt_1", BODY)
    assert StandardWebhook(WHSEC).verify(BODY, library_headers(headers))["type"] == "video.ready"
    plain_headers = signing.signature_headers([PLAIN], "evt_1", BODY)
    assert StandardWebhook(PLAIN.encode()).verify(BODY, library_headers(plain_headers))["id"] == "evt_1"


def test_during_rotation_the_new_signature_comes_first_and_both_verify():
    old, new = PLAIN, WHSEC
    headers = signing.signature_headers([new, old], "evt_1", BODY, timestamp=1_795_000_000)
    first, second = headers["webhook-signature"].split(" ")
    assert first == signing.standard_signature(new, "evt_1", 1_795_000_000, BODY)
    assert second == signing.standard_signature(old, "evt_1", 1_795_000_000, BODY)
    now = datetime.fromtimestamp(1_795_000_000, UTC)
    for secret in (old, new):
        assert signing.verify(secret, headers, BODY, now=now.timestamp()) == "standard-webhooks"


def test_during_rotation_x_signature_keeps_the_previous_secret_and_x_signature_next_carries_the_new_one():
    old, new = PLAIN, WHSEC
    headers = signing.signature_headers([new, old], "evt_1", BODY)
    assert headers["X-Signature"] == signing.plain_signature(old, BODY)
    assert headers["X-Signature-Next"] == signing.plain_signature(new, BODY)


def test_without_a_rotation_there_is_no_x_signature_next():
    headers = signing.signature_headers([WHSEC], "evt_1", BODY)
    assert headers["X-Signature"] == signing.plain_signature(WHSEC, BODY)
    assert "X-Signature-Next" not in headers


@pytest.mark.parametrize("stamp", ["9" * 400, "1" * 13, "-1000000", "+1000000", "1_000_000", "1e6", "١٠٠٠٠٠٠",
                                   "1000000.5", "0x10", "", " "])
def test_a_webhook_timestamp_that_is_not_plain_unix_seconds_is_a_signature_error(stamp):
    headers = {**signing.signature_headers([PLAIN], "evt_1", BODY, timestamp=1_000_000), "webhook-timestamp": stamp}
    if not stamp.strip():
        headers["X-Signature"] = "0" * 64  # an empty timestamp falls back to the plain scheme, which must fail
    with pytest.raises(signing.SignatureError):
        signing.verify(PLAIN, headers, BODY, now=1_000_000)


def test_the_reference_library_accepts_either_secret_while_both_sign():
    headers = library_headers(signing.signature_headers([WHSEC, PLAIN], "evt_1", BODY))
    StandardWebhook(WHSEC).verify(BODY, headers)
    StandardWebhook(PLAIN.encode()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook("whsec_" + base64.b64encode(b"another key entirely....").decode()).verify(BODY, headers)


def test_verify_rejects_a_changed_body_a_stale_timestamp_and_an_unsigned_request():
    headers = signing.signature_headers([PLAIN], "evt_1", BODY, timestamp=1_000_000)
    with pytest.raises(signing.SignatureError, match="does not match"):
        signing.verify(PLAIN, headers, BODY + b" ", now=1_000_000)
    with pytest.raises(signing.SignatureError, match="300 s"):
        signing.verify(PLAIN, headers, BODY, now=1_000_301)
    assert signing.verify(PLAIN, {"X-Signature": headers["X-Signature"]}, BODY) == "x-signature"
    with pytest.raises(signing.SignatureError, match="X-Signature"):
        signing.verify(PLAIN, {"X-Signature": "0" * 64}, BODY)
    with pytest.raises(signing.SignatureError, match="not signed"):
        signing.verify(PLAIN, {}, BODY)


def test_a_rotated_out_secret_signs_beside_the_new_one_for_24_hours_only():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    webhook = Webhook(secret=WHSEC, previous_secret=PLAIN, previous_secret_expires_at=now + timedelta(hours=24))
    assert webhook.signing_secrets(now) == [WHSEC, PLAIN]
    assert webhook.signing_secrets(now + timedelta(hours=24)) == [WHSEC]
    assert Webhook(secret=WHSEC).signing_secrets(now) == [WHSEC]


def test_first_id_at_sorts_between_the_ids_made_before_and_after_that_moment():
    from datetime import UTC, datetime

    import time_machine

    from webhooks_app import ids

    with time_machine.travel(datetime(2030, 1, 1, 11, 59, 59, 999000, tzinfo=UTC), tick=False):
        before = ids.new_id("dlv")
    with time_machine.travel(datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC), tick=False):
        at = ids.new_id("dlv")
    bound = ids.first_id_at("dlv", datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC))
    assert before < bound <= at
