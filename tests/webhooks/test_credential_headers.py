"""Credential-like extra headers (SPEC §11): shown in clear only in the create answer, masked everywhere after
(API list and detail, rotate answer, admin, logs, stored attempts), and a masked value echoed back keeps the
stored value. One rule, webhooks_app.headers, decides which names are credentials."""

import html
import json
import logging

import pytest
from django.urls import reverse

from webhooks_app.headers import MASK, is_credential
from webhooks_app.models import DeliveryAttempt, Webhook

CREDENTIALS = {
    "Authorization": "Bearer live-token-aaaa", "Cookie": "sid=cookie-bbbb", "X-Api-Key": "api-key-cccc",
    "x-auth-user": "auth-user-dddd", "X-Session-Id": "session-eeee", "X-Password": "password-ffff",
    "X-Refresh-TOKEN": "token-gggg", "X-Client-Secret": "secret-hhhh", "Proxy-Authorization": "Basic iiii",
}
PLAIN = {"X-Tenant": "acme", "X-Route": "videos"}
ALL = {**CREDENTIALS, **PLAIN}


@pytest.mark.parametrize("name", [*CREDENTIALS, "COOKIE", "set-cookie", "X-Signing-Key", "X-AUTHENTICATED"])
def test_credential_like_names_are_recognised_in_any_case(name):
    assert is_credential(name)


@pytest.mark.parametrize("name", [*PLAIN, "Accept", "Content-Language", "X-Request-Id", "Keep-Alive", "X-Signature"])
def test_other_names_are_not_credentials(name):
    assert not is_credential(name)


def secrets_in(text: str) -> list[str]:
    return [value for value in CREDENTIALS.values() if value in text]


def expected_masked() -> dict[str, str]:
    return {**{name: MASK for name in CREDENTIALS}, **PLAIN}


@pytest.fixture
def created(staff_api, receiver) -> dict:
    answer = staff_api.post("/api/webhooks/", {"url": receiver.url, "events": ["video.ready"], "headers": ALL},
                            format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


@pytest.mark.django_db
def test_the_create_answer_shows_every_header_in_clear_once(created):
    assert created["headers"] == ALL
    assert Webhook.objects.get(pk=created["id"]).headers == ALL


@pytest.mark.django_db
def test_the_list_and_the_detail_mask_credential_headers(staff_api, created):
    listing = staff_api.get("/api/webhooks/")
    detail = staff_api.get(f"/api/webhooks/{created['id']}/")

    assert listing.json()["results"][0]["headers"] == expected_masked()
    assert detail.json()["headers"] == expected_masked()
    assert secrets_in(listing.content.decode() + detail.content.decode()) == []


@pytest.mark.django_db
def test_the_rotate_answer_shows_the_new_secret_but_masks_credential_headers(staff_api, created):
    answer = staff_api.post(f"/api/webhooks/{created['id']}/rotate-secret/", {}, format="json")

    assert answer.json()["secret"] == Webhook.objects.get(pk=created["id"]).secret
    assert answer.json()["headers"] == expected_masked()


@pytest.mark.django_db
def test_get_edit_put_keeps_the_stored_credential_values(staff_api, created):
    url = f"/api/webhooks/{created['id']}/"
    body = staff_api.get(url).json()
    body["description"] = "edited"

    answer = staff_api.put(url, body, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["headers"] == expected_masked()
    stored = Webhook.objects.get(pk=created["id"])
    assert (stored.description, stored.headers) == ("edited", ALL)


@pytest.mark.django_db
def test_patch_keeps_echoed_masks_replaces_real_values_and_drops_omitted_headers(staff_api, created):
    url = f"/api/webhooks/{created['id']}/"
    headers = {"authorization": MASK, "X-Api-Key": "new-api-key", "X-Tenant": "other"}  # a name in another case

    answer = staff_api.patch(url, {"headers": headers}, format="json")

    assert answer.status_code == 200, answer.json()
    assert Webhook.objects.get(pk=created["id"]).headers == {
        "authorization": CREDENTIALS["Authorization"], "X-Api-Key": "new-api-key", "X-Tenant": "other"}


@pytest.mark.django_db
def test_a_mask_sent_for_a_header_with_no_stored_value_gets_400(staff_api, created, receiver):
    url = f"/api/webhooks/{created['id']}/"

    patched = staff_api.patch(url, {"headers": {**ALL, "X-New-Token": MASK}}, format="json")
    new = staff_api.post("/api/webhooks/", {"url": receiver.url, "events": ["*"], "headers": {"X-Key": MASK}},
                         format="json")

    for answer in (patched, new):
        assert answer.status_code == 400
        assert "send the real value" in " ".join(answer.json()["headers"])
    assert Webhook.objects.get(pk=created["id"]).headers == ALL
    assert Webhook.objects.count() == 1


@pytest.mark.django_db
def test_the_admin_change_page_masks_credentials_and_saving_it_as_shown_keeps_them(admin_client, make_webhook,
                                                                                   receiver):
    webhook = make_webhook(receiver.url, events=["video.ready"], headers=ALL)
    url = reverse("admin:webhooks_app_webhook_change", args=[webhook.pk])

    page = html.unescape(admin_client.get(url).content.decode())
    assert secrets_in(page) == []
    assert MASK in page and "acme" in page

    shown = json.loads(html.unescape(page.split('name="headers"', 1)[1].split(">", 1)[1].split("</textarea>")[0]))
    assert shown == expected_masked()
    shown["X-Tenant"] = "beta"
    form = {"url": receiver.url, "description": "", "events": ["video.ready"], "tags": "", "tag_match": "any",
            "is_active": "on", "headers": json.dumps(shown)}
    response = admin_client.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Webhook.objects.get(pk=webhook.pk).headers == {**ALL, "X-Tenant": "beta"}


@pytest.mark.django_db
def test_stored_attempts_and_logs_mask_credentials_while_the_subscriber_gets_them(staff_api, created, receiver,
                                                                                  publish, caplog):
    with caplog.at_level(logging.DEBUG):
        event = publish("video.ready")
        (request,) = receiver.wait_for(1)

    for name, value in ALL.items():
        assert request.header(name) == value  # the subscriber receives the real values
    attempt = DeliveryAttempt.objects.get(delivery__event=event)
    assert {name: attempt.request_headers[name] for name in ALL} == expected_masked()
    delivery = staff_api.get(f"/api/deliveries/{attempt.delivery_id}/")
    assert delivery.json()["attempts"][0]["request_headers"]["Cookie"] == MASK
    assert secrets_in(delivery.content.decode()) == []
    assert secrets_in(caplog.text) == []
