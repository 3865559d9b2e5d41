"""Live HLS at the playback URL: the media server's playlist and segments, served while the livestream is
live and never before or after; names outside the media server's files get 404."""

import pytest

from media_lifecycle.models import Livestream

pytestmark = pytest.mark.django_db

PLAYLIST = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000,\n0.ts\n"


@pytest.fixture
def hls_files(livestream_dir, stream):
    folder = livestream_dir / "hls" / stream.pk
    folder.mkdir()
    (folder / "index.m3u8").write_bytes(PLAYLIST)
    (folder / "0.ts").write_bytes(b"\x47" + bytes(187) * 3)
    return folder


def test_the_playback_url_is_the_livestreams_own_path_with_its_id(stream, settings):
    assert stream.playback_url == f"{settings.PUBLIC_BASE_URL}/live/{stream.pk}/index.m3u8"
    assert stream.stream_key not in stream.playback_url


def test_live_hls_is_served_while_the_livestream_is_live(client, stream, hls_files):
    stream.start()

    playlist = client.get(f"/live/{stream.pk}/index.m3u8")
    segment = client.get(f"/live/{stream.pk}/0.ts")
    part = client.get(f"/live/{stream.pk}/0.ts", HTTP_RANGE="bytes=0-9")

    assert playlist.status_code == 200
    assert playlist["Content-Type"] == "application/vnd.apple.mpegurl"
    assert playlist["Cache-Control"] == "no-cache"
    assert b"".join(playlist.streaming_content) == PLAYLIST
    assert segment.status_code == 200 and segment["Content-Type"] == "video/mp2t"
    assert part.status_code == 206 and part["Content-Type"] == "video/mp2t" and part["Content-Length"] == "10"


@pytest.mark.parametrize("status", ["idle", "ended"])
def test_live_hls_is_not_served_when_the_livestream_is_not_live(client, stream, hls_files, status):
    if status == "ended":
        stream.start()
        stream.end()

    assert client.get(f"/live/{stream.pk}/index.m3u8").status_code == 404
    assert client.get(f"/live/{stream.pk}/0.ts").status_code == 404


@pytest.mark.parametrize("path", ["index.m3u8.bak", "..%2Fsecret.ts", "index.mp4", ".ts"])
def test_names_that_are_not_live_hls_files_get_404(client, stream, hls_files, path):
    stream.start()

    assert client.get(f"/live/{stream.pk}/{path}").status_code == 404


@pytest.mark.parametrize("livestream_id", ["vid_abc", "ls_" + "a" * 200, "ls_nothere"])
def test_unknown_or_malformed_livestream_ids_get_404(client, stream, hls_files, livestream_id):
    stream.start()

    assert client.get(f"/live/{livestream_id}/index.m3u8").status_code == 404


@pytest.mark.parametrize("path", ["/live/ls_%00/index.m3u8", "/live/{id}/a%00.ts"])
def test_a_nul_in_a_live_hls_path_gets_400_before_any_file_is_looked_up(client, stream, hls_files, path):
    stream.start()

    answer = client.get(path.replace("{id}", stream.pk))

    assert answer.status_code == 400
    assert "NUL" in answer.json()["detail"]


def test_a_missing_segment_of_a_live_stream_gets_404(client, stream, hls_files):
    stream.start()

    assert client.get(f"/live/{stream.pk}/99.ts").status_code == 404
    assert Livestream.objects.get(pk=stream.pk).status == "live"
