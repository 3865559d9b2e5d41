"""Webhook health: consecutive failures, automatic disabling, and the notices sent when a delivery fails
for good (mail to the admins and a `system.warning` event, which fan-out never sends to the webhook it is
about)."""

import logging

from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from webhooks_app import events
from webhooks_app.channels import Outcome
from webhooks_app.models import Delivery, Webhook

logger = logging.getLogger(__name__)


def apply(outcomes: list[Outcome]) -> None:
    """Reset the failure count on success; count, notify and maybe disable on a final failure."""
    real = [o for o in outcomes if not o.delivery.is_test and o.delivery.webhook_id]
    succeeded = {o.delivery.webhook_id for o in real if o.result.ok}
    if succeeded:
        Webhook.objects.filter(pk__in=succeeded, consecutive_failures__gt=0).update(consecutive_failures=0)
    for outcome in real:
        if outcome.final and not outcome.result.ok:
            _failed_for_good(outcome)


def _failed_for_good(outcome: Outcome) -> None:
    delivery = outcome.delivery
    webhook_id = delivery.webhook_id
    Webhook.objects.filter(pk=webhook_id).update(consecutive_failures=F("consecutive_failures") + 1)
    webhook = Webhook.objects.get(pk=webhook_id)
    reason = None
    if outcome.gone:
        reason = f"The endpoint answered 410 Gone to delivery {delivery.id}."
    elif webhook.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER:
        reason = (f"{webhook.consecutive_failures} consecutive deliveries failed for good; "
                  f"the last error was: {delivery.last_error}")
    notify_failed(webhook, delivery)
    if reason and webhook.is_active:
        disable(webhook, reason, delivery)


def disable(webhook: Webhook, reason: str, delivery: Delivery | None = None) -> None:
    """Switch a webhook off automatically, saying why, and tell the admins and the other subscribers."""
    updated = Webhook.objects.filter(pk=webhook.pk, is_active=True).update(
        is_active=False, disabled_reason=reason, updated_at=timezone.now()
    )
    if not updated:
        return
    webhook.is_active, webhook.disabled_reason = False, reason
    logger.warning("Webhook %s (%s) disabled: %s", webhook.pk, webhook.url, reason)
    events.record("system.warning", warning_data(webhook, reason, delivery), object_type="webhook",
                  object_id=webhook.pk)
    body = f"The webhook {webhook.url} ({webhook.pk}) was disabled automatically.\n\nReason: {reason}\n"
    transaction.on_commit(lambda: _mail(f"Webhook disabled: {webhook.url}", body), robust=True)


def notify_failed(webhook: Webhook, delivery: Delivery) -> None:
    """Mail the admins and record a system.warning, naming the URL, the event and the last error."""
    event = delivery.event
    reason = f"Delivery {delivery.id} of {event.type} failed after {delivery.attempt_count} attempt(s): " \
             f"{delivery.last_error}"
    logger.warning("Webhook %s: %s", webhook.pk, reason)
    if not event.type.startswith("system."):  # no warning about a warning: two failing subscribers would ping-pong
        events.record("system.warning", warning_data(webhook, reason, delivery), object_type="webhook",
                      object_id=webhook.pk)
    body = (
        f"A webhook delivery failed for good.\n\n"
        f"Webhook URL: {webhook.url}\nWebhook: {webhook.pk}\n"
        f"Event: {event.id} ({event.type})\nDelivery: {delivery.id}\n"
        f"Attempts: {delivery.attempt_count}\nLast error: {delivery.last_error}\n"
    )
    transaction.on_commit(lambda: _mail(f"Webhook delivery failed: {event.type} to {webhook.url}", body),
                          robust=True)


def warning_data(webhook: Webhook, reason: str, delivery: Delivery | None) -> dict:
    return {
        "object": "webhook",
        "webhook": {"id": webhook.pk, "url": webhook.url},
        "reason": reason,
        "delivery": {"id": delivery.id, "event": {"id": delivery.event_id, "type": delivery.event.type}}
        if delivery else None,
    }


def _mail(subject: str, body: str) -> None:
    mail_admins(subject, body, fail_silently=False)
