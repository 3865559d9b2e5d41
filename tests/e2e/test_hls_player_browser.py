"""Adaptive streaming in a real Chromium: a video processed into an HLS ladder by the built-in processor plays
through hls.js, the Quality menu switches variant (the page's requests show that variant's playlist and byte
ranges of its file), analytics and client-side webhooks keep working, and no request leaves our origin. A
playlist page moves on to its next video when one ends; a rendition's fragmented MP4 plays as a download."""

import time
from urllib.parse import urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from media_lifecycle import states
from media_lifecycle.models import ClientWebhook, PlaybackEvent, Playlist, PlaylistItem, Video
from media_lifecycle.processor import ffmpeg
from tests.conftest import token_client, wait_until
from tests.e2e.test_player_browser import form_fields

pytestmark = pytest.mark.e2e

PLAY = "() => { const v = document.getElementById('player-video'); v.muted = true; return v.play(); }"
CURRENT_TIME = "() => document.getElementById('player-video').currentTime"
PLAYER = "window.mediahooksPlayer"


@pytest.fixture
def ladder_video(site, staff, tmp_path, settings) -> Video:
    """An 8-second 480x360 clip uploaded through the API and processed for real: a two-rung ladder. (With the
    test's synchronous queue the whole run happens inside the processing request, so it gets time to.)"""
    settings.PROCESSING_RENDITIONS = ["360p", "240p"]
    settings.WEBHOOK_TIMEOUT, settings.WEBHOOK_LEASE_SECONDS = 120, 300
    clip = tmp_path / "ladder.mp4"
    ffmpeg.make_test_clip(clip, seconds=8, width=480, height=360)
    answer = token_client(staff).post("/api/videos/", {
        "title": "Ladder", "auto_publish": "true", "file": SimpleUploadedFile("ladder.mp4", clip.read_bytes()),
    }, format="multipart")
    assert answer.status_code == 201, answer.json()
    video = Video.objects.get(pk=answer.json()["id"])
    assert video.status == states.READY and video.published, video.error_message
    assert video.hls_url and [r["quality"] for r in video.renditions] == ["360p", "240p"]
    return video


def requested(page, log: list, variant: str) -> dict:
    """What the page asked for of one variant since `log` was cleared: its playlist, and ranges of its file.
    (Playwright's sync API delivers the page's request events while it waits, so this waits a moment.)"""
    page.wait_for_timeout(50)
    return {"playlist": any(url.endswith(f"/{variant}.m3u8") for url, _ in log),
            "ranges": [rng for url, rng in log if url.endswith(f"/{variant}.mp4") and rng]}


def test_hls_ladder_plays_and_the_quality_menu_switches_variant(page, site, ladder_video, receiver, artifacts):
    video = ladder_video
    ClientWebhook.objects.create(url=receiver.url, request_field="student", response_field="student_id", rpm=60)
    log = []
    page.on("request", lambda request: log.append((request.url, request.headers.get("range"))))
    origins = set()
    page.on("request", lambda request: origins.add(urlsplit(request.url)._replace(path="", query="").geturl()
                                                   if request.url.startswith("http") else request.url.split(":")[0]))

    # Given the player page of a video with an HLS ladder
    page.goto(f"{site}/player/{video.pk}/?student=ada")
    page.wait_for_function(f"{PLAYER} && {PLAYER}.engine() === 'hls.js'")
    quality = page.get_by_label("Quality")
    assert quality.evaluate("s => Array.from(s.options).map(o => o.text)") == ["Auto", "360p", "240p"]
    assert quality.input_value() == "auto"

    # When it plays
    page.evaluate(PLAY)
    wait_until(lambda: page.evaluate(CURRENT_TIME) > 1, timeout=15)

    # and the viewer picks the other variant than the one hls.js started with, then that one again
    heights = {"360p": 360, "240p": 240}
    playing = page.evaluate("document.getElementById('player-video').videoHeight")
    first_pick = "360p" if playing == 240 else "240p"
    for label in (first_pick, "240p" if first_pick == "360p" else "360p"):
        log.clear()
        quality.select_option(label=label)
        # Then the page fetches that variant: its playlist the first time, and byte ranges of its one file
        wait_until(lambda label=label: requested(page, log, label)["ranges"], timeout=15)
        if label == first_pick:
            assert requested(page, log, label)["playlist"], log
        assert all(r.startswith("bytes=") for r in requested(page, log, label)["ranges"])
        wait_until(lambda label=label: page.evaluate("document.getElementById('player-video').videoHeight")
                   == heights[label], timeout=15)
        assert page.evaluate(f"{PLAYER}.levelHeight()") == heights[label]
    page.screenshot(path=str(artifacts / "player-hls.png"), full_page=True)

    # And back to Auto, playback goes on
    quality.select_option(label="Auto")
    before = page.evaluate(CURRENT_TIME)
    wait_until(lambda: page.evaluate(CURRENT_TIME) > before + 0.5, timeout=15)
    page.evaluate("() => document.getElementById('player-video').pause()")

    # Analytics and client-side webhooks work as with MP4
    wait_until(lambda: {"play", "pause"} <= set(PlaybackEvent.objects.filter(video=video)
                                                  .values_list("event_type", flat=True)))
    posts = receiver.wait_for(1, timeout=5)
    assert {form_fields(p)["uuid"] for p in posts} == {video.pk}
    assert {form_fields(p)["student_id"] for p in posts} == {"ada"}

    # And every request the page made went to our own origin (the receiver is the one configured exception)
    own = urlsplit(site)._replace(path="", query="").geturl()
    receiver_origin = urlsplit(receiver.url)._replace(path="", query="").geturl()
    assert origins - {own, receiver_origin, "blob", "data"} == set(), origins

    # And a rendition's one file (the HLS variant's fragmented MP4) also plays as a progressive MP4 download
    page.evaluate("url => { const v = document.createElement('video'); v.id = 'download'; v.muted = true;"
                  " v.src = url; document.body.append(v); }", video.renditions[1]["url"])
    page.wait_for_function("document.getElementById('download').readyState >= 1")
    assert page.evaluate("document.getElementById('download').duration") == pytest.approx(8, abs=0.3)
    page.evaluate("document.getElementById('download').currentTime = 6")
    page.evaluate("document.getElementById('download').play()")
    wait_until(lambda: page.evaluate("document.getElementById('download').currentTime") > 6.2, timeout=10)
    assert page.evaluate("document.getElementById('download').videoHeight") == 240


def test_a_playlist_page_moves_on_to_the_next_video(page, site, browser_clip):
    content, fmt = browser_clip
    videos = []
    for index, title in enumerate(["Opening", "Closing"]):
        name = default_storage.save(f"e2e/playlist-{index}.{fmt}", ContentFile(content))
        videos.append(Video.objects.create(
            title=title, status=states.READY, published=True, published_at=timezone.now(), duration_seconds=8,
            renditions=[{"quality": "240p", "format": fmt, "url": default_storage.url(name), "size_bytes": 1}]))
    playlist = Playlist.objects.create(title="Double bill")
    for position, video in enumerate(videos):
        PlaylistItem.objects.create(playlist=playlist, video=video, position=position)

    # Given the playlist page, playing its first video
    page.goto(f"{site}/player/{playlist.pk}/")
    page.wait_for_function("document.getElementById('player-video').readyState >= 1")
    assert page.evaluate(f"{PLAYER}.item()") == videos[0].pk
    page.evaluate(PLAY)
    wait_until(lambda: page.evaluate(CURRENT_TIME) > 0.2, timeout=10)

    # When the first video reaches its end
    page.evaluate("() => { const v = document.getElementById('player-video'); v.currentTime = v.duration - 0.3; }")

    # Then the page plays the second one, from its start
    wait_until(lambda: page.evaluate(f"{PLAYER}.item()") == videos[1].pk, timeout=10)
    wait_until(lambda: 0 < page.evaluate(CURRENT_TIME) < 7, timeout=10)
    started = time.monotonic()
    assert page.evaluate("document.querySelector('#player-playlist [aria-current=true]').textContent") == "Closing"
    assert page.evaluate("document.getElementById('player-video').paused") is False
    # and analytics say the first was completed and the second played, in one viewing session
    wait_until(lambda: PlaybackEvent.objects.filter(video=videos[1], event_type="play").exists())
    assert PlaybackEvent.objects.filter(video=videos[0], event_type="complete").exists()
    assert len(set(PlaybackEvent.objects.values_list("session_id", flat=True))) == 1
    assert time.monotonic() - started < 10


def test_with_the_browsers_own_hls_the_quality_menu_loads_the_chosen_variants_playlist(page, site, ladder_video):
    log = []
    page.on("request", lambda request: log.append((request.url, request.headers.get("range"))))

    # Given the page playing through the browser's own HLS (as on an iPhone; Chromium has one too)
    page.goto(f"{site}/player/{ladder_video.pk}/?hls=native")
    page.wait_for_function(f"{PLAYER} && {PLAYER}.engine() === 'native'")
    page.evaluate(PLAY)
    wait_until(lambda: page.evaluate(CURRENT_TIME) > 1, timeout=15)
    at = page.evaluate(CURRENT_TIME)

    # When the viewer picks 240p
    log.clear()
    page.get_by_label("Quality").select_option(label="240p")

    # Then the element plays that variant's playlist, from where it was, and fetches that variant's file
    wait_until(lambda: page.evaluate("document.getElementById('player-video').currentSrc").endswith("/240p.m3u8"))
    wait_until(lambda: page.evaluate("document.getElementById('player-video').videoHeight") == 240, timeout=15)
    assert page.evaluate(CURRENT_TIME) >= at
    assert requested(page, log, "240p")["playlist"] and requested(page, log, "240p")["ranges"]
