"""The built-in processor, end to end over real HTTP with the bundled ffmpeg: request, download, probe,
transcode, thumbnail, storage, signed callback; and its endpoint's refusals."""

import io
import json
import re
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings as django_settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from media_lifecycle.models import ProcessingJob, Video
from media_lifecycle.processor import ffmpeg
from tests.processing.conftest import PROCESSOR_SECRET, jobs_of, recorded, standard_verifier
from webhooks_app.models import Delivery
from webhooks_app.signing import plain_signature, signature_headers


@pytest.fixture
def builtin(live_server, settings):
    """The app served on a real port; the relay sends to its built-in processor (PROCESSOR_URL unset)."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.PROCESSOR_URL = None
    return live_server


def stored_path(url: str) -> Path:
    """The local storage file behind a public media URL."""
    path = urlsplit(url).path
    assert path.startswith(django_settings.MEDIA_URL), url
    name = path[len(django_settings.MEDIA_URL):]
    assert default_storage.exists(name), name
    return Path(default_storage.path(name))


def upload(staff_api, data: bytes, title: str) -> Video:
    answer = staff_api.post("/api/videos/", {"title": title, "file": SimpleUploadedFile("clip.mp4", data)},
                            format="multipart")
    assert answer.status_code == 201, answer.json()
    return Video.objects.get(pk=answer.json()["id"])


@pytest.mark.django_db(transaction=True)
def test_builtin_processor_makes_an_uploaded_clip_ready_with_real_renditions_and_thumbnail(builtin, staff_api,
                                                                                          clip_bytes, clip_path):
    # Given the real 2 s 320x240 clip; when it is uploaded (the whole run happens on commit)
    started = time.monotonic()
    video = upload(staff_api, clip_bytes, "Real clip")
    elapsed = time.monotonic() - started

    # Then the video is ready, measured by ffmpeg
    video.refresh_from_db()
    assert video.status == "ready", video.error_message
    assert (video.width, video.height) == (320, 240)
    assert video.duration_seconds == pytest.approx(2.0, abs=0.2)
    assert recorded("video.ready", video.pk) == 1
    assert recorded("video.processing", video.pk) == 1
    jobs = jobs_of(video)
    assert {job.status for job in jobs.values()} == {ProcessingJob.Status.SUCCEEDED}

    # And each rendition is a real file in storage, never larger than the source
    source = ffmpeg.probe(clip_path, timeout=30)
    assert video.renditions, "no renditions"
    assert [r["quality"] for r in video.renditions] == ["240p"]
    for rendition in video.renditions:
        path = stored_path(rendition["url"])
        assert rendition["size_bytes"] == path.stat().st_size > 0
        assert rendition["format"] == "mp4"
        info = ffmpeg.probe(path, timeout=30)
        assert info.width <= source.width and info.height <= source.height
        assert info.height == int(rendition["quality"].rstrip("p"))
        assert info.duration == pytest.approx(source.duration, abs=0.2)
        described = subprocess.run([ffmpeg.executable(), "-hide_banner", "-i", str(path)], capture_output=True,
                                   text=True, timeout=30).stderr
        assert "Video: h264" in described and "Audio: aac" in described
    assert video.processed_url == video.renditions[0]["url"]

    # And the thumbnail is a real JPEG of a real frame (the 00:00:10 timestamp clamped to the clip)
    with Image.open(stored_path(video.thumbnail_url)) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert thumbnail.size == (320, 240)
        extrema = thumbnail.convert("L").getextrema()
        assert extrema[1] - extrema[0] > 50, extrema

    # And the callbacks went out signed, through the outbox, and were applied
    callbacks = Delivery.objects.filter(channel="processor-callback")
    assert callbacks.count() == 2
    assert {d.status for d in callbacks} == {Delivery.Status.SUCCEEDED}
    print(f"\nbuilt-in processor: 2 s 320x240 clip uploaded → ready in {elapsed:.2f} s")


@pytest.mark.django_db(transaction=True)
def test_builtin_processor_fails_a_corrupt_upload_with_ffmpegs_reason(builtin, staff_api, clip_bytes, mailoutbox):
    corrupt = clip_bytes[:4096] + bytes(range(256)) * 64  # passes the magic-byte check, but is not a video

    video = upload(staff_api, corrupt, "Broken clip")

    video.refresh_from_db()
    assert video.status == "failed"
    reason = video.error_message
    assert reason.startswith("ffmpeg failed: "), reason  # the header parses: probing passed, decoding fails
    assert re.search(r"invalid|error|corrupt|not allocated|exceeds", reason, re.I), reason  # ffmpeg's own cause
    assert " @ 0x" not in reason and "kb/s" not in reason, reason  # not log prefixes or encoder statistics
    assert recorded("video.failed", video.pk) == 1
    thumbnail = jobs_of(video)["thumbnail"]
    assert thumbnail.status == ProcessingJob.Status.FAILED
    assert thumbnail.error_message.startswith("ffmpeg")
    assert len(mailoutbox) == 1 and video.error_message in mailoutbox[0].body


@pytest.mark.django_db(transaction=True)
def test_builtin_processor_fails_a_source_url_it_cannot_fetch(builtin, receiver, staff_api):
    from tests.receiver import Answer

    receiver.always(Answer(status=404, body=b"gone"))
    answer = staff_api.post("/api/videos/", {"title": "Missing", "source_url": receiver.url}, format="json")

    video = Video.objects.get(pk=answer.json()["id"])
    assert video.status == "failed"
    assert video.error_message == f"could not fetch the source: HTTP 404 from {receiver.url}"


def job_request(**overrides) -> dict:
    body = {"jobId": "job_test", "task": "transcode", "videoId": "vid_test",
            "videoUrl": "http://127.0.0.1:9/in.mp4", "callbackUrl": "http://127.0.0.1:9/cb/",
            "renditions": ["720p"], "format": "mp4", "quality": "high", "metadata": {}}
    body.update(overrides)
    return body


def post_job(body: dict | bytes, *, secret: str | None = PROCESSOR_SECRET):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    extra = {}
    if secret is not None:
        headers = signature_headers([secret], "evt_test", raw)
        extra = {"HTTP_WEBHOOK_ID": headers["webhook-id"], "HTTP_WEBHOOK_TIMESTAMP": headers["webhook-timestamp"],
                 "HTTP_WEBHOOK_SIGNATURE": headers["webhook-signature"]}
    return APIClient().post(reverse("builtin-processor"), data=raw, content_type="application/json", **extra)


@pytest.mark.django_db
def test_builtin_processor_refuses_an_unsigned_request_with_401():
    answer = post_job(job_request(), secret=None)

    assert answer.status_code == 401
    assert Delivery.objects.count() == 0


@pytest.mark.django_db
def test_builtin_processor_refuses_a_wrongly_signed_request_with_401():
    answer = post_job(job_request(), secret="another-secret-0123456789")

    assert answer.status_code == 401
    assert Delivery.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("body", "field"), [
    (job_request(task="encode"), "task"),
    (job_request(videoUrl="file:///etc/passwd"), "videoUrl"),
    (job_request(renditions=["999p"]), "renditions"),
    ({k: v for k, v in job_request().items() if k != "callbackUrl"}, "callbackUrl"),
    (job_request(task="thumbnail", timestamp="ten seconds"), "timestamp"),
], ids=["unknown-task", "file-url", "unknown-rendition", "no-callback", "bad-timestamp"])
def test_builtin_processor_refuses_a_bad_body_with_400_naming_the_field(body, field):
    answer = post_job(body)

    assert answer.status_code == 400
    assert field in answer.json(), answer.json()
    assert Delivery.objects.count() == 0


@pytest.mark.django_db
def test_builtin_processor_refuses_malformed_json_with_400():
    answer = post_job(b"{not json")

    assert answer.status_code == 400
    assert "JSON" in answer.json()["detail"]


@pytest.mark.django_db
def test_builtin_processor_refuses_a_too_deeply_nested_body_with_400():
    answer = post_job(b"[" * 100_000 + b"]" * 100_000)

    assert answer.status_code == 400
    assert "nested too deeply" in answer.json()["detail"]


def test_make_test_clip_is_a_real_video_with_colour(clip_path):
    info = ffmpeg.probe(clip_path, timeout=30)
    assert (info.width, info.height) == (320, 240)
    frame = clip_path.parent / "frame.jpg"
    ffmpeg.thumbnail(clip_path, frame, 1.0, timeout=30)
    with Image.open(io.BytesIO(frame.read_bytes())) as image:
        assert image.size == (320, 240)


@pytest.mark.django_db(transaction=True)
def test_builtin_processor_makes_every_fitting_rendition_and_reports_progress(builtin, staff_api, vga_clip_path,
                                                                              settings):
    settings.PROCESSING_RENDITIONS = ["1080p", "480p", "240p"]

    video = upload(staff_api, vga_clip_path.read_bytes(), "VGA clip")

    video.refresh_from_db()
    assert video.status == "ready", video.error_message
    assert [r["quality"] for r in video.renditions] == ["480p", "240p"]  # 1080p is larger than the source
    sizes = [(ffmpeg.probe(stored_path(r["url"]), timeout=30)) for r in video.renditions]
    assert [(p.width, p.height) for p in sizes] == [(640, 480), (320, 240)]
    assert video.processed_url == video.renditions[0]["url"]
    bodies = [json.loads(bytes(d.event.body)) for d in Delivery.objects.filter(channel="processor-callback")
              .select_related("event").order_by("created_at")]
    assert {"status": "progress", "progress": 50} in bodies


@pytest.mark.django_db(transaction=True)
def test_builtin_processor_speaks_the_protocol_to_any_callback_url(live_server, settings, receiver, clip_bytes):
    # Given a signed job request whose callback goes to an outside receiver
    settings.PUBLIC_BASE_URL = live_server.url
    name = default_storage.save("incoming/protocol.mp4", io.BytesIO(clip_bytes))
    body = job_request(jobId="job_protocol", videoId="vid_protocol", renditions=["720p", "240p"],
                       videoUrl=f"{live_server.url}{django_settings.MEDIA_URL}{name}", callbackUrl=receiver.url)
    raw = json.dumps(body).encode()

    # When it is POSTed over real HTTP to the built-in processor
    answer = requests.post(f"{live_server.url}{reverse('builtin-processor')}", data=raw, timeout=60,
                           headers={"Content-Type": "application/json",
                                    **signature_headers([PROCESSOR_SECRET], "evt_protocol", raw)})

    # Then it accepts it, and its callback is signed so that the reference library verifies it
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"accepted": True, "jobId": "job_protocol"}
    callback = receiver.wait_for(1, timeout=30)[0]
    result = standard_verifier(PROCESSOR_SECRET).verify(callback.body, callback.headers)
    assert callback.header("X-Signature") == plain_signature(PROCESSOR_SECRET, callback.body)
    assert result["status"] == "processed"
    assert [r["quality"] for r in result["renditions"]] == ["240p"]
    assert result["renditions"][0]["size"] == stored_path(result["renditions"][0]["url"]).stat().st_size
    assert (result["width"], result["height"]) == (320, 240)
    assert result["duration"] == pytest.approx(2.0, abs=0.2)
    assert result["processedUrl"] == result["renditions"][0]["url"]
    print(f"\nprocessor callback on the wire:\n{callback.headers}\n{callback.body.decode()}")
