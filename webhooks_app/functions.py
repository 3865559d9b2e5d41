"""Function subscribers: Python callables that receive events like webhooks do (after commit, at least once,
retried, logged), as deliveries on the `hook` channel. Each process registers its own at startup (every process
imports the same hook modules), so the registry of the worker that fans an event out decides who receives it."""

import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured, ValidationError

from webhooks_app import conditions
from webhooks_app.models import validate_events, validate_tags

TAG_MATCHES = (conditions.MATCH_ANY, conditions.MATCH_ALL)


class RegistrationError(ImproperlyConfigured):
    """A function subscriber cannot be registered; the message names it."""


@dataclass(frozen=True)
class FunctionSubscriber:
    """A registered callable: `name` (dotted, as Delivery.hook holds it), its events and tag condition."""

    name: str
    func: Callable[[dict], object]
    events: tuple[str, ...]
    tags: tuple[str, ...]
    tag_match: str

    def matches(self, event_type: str, tags) -> bool:
        """The same rule as a webhook's: subscribed to the type, and the tag condition holds."""
        return conditions.subscribes_to(self.events, event_type) and conditions.tags_match(
            list(self.tags), self.tag_match, tags)


_registry: dict[str, FunctionSubscriber] = {}
_lock = threading.Lock()
_generation = 0  # grows with every change, so a process pool can tell that its children's copy is stale


def register(name: str, func, *, events, tags=(), tag_match: str = "any") -> FunctionSubscriber:
    """Register `func` under `name` for `events` (catalog names or ["*"]) and a tag condition, validated like a
    webhook's. The same name with the same function again is a no-op; with another function it is an error."""
    global _generation
    if not isinstance(name, str) or not name.strip():
        raise RegistrationError(f"A function subscriber needs a non-empty name, not {name!r}.")
    if not callable(func):
        raise RegistrationError(f"Hook {name}: {func!r} is not callable.")
    try:
        event_names = validate_events(list(events) if isinstance(events, list | tuple) else events)
    except ValidationError as exc:
        raise RegistrationError(f"Hook {name}: events: {' '.join(exc.messages)}") from None
    try:
        tag_names = validate_tags(list(tags) if isinstance(tags, list | tuple) else tags)
    except ValidationError as exc:
        raise RegistrationError(f"Hook {name}: tags: {' '.join(exc.messages)}") from None
    if tag_match not in TAG_MATCHES:
        raise RegistrationError(f"Hook {name}: tag_match must be 'any' or 'all', not {tag_match!r}.")
    subscriber = FunctionSubscriber(name=name, func=func, events=tuple(event_names), tags=tuple(tag_names),
                                    tag_match=tag_match)
    with _lock:
        existing = _registry.get(name)
        if existing is not None:
            if existing.func is not func:
                raise RegistrationError(f"Hook {name} is already registered with another function "
                                        f"({existing.func!r}).")
            return existing
        _registry[name] = subscriber
        _generation += 1
    return subscriber


def unregister(name: str) -> None:
    """Forget a function subscriber (tests); its pending deliveries are cancelled when their turn comes."""
    global _generation
    with _lock:
        if _registry.pop(name, None) is not None:
            _generation += 1


def registered() -> list[FunctionSubscriber]:
    """Every registered function subscriber, in registration order."""
    return list(_registry.values())


def get(name: str) -> FunctionSubscriber | None:
    """The subscriber registered under `name`, or None."""
    return _registry.get(name)


def generation() -> int:
    """A number that changes whenever the registry does."""
    return _generation
