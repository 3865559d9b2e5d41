"""The built-in processor's work, run as a queued task: fetch the source, probe, encode the HLS ladder, grab a
thumbnail, store the outputs, and call back (signed, through the outbox, so a callback is never lost)."""

import logging
import posixpath
import re
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import requests
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from media_lifecycle.api.fields import absolute_url
from media_lifecycle.processor import ffmpeg, hls
from webhooks_app import events, sending

logger = logging.getLogger(__name__)

DOWNLOAD_TIMEOUT = 30
MAX_INTERRUPTIONS = 3  # a job interrupted more often than this fails, saying so
RESUME_DELAY_SECONDS = 10
RUN_JOB = "media_lifecycle.processor.tasks.run_job"
CHUNK = 1024 * 1024


class JobFailed(RuntimeError):
    """The job cannot finish; the message goes to the callback's errorMessage."""


def _seconds(timestamp: str) -> float:
    parts = [float(p) for p in timestamp.split(":")]
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


def _is_own(url: str) -> bool:
    return url.startswith(settings.PUBLIC_BASE_URL + "/")


def download(url: str, directory: Path, deadline: float) -> Path:
    """Fetch the source over HTTP(S), refusing private addresses unless it is our own media URL."""
    guarded = not (_is_own(url) or settings.WEBHOOK_ALLOW_PRIVATE_TARGETS)
    target = directory / "source"
    size = 0
    try:
        with sending.session(guarded).get(url, stream=True, timeout=DOWNLOAD_TIMEOUT, allow_redirects=False) as answer:
            if answer.status_code != 200:
                raise JobFailed(f"could not fetch the source: HTTP {answer.status_code} from {url}")
            with target.open("wb") as out:
                for chunk in answer.iter_content(CHUNK):
                    size += len(chunk)
                    if size > settings.MAX_UPLOAD_BYTES:
                        raise JobFailed(f"the source is larger than MAX_UPLOAD_BYTES ({settings.MAX_UPLOAD_BYTES})")
                    if time.monotonic() > deadline:
                        raise JobFailed("timed out fetching the source")
                    out.write(chunk)
    except requests.RequestException as exc:
        raise JobFailed(f"could not fetch the source: {sending.transport_error(exc, DOWNLOAD_TIMEOUT)}") from None
    if size == 0:
        raise JobFailed("the source is empty")
    return target


def _store(local: Path, name: str) -> str:
    with local.open("rb") as handle:
        stored = default_storage.save(name, File(handle))
    return absolute_url(default_storage.url(stored))


def _store_file(local: Path, name: str) -> str:
    """Save a local file; returns the name the storage gave it (it may add a suffix to stay unique)."""
    with local.open("rb") as handle:
        return default_storage.save(name, File(handle))


def _store_text(text: str, name: str) -> str:
    return default_storage.save(name, ContentFile(text.encode()))


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise ffmpeg.FFmpegError(f"processing timed out after {settings.PROCESSING_TIMEOUT} s")
    return left


def plan(wanted: list[str], source_height: int) -> list[tuple[str, int]]:
    """(quality, height) of each rendition to make, tallest first: the wanted ones no taller than the source,
    or the source's own height when none fits (a small source still gets a ladder of one)."""
    heights = settings.RENDITION_HEIGHTS
    fitting = sorted({q for q in wanted if q in heights and heights[q] <= source_height}, key=lambda q: -heights[q])
    even = source_height - source_height % 2
    return [(q, heights[q]) for q in fitting] or [(f"{even}p", even)]


def _transcode(body: dict, source: Path, work: Path, deadline: float) -> dict:
    """The HLS ladder: one fragmented-MP4 encode per rendition (its MP4 download and its HLS variant at once),
    their media playlists and a master playlist, all stored side by side so the playlists link relatively."""
    info = ffmpeg.probe(source, timeout=_remaining(deadline))
    steps = plan(body.get("renditions") or settings.PROCESSING_RENDITIONS, info.height)
    folder = f"processed/{body['videoId']}/{body['jobId']}"
    renditions, variants = [], []
    for index, (quality, height) in enumerate(steps):
        encoded = ffmpeg.hls_rendition(source, work, quality, height, timeout=_remaining(deadline))
        media = _store_file(encoded.media, f"{folder}/{quality}.mp4")
        playlist = _store_text(hls.relinked(encoded.playlist.read_text(), posixpath.basename(media)),
                               f"{folder}/{quality}.m3u8")
        variant = hls.measured(encoded.master, posixpath.basename(playlist))
        variants.append(variant)
        renditions.append({"quality": quality, "format": "mp4", "url": absolute_url(default_storage.url(media)),
                           "size": encoded.media.stat().st_size, "width": variant.width, "height": variant.height,
                           "bitrate": variant.average_bandwidth or variant.bandwidth})
        if index < len(steps) - 1:
            _call_back(body, {"status": "progress", "progress": round(100 * (index + 1) / len(steps))})
    master = _store_text(hls.master(variants), f"{folder}/master.m3u8")
    return {"status": "processed", "processedUrl": renditions[0]["url"], "renditions": renditions,
            "hlsUrl": absolute_url(default_storage.url(master)),
            "duration": round(info.duration, 3), "width": info.width, "height": info.height}


def _thumbnail(body: dict, source: Path, work: Path, deadline: float) -> dict:
    info = ffmpeg.probe(source, timeout=_remaining(deadline))
    at = _seconds(body.get("timestamp") or settings.THUMBNAIL_TIMESTAMP)
    if info.duration:
        at = min(at, max(0.0, info.duration - 0.1))
    output = work / "thumbnail.jpg"
    ffmpeg.thumbnail(source, output, at, timeout=_remaining(deadline))
    if not output.exists() or output.stat().st_size == 0:
        raise ffmpeg.FFmpegError("ffmpeg produced no thumbnail frame")
    url = _store(output, f"thumbnails/{body['videoId']}/{body['jobId']}.jpg")
    return {"status": "processed", "thumbnailUrl": url}


def _call_back(body: dict, result: dict) -> None:
    events.record_message("processing.callback", result, channel="processor-callback", bare=True,
                          target_url=body["callbackUrl"], object_type="processing_job", object_id=body["jobId"])


def enqueue(job: dict) -> None:
    """Queue one job for the task cluster's workers."""
    async_task(RUN_JOB, job, task_name=f"process {job['jobId']}", timeout=settings.PROCESSING_TIMEOUT + 120)


def resume_later(job: dict) -> None:
    """Queue an interrupted job again, due RESUME_DELAY_SECONDS from now: a worker that is stopping (the usual
    cause) must not take it back at once, only to find the web server gone."""
    schedule(RUN_JOB, job, name=f"resume {job['jobId']} ({job['interruptions']})", schedule_type=Schedule.ONCE,
             repeats=-1, next_run=timezone.now() + timedelta(seconds=RESUME_DELAY_SECONDS))


def run_job(body: dict) -> dict:
    """Do one job of the SPEC §7 protocol and queue its signed callback; never leaves a job hanging. A job whose
    ffmpeg was interrupted (the worker was stopped meanwhile) is queued again instead, a few times at most: a
    worker running a little later does it, and the video is not failed for a Ctrl-C."""
    deadline = time.monotonic() + settings.PROCESSING_TIMEOUT
    safe_name = re.sub(r"[^A-Za-z0-9_]", "", str(body.get("jobId")))
    with tempfile.TemporaryDirectory(prefix="mediahooks-") as tmp:
        work = Path(tmp)
        try:
            source = download(body["videoUrl"], work, deadline)
            handler = _transcode if body["task"] == "transcode" else _thumbnail
            result = handler(body, source, work, deadline)
        except ffmpeg.FFmpegInterrupted as exc:
            interruptions = body.get("interruptions", 0) + 1
            if interruptions > MAX_INTERRUPTIONS:
                result = {"status": "failed", "errorMessage": f"{exc}, {interruptions} times"}
            else:
                logger.warning("Built-in processor: job %s interrupted (%s); it resumes in %d s.", safe_name, exc,
                               RESUME_DELAY_SECONDS)
                resume_later({**body, "interruptions": interruptions})
                return {"status": "resumes later"}
        except (JobFailed, ffmpeg.FFmpegError, hls.PlaylistError) as exc:
            result = {"status": "failed", "errorMessage": str(exc)}
    logger.info("Built-in processor: job %s %s", safe_name, result["status"])
    _call_back(body, result)
    return result
