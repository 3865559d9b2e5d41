"""Every answer of `POST /api/callbacks/processing/{job}/` (SPEC §7), each checked to change nothing it should not."""

import ipaddress
import json
import time

import pytest
import time_machine

from tests.processing.conftest import (
    jobs_of,
    post_callback,
    processed_thumbnail,
    processed_transcode,
    recorded,
    signed,
    video_state,
)

pytestmark = pytest.mark.django_db


def test_unsigned_callback_is_refused_with_401_and_changes_nothing(source_video):
    before = video_state(source_video)

    answer = post_callback(jobs_of(source_video)["transcode"], processed_transcode(), headers={})

    assert answer.status_code == 401
    assert "not signed" in answer.json()["detail"]
    assert answer.headers["WWW-Authenticate"]
    assert video_state(source_video) == before


def test_callback_signed_with_the_wrong_secret_is_refused_with_401(source_video):
    before = video_state(source_video)

    answer = post_callback(jobs_of(source_video)["transcode"], processed_transcode(),
                           secret="not-the-processor-secret-42")

    assert answer.status_code == 401
    assert "does not match" in answer.json()["detail"]
    assert video_state(source_video) == before


def test_callback_signature_over_other_bytes_is_refused_with_401(source_video):
    job = jobs_of(source_video)["transcode"]
    before = video_state(source_video)
    headers = signed(json.dumps({"status": "failed", "errorMessage": "x"}).encode())

    answer = post_callback(job, processed_transcode(), headers=headers)

    assert answer.status_code == 401
    assert video_state(source_video) == before


def test_stale_standard_webhooks_timestamp_is_refused_with_401(source_video):
    before = video_state(source_video)

    answer = post_callback(jobs_of(source_video)["transcode"], processed_transcode(),
                           timestamp=int(time.time()) - 301)

    assert answer.status_code == 401
    assert "300 s" in answer.json()["detail"]
    assert video_state(source_video) == before


def test_future_standard_webhooks_timestamp_is_refused_with_401(source_video):
    before = video_state(source_video)

    # The clock stands still on a whole second: 301 s ahead is then 301 s ahead when the server looks (with a
    # running clock, the second's fraction and the request's time made it 300 s or less, now and then).
    with time_machine.travel(int(time.time()), tick=False):
        answer = post_callback(jobs_of(source_video)["transcode"], processed_transcode(),
                               timestamp=int(time.time()) + 301)

    assert answer.status_code == 401
    assert video_state(source_video) == before


def test_timestamp_within_tolerance_is_accepted(source_video):
    answer = post_callback(jobs_of(source_video)["transcode"], {"status": "progress", "progress": 5},
                           timestamp=int(time.time()) - 250)

    assert answer.status_code == 200


def test_x_signature_alone_is_accepted(source_video):
    answer = post_callback(jobs_of(source_video)["transcode"], processed_transcode(), scheme="x-signature")

    assert answer.status_code == 200, answer.json()
    source_video.refresh_from_db()
    assert source_video.status == "ready"


def test_wrong_x_signature_is_refused_with_401(source_video):
    before = video_state(source_video)

    answer = post_callback(jobs_of(source_video)["transcode"], processed_transcode(), scheme="x-signature",
                           secret="not-the-processor-secret-42")

    assert answer.status_code == 401
    assert video_state(source_video) == before


def test_a_signature_header_with_non_ascii_characters_is_refused_with_401(source_video):
    before = video_state(source_video)
    forged = {"HTTP_WEBHOOK_ID": "evt_x", "HTTP_WEBHOOK_TIMESTAMP": str(int(time.time())),
              "HTTP_WEBHOOK_SIGNATURE": "v1,\u00e9t\u00e9"}

    answer = post_callback(jobs_of(source_video)["transcode"], processed_transcode(), headers=forged)

    assert answer.status_code == 401
    assert video_state(source_video) == before


def test_callback_for_an_unknown_job_is_404(source_video):
    before = video_state(source_video)

    answer = post_callback("job_doesnotexist0000000000000", processed_transcode())

    assert answer.status_code == 404
    assert "job_doesnotexist" in answer.json()["detail"]
    assert video_state(source_video) == before


def test_callback_body_over_one_megabyte_is_413(source_video):
    before = video_state(source_video)
    body = json.dumps({"status": "failed", "errorMessage": "x" * (1024 * 1024)}).encode()

    answer = post_callback(jobs_of(source_video)["transcode"], body)

    assert answer.status_code == 413
    assert video_state(source_video) == before


@pytest.mark.parametrize(("body", "field"), [
    ({"status": "finished"}, "status"),
    (processed_transcode(processedUrl="not a url"), "processedUrl"),
    (processed_transcode(duration=-1), "duration"),
    (processed_transcode(renditions=[{"quality": "720p", "format": "mp4", "url": "nope", "size": 1}]), "renditions"),
    ({"status": "progress", "progress": 101}, "progress"),
    ({"status": "progress"}, "progress"),
    ({"status": "processed"}, "processedUrl"),
    (processed_transcode(colour="blue"), "colour"),
    (processed_transcode(width=2**31), "width"),
    (processed_transcode(height=10**30), "height"),
    (processed_transcode(width=0), "width"),
], ids=["unknown-status", "non-url-processedUrl", "negative-duration", "bad-rendition-url", "progress-over-100",
        "progress-missing", "processedUrl-missing", "unknown-field", "width-overflow", "height-overflow",
        "zero-width"])
def test_malformed_callback_is_400_naming_the_field(source_video, body, field):
    before = video_state(source_video)

    answer = post_callback(jobs_of(source_video)["transcode"], body)

    assert answer.status_code == 400
    assert field in answer.json(), answer.json()
    assert video_state(source_video) == before


@pytest.mark.parametrize("raw", [b'{"status": "processed",', b"[1, 2]", b"\xff\xfe"],
                         ids=["truncated", "list", "binary"])
def test_non_json_or_non_object_callback_is_400(source_video, raw):
    before = video_state(source_video)

    answer = post_callback(jobs_of(source_video)["transcode"], raw)

    assert answer.status_code == 400
    assert "JSON" in answer.json()["detail"]
    assert video_state(source_video) == before


def test_a_too_deeply_nested_callback_is_400_not_500(source_video):
    before = video_state(source_video)

    answer = post_callback(jobs_of(source_video)["transcode"], b"[" * 100_000 + b"]" * 100_000)

    assert answer.status_code == 400
    assert "nested too deeply" in answer.json()["detail"]
    assert video_state(source_video) == before


def test_processed_thumbnail_without_a_url_is_400_naming_thumbnail_url(source_video):
    answer = post_callback(jobs_of(source_video)["thumbnail"], {"status": "processed"})

    assert answer.status_code == 400
    assert "thumbnailUrl" in answer.json()


def test_failed_after_processed_is_409_and_keeps_the_result(source_video):
    job = jobs_of(source_video)["transcode"]
    assert post_callback(job, processed_transcode()).status_code == 200
    before = video_state(source_video)

    answer = post_callback(job, {"status": "failed", "errorMessage": "changed my mind"})

    assert answer.status_code == 409
    assert answer.json()["status"] == "ready"
    assert video_state(source_video) == before


def test_a_different_processed_after_processed_is_409(source_video):
    job = jobs_of(source_video)["transcode"]
    post_callback(job, processed_transcode())
    before = video_state(source_video)

    answer = post_callback(job, processed_transcode(width=640, height=360))

    assert answer.status_code == 409
    assert video_state(source_video) == before


def test_repeating_the_same_processed_callback_is_200_and_fires_nothing_again(source_video):
    job = jobs_of(source_video)["transcode"]
    first = post_callback(job, processed_transcode())
    assert first.status_code == 200
    assert recorded("video.ready", source_video.pk) == 1
    before = video_state(source_video)

    again = post_callback(job, processed_transcode())

    assert again.status_code == 200
    assert again.json() == first.json()
    assert recorded("video.ready", source_video.pk) == 1
    assert video_state(source_video) == before


def test_repeating_the_same_thumbnail_callback_is_200_and_changes_nothing(source_video):
    job = jobs_of(source_video)["thumbnail"]
    post_callback(job, processed_thumbnail())
    before = video_state(source_video)

    answer = post_callback(job, processed_thumbnail())

    assert answer.status_code == 200
    assert video_state(source_video) == before


def test_late_progress_after_a_final_callback_changes_nothing(source_video):
    job = jobs_of(source_video)["transcode"]
    post_callback(job, processed_transcode())
    before = video_state(source_video)

    answer = post_callback(job, {"status": "progress", "progress": 10})

    assert answer.status_code == 200
    assert video_state(source_video) == before


def test_caller_outside_processor_allowed_ips_is_403(source_video, settings):
    settings.PROCESSOR_ALLOWED_IPS = [ipaddress.ip_network("10.0.0.0/8")]
    before = video_state(source_video)

    answer = post_callback(jobs_of(source_video)["transcode"], processed_transcode())

    assert answer.status_code == 403
    assert video_state(source_video) == before


def test_caller_inside_an_allowed_cidr_passes(source_video, settings):
    settings.PROCESSOR_ALLOWED_IPS = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("192.0.2.7/32")]
    from rest_framework.test import APIClient

    client = APIClient(REMOTE_ADDR="10.20.30.40")
    answer = post_callback(jobs_of(source_video)["transcode"], processed_transcode(), client=client)

    assert answer.status_code == 200, answer.json()
    source_video.refresh_from_db()
    assert source_video.status == "ready"


def test_allowed_ips_are_checked_before_the_signature(source_video, settings):
    settings.PROCESSOR_ALLOWED_IPS = [ipaddress.ip_network("10.0.0.0/8")]

    answer = post_callback(jobs_of(source_video)["transcode"], processed_transcode(), headers={})

    assert answer.status_code == 403
