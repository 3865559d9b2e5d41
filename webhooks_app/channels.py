"""Channels: who a delivery goes to and what its outcome changes. Each is registered from an AppConfig.ready()
(webhooks and function subscribers by this app, processing requests by the media app), so every outbound
message shares one relay, one attempt log and one retry schedule."""

from collections.abc import Callable
from dataclasses import dataclass, field

from webhooks_app.models import Delivery
from webhooks_app.results import Attempt


@dataclass
class Target:
    """Where and how to send: the URL, the signing secrets (current first), extra headers, the guard."""

    url: str
    secrets: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    guarded: bool = True


@dataclass(frozen=True)
class Call:
    """A function subscriber to call in the hook runner, by its registered name."""

    hook: str


@dataclass
class Outcome:
    """A finished attempt as the relay judged it: final means no attempt follows; gone means HTTP 410."""

    delivery: Delivery
    result: Attempt
    final: bool
    gone: bool = False


@dataclass
class Channel:
    """`target` gives a Target (an HTTP POST), a Call (a function subscriber), or a string saying why the delivery
    is cancelled instead; `settle` applies a batch of outcomes inside the transaction that records them."""

    name: str
    target: Callable[[Delivery], "Target | Call | str"]
    settle: Callable[[list[Outcome]], None]
    retry_on_gone: bool = False


_registry: dict[str, Channel] = {}


def register(channel: Channel) -> None:
    """Add or replace a channel (from AppConfig.ready())."""
    _registry[channel.name] = channel


def get(name: str) -> Channel:
    """The channel a delivery names; a KeyError means its app is not installed."""
    return _registry[name]
