"""Reprocessing: a new run is the only way out of `failed`; superseded runs and an editor's poster stay put."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from media_lifecycle.models import ProcessingJob, Video
from tests.processing.conftest import (
    PROCESSOR_SECRET,
    jobs_of,
    post_callback,
    processed_thumbnail,
    processed_transcode,
    recorded,
    standard_verifier,
    video_state,
)
from webhooks_app.models import Delivery


def create(staff_api, title: str, **extra):
    return staff_api.post("/api/videos/", {"title": title, "source_url": "https://media.example.com/r.mp4", **extra},
                          format="json")


def failed_video(staff_api, committed) -> Video:
    with committed():
        answer = create(staff_api, "Retry me")
    video = Video.objects.get(pk=answer.json()["id"])
    post_callback(jobs_of(video)["transcode"], {"status": "failed", "errorMessage": "decoder crashed"})
    video.refresh_from_db()
    assert video.status == "failed"
    return video


@pytest.mark.django_db
def test_reprocess_of_a_failed_video_starts_a_new_run_that_reaches_processing(processor, staff_api, committed):
    video = failed_video(staff_api, committed)
    sent_before = len(processor.requests)

    with committed():
        answer = staff_api.post(f"/api/videos/{video.pk}/reprocess/")

    assert answer.status_code == 200, answer.json()
    video.refresh_from_db()
    assert video.processing_run == 2
    assert (video.status, video.error_message) == ("processing", "")
    new_jobs = jobs_of(video)
    assert set(new_jobs) == {"transcode", "thumbnail"}
    assert {job.status for job in new_jobs.values()} == {ProcessingJob.Status.ACCEPTED}
    assert ProcessingJob.objects.filter(video=video).count() == 4
    bodies = [standard_verifier(PROCESSOR_SECRET).verify(r.body, r.headers) for r in processor.requests[sent_before:]]
    assert {body["jobId"] for body in bodies} == {job.pk for job in new_jobs.values()}
    assert recorded("video.processing", video.pk) == 2

    post_callback(new_jobs["transcode"], processed_transcode())
    video.refresh_from_db()
    assert video.status == "ready"


@pytest.mark.django_db
def test_failed_video_cannot_be_moved_to_processing_except_by_reprocess(processor, staff_api, committed):
    video = failed_video(staff_api, committed)
    jobs = jobs_of(video)
    before = video_state(video)

    patched = staff_api.patch(f"/api/videos/{video.pk}/", {"status": "processing"}, format="json")
    late_progress = post_callback(jobs["transcode"], {"status": "progress", "progress": 50})
    thumbnail = post_callback(jobs["thumbnail"], {"status": "progress", "progress": 50})

    assert patched.status_code == 400
    assert "reprocess" in patched.json()["status"][0]
    assert late_progress.status_code == 200
    assert thumbnail.status_code == 200
    video.refresh_from_db()
    assert (video.status, video.error_message) == ("failed", "decoder crashed")
    assert video_state(video)["video"] == before["video"]


@pytest.mark.django_db
def test_reprocess_of_a_ready_video_goes_back_to_processing_then_ready(processor, staff_api, committed):
    with committed():
        video = Video.objects.get(pk=create(staff_api, "Again").json()["id"])
    post_callback(jobs_of(video)["transcode"], processed_transcode())

    with committed():
        assert staff_api.post(f"/api/videos/{video.pk}/reprocess/").status_code == 200
    video.refresh_from_db()
    assert video.status == "processing"
    post_callback(jobs_of(video)["transcode"], processed_transcode(width=640, height=360))
    video.refresh_from_db()
    assert (video.status, video.width) == ("ready", 640)
    assert recorded("video.ready", video.pk) == 2


@pytest.mark.django_db
def test_reprocess_without_a_source_is_409(staff_api):
    video = Video.objects.create(title="Empty")
    before = video_state(video)

    answer = staff_api.post(f"/api/videos/{video.pk}/reprocess/")

    assert answer.status_code == 409
    assert answer.json()["status"] == "uploaded"
    assert "source" in answer.json()["detail"]
    assert video_state(video) == before


@pytest.mark.django_db
def test_video_without_a_source_stays_uploaded_with_no_jobs(staff_api):
    answer = staff_api.post("/api/videos/", {"title": "Draft"}, format="json")

    video = Video.objects.get(pk=answer.json()["id"])
    assert video.status == "uploaded"
    assert not ProcessingJob.objects.filter(video=video).exists()


@pytest.fixture
def superseded(processor, staff_api, committed) -> tuple[Video, dict[str, ProcessingJob]]:
    """A video being processed in its second run, and the jobs of its first."""
    with committed():
        video = Video.objects.get(pk=create(staff_api, "Twice").json()["id"])
    old = jobs_of(video)
    with committed():
        staff_api.post(f"/api/videos/{video.pk}/reprocess/")
    video.refresh_from_db()
    assert (video.processing_run, video.status) == (2, "processing")
    return video, old


@pytest.mark.django_db
def test_callback_for_a_superseded_run_does_not_change_the_video(superseded):
    video, old = superseded
    before = video_state(video)["video"]

    done = post_callback(old["transcode"], processed_transcode())
    thumb = post_callback(old["thumbnail"], processed_thumbnail("https://cdn.example.com/old.jpg"))

    assert (done.status_code, thumb.status_code) == (200, 200)
    assert done.json()["status"] == "processing"
    assert video_state(video)["video"] == before
    old["transcode"].refresh_from_db()
    assert old["transcode"].status == "succeeded"  # the job keeps its record
    assert recorded("video.ready", video.pk) == 0


@pytest.mark.django_db
def test_superseded_run_failure_does_not_fail_the_video(superseded):
    video, old = superseded

    post_callback(old["transcode"], {"status": "failed", "errorMessage": "old run"})

    video.refresh_from_db()
    assert (video.status, video.error_message) == ("processing", "")


@pytest.mark.django_db
def test_reprocess_of_an_archived_video_is_409(source_video, staff_api):
    source_video.archive()

    answer = staff_api.post(f"/api/videos/{source_video.pk}/reprocess/")

    assert answer.status_code == 409
    assert "archived" in answer.json()["detail"]


def poster_bytes() -> bytes:
    image = Image.new("RGB", (64, 48))
    for x in range(64):
        for y in range(48):
            image.putpixel((x, y), (x * 4, y * 5, 128))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_editor_poster_wins_over_thumbnail_callbacks_and_reprocessing(processor, staff_api):
    poster = SimpleUploadedFile("poster.png", poster_bytes(), content_type="image/png")
    answer = staff_api.post("/api/videos/", {"title": "Postered", "source_url": "https://media.example.com/p.mp4",
                                             "poster": poster}, format="multipart")
    assert answer.status_code == 201, answer.json()
    poster_url = answer.json()["thumbnail_url"]
    assert "/media/posters/" in poster_url
    video = Video.objects.get(pk=answer.json()["id"])

    post_callback(jobs_of(video)["thumbnail"], processed_thumbnail("https://cdn.example.com/auto.jpg"))
    post_callback(jobs_of(video)["transcode"], processed_transcode(thumbnailUrl="https://cdn.example.com/t.jpg"))
    assert staff_api.get(f"/api/videos/{video.pk}/").json()["thumbnail_url"] == poster_url

    staff_api.post(f"/api/videos/{video.pk}/reprocess/")
    post_callback(jobs_of(video)["thumbnail"], processed_thumbnail("https://cdn.example.com/auto2.jpg"))
    post_callback(jobs_of(video)["transcode"], processed_transcode())

    shown = staff_api.get(f"/api/videos/{video.pk}/").json()
    assert (shown["status"], shown["thumbnail_url"]) == ("ready", poster_url)
    for event in ("video.ready", "video.updated"):
        assert recorded(event, video.pk) >= 1


@pytest.mark.django_db
def test_a_thumbnail_callback_leaves_a_postered_video_untouched(staff_api):
    poster = SimpleUploadedFile("poster.png", poster_bytes(), content_type="image/png")
    answer = staff_api.post("/api/videos/", {"title": "Postered", "source_url": "https://media.example.com/p.mp4",
                                             "poster": poster}, format="multipart")
    video = Video.objects.get(pk=answer.json()["id"])
    before = video_state(video)["video"]

    assert post_callback(jobs_of(video)["thumbnail"], processed_thumbnail()).status_code == 200

    after = video_state(video)["video"]
    assert (after["thumbnail_url"], after["revision"]) == (before["thumbnail_url"], before["revision"])


@pytest.mark.django_db
def test_reprocessing_before_the_processor_accepted_cancels_the_earlier_requests(source_video, staff_api):
    first = jobs_of(source_video)

    assert staff_api.post(f"/api/videos/{source_video.pk}/reprocess/").status_code == 200

    for job in first.values():
        job.refresh_from_db()
        job.request.refresh_from_db()
        assert job.status == ProcessingJob.Status.FAILED
        assert "superseded" in job.error_message
        assert job.request.status == Delivery.Status.CANCELLED
    second = jobs_of(source_video)
    assert {job.request.status for job in second.values()} == {Delivery.Status.PENDING}


@pytest.mark.django_db
def test_deleting_a_video_cancels_its_pending_processing_requests(source_video, staff_api):
    requests = [job.request_id for job in jobs_of(source_video).values()]

    assert staff_api.delete(f"/api/videos/{source_video.pk}/").status_code == 204

    statuses = set(Delivery.objects.filter(pk__in=requests).values_list("status", flat=True))
    assert statuses == {Delivery.Status.CANCELLED}
