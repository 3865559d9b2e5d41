"""A recording is processed like any upload, by the real built-in processor: a usable one becomes ready, and a
file that is not a usable video becomes a video that fails with a clear error_message (never a 500)."""

import pytest

from media_lifecycle.models import Video
from tests.ingest.conftest import post_ingest
from tests.processing.test_builtin_processor import builtin  # noqa: F401 (fixture)


def recording(livestream_dir, stream, content: bytes) -> str:
    path = livestream_dir / "recordings" / f"{stream.pk}-1790000001.flv"
    path.write_bytes(content)
    return str(path)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("content,reason", [
    (b"FLV\x01\x05\x00\x00\x00\x09" + bytes(range(256)) * 40, r"ffmpeg"),  # an FLV header, then garbage
    (b"not a video at all, just text\n" * 100, r"ffmpeg"),
    (b"", r"the source is empty"),
])
def test_a_recording_that_is_not_a_usable_video_becomes_a_failed_video_with_a_clear_reason(
        builtin, stream, livestream_dir, content, reason):  # noqa: F811
    answer = post_ingest("record-done", path=recording(livestream_dir, stream, content))

    assert answer.status_code == 200, answer.content
    video = Video.objects.get(pk=answer.json()["recording"])
    assert video.status == "failed"
    assert video.error_message
    assert reason in video.error_message, video.error_message
    print("recording failed:", video.error_message)
    stream.refresh_from_db()
    assert stream.recording_id == video.pk


@pytest.mark.django_db(transaction=True)
def test_a_usable_recording_becomes_a_ready_video(builtin, stream, livestream_dir, clip_bytes):  # noqa: F811
    answer = post_ingest("record-done", path=recording(livestream_dir, stream, clip_bytes))

    video = Video.objects.get(pk=answer.json()["recording"])
    assert video.status == "ready", video.error_message
    assert video.hls_url and video.renditions
