"""Channels: who a delivery goes to and what its outcome changes. Webhooks are the built-in channel; other
apps register theirs (processing requests) so every outbound signed POST shares one engine."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from webhooks_app.models import Delivery
from webhooks_app.sending import SendResult


@dataclass
class Target:
    """Where and how to send: the URL, the signing secrets (current first), extra headers, the guard."""

    url: str
    secrets: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    guarded: bool = True


@dataclass
class Outcome:
    """A finished attempt as the relay judged it: final means no attempt follows; gone means HTTP 410."""

    delivery: Delivery
    result: SendResult
    final: bool
    gone: bool = False


@dataclass
class Channel:
    """`target` gives a Target, or a string saying why the delivery is cancelled instead;
    `settle` applies a batch of outcomes inside the transaction that records them."""

    name: str
    target: Callable[[Delivery], "Target | str"]
    settle: Callable[[list[Outcome]], None]
    retry_on_gone: bool = False


_registry: dict[str, Channel] = {}


def register(channel: Channel) -> None:
    _registry[channel.name] = channel


def get(name: str) -> Channel:
    return _registry[name]


def webhook_target(delivery: Delivery) -> "Target | str":
    webhook = delivery.webhook
    if webhook is None:
        return "the webhook no longer exists"
    if not webhook.is_active and not delivery.is_test:
        return "the webhook is disabled"
    return Target(url=webhook.url, secrets=webhook.signing_secrets(), headers=dict(webhook.headers or {}),
                  guarded=not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS)


def _settle_webhooks(outcomes: list[Outcome]) -> None:
    from webhooks_app import health

    health.apply(outcomes)


register(Channel(name="webhook", target=webhook_target, settle=_settle_webhooks))
