"""Player fixtures: videos in each state the player page cares about, and a clean analytics throttle."""

import pytest
from django.core.cache import cache
from django.utils import timezone

from media_lifecycle import states
from media_lifecycle.models import ClientWebhook, Video

LOCAL_CLIENT = "127.0.0.1"


def throttle_key(address: str) -> str:
    return f"throttle_analytics_{address}"


@pytest.fixture(autouse=True)
def _fresh_analytics_throttle():
    """Only this suite's throttle history is dropped: the cache may be a Redis shared with other test runs."""
    cache.delete(throttle_key(LOCAL_CLIENT))
    yield
    cache.delete(throttle_key(LOCAL_CLIENT))


def make_video(*, title: str = "Sunset timelapse", published: bool = True, status: str = states.READY,
               archived: bool = False, **fields) -> Video:
    """A video as processing leaves it (no source, so no processing run starts), with two renditions."""
    fields.setdefault("description", "Clouds over the bay.\nShot in one take.")
    fields.setdefault("renditions", [
        {"quality": "480p", "format": "mp4", "url": "/media/renditions/sunset-480p.mp4", "size_bytes": 100},
        {"quality": "1080p", "format": "mp4", "url": "/media/renditions/sunset-1080p.mp4", "size_bytes": 900},
        {"quality": "720p", "format": "mp4", "url": "/media/renditions/sunset-720p.mp4", "size_bytes": 400},
    ])
    fields.setdefault("thumbnail_url", "/media/thumbnails/sunset.jpg")
    fields.setdefault("processed_url", "/media/renditions/sunset-1080p.mp4")
    video = Video.objects.create(title=title, status=status, published=published,
                                 published_at=timezone.now() if published else None, **fields)
    if archived:
        video.archive()
    return video


@pytest.fixture
def video(db) -> Video:
    return make_video()


@pytest.fixture
def client_hook(db) -> ClientWebhook:
    return ClientWebhook.objects.create(url="http://lms.intranet.example/track", request_field="student",
                                        response_field="student_id", rpm=60, description="LMS")
