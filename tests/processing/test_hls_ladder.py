"""The built-in processor's HLS ladder, made for real by the bundled ffmpeg and read back over HTTP: a master
playlist with BANDWIDTH, RESOLUTION and CODECS, byte-range media playlists over each rendition's one MP4,
segments of at most 6 s cut at the same instants in every rendition, and all of it decodable by ffmpeg."""

import re
import subprocess
from urllib.parse import urljoin

import m3u8
import pytest
import requests

from media_lifecycle.processor import ffmpeg
from tests.processing.test_builtin_processor import builtin, stored_path, upload  # noqa: F401 (fixture)

SECONDS = 9


@pytest.fixture(scope="module")
def ladder_clip(tmp_path_factory) -> bytes:
    """A real 9-second 640x480 clip with sound: two rungs of the default ladder fit under it (480p, 240p)."""
    path = tmp_path_factory.mktemp("clips") / "ladder.mp4"
    ffmpeg.make_test_clip(path, seconds=SECONDS, width=640, height=480)
    return path.read_bytes()


def decode(url: str, *extra: str) -> subprocess.CompletedProcess:
    """ffmpeg reads `url` (over HTTP) and decodes everything it maps, writing nothing."""
    return subprocess.run([ffmpeg.executable(), "-hide_banner", "-nostdin", "-v", "error", *extra, "-i", url,
                           "-f", "null", "-"], capture_output=True, text=True, timeout=120)


def keyframe_times(path) -> list[float]:
    """The presentation times of the video's keyframes, as ffmpeg decodes them."""
    done = subprocess.run([ffmpeg.executable(), "-hide_banner", "-nostdin", "-skip_frame", "nokey", "-i", str(path),
                           "-an", "-vf", "showinfo", "-f", "null", "-"], capture_output=True, text=True, timeout=120)
    return [round(float(t), 2) for t in re.findall(r"pts_time:\s*([0-9.]+)", done.stderr)]


@pytest.mark.django_db(transaction=True)
def test_builtin_processor_makes_an_hls_ladder_that_ffmpeg_decodes(builtin, staff_api, ladder_clip,  # noqa: F811
                                                                   settings):
    settings.PROCESSING_RENDITIONS = ["1080p", "480p", "240p"]  # 1080p is taller than the source: skipped

    video = upload(staff_api, ladder_clip, "Ladder")

    video.refresh_from_db()
    assert video.status == "ready", video.error_message
    assert [r["quality"] for r in video.renditions] == ["480p", "240p"]
    assert staff_api.get(f"/api/videos/{video.pk}/").json()["hls_url"] == video.hls_url

    # The master playlist: one variant per rendition, each announced with BANDWIDTH, RESOLUTION and CODECS
    answer = requests.get(video.hls_url, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/vnd.apple.mpegurl"
    master = m3u8.loads(answer.text, uri=video.hls_url)
    assert master.is_variant and master.is_independent_segments
    assert [p.stream_info.resolution for p in master.playlists] == [(640, 480), (320, 240)]
    for variant in master.playlists:
        assert variant.stream_info.bandwidth > 0
        assert re.fullmatch(r"avc1\.[0-9a-f]{6},mp4a\.40\.2", variant.stream_info.codecs), variant.stream_info.codecs

    # Each media playlist addresses its rendition's one MP4 by byte ranges, in segments of at most 6 s
    cuts = []
    for variant, rendition in zip(master.playlists, video.renditions, strict=True):
        playlist_url = urljoin(video.hls_url, variant.uri)
        playlist = m3u8.loads(requests.get(playlist_url, timeout=10).text, uri=playlist_url)
        assert playlist.is_endlist and playlist.playlist_type == "vod"
        assert playlist.target_duration <= 6
        assert urljoin(playlist_url, playlist.segment_map[0].uri) == rendition["url"]
        assert playlist.segment_map[0].byterange
        assert {urljoin(playlist_url, s.uri) for s in playlist.segments} == {rendition["url"]}
        assert all(s.byterange and 0 < s.duration <= 6 for s in playlist.segments)
        assert sum(s.duration for s in playlist.segments) == pytest.approx(SECONDS, abs=0.2)
        cuts.append([s.duration for s in playlist.segments])
        assert (rendition["width"], rendition["height"]) == variant.stream_info.resolution
        assert rendition["bitrate_kbps"] == round((variant.stream_info.average_bandwidth
                                                   or variant.stream_info.bandwidth) / 1000)
        # The same file is the rendition's progressive download: a whole MP4, H.264/AAC, the clip's length
        described = subprocess.run([ffmpeg.executable(), "-hide_banner", "-i", rendition["url"]], capture_output=True,
                                   text=True, timeout=60).stderr
        assert "Video: h264" in described and "Audio: aac" in described, described
        assert ffmpeg.probe(stored_path(rendition["url"]), timeout=30).duration == pytest.approx(SECONDS, abs=0.2)
        done = decode(playlist_url)
        assert done.returncode == 0, done.stderr
    assert cuts[0] == cuts[1], "every rendition is cut at the same instants"

    # Keyframes sit on the same fixed clock in every rendition, so each segment starts on one
    keyframes = [keyframe_times(stored_path(r["url"])) for r in video.renditions]
    assert keyframes[0] == keyframes[1]
    first = keyframes[0][0]  # the stream's start time (ffmpeg shifts it by a few ms for the audio's priming)
    keyframes = [round(t - first, 2) for t in keyframes[0]]
    assert keyframes == [float(t) for t in range(0, SECONDS, 2)]
    starts = [sum(cuts[0][:i]) for i in range(len(cuts[0]))]
    assert set(starts) <= set(keyframes)

    # And ffmpeg decodes the whole ladder from the master playlist, over HTTP
    done = decode(video.hls_url)
    assert done.returncode == 0, done.stderr


@pytest.mark.django_db(transaction=True)
def test_a_source_smaller_than_every_wanted_rendition_gets_a_ladder_of_one(builtin, staff_api,  # noqa: F811
                                                                          clip_bytes):
    video = upload(staff_api, clip_bytes, "Small")  # 320x240, under the default 1080p, 720p and 480p

    video.refresh_from_db()
    assert video.status == "ready", video.error_message
    master = m3u8.loads(requests.get(video.hls_url, timeout=10).text)
    assert [p.stream_info.resolution for p in master.playlists] == [(320, 240)]
    assert [r["quality"] for r in video.renditions] == ["240p"]
    assert decode(video.hls_url).returncode == 0
