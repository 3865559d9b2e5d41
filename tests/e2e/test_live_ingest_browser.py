"""Live ingest for real: the bundled ffmpeg publishes a test pattern over RTMP to Debian's nginx-rtmp (started
here on a free port, configured by the app's own template), which calls the app back. A real subscriber hears
livestream.started, Chromium plays the live HLS (and no URL carries the stream key), a wrong key and a second
encoder are refused, the end fires livestream.ended, and the recording becomes a ready video."""

import os
import subprocess
from urllib.parse import urlsplit

import pytest
import requests

from media_lifecycle.models import Livestream, Video
from media_lifecycle.processor import ffmpeg
from tests.conftest import token_client, wait_until
from tests.mediaserver import MediaServer, publish, stop_publishing
from tests.processing.conftest import standard_verifier
from tests.receiver import Receiver
from webhooks_app.models import Webhook

pytestmark = pytest.mark.e2e

KEY = "sk_e2e_live_key_0123456789"
CURRENT_TIME = "() => document.getElementById('player-video').currentTime"


@pytest.fixture
def media_server(site, tmp_path, settings):
    settings.LIVESTREAM_DIR = tmp_path / "live"
    settings.LIVESTREAM_PLAYBACK_URL = site + "/live/{id}/index.m3u8"  # as PUBLIC_BASE_URL makes it by default
    # With the test's synchronous queue the recording's processing runs inside the processing request
    settings.WEBHOOK_TIMEOUT, settings.WEBHOOK_LEASE_SECONDS = 120, 300
    # nginx resolves the callback host once, at start: give it the live server's IPv4 address
    app_url = site.replace("://localhost:", "://127.0.0.1:")
    with MediaServer(tmp_path / "mediaserver", app_url, settings.LIVESTREAM_DIR) as server:
        yield server


@pytest.fixture
def subscriber(transactional_db):
    with Receiver() as running:
        running.secret = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
        Webhook.objects.create(url=running.url, events=["livestream.started", "livestream.ended", "video.ready"],
                               secret=running.secret)
        yield running


def received(subscriber: Receiver) -> list[dict]:
    verifier = standard_verifier(subscriber.secret)
    return [verifier.verify(r.body, r.headers) for r in list(subscriber.requests)]


def files_under(folder) -> list[str]:
    return [str(path.relative_to(folder)) for path in folder.rglob("*")]


def test_an_encoder_goes_live_is_watched_and_its_recording_becomes_a_ready_video(
        page, site, staff, media_server, subscriber, settings, artifacts):
    # Given a livestream created by an editor over the API (its key shown once)
    answer = token_client(staff).post("/api/livestreams/", {"title": "Launch party", "tags": ["events"],
                                                           "stream_key": KEY}, format="json")
    assert answer.status_code == 201, answer.json()
    stream = Livestream.objects.get(pk=answer.json()["id"])
    encoders = []
    try:
        # When an encoder publishes with a wrong key, the media server refuses it
        wrong = publish(f"{media_server.ingest}/sk_not_the_key_0000000000", seconds=5)
        encoders.append(wrong)
        assert wrong.wait(15) != 0
        stream.refresh_from_db()
        assert stream.status == "idle"

        # When the encoder publishes with the livestream's key
        encoder = publish(f"{media_server.ingest}/{KEY}")
        encoders.append(encoder)

        # Then the livestream is live, and the subscriber hears livestream.started
        wait_until(lambda: Livestream.objects.get(pk=stream.pk).status == "live", timeout=15)
        wait_until(lambda: "livestream.started" in [e["type"] for e in received(subscriber)], timeout=10)
        started = next(e for e in received(subscriber) if e["type"] == "livestream.started")
        assert started["data"]["id"] == stream.pk and started["data"]["status"] == "live"

        # And its HLS is served at the playback URL, named by the livestream's id, never by the key
        playlist_url = Livestream.objects.get(pk=stream.pk).playback_url
        assert playlist_url == f"{site}/live/{stream.pk}/index.m3u8" and KEY not in playlist_url
        wait_until(lambda: requests.get(playlist_url, timeout=5).text.count("#EXTINF") >= 2, timeout=20)
        playlist = requests.get(playlist_url, timeout=5).text
        assert KEY not in playlist
        assert not [name for name in files_under(settings.LIVESTREAM_DIR) if KEY in name]

        # And a second encoder with the same key is refused while the first goes on
        second = publish(f"{media_server.ingest}/{KEY}", seconds=5)
        encoders.append(second)
        assert second.wait(15) != 0
        assert encoder.poll() is None
        assert Livestream.objects.get(pk=stream.pk).status == "live"

        # And Chromium plays it on the livestream's player page, asking only our origin, never with the key
        urls = []
        page.on("request", lambda request: urls.append(request.url))
        page.goto(f"{site}/player/{stream.pk}/")
        page.wait_for_function("window.mediahooksPlayer && window.mediahooksPlayer.engine() === 'hls.js'")
        page.evaluate("() => { const v = document.getElementById('player-video'); v.muted = true; v.play(); }")
        wait_until(lambda: page.evaluate(CURRENT_TIME) > 0, timeout=20)
        playing_from = page.evaluate(CURRENT_TIME)
        wait_until(lambda: page.evaluate(CURRENT_TIME) > playing_from + 1, timeout=20)  # it plays, not just seeks
        assert page.evaluate("document.getElementById('player-video').videoHeight") == 240
        page.screenshot(path=str(artifacts / "player-live.png"))
        assert any(url.endswith(".ts") for url in urls), urls
        assert all(KEY not in url for url in urls)
        assert {urlsplit(url).netloc for url in urls if url.startswith("http")} == {urlsplit(site).netloc}

        # When the encoder stops
        stop_publishing(encoder)

        # Then the livestream ends and the subscriber hears livestream.ended
        wait_until(lambda: Livestream.objects.get(pk=stream.pk).status == "ended", timeout=15)
        wait_until(lambda: "livestream.ended" in [e["type"] for e in received(subscriber)], timeout=10)

        # And the recording becomes a video, processed like any upload until it is ready
        wait_until(lambda: Livestream.objects.get(pk=stream.pk).recording_id, timeout=20)
        recording = Livestream.objects.get(pk=stream.pk).recording
        assert recording.title == "Launch party (recording)"
        assert list(recording.tags.values_list("name", flat=True)) == ["events"]
        assert recording.created_by == staff
        wait_until(lambda: Video.objects.get(pk=recording.pk).status in ("ready", "failed"), timeout=60)
        recording.refresh_from_db()
        assert recording.status == "ready", recording.error_message
        assert recording.hls_url and recording.duration_seconds > 2
        wait_until(lambda: recording.pk in [e["data"]["id"] for e in received(subscriber)
                                            if e["type"] == "video.ready"], timeout=10)
        wait_until(lambda: not files_under(settings.LIVESTREAM_DIR / "recordings"))  # moved into storage

        # And the player page now says plainly that it is not live
        page.goto(f"{site}/player/{stream.pk}/")
        assert "This livestream is not live: it has ended." in page.inner_text("#player-status")
    finally:
        for process in encoders:
            stop_publishing(process)
        if os.environ.get("MEDIAHOOKS_SHOW_MEDIASERVER_LOG"):
            print(media_server.log())


def test_a_viewer_who_arrives_before_the_first_segment_waits_and_then_watches(page, site, settings, tmp_path):
    # Given a livestream that just went live: its media server has written no HLS yet
    settings.LIVESTREAM_DIR = tmp_path / "live"
    settings.LIVESTREAM_PLAYBACK_URL = site + "/live/{id}/index.m3u8"
    stream = Livestream.objects.create(title="Just started", stream_key="sk_waiting_viewer_key_01")
    stream.start()

    # When a viewer opens its page, it says it is waiting
    page.goto(f"{site}/player/{stream.pk}/")
    page.wait_for_function("document.getElementById('player-status').textContent.includes('Waiting')")

    # Then, once the first segments are there (written as nginx-rtmp writes them: MPEG-TS, index.m3u8), it plays
    folder = settings.LIVESTREAM_DIR / "hls" / stream.pk
    folder.mkdir(parents=True)
    subprocess.run([ffmpeg.executable(), "-hide_banner", "-v", "error", "-f", "lavfi",
                    "-i", "testsrc2=size=320x240:rate=25:duration=6", "-c:v", "libx264", "-preset", "ultrafast",
                    "-g", "25", "-pix_fmt", "yuv420p", "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
                    str(folder / "index.m3u8")], check=True, timeout=60)
    page.evaluate("() => { const v = document.getElementById('player-video'); v.muted = true; v.play(); }")
    wait_until(lambda: page.evaluate(CURRENT_TIME) > 0.5, timeout=20)
    assert page.inner_text("#player-status") == ""
