"""The two built-in channels: `webhook` (an HTTP POST to a Webhook's URL, whose outcomes drive its health) and
`hook` (a call of a function subscriber in the hook runner, whose final failure is logged and mailed to the
admins). Registered from AppConfig.ready()."""

import logging

from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction

from webhooks_app import channels, functions, health
from webhooks_app.channels import Call, Channel, Outcome, Target
from webhooks_app.models import Delivery

logger = logging.getLogger(__name__)


def webhook_target(delivery: Delivery) -> Target | str:
    """The webhook's URL, secrets and headers; a reason instead when it is gone or switched off."""
    webhook = delivery.webhook
    if webhook is None:
        return "the webhook no longer exists"
    if not webhook.is_active and not delivery.is_test:
        return "the webhook is disabled"
    return Target(url=webhook.url, secrets=webhook.signing_secrets(), headers=dict(webhook.headers or {}),
                  guarded=not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS)


def hook_target(delivery: Delivery) -> Call | str:
    """The function subscriber to call; a reason instead when this process no longer has it registered."""
    if functions.get(delivery.hook) is None:
        return f"the hook {delivery.hook} is no longer registered"
    return Call(delivery.hook)


def settle_hooks(outcomes: list[Outcome]) -> None:
    """A hook delivery that failed for good is logged as an error and mailed to the admins."""
    for outcome in outcomes:
        if outcome.final and not outcome.result.ok:
            notify_hook_failed(outcome.delivery)


def notify_hook_failed(delivery: Delivery) -> None:
    event = delivery.event
    logger.error("Hook %s: delivery %s of %s (%s) failed after %d attempt(s): %s", delivery.hook, delivery.id,
                 event.type, event.id, delivery.attempt_count, delivery.last_error)
    body = (
        f"A code hook failed for good.\n\n"
        f"Hook: {delivery.hook}\nEvent: {event.id} ({event.type})\nDelivery: {delivery.id}\n"
        f"Attempts: {delivery.attempt_count}\nLast error: {delivery.last_error}\n"
    )
    subject = f"Hook failed: {delivery.hook} on {event.type}"
    transaction.on_commit(lambda: mail_admins(subject, body, fail_silently=False), robust=True)


def register() -> None:
    channels.register(Channel(name="webhook", target=webhook_target, settle=health.apply))
    channels.register(Channel(name="hook", target=hook_target, settle=settle_hooks))
