"""The player pages for adaptive streaming: HLS with the Quality menu, the MP4 fallback, a playlist's
published videos in order, and a livestream (its HLS while live, a plain notice otherwise)."""

import re

import pytest

from media_lifecycle.models import Livestream, Playlist, PlaylistItem
from tests.player.conftest import make_video
from tests.player.test_player_page import page_config

pytestmark = pytest.mark.django_db

HLS_SCRIPT = "/static/media_lifecycle/vendor/hls.js/hls.min.js"


def options(html: str) -> list[str]:
    select = re.search(r'<select id="player-quality".*?</select>', html, re.S).group(0)
    return re.findall(r"<option[^>]*>([^<]+)</option>", select)


def test_a_video_with_hls_plays_its_master_playlist_with_a_quality_menu(client):
    video = make_video(hls_url="/media/processed/v/master.m3u8", renditions=[
        {"quality": "480p", "format": "mp4", "url": "/media/processed/v/480p.mp4", "size_bytes": 1, "width": 640,
         "height": 480, "bitrate_kbps": 900},
        {"quality": "720p", "format": "mp4", "url": "/media/processed/v/720p.mp4", "size_bytes": 2, "width": 1280,
         "height": 720, "bitrate_kbps": 2400},
    ])

    html = client.get(f"/player/{video.pk}/").content.decode()

    item = page_config(client.get(f"/player/{video.pk}/"))["items"][0]
    assert item["hls"] == "http://127.0.0.1:8000/media/processed/v/master.m3u8"
    assert [q["label"] for q in item["qualities"]] == ["720p", "480p"]
    assert [q["height"] for q in item["qualities"]] == [720, 480]
    assert "<source" not in html  # the script attaches HLS; no MP4 starts loading first
    assert re.search(r"<label[^>]*>Quality\s*<select", html)
    assert options(html) == ["Auto", "720p", "480p"]
    assert HLS_SCRIPT in html


def test_a_video_without_hls_plays_mp4_and_still_offers_each_rendition(client, video):
    html = client.get(f"/player/{video.pk}/").content.decode()

    assert page_config(client.get(f"/player/{video.pk}/"))["items"][0]["hls"] is None
    assert "<source" in html
    assert options(html) == ["Auto", "1080p", "720p", "480p"]
    assert HLS_SCRIPT not in html  # nothing to load for MP4


def test_a_playlist_page_plays_its_published_ready_videos_in_order(client):
    first, hidden, draft, second = (make_video(title="First"), make_video(title="Archived", archived=True),
                                    make_video(title="Draft", published=False), make_video(title="Second"))
    playlist = Playlist.objects.create(title="Best of", description="Our picks.")
    for position, video in enumerate([second, hidden, draft, first]):
        PlaylistItem.objects.create(playlist=playlist, video=video, position=position)

    response = client.get(f"/player/{playlist.pk}/")

    assert response.status_code == 200
    config = page_config(response)
    assert config["kind"] == "playlist"
    assert [item["id"] for item in config["items"]] == [second.pk, first.pk]
    assert config["videoId"] == second.pk
    html = response.content.decode()
    assert "Best of" in html and re.search(r"<ol class=\"playlist\".*Second.*First", html, re.S)


def test_a_playlist_without_published_videos_gets_the_friendly_404(client):
    playlist = Playlist.objects.create(title="Empty")
    PlaylistItem.objects.create(playlist=playlist, video=make_video(published=False), position=0)

    response = client.get(f"/player/{playlist.pk}/")

    assert response.status_code == 404
    assert "This playlist is not available" in response.content.decode()


def test_a_live_livestream_page_plays_its_playback_url(client):
    stream = Livestream.objects.create(title="Town hall", stream_key="sk_player_page_key_123")
    stream.start()

    response = client.get(f"/player/{stream.pk}/")

    assert response.status_code == 200
    item = page_config(response)["items"][0]
    assert item["hls"] == stream.playback_url and item["kind"] == "livestream" and not item["analytics"]
    html = response.content.decode()
    assert HLS_SCRIPT in html and "not live" not in html
    assert stream.stream_key not in html


def test_an_idle_livestream_page_says_it_is_not_live_and_reloads_itself(client):
    stream = Livestream.objects.create(title="Town hall", stream_key="sk_player_page_key_123")

    response = client.get(f"/player/{stream.pk}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "This livestream is not live yet." in html
    assert '<meta http-equiv="refresh"' in html
    assert "<video" not in html and page_config(response)["items"] == []


def test_an_ended_livestream_page_says_so_and_links_its_published_recording(client):
    recording = make_video(title="Town hall (recording)")
    stream = Livestream.objects.create(title="Town hall", stream_key="sk_player_page_key_123")
    stream.start()
    stream.end(recording=recording)

    html = client.get(f"/player/{stream.pk}/").content.decode()

    assert "This livestream is not live: it has ended." in html
    assert f'href="/player/{recording.pk}/"' in html
    assert "http-equiv" not in html


@pytest.mark.parametrize("wrong", ["ls_nothere", "pl_nothere", "vid_nothere", "xyz_1", "vid_" + "a" * 300])
def test_unknown_or_malformed_ids_get_the_friendly_404(client, wrong):
    response = client.get(f"/player/{wrong}/")

    assert response.status_code == 404
    assert "is not available" in response.content.decode()


def test_a_nul_in_a_player_id_gets_400(client):
    response = client.get("/player/ls_%00/")

    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
