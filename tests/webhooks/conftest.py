"""Fixtures for the webhook engine: webhooks pointing at real receivers, and recording events the way the
media app does (inside a transaction, delivered by the on-commit wake-up, which drains inline in tests)."""


import pytest
from django.db import transaction
from django_q.conf import Conf

from tests.receiver import Receiver
from webhooks_app import events
from webhooks_app.models import Event, Webhook


def video(tags=(), **fields) -> dict:
    """A small video snapshot, as the media app would record it (with a non-ASCII title)."""
    return {"object": "video", "id": "vid_test", "revision": 3, "status": "ready", "title": "Café ✓",
            "tags": list(tags), **fields}


@pytest.fixture
def make_webhook(db):
    def make(url: str, *, events=("*",), **fields) -> Webhook:
        return Webhook.objects.create(url=url, events=list(events), **fields)

    return make


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    """Record one event in its own transaction, then run what its commit triggers (the inline drain, mail)."""

    def record(event_type: str = "video.ready", data: dict | None = None, *, tags=(), **kwargs) -> Event:
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                event = events.record(event_type, data if data is not None else video(tags), tags=tags, **kwargs)
        return event

    return record


@pytest.fixture
def other_receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def admins(settings):
    settings.ADMINS = [("Ops", "ops@example.com")]
    return settings.ADMINS


@pytest.fixture
def broker_wakeups(monkeypatch):
    """Send on-commit wake-ups through the real broker (ORM or Redis) to worker processes, not inline."""
    monkeypatch.setattr(Conf, "SYNC", False)
