"""An API write serializes its object once: the answer's representation is the event's snapshot when it shows
exactly what a snapshot shows, and the same state."""

import pytest

from media_lifecycle.api import serializers
from tests.lifecycle.conftest import only

pytestmark = pytest.mark.django_db


@pytest.fixture
def representations(monkeypatch):
    """Count how often each media serializer turns an object into its API form (the real method runs)."""
    counts = {}

    def counting(cls):
        real = cls.to_representation

        def to_representation(self, instance):
            if type(self) is cls:
                counts[cls.__name__] = counts.get(cls.__name__, 0) + 1
            return real(self, instance)

        monkeypatch.setattr(cls, "to_representation", to_representation)

    for cls in (serializers.VideoSerializer, serializers.PlaylistSerializer, serializers.LivestreamSerializer):
        counting(cls)
    return counts


def test_an_api_create_and_update_serialize_the_video_once_for_the_answer_and_the_event(staff_api,
                                                                                         representations):
    created = staff_api.post("/api/videos/", {"title": "Once", "tags": ["news"]}, format="json")
    assert created.status_code == 201
    assert representations == {"VideoSerializer": 1}
    event = only("video.created", created.json()["id"])
    assert event.payload["data"] == {"object": "video", **created.json()}

    representations.clear()
    updated = staff_api.patch(f"/api/videos/{created.json()['id']}/", {"title": "Twice?"}, format="json")
    assert updated.status_code == 200
    assert representations == {"VideoSerializer": 1}
    data = only("video.updated", created.json()["id"]).payload["data"]
    assert data["title"] == "Twice?" and data["previous"] == {"title": "Once"} and data["changes"] == ["title"]
    assert {k: v for k, v in data.items() if k not in ("object", "changes", "previous")} == updated.json()


def test_an_answer_showing_more_than_a_snapshot_is_not_reused(staff_api):
    created = staff_api.post("/api/livestreams/", {"title": "Live"}, format="json")
    assert created.status_code == 201 and created.json()["stream_key"]
    data = only("livestream.created", created.json()["id"]).payload["data"]
    assert "stream_key" not in data
    assert data["title"] == "Live"
