"""The video admin shows processing as editors need it: jobs, thumbnail, renditions; and it can reprocess."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from media_lifecycle.models import ProcessingJob, Video
from tests.processing.conftest import jobs_of, post_callback, processed_thumbnail, processed_transcode
from tests.receiver import Answer
from webhooks_app import relay


@pytest.fixture
def admin_client_(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def job_rows(html: str) -> dict[str, dict[str, str]]:
    """The processing panel's job rows, by job id: {column: cell text or HTML}."""
    rows = {}
    for row in re.findall(r'<tr class="job-row" id="job-[^"]+">(.*?)</tr>', html, re.S):
        cells = dict(re.findall(r'<td class="field-(\w+)[^"]*">\s*<p>(.*?)</p>', row, re.S))
        rows[cells["id"]] = {name: value.strip() for name, value in cells.items()}
    return rows


@pytest.mark.django_db
def test_video_change_page_shows_jobs_thumbnail_and_rendition_links(source_video, admin_client_, receiver,
                                                                    settings):
    # Given a first request attempt the processor refused, then progress, a thumbnail and a transcode result
    receiver.always(Answer(status=500, body=b"overloaded"))
    settings.PROCESSOR_URL = receiver.url
    settings.WEBHOOK_RETRY_SCHEDULE = [60]
    relay.drain()
    jobs = jobs_of(source_video)
    post_callback(jobs["thumbnail"], processed_thumbnail("https://cdn.example.com/poster-frame.jpg"))
    post_callback(jobs["transcode"], {"status": "progress", "progress": 37})

    html = admin_client_.get(reverse("admin:media_lifecycle_video_change", args=[source_video.pk])).content.decode()

    rows = job_rows(html)
    transcode, thumbnail = rows[jobs["transcode"].pk], rows[jobs["thumbnail"].pk]
    assert transcode["task"] == "Transcode" and thumbnail["task"] == "Thumbnail"
    assert ">accepted</span>" in transcode["status_badge"] and ">succeeded</span>" in thumbnail["status_badge"]
    assert transcode["progress_bar"] == '<progress max="100" value="37"></progress> 37%'
    assert (transcode["attempts"], transcode["last_error"]) == ("1", "HTTP 500: overloaded")
    assert '<img src="https://cdn.example.com/poster-frame.jpg"' in html

    # When the transcode ends
    post_callback(jobs["transcode"], processed_transcode())
    html = admin_client_.get(reverse("admin:media_lifecycle_video_change", args=[source_video.pk])).content.decode()

    # Then its row says so, and the renditions are links
    transcode = job_rows(html)[jobs["transcode"].pk]
    assert ">succeeded</span>" in transcode["status_badge"]
    assert transcode["progress_bar"].startswith('<progress max="100" value="100">')
    assert '<a href="https://cdn.example.com/out/720p.mp4">720p mp4</a>' in html
    assert '<a href="https://cdn.example.com/out/480p.mp4">480p mp4</a>' in html


@pytest.mark.django_db
def test_failed_job_shows_its_error_in_the_admin(source_video, admin_client_):
    job = jobs_of(source_video)["transcode"]
    post_callback(job, {"status": "failed", "errorMessage": "unsupported codec xyz"})

    html = admin_client_.get(reverse("admin:media_lifecycle_video_change", args=[source_video.pk])).content.decode()

    row = job_rows(html)[job.pk]
    assert ">failed</span>" in row["status_badge"]
    assert row["last_error"] == "unsupported codec xyz"


@pytest.mark.django_db
def test_job_progress_shows_while_processing(source_video, admin_client_):
    post_callback(jobs_of(source_video)["transcode"], {"status": "progress", "progress": 37})

    html = admin_client_.get(reverse("admin:media_lifecycle_video_change", args=[source_video.pk])).content.decode()

    assert '<progress max="100" value="37"></progress> 37%' in html


@pytest.mark.django_db
def test_reprocess_admin_action_starts_a_new_run(source_video, admin_client_):
    post_callback(jobs_of(source_video)["transcode"], {"status": "failed", "errorMessage": "boom"})
    empty = Video.objects.create(title="No source")

    answer = admin_client_.post(reverse("admin:media_lifecycle_video_changelist"), {
        "action": "reprocess_videos", "_selected_action": [source_video.pk, empty.pk],
    }, follow=True)

    assert answer.status_code == 200
    source_video.refresh_from_db()
    assert source_video.processing_run == 2
    assert ProcessingJob.objects.filter(video=source_video, run=2).count() == 2
    messages = [str(m) for m in answer.context["messages"]]
    assert any("Reprocessing: 1 video(s)" in m for m in messages), messages
    assert any("No source" in m and "no source" in m for m in messages), messages
    assert not ProcessingJob.objects.filter(video=empty).exists()
