"""Fixtures for the media API and admin tests: row counts that prove a refused request wrote nothing, videos
moved through the real state machine, permission grants, and small real files (text, images, a PNG bomb)."""

import io
import struct
import zlib
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from media_lifecycle.models import Livestream, Playlist, PlaylistItem, ProcessingJob, Tag, Video
from webhooks_app.models import Delivery, Event

COUNTED = {
    "videos": Video, "playlists": Playlist, "playlist_items": PlaylistItem, "livestreams": Livestream,
    "tags": Tag, "jobs": ProcessingJob, "events": Event, "deliveries": Delivery,
}


def row_counts() -> dict[str, int]:
    return {name: model.objects.count() for name, model in COUNTED.items()}


@contextmanager
def nothing_written():
    """Assert that the block leaves every media and outbox table exactly as it found it."""
    before = row_counts()
    yield
    assert row_counts() == before


def make_video(title: str = "A video", tags: tuple[str, ...] = (), **fields) -> Video:
    """A video saved through the ORM (without a source it starts no processing)."""
    video = Video.objects.create(title=title, **fields)
    if tags:
        video.tags.set([Tag.objects.get_or_create(name=name)[0] for name in tags])
    return Video.objects.get(pk=video.pk)


def make_ready(video: Video) -> Video:
    """Move a video to `ready` the way processing does: uploaded → processing → ready, through the state machine."""
    video.status = "processing"
    video.save()
    video.status = "ready"
    video.save()
    return Video.objects.get(pk=video.pk)


def make_published(video: Video) -> Video:
    video = make_ready(video)
    video.publish()
    return Video.objects.get(pk=video.pk)


def grant(user, *codenames: str) -> None:
    """Give `user` media_lifecycle model permissions, as an admin would in the admin's user page."""
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="media_lifecycle",
                                                         codename__in=codenames))
    assert user.user_permissions.filter(codename__in=codenames).count() == len(codenames)


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def image_bytes(size: tuple[int, int] = (64, 48), fmt: str = "PNG", **save_options) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format=fmt, **save_options)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width×height white pixels: tens of kilobytes on disk, hundreds of MB once decoded."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


@pytest.fixture(scope="session")
def bomb_bytes() -> bytes:
    return png_bomb(20000, 20000)


@pytest.fixture
def editor(django_user_model):
    """A non-staff editor with the video permissions an editor role would have."""
    user = django_user_model.objects.create_user("editor", "editor@example.com", "pw-editor-123")
    grant(user, "view_video", "add_video", "change_video", "delete_video")
    return user
