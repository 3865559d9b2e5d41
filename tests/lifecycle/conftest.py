"""Lifecycle test fixtures: the recorded events read back from the outbox, and webhooks with tag conditions."""

import pytest

from webhooks_app.models import Event, Webhook

# Webhooks here are never called: deliveries are only recorded, and the test transaction never commits.
UNUSED_URL = "http://127.0.0.1:9/hook"
ALL = object()


def recorded(object_id=ALL, *, prefix: str = "") -> list[Event]:
    """Public events (no processing requests), in the order they were recorded, optionally for one object."""
    events = Event.objects.filter(internal=False).order_by("timestamp", "id")
    if object_id is not ALL:
        assert object_id is not None, "no id: Django clears an instance's pk when it is deleted"
        events = events.filter(object_id=str(object_id))
    if prefix:
        events = events.filter(type__startswith=prefix)
    return list(events)


def types(object_id=ALL, *, prefix: str = "") -> list[str]:
    """Just the types of `recorded(...)`, for comparing sequences."""
    return [event.type for event in recorded(object_id, prefix=prefix)]


def only(event_type: str, object_id=ALL) -> Event:
    """The one event of `event_type` (for `object_id`); fails when there are none or several."""
    matches = [event for event in recorded(object_id) if event.type == event_type]
    assert len(matches) == 1, f"expected one {event_type}, got {[e.type for e in recorded(object_id)]}"
    return matches[0]


@pytest.fixture
def make_webhook():
    """Create an active webhook subscribed to `events` with an optional tag condition."""

    def make(events=("*",), tags=(), tag_match: str = "any") -> Webhook:
        return Webhook.objects.create(url=UNUSED_URL, events=list(events), tags=list(tags), tag_match=tag_match)

    return make
