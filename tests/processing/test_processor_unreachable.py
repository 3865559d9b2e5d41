"""A processor that is down, broken or hanging: the request is retried on the webhook schedule, and when the
retries are spent the job fails, the video fails with "processor unreachable: …", and system.error fires."""

import json
import socket
import threading
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from media_lifecycle.models import ProcessingJob, Video
from tests.media.conftest import make_ready
from tests.processing.conftest import event_types, jobs_of, recorded
from tests.receiver import Answer
from webhooks_app import relay
from webhooks_app.models import Delivery, Event


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/jobs"


def create_video(staff_api) -> Video:
    answer = staff_api.post("/api/videos/", {"title": "Doomed", "source_url": "https://media.example.com/a.mp4"},
                            format="json")
    assert answer.status_code == 201, answer.json()
    return Video.objects.get(pk=answer.json()["id"])


def assert_unreachable(video: Video, reason_start: str, attempts: int) -> None:
    video.refresh_from_db()
    assert video.status == "failed"
    assert video.error_message.startswith("processor unreachable: " + reason_start), video.error_message
    jobs = jobs_of(video)
    transcode = jobs["transcode"]
    assert transcode.status == ProcessingJob.Status.FAILED
    assert transcode.error_message == video.error_message
    assert transcode.request.status == Delivery.Status.FAILED
    assert transcode.request.attempt_count == attempts
    assert recorded("video.failed", video.pk) == 1
    errors = [json.loads(bytes(event.body))["data"] for event in Event.objects.filter(type="system.error")]
    by_job = {error["job"]["id"]: error for error in errors}
    assert by_job[transcode.pk]["job"] == {"id": transcode.pk, "task": "transcode", "video": video.pk}
    assert by_job[transcode.pk]["reason"] == video.error_message


@pytest.mark.django_db(transaction=True)
def test_closed_port_fails_the_video_after_the_retries(staff_api, settings, subscriber):
    settings.PROCESSOR_URL = closed_port_url()
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 0]

    video = create_video(staff_api)

    assert_unreachable(video, "connection error:", attempts=3)
    thumbnail = jobs_of(video)["thumbnail"]
    assert thumbnail.status == ProcessingJob.Status.FAILED
    assert recorded("system.error") == 2  # one per job; the thumbnail's does not touch the video
    received = event_types(subscriber, subscriber.webhook.secret)
    assert received.count("system.error") == 2
    assert received.count("video.failed") == 1
    assert "video.processing" not in received


@pytest.mark.django_db(transaction=True)
def test_processor_answering_500_fails_the_video_with_the_http_error(receiver, staff_api, settings):
    receiver.always(Answer(status=500, body=b"processor exploded"))
    settings.PROCESSOR_URL = receiver.url
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 0]

    video = create_video(staff_api)

    assert_unreachable(video, "HTTP 500: processor exploded", attempts=3)
    assert len(receiver.requests) == 6  # 3 attempts × 2 jobs, all signed with the same webhook-id per job
    ids = {request.header("webhook-id") for request in receiver.requests}
    assert len(ids) == 2


@pytest.mark.django_db(transaction=True)
def test_hanging_processor_times_out_and_fails_the_video(receiver, staff_api, settings):
    release = threading.Event()
    receiver.always(Answer(status=202, hang=release))
    settings.PROCESSOR_URL = receiver.url
    settings.WEBHOOK_RETRY_SCHEDULE = [0]
    settings.WEBHOOK_TIMEOUT = 0.5
    try:
        video = create_video(staff_api)
    finally:
        release.set()

    assert_unreachable(video, "timed out after 0.5 s", attempts=2)


@pytest.mark.django_db(transaction=True)
def test_requests_are_retried_on_the_schedule_and_the_video_waits_meanwhile(receiver, staff_api, settings):
    receiver.always(Answer(status=503, body=b"busy"))
    settings.PROCESSOR_URL = receiver.url
    settings.WEBHOOK_RETRY_SCHEDULE = [5, 300]

    with time_machine.travel(timezone.now(), tick=True) as clock:
        video = create_video(staff_api)  # the first attempt of each job, on commit
        assert len(receiver.requests) == 2
        transcode = jobs_of(video)["transcode"]
        assert (transcode.status, transcode.request.attempt_count) == ("pending", 1)

        clock.shift(timedelta(seconds=4))
        assert relay.drain() == 0  # not due yet: never early
        clock.shift(timedelta(seconds=1.5))
        assert relay.drain() == 2
        video.refresh_from_db()
        assert (video.status, video.error_message) == ("uploaded", "")

        clock.shift(timedelta(seconds=299))
        assert relay.drain() == 0
        clock.shift(timedelta(seconds=1.5))
        assert relay.drain() == 2

    assert len(receiver.requests) == 6
    assert_unreachable(video, "HTTP 503: busy", attempts=3)


@pytest.mark.django_db(transaction=True)
def test_processor_recovering_before_the_last_attempt_accepts_the_job(receiver, staff_api, settings):
    receiver.answer(Answer(status=500), Answer(status=500)).always(Answer(status=202))
    settings.PROCESSOR_URL = receiver.url
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 0]

    video = create_video(staff_api)

    video.refresh_from_db()
    assert (video.status, video.error_message) == ("processing", "")
    assert recorded("system.error") == 0
    assert recorded("video.processing", video.pk) == 1


@pytest.mark.django_db(transaction=True)
def test_reprocess_of_a_failed_video_that_cannot_reach_the_processor_stays_failed(staff_api, settings):
    settings.PROCESSOR_URL = closed_port_url()
    settings.WEBHOOK_RETRY_SCHEDULE = []
    video = create_video(staff_api)
    first_error = Video.objects.get(pk=video.pk).error_message

    answer = staff_api.post(f"/api/videos/{video.pk}/reprocess/")

    assert answer.status_code == 200
    video.refresh_from_db()
    assert video.status == "failed"
    assert video.processing_run == 2
    assert video.error_message.startswith("processor unreachable: connection error:")
    assert first_error.startswith("processor unreachable: ")
    assert jobs_of(video)["transcode"].status == "failed"


@pytest.mark.django_db(transaction=True)
def test_reprocess_of_a_ready_video_that_cannot_reach_the_processor_keeps_it_ready_and_tells_its_editor(
        staff_api, settings, mailoutbox):
    video = create_video(staff_api)
    make_ready(Video.objects.get(pk=video.pk))
    settings.PROCESSOR_URL = closed_port_url()
    settings.WEBHOOK_RETRY_SCHEDULE = []
    mailoutbox.clear()

    assert staff_api.post(f"/api/videos/{video.pk}/reprocess/").status_code == 200

    video.refresh_from_db()
    assert (video.status, video.processing_run) == ("ready", 2)
    assert jobs_of(video)["transcode"].status == "failed"
    assert recorded("video.failed", video.pk) == 0
    (mail,) = [m for m in mailoutbox if "Doomed" in m.subject]
    assert mail.to == ["staff@example.com"] and mail.subject == "Reprocessing failed for “Doomed”"
    assert "processor unreachable: connection error:" in mail.body and "stays ready" in mail.body


@pytest.mark.django_db(transaction=True)
def test_reprocess_of_a_failed_video_that_cannot_reach_the_processor_tells_its_editor(staff_api, settings,
                                                                                      mailoutbox):
    settings.PROCESSOR_URL = closed_port_url()
    settings.WEBHOOK_RETRY_SCHEDULE = []
    video = create_video(staff_api)
    mailoutbox.clear()

    staff_api.post(f"/api/videos/{video.pk}/reprocess/")

    (mail,) = mailoutbox
    assert mail.subject == "Processing failed for “Doomed”" and "processor unreachable" in mail.body
