"""The webhook admin in a real Chromium: log in, create a webhook through the add form (grouped event
checkboxes, a tag condition), press "Send test event" and land on a succeeded delivery."""

import json

import pytest

from webhooks_app.models import Delivery, Webhook

pytestmark = pytest.mark.e2e


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("editor", "editor@example.com", "pw-editor-123")


def test_admin_creates_a_webhook_and_sends_it_a_test_event(page, site, admin_user, receiver, artifacts):
    # Given an editor logged into the admin
    page.goto(f"{site}/admin/login/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "pw-editor-123")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")

    # When they add a webhook through the real form: URL, two ticked events, the tag "news"
    page.goto(f"{site}/admin/webhooks_app/webhook/add/")
    page.fill("#id_url", receiver.url)
    page.fill("#id_description", "Newsroom")
    page.check("input[name=events][value='video.ready']")
    page.check("input[name=events][value='video.published']")
    page.fill("#id_tags", "news")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .warning:has-text('signing secret')")
    webhook = Webhook.objects.get()
    assert webhook.url == receiver.url
    assert sorted(webhook.events) == ["video.published", "video.ready"]
    assert webhook.tags == ["news"]
    assert webhook.is_active

    # and open its change page from the list, and press "Send test event"
    page.click(f"#result_list a:has-text('{receiver.url}')")
    page.wait_for_selector("button[name=_send_test]")
    assert page.is_checked("input[name=events][value='video.ready']")
    assert page.input_value("#id_tags") == "news"
    page.click("button[name=_send_test]")

    # Then the delivery page shows a succeeded delivery of webhook.test, which the receiver got
    page.wait_for_selector(".messagelist .success:has-text('delivered')")
    delivery = Delivery.objects.get(webhook=webhook)
    assert page.url.rstrip("/").endswith(f"/admin/webhooks_app/delivery/{delivery.pk}/change")
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert page.locator(".field-status_badge").inner_text().strip().endswith("succeeded")
    [request] = receiver.wait_for(1)
    body = json.loads(request.body)
    assert body["type"] == "webhook.test"
    assert request.header("webhook-id") == body["id"] == delivery.event_id
    page.screenshot(path=str(artifacts / "webhook-delivery.png"), full_page=True)

    # And the webhook's page lists the delivery among its recent ones
    page.goto(f"{site}/admin/webhooks_app/webhook/{webhook.pk}/change/")
    page.wait_for_selector(f".field-recent_deliveries a:has-text('{delivery.pk}')")
    page.screenshot(path=str(artifacts / "webhook-admin.png"), full_page=True)
