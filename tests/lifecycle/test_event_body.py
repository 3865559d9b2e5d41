"""The recorded body (SPEC §6): compact UTF-8 JSON with id, type, timestamp (ms, Z) and data, frozen when the
event is recorded."""

import json
import re

import pytest

from media_lifecycle.models import Tag, Video
from tests.lifecycle.conftest import only, recorded
from webhooks_app.events import isoformat
from webhooks_app.models import Event

pytestmark = pytest.mark.django_db

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
def event(staff_api) -> Event:
    answer = staff_api.post("/api/videos/", {"title": "Café “quoted”", "tags": ["news"],
                                             "metadata": {"series": "A, B: C"}}, format="json")
    assert answer.status_code == 201
    return only("video.created", answer.json()["id"])


def test_the_body_is_compact_utf8_json(event):
    body = bytes(event.body)
    parsed = json.loads(body.decode("utf-8"))

    assert body == json.dumps(parsed, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert "Café “quoted”".encode() in body
    assert b'"metadata":{"series":"A, B: C"}' in body


def test_the_body_has_id_type_timestamp_and_data(event):
    payload = event.payload

    assert list(payload) == ["id", "type", "timestamp", "data"]
    assert payload["id"] == event.pk and payload["id"].startswith("evt_")
    assert payload["type"] == "video.created"
    assert TIMESTAMP.match(payload["timestamp"]), payload["timestamp"]
    assert payload["timestamp"] == isoformat(event.timestamp)
    assert payload["data"]["object"] == "video"
    assert payload["data"]["revision"] == 1
    assert event.object_type == "video" and event.object_id == payload["data"]["id"]


def test_every_update_body_carries_the_revision_and_changes(event):
    video = Video.objects.get(pk=event.object_id)
    video.description = "More"
    video.save()

    update = recorded(video.pk)[-1]

    assert update.type == "video.updated"
    assert update.payload["data"]["revision"] == 2
    assert update.payload["data"]["changes"] == ["description"]
    assert update.payload["data"]["previous"] == {"description": ""}


def test_the_body_is_frozen_when_recorded(event):
    frozen = bytes(event.body)
    video = Video.objects.get(pk=event.object_id)

    video.title = "Renamed"
    video.save()
    video.tags.add(Tag.objects.create(name="sport"))
    video.delete()

    assert bytes(Event.objects.get(pk=event.pk).body) == frozen
    assert Event.objects.get(pk=event.pk).payload["data"]["title"] == "Café “quoted”"
