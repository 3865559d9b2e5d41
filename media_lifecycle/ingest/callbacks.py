"""What the media server's callbacks do to a livestream: go live when an encoder publishes with its key, end
when it stops, and turn the recording into a video. Each is safe to repeat or to receive out of order."""

import logging
import os
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction

from media_lifecycle import lifecycle, uploads
from media_lifecycle.models import Livestream, Video
from media_lifecycle.models.livestream import ENDED, IDLE, LIVE

logger = logging.getLogger(__name__)

RECORDING_SUFFIX = " (recording)"


class Refused(Exception):
    """The media server must refuse this stream (HTTP 403); the message says why."""


class BadRecording(ValueError):
    """A record-done callback names no recording we can use (HTTP 400)."""


def recordings_dir() -> Path:
    """Where the media server writes recordings: the only place a record-done path may point to."""
    return settings.LIVESTREAM_DIR / "recordings"


def hls_dir() -> Path:
    """Where the media server writes live HLS, one folder per livestream id, served while it is live."""
    return settings.LIVESTREAM_DIR / "hls"


def _known(key: str, *, lock: bool = False) -> Livestream:
    streams = Livestream.objects.select_for_update() if lock else Livestream.objects
    stream = streams.filter(stream_key=key).first()
    if stream is None:
        raise Refused("No livestream has this stream key.")
    return stream


def publish(key: str, session: str) -> Livestream:
    """An encoder starts publishing with `key`: the livestream goes live (once) and this session holds it.

    A second encoder with the same key is refused while the first one publishes, so a leaked key cannot take
    over a running stream; the same session asking again is answered as before.
    """
    with transaction.atomic(), lifecycle.unit_of_work():
        stream = _known(key, lock=True)
        if stream.status == ENDED:
            raise Refused("This livestream has ended; create a new livestream to go live again.")
        if stream.status == LIVE and stream.ingest_session and stream.ingest_session != session:
            raise Refused("This livestream is already live from another encoder.")
        stream.ingest_session = session
        if stream.status == IDLE:
            stream.start()
        else:
            stream.save()  # live through start/ already: this encoder now holds it
        return stream


def publish_done(key: str, session: str) -> Livestream:
    """The publishing encoder stopped: the livestream ends. A repeat, or the end of a session that was never
    the publishing one, changes nothing."""
    with transaction.atomic(), lifecycle.unit_of_work():
        stream = _known(key, lock=True)
        if stream.status != LIVE or stream.ingest_session != session:
            return stream
        stream.end()
        return stream


def recording_path(path: str) -> Path:
    """The recording file named by the media server, which must lie inside LIVESTREAM_DIR/recordings."""
    root = os.path.realpath(recordings_dir())
    full = os.path.realpath(path)
    if not os.path.isabs(path) or os.path.commonpath([root, full]) != root or full == root:
        raise BadRecording(f"path must name a file inside {recordings_dir()}.")
    return Path(full)


def _recording_title(stream: Livestream) -> str:
    limit = Video._meta.get_field("title").max_length - len(RECORDING_SUFFIX)
    return stream.title[:limit] + RECORDING_SUFFIX


def record_done(key: str, path: str) -> Livestream:
    """The media server finished a recording: it becomes a video (the livestream's title, tags and creator),
    processed like any upload, and the livestream's `recording`, in one transaction. Applied once.

    The file is copied into storage before the transaction, so no lock is held while a long recording copies;
    a concurrent duplicate finds the recording set and drops its copy.
    """
    stream = _known(key)
    file = recording_path(path)
    if stream.recording_id is not None:
        return stream
    if not stream.record:
        file.unlink(missing_ok=True)  # recorded by the server for every stream; this one did not want it
        return stream
    if not file.is_file():
        raise BadRecording(f"There is no recording file at {path}.")
    video = Video(title=_recording_title(stream), description=stream.description, created_by_id=stream.created_by_id)
    with file.open("rb") as handle:
        upload = File(handle, name=file.name)
        try:
            info = uploads.inspect_video(upload)
            video.mime_type, video.format, video.size_bytes = info.mime_type, info.format, info.size_bytes
        except uploads.UploadRejected as exc:  # processing will fail it, with the processor's reason
            logger.warning("Recording %s of %s is not a recognised video: %s", file.name, stream.pk, exc)
            video.size_bytes = upload.size
        video.file.save(file.name, upload, save=False)
    try:
        with transaction.atomic(), lifecycle.unit_of_work():
            stream = Livestream.objects.select_for_update().get(pk=stream.pk)
            if stream.recording_id is not None:
                video.file.delete(save=False)
                return stream
            video.save()
            video.tags.set(stream.tags.all())
            stream.recording = video
            stream.save()
    except BaseException:
        video.file.delete(save=False)
        raise
    file.unlink(missing_ok=True)
    return stream
