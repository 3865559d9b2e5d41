"""Archiving unpublishes a video and hides it from anonymous listings; unarchiving restores it, unpublished."""

import pytest
from rest_framework.test import APIClient

from media_lifecycle.models import Video
from tests.processing.conftest import jobs_of, post_callback, processed_transcode, recorded


@pytest.fixture
def published_video(source_video) -> Video:
    post_callback(jobs_of(source_video)["transcode"], processed_transcode())
    source_video.refresh_from_db()
    source_video.publish()
    return source_video


def anonymous_ids() -> list[str]:
    answer = APIClient().get("/api/videos/")
    assert answer.status_code == 200
    return [video["id"] for video in answer.json()["results"]]


@pytest.mark.django_db
def test_archive_unpublishes_hides_and_fires_video_archived(published_video, staff_api):
    assert published_video.pk in anonymous_ids()

    answer = staff_api.post(f"/api/videos/{published_video.pk}/archive/")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["archived"], body["published"], body["status"]) == (True, False, "ready")
    assert body["archived_at"] is not None
    assert published_video.pk not in anonymous_ids()
    assert APIClient().get(f"/api/videos/{published_video.pk}/").status_code == 404
    assert staff_api.get(f"/api/videos/{published_video.pk}/").status_code == 200  # kept, with its history
    assert recorded("video.archived", published_video.pk) == 1
    assert recorded("video.unpublished", published_video.pk) == 1


@pytest.mark.django_db
def test_archived_video_cannot_be_published(published_video, staff_api):
    staff_api.post(f"/api/videos/{published_video.pk}/archive/")

    answer = staff_api.post(f"/api/videos/{published_video.pk}/publish/")

    assert answer.status_code == 409
    assert published_video.pk not in anonymous_ids()


@pytest.mark.django_db
def test_unarchive_restores_unpublished_and_fires_video_unarchived(published_video, staff_api):
    staff_api.post(f"/api/videos/{published_video.pk}/archive/")

    answer = staff_api.post(f"/api/videos/{published_video.pk}/unarchive/")

    assert answer.status_code == 200
    body = answer.json()
    assert (body["archived"], body["archived_at"], body["published"]) == (False, None, False)
    assert recorded("video.unarchived", published_video.pk) == 1
    assert recorded("video.published", published_video.pk) == 1  # only the original publish
    assert published_video.pk not in anonymous_ids()

    assert staff_api.post(f"/api/videos/{published_video.pk}/publish/").status_code == 200
    assert published_video.pk in anonymous_ids()


@pytest.mark.django_db
def test_archiving_twice_fires_once(published_video, staff_api):
    staff_api.post(f"/api/videos/{published_video.pk}/archive/")
    answer = staff_api.post(f"/api/videos/{published_video.pk}/archive/")

    assert answer.status_code == 200
    assert recorded("video.archived", published_video.pk) == 1


@pytest.mark.django_db
def test_archived_video_is_not_auto_published_when_processing_ends(source_video, staff_api):
    source_video.auto_publish = True
    source_video.save()
    staff_api.post(f"/api/videos/{source_video.pk}/archive/")

    post_callback(jobs_of(source_video)["transcode"], processed_transcode())

    source_video.refresh_from_db()
    assert (source_video.status, source_video.published, source_video.archived) == ("ready", False, True)
    assert recorded("video.published", source_video.pk) == 0


@pytest.mark.django_db
def test_video_refreshed_from_the_database_then_published_records_only_the_publish(source_video):
    post_callback(jobs_of(source_video)["transcode"], processed_transcode())  # another "process" made it ready
    source_video.refresh_from_db()

    source_video.publish()

    assert recorded("video.published", source_video.pk) == 1
    assert recorded("video.ready", source_video.pk) == 1
