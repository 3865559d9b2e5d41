"""The webhook admin: grouped event checkboxes and tag conditions, a masked secret with rotate and "send test
event" buttons, recent deliveries with the success rate, delivery attempts, and the redeliver action."""

import html
import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.urls import reverse

from tests.conftest import fan_out, token_client
from tests.receiver import Answer
from webhooks_app import events, health
from webhooks_app.models import Delivery, Webhook

pytestmark = pytest.mark.django_db


def page(response) -> str:
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def add_form(url: str, **fields) -> dict:
    return {"url": url, "description": "", "events": ["video.ready"], "tags": "", "tag_match": "any",
            "is_active": "on", "headers": "{}", "secret": "", **fields}


def test_the_add_form_offers_grouped_event_checkboxes_and_tags(admin_client):
    text = page(admin_client.get(reverse("admin:webhooks_app_webhook_add")))
    for name in ("*", "video.ready", "video.deleted", "playlist.updated", "livestream.started", "system.warning"):
        assert re.search(rf'<input type="checkbox" name="events" value="{re.escape(name)}"', text), name
    assert 'value="webhook.test"' not in text
    for group in ("video", "playlist", "livestream", "system"):
        assert f"<label>{group}</label>" in text
    assert 'name="tags"' in text and 'name="tag_match"' in text and 'name="secret"' in text


def test_adding_a_webhook_saves_events_and_tags_and_shows_the_secret_once(admin_client, receiver):
    response = admin_client.post(reverse("admin:webhooks_app_webhook_add"), add_form(
        receiver.url, events=["video.ready", "video.failed"], tags="news, sport ,", tag_match="all"), follow=True)
    webhook = Webhook.objects.get()
    assert (webhook.events, webhook.tags, webhook.tag_match) == (["video.ready", "video.failed"], ["news", "sport"],
                                                                 "all")
    assert webhook.secret.startswith("whsec_")
    assert webhook.secret in page(response)  # shown once, right after saving
    assert webhook.secret not in page(admin_client.get(reverse("admin:webhooks_app_webhook_change",
                                                               args=[webhook.pk])))


def test_adding_a_webhook_with_a_chosen_secret(admin_client, receiver):
    admin_client.post(reverse("admin:webhooks_app_webhook_add"), add_form(receiver.url, secret="admin-chosen-secret"))
    assert Webhook.objects.get().secret == "admin-chosen-secret"


def test_the_admin_keeps_a_chosen_secret_exactly_as_typed(admin_client, receiver):
    admin_client.post(reverse("admin:webhooks_app_webhook_add"), add_form(receiver.url, secret=" spaced-secret-16 "))
    assert Webhook.objects.get().secret == " spaced-secret-16 "


def test_the_add_form_refuses_bad_input(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    response = admin_client.post(reverse("admin:webhooks_app_webhook_add"),
                                 add_form("http://127.0.0.1/hook", secret="short", events=[]))
    text = page(response)
    assert "private" in text and "16 to 128 characters" in text and "This field is required" in text
    assert not Webhook.objects.exists()


def test_the_change_page_masks_the_secret_and_offers_rotate_and_test(admin_client, make_webhook, receiver):
    webhook = make_webhook(receiver.url, events=["video.ready"])
    text = page(admin_client.get(reverse("admin:webhooks_app_webhook_change", args=[webhook.pk])))
    assert webhook.masked_secret in text and webhook.secret not in text
    assert re.search(r'href="{}"[^>]*>Rotate secret'.format(
        reverse("admin:webhooks_app_webhook_rotate_secret", args=[webhook.pk])), text)
    assert re.search(r'formaction="{}"[^>]*>Send test event'.format(
        reverse("admin:webhooks_app_webhook_send_test", args=[webhook.pk])), text)


def test_the_send_test_event_button_sends_and_shows_the_delivery(admin_client, make_webhook, receiver):
    webhook = make_webhook(receiver.url, events=["video.ready"])
    response = admin_client.post(reverse("admin:webhooks_app_webhook_send_test", args=[webhook.pk]))
    delivery = Delivery.objects.get(webhook=webhook)
    assert response.status_code == 302
    assert response.url == reverse("admin:webhooks_app_delivery_change", args=[delivery.pk])
    assert delivery.is_test and delivery.status == Delivery.Status.SUCCEEDED
    assert receiver.wait_for(1)[0].header("webhook-id") == delivery.event_id
    assert [str(m) for m in get_messages(response.wsgi_request)] == [f"Test event {delivery.event_id} delivered."]


def test_the_send_test_event_button_reports_a_failure(admin_client, make_webhook, receiver):
    webhook = make_webhook(receiver.url, events=["video.ready"])
    receiver.always(Answer(503, b"maintenance"))
    response = admin_client.post(reverse("admin:webhooks_app_webhook_send_test", args=[webhook.pk]), follow=True)
    assert "failed: HTTP 503: maintenance" in page(response)


def test_a_get_on_the_buttons_changes_nothing(admin_client, make_webhook, receiver):
    webhook = make_webhook(receiver.url, events=["video.ready"])
    admin_client.get(reverse("admin:webhooks_app_webhook_send_test", args=[webhook.pk]))
    admin_client.get(reverse("admin:webhooks_app_webhook_rotate_secret", args=[webhook.pk]))
    assert not Delivery.objects.exists() and receiver.requests == []
    assert Webhook.objects.get().secret == webhook.secret


def test_rotate_secret_asks_first_and_explains_the_overlap(admin_client, make_webhook, receiver):
    webhook = make_webhook(receiver.url, events=["video.ready"])

    shown = admin_client.get(reverse("admin:webhooks_app_webhook_rotate_secret", args=[webhook.pk]))
    unconfirmed = admin_client.post(reverse("admin:webhooks_app_webhook_rotate_secret", args=[webhook.pk]))

    assert shown.status_code == unconfirmed.status_code == 200
    text = page(shown)
    assert "For 24 hours both secrets sign" in text
    assert "the new secret's first" in text and "then the old one's" in text
    assert "<code>X-Signature</code>" in text and "<strong>previous</strong>" in text
    assert "<code>X-Signature-Next</code> header carries the signature made with the new secret" in text
    assert 'name="confirm"' in text and webhook.masked_secret in text and webhook.secret not in text
    assert Webhook.objects.get().secret == webhook.secret


def test_rotating_again_within_the_overlap_warns_that_it_ends_the_earlier_one(admin_client, make_webhook, receiver):
    webhook = make_webhook(receiver.url, events=["video.ready"])
    webhook.rotate_secret()

    text = page(admin_client.get(reverse("admin:webhooks_app_webhook_rotate_secret", args=[webhook.pk])))

    assert "An earlier rotation is still in its overlap" in text


def test_the_rotate_secret_button_rotates_and_shows_the_new_secret_once(admin_client, make_webhook, receiver):
    webhook = make_webhook(receiver.url, events=["video.ready"])
    old = webhook.secret
    response = admin_client.post(reverse("admin:webhooks_app_webhook_rotate_secret", args=[webhook.pk]),
                                 {"confirm": "Yes, rotate the secret"}, follow=True)
    webhook.refresh_from_db()
    assert webhook.secret != old and webhook.previous_secret == old
    assert webhook.signing_secrets() == [webhook.secret, old]
    text = page(response)
    assert webhook.secret in text and "24 hours" in text


def test_the_change_page_shows_recent_deliveries_and_the_success_rate(admin_client, make_webhook, receiver, publish,
                                                                       settings):
    settings.WEBHOOK_RETRY_SCHEDULE = []
    webhook = make_webhook(receiver.url, events=["video.ready"])
    receiver.answer(Answer(200), Answer(500, b"oops"), Answer(200), Answer(200))
    for _ in range(4):
        publish("video.ready")
    text = page(admin_client.get(reverse("admin:webhooks_app_webhook_change", args=[webhook.pk])))
    assert "75.0% (3/4)" in text
    for delivery in Delivery.objects.filter(webhook=webhook):
        assert delivery.pk in text
    assert "HTTP 500: oops" in text


def test_the_webhook_list_shows_each_success_rate_with_the_same_queries_for_many_webhooks(
        admin_client, make_webhook, receiver, publish, settings, django_assert_max_num_queries):
    settings.WEBHOOK_RETRY_SCHEDULE = []
    make_webhook(receiver.url, events=["video.ready"])
    receiver.answer(Answer(200), Answer(500))
    for _ in range(2):
        publish("video.ready")
    with django_assert_max_num_queries(12) as few:
        assert "50.0% (1/2)" in page(admin_client.get(reverse("admin:webhooks_app_webhook_changelist")))
    for n in range(20):
        make_webhook(f"http://127.0.0.1:9/{n}", events=["video.failed"])

    with django_assert_max_num_queries(len(few.captured_queries)):
        text = page(admin_client.get(reverse("admin:webhooks_app_webhook_changelist")))
    assert "50.0% (1/2)" in text


def test_the_delivery_page_shows_every_attempt(admin_client, make_webhook, receiver, publish, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0]
    make_webhook(receiver.url, events=["video.ready"], headers={"Authorization": "Bearer hidden-token-1"})
    receiver.answer(Answer(502, b"bad gateway body"), Answer(200, b"accepted body"))
    event = publish("video.ready")
    delivery = Delivery.objects.get(event=event)
    text = page(admin_client.get(reverse("admin:webhooks_app_delivery_change", args=[delivery.pk])))
    assert "HTTP 502: bad gateway body" in text and "accepted body" in text
    assert event.id in text and "webhook-signature" in text
    assert "hidden-token-1" not in text
    assert page(admin_client.get(reverse("admin:webhooks_app_delivery_changelist"))).count(delivery.pk) >= 1


def test_the_redeliver_action_queues_a_new_series(admin_client, make_webhook, receiver, publish,
                                                 django_capture_on_commit_callbacks):
    make_webhook(receiver.url, events=["video.ready"])
    event = publish("video.ready")
    delivery = Delivery.objects.get(event=event)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:webhooks_app_delivery_changelist"),
                                     {"action": "redeliver", "_selected_action": [delivery.pk]}, follow=True)
    assert "1 new delivery(ies) queued." in page(response)
    assert Delivery.objects.filter(event=event).count() == 2
    first, second = receiver.wait_for(2)
    assert second.body == first.body and second.header("webhook-id") == event.id


def test_the_enable_action_clears_the_reason_and_the_failure_count(admin_client, make_webhook):
    webhook = make_webhook("http://127.0.0.1:9/hook", is_active=False, disabled_reason="auto", consecutive_failures=5)
    admin_client.post(reverse("admin:webhooks_app_webhook_changelist"),
                      {"action": "enable", "_selected_action": [webhook.pk]})
    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.disabled_reason, webhook.consecutive_failures) == (True, "", 0)


def test_the_delivery_page_has_a_redeliver_button_that_queues_a_new_series(admin_client, make_webhook, receiver,
                                                                           publish,
                                                                           django_capture_on_commit_callbacks):
    make_webhook(receiver.url, events=["video.ready"])
    event = publish("video.ready")
    delivery = Delivery.objects.get(event=event)
    button = reverse("admin:webhooks_app_delivery_redeliver", args=[delivery.pk])
    assert f'action="{button}"' in page(admin_client.get(reverse("admin:webhooks_app_delivery_change",
                                                                 args=[delivery.pk])))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(button)

    fresh = Delivery.objects.filter(event=event).exclude(pk=delivery.pk).get()
    assert response.status_code == 302
    assert response.url == reverse("admin:webhooks_app_delivery_change", args=[fresh.pk])
    first, second = receiver.wait_for(2)
    assert second.body == first.body and second.header("webhook-id") == event.id
    assert admin_client.get(button).status_code == 405


def test_a_pending_delivery_offers_no_redeliver_yet(admin_client, make_webhook):
    make_webhook("http://127.0.0.1:9/hook", events=["video.ready"])
    events.record("video.ready", {"object": "video", "id": "vid_x"})
    fan_out()
    delivery = Delivery.objects.get()

    text = page(admin_client.get(reverse("admin:webhooks_app_delivery_change", args=[delivery.pk])))
    answer = admin_client.post(reverse("admin:webhooks_app_delivery_redeliver", args=[delivery.pk]), follow=True)

    assert "Redeliver (after it finishes)" in text
    assert "still pending" in page(answer)
    assert Delivery.objects.count() == 1


def _staff_with(django_user_model, *codenames: str):
    user = django_user_model.objects.create_user("operator", password="pw-operator-123", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="webhooks_app",
                                                         codename__in=codenames))
    return user


@pytest.mark.parametrize("codenames, allowed", [(("view_delivery", "view_webhook"), False),
                                                (("view_delivery", "change_delivery", "view_webhook"), True)])
def test_redeliver_needs_the_same_permission_in_the_admin_and_the_api(django_user_model, client, make_webhook,
                                                                      receiver, publish, codenames, allowed):
    make_webhook(receiver.url, events=["video.ready"])
    delivery = Delivery.objects.get(event=publish("video.ready"))
    user = _staff_with(django_user_model, *codenames)
    client.force_login(user)

    by_admin = client.post(reverse("admin:webhooks_app_delivery_redeliver", args=[delivery.pk]))
    by_api = token_client(user).post(f"/api/deliveries/{delivery.pk}/redeliver/")
    action_form = client.get(reverse("admin:webhooks_app_delivery_changelist")).context["action_form"]
    actions = action_form.fields["action"].choices if action_form else []

    assert (by_admin.status_code == 302, by_api.status_code == 201) == (allowed, allowed)
    assert (by_admin.status_code == 403, by_api.status_code == 403) == (not allowed, not allowed)
    assert any(name == "redeliver" for name, _label in actions) == allowed


@pytest.mark.parametrize("codenames, allowed", [(("view_webhook",), False), (("view_webhook", "change_webhook"), True)])
def test_rotate_and_test_need_the_same_permission_in_the_admin_and_the_api(django_user_model, client, make_webhook,
                                                                           receiver, codenames, allowed):
    webhook = make_webhook(receiver.url, events=["video.ready"])
    user = _staff_with(django_user_model, *codenames)
    client.force_login(user)
    api = token_client(user)

    admin_rotate = client.post(reverse("admin:webhooks_app_webhook_rotate_secret", args=[webhook.pk]),
                               {"confirm": "yes"})
    api_rotate = api.post(f"/api/webhooks/{webhook.pk}/rotate-secret/", {}, format="json")
    admin_test = client.post(reverse("admin:webhooks_app_webhook_send_test", args=[webhook.pk]))
    api_test = api.post(f"/api/webhooks/{webhook.pk}/test/", {}, format="json")

    codes = [admin_rotate.status_code, api_rotate.status_code, admin_test.status_code, api_test.status_code]
    assert codes == ([302, 200, 302, 200] if allowed else [403, 403, 403, 403])


# --- an edit made from an older read never undoes what the workers did meanwhile ---------------------


def change_form(webhook, **fields) -> dict:
    """The change form as the browser posts it: `initial-is_active` is the switch as the editor saw it."""
    form = {"url": webhook.url, "description": webhook.description, "events": webhook.events, "tags": "",
            "tag_match": "any", "headers": "{}"}
    if webhook.is_active:
        form.update({"is_active": "on", "initial-is_active": "on"})
    return {**form, **fields}


def test_an_edit_from_a_page_opened_before_an_automatic_switch_off_leaves_it_off(admin_client, make_webhook):
    webhook = make_webhook("http://127.0.0.1:9/hook", description="old")
    seen = change_form(webhook, description="new")  # the page as the editor opened it: switched on
    health.disable(Webhook.objects.get(pk=webhook.pk), "5 consecutive deliveries failed for good")
    Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=5)

    admin_client.post(reverse("admin:webhooks_app_webhook_change", args=[webhook.pk]), seen)

    webhook.refresh_from_db()
    assert webhook.description == "new"
    assert (webhook.is_active, webhook.disabled_reason, webhook.consecutive_failures) == (
        False, "5 consecutive deliveries failed for good", 5)


def test_the_editors_own_switch_still_turns_a_webhook_on_and_off(admin_client, make_webhook):
    webhook = make_webhook("http://127.0.0.1:9/hook")
    url = reverse("admin:webhooks_app_webhook_change", args=[webhook.pk])

    unticked = change_form(webhook)
    del unticked["is_active"]  # a browser sends no value for an unticked box
    admin_client.post(url, unticked)
    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.disabled_reason) == (False, "")

    Webhook.objects.filter(pk=webhook.pk).update(disabled_reason="auto", consecutive_failures=5)
    before = webhook.activated_at
    admin_client.post(url, {**change_form(webhook), "is_active": "on"})  # ticked again
    webhook.refresh_from_db()
    assert (webhook.is_active, webhook.disabled_reason, webhook.consecutive_failures) == (True, "", 0)
    assert webhook.activated_at > before
