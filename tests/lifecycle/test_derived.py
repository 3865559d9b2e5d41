"""Derived events: a status, publish or archive change fires its own event beside `*.updated`, in order."""

import pytest

from media_lifecycle import lifecycle
from media_lifecycle.models import Livestream, Video
from tests.lifecycle.conftest import recorded, types

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_video():
    return Video.objects.create(title="Ready", status="ready")


def _new_types(object_id, since: int) -> list[str]:
    return types(object_id)[since:]


@pytest.mark.parametrize("steps, expected", [
    (["publish"], [["video.updated", "video.published"]]),
    (["publish", "unpublish"], [["video.updated", "video.published"], ["video.updated", "video.unpublished"]]),
    (["archive", "unarchive"], [["video.updated", "video.archived"], ["video.updated", "video.unarchived"]]),
    (["publish", "archive"], [["video.updated", "video.published"],
                              ["video.updated", "video.unpublished", "video.archived"]]),
])
def test_api_actions_fire_an_update_and_the_derived_event(staff_api, ready_video, steps, expected):
    for step, step_types in zip(steps, expected, strict=True):
        since = len(recorded(ready_video.pk))

        answer = staff_api.post(f"/api/videos/{ready_video.pk}/{step}/")

        assert answer.status_code == 200, answer.json()
        assert _new_types(ready_video.pk, since) == step_types
        bodies = {event.payload["data"]["revision"] for event in recorded(ready_video.pk)[since:]}
        assert bodies == {answer.json()["revision"]}


def test_publishing_a_published_video_again_fires_nothing(staff_api, ready_video):
    assert staff_api.post(f"/api/videos/{ready_video.pk}/publish/").status_code == 200
    since = len(recorded(ready_video.pk))

    assert staff_api.post(f"/api/videos/{ready_video.pk}/publish/").status_code == 200

    assert _new_types(ready_video.pk, since) == []


def test_the_derived_event_carries_the_changes_and_previous_values(staff_api, ready_video):
    since = len(recorded(ready_video.pk))

    staff_api.post(f"/api/videos/{ready_video.pk}/publish/")

    updated, published = recorded(ready_video.pk)[since:]
    assert updated.payload["data"] == published.payload["data"]
    data = published.payload["data"]
    assert sorted(data["changes"]) == ["published", "published_at"]
    assert data["previous"] == {"published": False, "published_at": None}
    assert data["published"] is True and data["published_at"]


def test_livestream_start_and_end_fire_an_update_and_started_or_ended(staff_api):
    stream = Livestream.objects.create(title="Live")

    for step, derived, status in (("start", "livestream.started", "live"), ("end", "livestream.ended", "ended")):
        since = len(recorded(stream.pk))

        answer = staff_api.post(f"/api/livestreams/{stream.pk}/{step}/", {}, format="json")

        assert answer.status_code == 200, answer.json()
        assert _new_types(stream.pk, since) == ["livestream.updated", derived]
        data = recorded(stream.pk)[-1].payload["data"]
        assert data["status"] == status
        assert "status" in data["changes"]


def test_status_steps_in_one_unit_fire_one_update_and_each_status_event_in_order():
    video = Video.objects.create(title="Processed")
    since = len(recorded(video.pk))

    with lifecycle.unit_of_work():
        video.status = "processing"
        video.save()
        video.status = "ready"
        video.save()

    assert _new_types(video.pk, since) == ["video.updated", "video.processing", "video.ready"]
    data = recorded(video.pk)[-1].payload["data"]
    assert data["status"] == "ready"
    assert data["changes"] == ["status"]
    assert data["previous"] == {"status": "uploaded"}


def test_a_status_changed_and_changed_back_in_one_unit_fires_nothing():
    video = Video.objects.create(title="Flip", status="ready")
    since = len(recorded(video.pk))

    with lifecycle.unit_of_work():
        video.title = "Flop"
        video.save()
        video.title = "Flip"
        video.save()

    assert _new_types(video.pk, since) == []
