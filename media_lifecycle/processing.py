"""Processing: a run of two jobs (transcode, thumbnail) per source or reprocess, sent to the processor through
the webhook engine's outbox, and the callbacks that move the video through its status machine."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models.signals import post_delete
from django.urls import reverse
from django.utils import timezone

from cms.exceptions import ConflictError
from media_lifecycle import states
from media_lifecycle.api.fields import absolute_url, file_url
from media_lifecycle.models import ProcessingJob, Video
from media_lifecycle.unit_of_work import unit_of_work
from webhooks_app import channels, events
from webhooks_app.channels import Outcome, Target
from webhooks_app.models import Delivery

logger = logging.getLogger(__name__)

SOURCE_FIELDS = {"file", "source_url"}
REQUEST_EVENT = "processing.request"
UNREACHABLE = "processor unreachable: "


# --- starting runs ---------------------------------------------------------------------------------


def after_video_change(video: Video, *, created: bool, changed: set[str]) -> None:
    """A new video with a source, or a new source on an existing one, starts a processing run."""
    if video.has_source and (created or SOURCE_FIELDS & changed):
        start_run(video)


def reprocess(video: Video) -> None:
    """Run processing again (the only way out of `failed`, and the only way from `ready` back to `processing`)."""
    if not video.has_source:
        raise ConflictError("This video has no source to process; upload a file or set source_url first.",
                            status=video.status)
    if video.archived:
        raise ConflictError("An archived video is not processed; unarchive it first.", status=video.status)
    start_run(video)


def start_run(video: Video) -> list[ProcessingJob]:
    """Create the transcode and thumbnail jobs of a new run and queue their signed requests; requests of
    earlier runs that the processor has not accepted yet are not sent any more."""
    superseded = ProcessingJob.objects.filter(video=video, status=ProcessingJob.Status.PENDING)
    for job in superseded:
        events.cancel_pending(job.request_id, reason=f"superseded by processing run {video.processing_run + 1}")
    superseded.update(status=ProcessingJob.Status.FAILED, completed_at=timezone.now(),
                      error_message=f"superseded by processing run {video.processing_run + 1}")
    video.processing_run += 1
    video.save()
    jobs = []
    for task in (ProcessingJob.Task.TRANSCODE, ProcessingJob.Task.THUMBNAIL):
        job = ProcessingJob.objects.create(video=video, task=task, run=video.processing_run)
        job.request = events.record_message(REQUEST_EVENT, request_body(job), channel="processing", bare=True,
                                            object_type="processing_job", object_id=job.pk)
        job.save(update_fields=["request"])
        jobs.append(job)
    return jobs


def callback_url(job: ProcessingJob) -> str:
    return absolute_url(reverse("processing-callback", args=[job.pk]))


def request_body(job: ProcessingJob) -> dict:
    """The camelCase request of SPEC §7."""
    video = job.video
    body = {
        "jobId": job.pk,
        "task": job.task,
        "videoId": video.pk,
        "videoUrl": file_url(video.file) if video.file else video.source_url,
    }
    if job.task == ProcessingJob.Task.TRANSCODE:
        body.update({
            "metadata": {"title": video.title, "mimeType": video.mime_type or None, "sizeBytes": video.size_bytes},
            "format": "mp4",
            "quality": "high",
            "renditions": list(settings.PROCESSING_RENDITIONS),
        })
    else:
        body["timestamp"] = settings.THUMBNAIL_TIMESTAMP
    body["callbackUrl"] = callback_url(job)
    return body


# --- the processor's answers -----------------------------------------------------------------------


def _locked(job: ProcessingJob) -> tuple[ProcessingJob, Video]:
    job = ProcessingJob.objects.select_for_update().get(pk=job.pk)
    video = Video.objects.select_for_update().get(pk=job.video_id)
    return job, video


def _is_current_transcode(job: ProcessingJob, video: Video) -> bool:
    return job.task == ProcessingJob.Task.TRANSCODE and job.run == video.processing_run


def accept(job: ProcessingJob, video: Video) -> None:
    """The processor took the job: the transcode of the current run moves the video to `processing`."""
    if job.status != ProcessingJob.Status.PENDING:
        return
    job.status = ProcessingJob.Status.ACCEPTED
    job.save(update_fields=["status", "updated_at"])
    if _is_current_transcode(job, video) and video.status != states.PROCESSING:
        video.status = states.PROCESSING
        video.error_message = ""
        video.save()


class CallbackConflict(ConflictError):
    """A final callback that contradicts the one already applied (HTTP 409)."""


def apply_callback(job: ProcessingJob, body: dict) -> Video:
    """Apply a validated callback body (snake_case keys) to the job and, for the current run, the video."""
    with transaction.atomic(), unit_of_work():
        job, video = _locked(job)
        kind = body["status"]
        if job.is_final:
            if kind == "progress":
                return video  # a late progress report changes nothing
            if job.result == body:
                return video  # the same final callback again: idempotent
            raise CallbackConflict(
                f"This job already ended as {job.status}; a different final callback cannot replace it.",
                status=video.status, job_status=job.status,
            )
        accept(job, video)
        if kind == "progress":
            job.progress = body["progress"]
            job.save(update_fields=["progress", "updated_at"])
            return video
        job.result = body
        job.completed_at = timezone.now()
        if kind == "processed":
            job.status = ProcessingJob.Status.SUCCEEDED
            job.progress = 100
        else:
            job.status = ProcessingJob.Status.FAILED
            job.error_message = body.get("error_message") or "processing failed"
        job.save()
        if job.run != video.processing_run:
            return video  # a superseded run: keep the job's record, leave the video alone
        if job.task == ProcessingJob.Task.THUMBNAIL:
            url = body.get("thumbnail_url") or body.get("processed_url")
            if kind == "processed" and url and not video.poster:  # an editor's poster wins
                video.thumbnail_url = url
                video.save()
            return video
        if kind == "processed":
            _succeed(video, body)
        else:
            _fail(video, job.error_message)
        return video


def _succeed(video: Video, body: dict) -> None:
    video.status = states.READY
    video.error_message = ""
    video.processed_url = body.get("processed_url") or ""
    video.hls_url = body.get("hls_url") or ""  # without one, players use the MP4 renditions
    video.renditions = [
        {"quality": r["quality"], "format": r["format"], "url": r["url"], "size_bytes": r.get("size"),
         "width": r.get("width"), "height": r.get("height"),
         "bitrate_kbps": round(r["bitrate"] / 1000) if r.get("bitrate") else None}
        for r in body.get("renditions") or []
    ]
    for name in ("duration_seconds", "width", "height"):
        if body.get(name) is not None:
            setattr(video, name, body[name])
    if body.get("thumbnail_url") and not video.poster:
        video.thumbnail_url = body["thumbnail_url"]
    if video.auto_publish and not video.archived:
        video.published = True
        video.published_at = timezone.now()
    video.save()
    _notify_editor(video)


def _fail(video: Video, message: str) -> None:
    video.status = states.FAILED
    video.error_message = message
    video.save()
    _notify_editor(video)


def _notify_editor(video: Video, *, unreachable: str = "") -> None:
    """Email the editor who created the video when processing ends (after the commit); `unreachable`: a
    reprocess of a ready video that never reached the processor, and why."""
    editor = video.created_by
    if editor is None or not editor.email:
        return
    if unreachable:
        subject = f"Reprocessing failed for “{video.title}”"
        body = (f"Reprocessing {video.title} ({video.pk}) failed: {unreachable}. The video stays ready, with the "
                "renditions of its last successful processing.")
    elif video.status == states.READY:
        subject = f"Your video “{video.title}” is ready"
        body = f"Processing finished: {video.title} ({video.pk}) is ready."
        if video.published:
            body += " It was published automatically."
    else:
        subject = f"Processing failed for “{video.title}”"
        body = f"Processing {video.title} ({video.pk}) failed: {video.error_message}"
    address = editor.email
    transaction.on_commit(lambda: send_mail(subject, body, None, [address]), robust=True)


# --- the outbox channel that carries processing requests -------------------------------------------


def processor_url() -> str:
    return settings.PROCESSOR_URL or absolute_url(reverse("builtin-processor"))


def _target(delivery: Delivery) -> Target:
    return Target(url=processor_url(), secrets=[settings.PROCESSOR_SECRET], guarded=False)


def _settle(outcomes: list[Outcome]) -> None:
    """A 2xx accepts the job; a request that failed for good fails the job (and, for transcode, the video)."""
    for outcome in outcomes:
        job = ProcessingJob.objects.filter(request=outcome.delivery).first()
        if job is None:
            continue
        with unit_of_work():
            job, video = _locked(job)
            if outcome.result.ok:
                accept(job, video)
            elif outcome.final and not job.is_final:
                _unreachable(job, video, outcome.delivery.last_error)


def _unreachable(job: ProcessingJob, video: Video, error: str) -> None:
    message = UNREACHABLE + error
    job.status = ProcessingJob.Status.FAILED
    job.error_message = message
    job.completed_at = timezone.now()
    job.save()
    logger.error("Processing job %s for %s failed for good: %s", job.pk, video.pk, message)
    events.record("system.error", {
        "object": "processing_job",
        "job": {"id": job.pk, "task": job.task, "video": video.pk},
        "reason": message,
    }, object_type="processing_job", object_id=job.pk)
    if not _is_current_transcode(job, video):
        return
    if video.status in (states.UPLOADED, states.PROCESSING):
        _fail(video, message)
    elif video.status == states.FAILED:
        video.error_message = message  # a reprocess of a failed video that never reached the processor
        video.save()
        _notify_editor(video)
    elif video.status == states.READY:
        # A reprocess that never reached the processor: the video keeps playing what it has (ready has no way
        # to failed, SPEC §3), and its editor hears that the run ended and why.
        _notify_editor(video, unreachable=message)


def job_deleted(sender, instance: ProcessingJob, **kwargs) -> None:
    """A deleted job (its video was deleted) needs neither its request nor its callbacks any more."""
    events.cancel_pending(instance.request_id, reason="the processing job was deleted")
    for pk in Delivery.objects.filter(channel="processor-callback", event__object_id=instance.pk,
                                      status=Delivery.Status.PENDING).values_list("pk", flat=True):
        events.cancel_pending(pk, reason="the processing job was deleted")


def connect() -> None:
    post_delete.connect(job_deleted, sender=ProcessingJob, dispatch_uid="processing-job-deleted")


def _callback_target(delivery: Delivery) -> Target:
    return Target(url=delivery.target_url, secrets=[settings.PROCESSOR_SECRET], guarded=False)


def _nothing_to_settle(outcomes: list[Outcome]) -> None:
    """A callback's effects happen in the receiving endpoint, not here."""


channels.register(channels.Channel(name="processing", target=_target, settle=_settle, retry_on_gone=True))
channels.register(channels.Channel(name="processor-callback", target=_callback_target,
                                   settle=_nothing_to_settle, retry_on_gone=True))
