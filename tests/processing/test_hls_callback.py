"""An external processor's adaptive streaming on the callback: `hlsUrl` and each rendition's `width`, `height`
and `bitrate` become the video's `hls_url` and rendition fields; anything but an http(s) `hlsUrl` gets 400."""

import pytest

from tests.processing.conftest import jobs_of, post_callback, processed_transcode, video_state

pytestmark = pytest.mark.django_db


def test_hls_url_and_rendition_details_of_an_external_processor_are_kept(source_video, staff_api):
    body = processed_transcode(hlsUrl="https://cdn.example.com/out/master.m3u8", renditions=[
        {"quality": "720p", "format": "mp4", "url": "https://cdn.example.com/out/720p.mp4", "size": 123456,
         "width": 1280, "height": 720, "bitrate": 2_400_000},
        {"quality": "480p", "format": "mp4", "url": "https://cdn.example.com/out/480p.mp4"},
    ])

    answer = post_callback(jobs_of(source_video)["transcode"], body)

    assert answer.status_code == 200, answer.json()
    shown = staff_api.get(f"/api/videos/{source_video.pk}/").json()
    assert shown["hls_url"] == "https://cdn.example.com/out/master.m3u8"
    assert shown["renditions"] == [
        {"quality": "720p", "format": "mp4", "url": "https://cdn.example.com/out/720p.mp4", "size_bytes": 123456,
         "width": 1280, "height": 720, "bitrate_kbps": 2400},
        {"quality": "480p", "format": "mp4", "url": "https://cdn.example.com/out/480p.mp4", "size_bytes": None,
         "width": None, "height": None, "bitrate_kbps": None},
    ]


def test_without_hls_url_the_api_shows_null(source_video, staff_api):
    post_callback(jobs_of(source_video)["transcode"], processed_transcode())

    assert staff_api.get(f"/api/videos/{source_video.pk}/").json()["hls_url"] is None


@pytest.mark.parametrize("hls_url", ["ftp://cdn.example.com/master.m3u8", "FTPS://cdn.example.com/master.m3u8",
                                     "javascript:alert(1)", "file:///etc/passwd", "rtmp://cdn.example.com/live/x",
                                     "data:application/vnd.apple.mpegurl,#EXTM3U", "master.m3u8"])
def test_an_hls_url_that_is_not_http_or_https_gets_400(source_video, hls_url):
    before = video_state(source_video)

    answer = post_callback(jobs_of(source_video)["transcode"], processed_transcode(hlsUrl=hls_url))

    assert answer.status_code == 400
    assert "hlsUrl" in answer.json()
    assert video_state(source_video) == before


@pytest.mark.parametrize("field,value", [("width", 0), ("height", 70000), ("bitrate", -1), ("bitrate", 10**13),
                                         ("width", "wide")])
def test_a_rendition_with_impossible_dimensions_or_bitrate_gets_400(source_video, field, value):
    before = video_state(source_video)
    rendition = {"quality": "720p", "format": "mp4", "url": "https://cdn.example.com/out/720p.mp4", field: value}

    answer = post_callback(jobs_of(source_video)["transcode"], processed_transcode(renditions=[rendition]))

    assert answer.status_code == 400
    assert field in str(answer.json()["renditions"]), answer.json()
    assert video_state(source_video) == before
