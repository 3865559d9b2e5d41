"""The whole processing loop over real HTTP: signed requests to a local fake processor, signed callbacks back,
the video's status machine, and the lifecycle webhooks a subscriber receives on the way."""

import pytest
from django.conf import settings
from standardwebhooks.webhooks import WebhookVerificationError

from media_lifecycle.models import ProcessingJob, Video
from tests.processing.conftest import (
    PROCESSOR_SECRET,
    event_types,
    jobs_of,
    post_callback,
    processed_thumbnail,
    processed_transcode,
    recorded,
    standard_verifier,
)
from webhooks_app.signing import plain_signature

SOURCE = "https://media.example.com/uploads/keynote.mp4"


def create_video(staff_api, **fields) -> Video:
    answer = staff_api.post("/api/videos/", {"title": "Keynote", "source_url": SOURCE, **fields}, format="json")
    assert answer.status_code == 201, answer.json()
    return Video.objects.get(pk=answer.json()["id"])


@pytest.fixture
def accepted_video(processor, staff_api, committed) -> Video:
    """A video created over the API whose requests the fake processor accepted (on commit)."""
    with committed():
        video = create_video(staff_api)
    video.refresh_from_db()
    assert video.status == "processing"
    return video


@pytest.mark.django_db(transaction=True)
def test_creating_a_video_sends_two_signed_camelcase_requests_to_the_processor(processor, staff_api):
    video = create_video(staff_api, metadata={"series": "launch"})

    requests = processor.wait_for(2)
    assert len(requests) == 2
    verifier = standard_verifier(PROCESSOR_SECRET)
    bodies = {}
    for request in requests:
        assert request.method == "POST"
        assert request.header("Content-Type") == "application/json"
        assert request.header("User-Agent") == settings.WEBHOOK_USER_AGENT
        assert request.header("X-Signature") == plain_signature(PROCESSOR_SECRET, request.body)
        body = verifier.verify(request.body, request.headers)  # the reference library, on the bytes sent
        assert request.header("webhook-id").startswith("evt_")
        bodies[body["task"]] = body
    jobs = jobs_of(video)
    transcode, thumbnail = bodies["transcode"], bodies["thumbnail"]
    base = settings.PUBLIC_BASE_URL
    assert transcode == {
        "jobId": jobs["transcode"].pk,
        "task": "transcode",
        "videoId": video.pk,
        "videoUrl": SOURCE,
        "metadata": {"title": "Keynote", "mimeType": None, "sizeBytes": None},
        "format": "mp4",
        "quality": "high",
        "renditions": list(settings.PROCESSING_RENDITIONS),
        "callbackUrl": f"{base}/api/callbacks/processing/{jobs['transcode'].pk}/",
    }
    assert thumbnail == {
        "jobId": jobs["thumbnail"].pk,
        "task": "thumbnail",
        "videoId": video.pk,
        "videoUrl": SOURCE,
        "timestamp": settings.THUMBNAIL_TIMESTAMP,
        "callbackUrl": f"{base}/api/callbacks/processing/{jobs['thumbnail'].pk}/",
    }


@pytest.mark.django_db
def test_processor_request_signed_with_another_secret_fails_reference_verification(accepted_video, processor):

    request = processor.wait_for(1)[0]
    with pytest.raises(WebhookVerificationError):
        standard_verifier("some-other-secret-0123456789").verify(request.body, request.headers)


@pytest.mark.django_db(transaction=True)
def test_uploaded_file_is_sent_as_an_absolute_public_media_url(processor, staff_api, clip_bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("clip.mp4", clip_bytes, content_type="video/mp4")
    answer = staff_api.post("/api/videos/", {"title": "Clip", "file": upload}, format="multipart")
    assert answer.status_code == 201, answer.json()

    bodies = [standard_verifier(PROCESSOR_SECRET).verify(r.body, r.headers) for r in processor.wait_for(2)]
    video = Video.objects.get(pk=answer.json()["id"])
    expected = settings.PUBLIC_BASE_URL + settings.MEDIA_URL + video.file.name
    assert {body["videoUrl"] for body in bodies} == {expected}
    transcode = next(body for body in bodies if body["task"] == "transcode")
    assert transcode["metadata"] == {"title": "Clip", "mimeType": "video/mp4", "sizeBytes": len(clip_bytes)}


@pytest.mark.django_db(transaction=True)
def test_accepted_transcode_moves_the_video_to_processing_once(processor, staff_api):
    video = create_video(staff_api)

    video.refresh_from_db()
    assert video.status == "processing"
    jobs = jobs_of(video)
    assert {job.status for job in jobs.values()} == {ProcessingJob.Status.ACCEPTED}
    assert recorded("video.processing", video.pk) == 1


@pytest.mark.django_db(transaction=True)
def test_full_loop_ends_ready_published_and_subscriber_hears_every_step(processor, subscriber, staff_api):
    # Given a subscriber to "*" and a video that publishes itself when ready
    video = create_video(staff_api, auto_publish=True)
    jobs = jobs_of(video)

    # When the processor reports progress, then the thumbnail, then the transcode
    assert post_callback(jobs["transcode"], {"status": "progress", "progress": 42}).status_code == 200
    jobs["transcode"].refresh_from_db()
    assert jobs["transcode"].progress == 42
    answer = post_callback(jobs["thumbnail"], processed_thumbnail())
    assert answer.status_code == 200, answer.json()
    answer = post_callback(jobs["transcode"], processed_transcode())

    # Then the video is ready, published, and carries the results
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {"job": jobs["transcode"].pk, "video": video.pk, "status": "ready"}
    video.refresh_from_db()
    assert video.status == "ready"
    assert video.published and video.published_at is not None
    assert video.processed_url == "https://cdn.example.com/out/720p.mp4"
    assert video.renditions == [
        {"quality": "720p", "format": "mp4", "url": "https://cdn.example.com/out/720p.mp4", "size_bytes": 123456,
         "width": None, "height": None, "bitrate_kbps": None},
        {"quality": "480p", "format": "mp4", "url": "https://cdn.example.com/out/480p.mp4", "size_bytes": 65432,
         "width": None, "height": None, "bitrate_kbps": None},
    ]
    assert video.hls_url == ""  # an external processor that sends no hlsUrl: players use the MP4 renditions
    assert (video.duration_seconds, video.width, video.height) == (12.5, 1280, 720)
    assert video.thumbnail_url == "https://cdn.example.com/out/thumb.jpg"
    assert video.error_message == ""
    api_view = staff_api.get(f"/api/videos/{video.pk}/").json()
    assert api_view["renditions"][0]["size_bytes"] == 123456
    assert api_view["thumbnail_url"] == "https://cdn.example.com/out/thumb.jpg"

    # And the subscriber received each lifecycle step, signed
    received = event_types(subscriber, subscriber.webhook.secret)
    for expected in ("video.created", "video.processing", "video.ready", "video.published"):
        assert received.count(expected) == 1, received
    assert received.index("video.created") < received.index("video.processing")
    assert {"processing.request", "processing.callback"}.isdisjoint(received)


@pytest.mark.django_db
def test_processed_thumbnail_sets_thumbnail_url_without_touching_status(accepted_video):
    video = accepted_video

    answer = post_callback(jobs_of(video)["thumbnail"], processed_thumbnail("https://cdn.example.com/t.jpg"))

    assert answer.status_code == 200
    video.refresh_from_db()
    assert video.thumbnail_url == "https://cdn.example.com/t.jpg"
    assert video.status == "processing"
    assert recorded("video.ready", video.pk) == 0


@pytest.mark.django_db
def test_transcode_callback_thumbnail_url_sets_thumbnail(accepted_video):
    video = accepted_video

    post_callback(jobs_of(video)["transcode"], processed_transcode(thumbnailUrl="https://cdn.example.com/t2.jpg"))

    video.refresh_from_db()
    assert (video.status, video.thumbnail_url) == ("ready", "https://cdn.example.com/t2.jpg")


@pytest.mark.django_db(transaction=True)
def test_failed_transcode_fails_the_video_with_the_processor_reason(processor, subscriber, staff_api):
    video = create_video(staff_api)

    answer = post_callback(jobs_of(video)["transcode"], {"status": "failed", "errorMessage": "codec not supported"})

    assert answer.status_code == 200
    assert answer.json()["status"] == "failed"
    video.refresh_from_db()
    assert (video.status, video.error_message) == ("failed", "codec not supported")
    job = jobs_of(video)["transcode"]
    assert (job.status, job.error_message) == ("failed", "codec not supported")
    received = event_types(subscriber, subscriber.webhook.secret)
    assert received.count("video.failed") == 1
    assert "video.ready" not in received


@pytest.mark.django_db
def test_failed_thumbnail_never_fails_the_video(accepted_video):
    video = accepted_video
    jobs = jobs_of(video)

    answer = post_callback(jobs["thumbnail"], {"status": "failed", "errorMessage": "no frame at 00:00:10"})
    assert answer.status_code == 200
    video.refresh_from_db()
    assert (video.status, video.error_message) == ("processing", "")
    jobs["thumbnail"].refresh_from_db()
    assert jobs["thumbnail"].status == "failed"

    post_callback(jobs["transcode"], processed_transcode())
    video.refresh_from_db()
    assert video.status == "ready"
    assert recorded("video.failed", video.pk) == 0


@pytest.mark.django_db
def test_progress_is_stored_on_the_job_and_changes_nothing_else(accepted_video):
    video = accepted_video
    revision = Video.objects.get(pk=video.pk).revision
    events_before = recorded("video.updated", video.pk)

    answer = post_callback(jobs_of(video)["transcode"], {"status": "progress", "progress": 66.6})

    assert answer.status_code == 200
    assert jobs_of(video)["transcode"].progress == 67
    video.refresh_from_db()
    assert (video.status, video.revision) == ("processing", revision)
    assert recorded("video.updated", video.pk) == events_before
