"""Fixtures for the processing suite: a fake processor and a subscriber (real local HTTP servers), signed
callbacks posted through the test client, and verification of what the processor received on the wire."""

import base64
import json
import time

import pytest
from django.urls import reverse
from rest_framework.test import APIClient
from standardwebhooks.webhooks import Webhook as StandardWebhook

from media_lifecycle.models import ProcessingJob, Video
from tests.receiver import Answer, Receiver
from webhooks_app.models import Event, Webhook
from webhooks_app.signing import plain_signature, signature_headers

PROCESSOR_SECRET = "processing-suite-secret-0123456789"


@pytest.fixture(autouse=True)
def processor_secret(settings) -> str:
    """A known processor secret, so a test can sign (and fail to sign) like a processor."""
    settings.PROCESSOR_SECRET = PROCESSOR_SECRET
    return PROCESSOR_SECRET


@pytest.fixture
def processor(receiver, settings) -> Receiver:
    """A fake external processor: a real HTTP server at PROCESSOR_URL that accepts every job with 202."""
    receiver.always(Answer(status=202, body=b'{"accepted": true}', headers={"Content-Type": "application/json"}))
    settings.PROCESSOR_URL = receiver.url
    return receiver


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`with committed():` runs the block's on-commit work (wake-ups, sends, emails) as a commit would, inside a
    test transaction: cheaper than transaction=True where nothing else needs a real commit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def subscriber(db) -> Receiver:
    """A second real HTTP server, subscribed to every event ("*")."""
    with Receiver() as running:
        running.webhook = Webhook.objects.create(url=running.url, events=["*"], description="subscriber")
        yield running


def standard_verifier(secret: str) -> StandardWebhook:
    """The reference Standard Webhooks library, keyed like SPEC §6 (plain secrets are their UTF-8 bytes)."""
    if secret.startswith("whsec_"):
        return StandardWebhook(secret)
    return StandardWebhook("whsec_" + base64.b64encode(secret.encode()).decode())


def event_types(receiver: Receiver, secret: str) -> list[str]:
    """The event types a subscriber received, each body verified with the reference library first."""
    verifier = standard_verifier(secret)
    return [verifier.verify(request.body, request.headers)["type"] for request in receiver.requests]


def recorded(event_type: str, object_id: str | None = None) -> int:
    """How many events of this type the outbox holds (for this object)."""
    events = Event.objects.filter(type=event_type)
    if object_id is not None:
        events = events.filter(object_id=object_id)
    return events.count()


def callback_body(body) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def signed(body: bytes, *, secret: str = PROCESSOR_SECRET, timestamp: int | None = None,
           scheme: str = "standard") -> dict[str, str]:
    """Test-client headers for a callback signed with one scheme ("standard" or "x-signature")."""
    if scheme == "x-signature":
        return {"HTTP_X_SIGNATURE": plain_signature(secret, body)}
    headers = signature_headers([secret], f"msg_{time.time_ns()}", body, timestamp=timestamp)
    return {"HTTP_WEBHOOK_ID": headers["webhook-id"], "HTTP_WEBHOOK_TIMESTAMP": headers["webhook-timestamp"],
            "HTTP_WEBHOOK_SIGNATURE": headers["webhook-signature"]}


def post_callback(job: ProcessingJob | str, body, *, client: APIClient | None = None, headers: dict | None = None,
                  **sign_options):
    """POST a callback for `job` (signed unless `headers` is given), as a processor would."""
    raw = callback_body(body)
    job_id = job if isinstance(job, str) else job.pk
    extra = signed(raw, **sign_options) if headers is None else headers
    return (client or APIClient()).post(reverse("processing-callback", args=[job_id]), data=raw,
                                        content_type="application/json", **extra)


def jobs_of(video: Video, run: int | None = None) -> dict[str, ProcessingJob]:
    """The video's jobs of one run (the latest by default), by task."""
    video.refresh_from_db()
    run = video.processing_run if run is None else run
    return {job.task: job for job in ProcessingJob.objects.filter(video=video, run=run)}


def processed_transcode(**overrides) -> dict:
    body = {
        "status": "processed",
        "processedUrl": "https://cdn.example.com/out/720p.mp4",
        "renditions": [
            {"quality": "720p", "format": "mp4", "url": "https://cdn.example.com/out/720p.mp4", "size": 123456},
            {"quality": "480p", "format": "mp4", "url": "https://cdn.example.com/out/480p.mp4", "size": 65432},
        ],
        "duration": 12.5,
        "width": 1280,
        "height": 720,
    }
    body.update(overrides)
    return body


def processed_thumbnail(url: str = "https://cdn.example.com/out/thumb.jpg") -> dict:
    return {"status": "processed", "thumbnailUrl": url}


def video_state(video: Video) -> dict:
    """Everything a callback could change: the video row, its jobs and the outbox size."""
    row = Video.objects.filter(pk=video.pk).values().get()
    jobs = list(ProcessingJob.objects.filter(video=video).order_by("pk").values())
    return {"video": row, "jobs": jobs, "events": Event.objects.count()}


@pytest.fixture
def source_video(db, staff) -> Video:
    """A video with a source, created in code: its first run's jobs exist, nothing was sent (no commit)."""
    return Video.objects.create(title="Sourced", source_url="https://media.example.com/in.mp4", created_by=staff)


@pytest.fixture(scope="session")
def vga_clip_path(tmp_path_factory):
    """A real two-second 640x480 H.264 MP4: big enough for two of the standard renditions."""
    from media_lifecycle.processor import ffmpeg

    path = tmp_path_factory.mktemp("clips") / "vga.mp4"
    ffmpeg.make_test_clip(path, seconds=2, width=640, height=480)
    return path
