"""A video's source, cleaned once for the admin and the API: one of a multipart file, a finished resumable
upload or a URL; files and uploads are checked by their content; an upload is used once, by its creator."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from media_lifecycle.models import Upload, Video
from media_lifecycle.uploads.chunks import Chunks
from media_lifecycle.uploads.content import SNIFF_BYTES, UploadRejected, UploadTooLarge, VideoInfo, identify_video
from media_lifecycle.uploads.content import inspect_video as inspect_file

TOO_LARGE = "too_large"  # the ValidationError code the API answers with 413
SOURCE_FIELDS = ("file", "upload", "source_url")


@dataclass(frozen=True)
class Source:
    """A checked new source: a file or an upload with what its content is, or nothing new."""

    file: object = None
    upload: Upload | None = None
    info: VideoInfo | None = None
    source_url: str = ""


def _invalid(field: str, exc: UploadRejected) -> ValidationError:
    code = TOO_LARGE if isinstance(exc, UploadTooLarge) else "invalid"
    return ValidationError({field: [ValidationError(str(exc), code=code)]})


def check_upload(upload_id: str, user, chunks: Chunks | None = None) -> tuple[Upload, VideoInfo]:
    """A finished, unused, unexpired upload of `user`, whose content is a video; UploadRejected says why not."""
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None or user is None or upload.created_by_id != user.pk:
        raise UploadRejected(f"No upload {upload_id!r} of yours exists (uploads expire, and only their creator "
                             "may use them).")
    if upload.used_at is not None:
        raise UploadRejected(f"Upload {upload_id} was already used"
                             f"{f' by video {upload.video_id}' if upload.video_id else ''}; upload the file again.")
    if upload.is_expired():
        raise UploadRejected(f"Upload {upload_id} has expired; upload the file again.")
    if not upload.is_complete:
        raise UploadRejected(f"Upload {upload_id} is unfinished: {upload.offset} of {upload.length} bytes arrived. "
                             "Finish it (resume from that offset) before using it.")
    head = (chunks or Chunks()).head(upload, SNIFF_BYTES) if upload.length else b""
    return upload, identify_video(head, upload.length)


def clean_source(*, user, file=None, upload_id: str = "", source_url: str = "") -> Source:
    """The file-or-source rule and the content checks, for what a write gives (a `source_url` only when it is
    new). Raises ValidationError naming the field: the first given, when several sources are given; code
    `too_large` for a file over MAX_UPLOAD_BYTES, which the API answers with 413."""
    given = [name for name, value in zip(SOURCE_FIELDS, (file, upload_id, source_url), strict=True) if value]
    if len(given) > 1:
        raise ValidationError({given[0]: [
            f"Give one source: a file, an upload or a source URL, not {' and '.join(given)} together."]})
    if file:
        try:
            return Source(file=file, info=inspect_file(file))
        except UploadRejected as exc:
            raise _invalid("file", exc) from None
    if upload_id:
        try:
            upload, info = check_upload(upload_id, user)
        except UploadRejected as exc:
            raise _invalid("upload", exc) from None
        return Source(upload=upload, info=info)
    return Source(source_url=source_url)


def apply_source(video: Video, source: Source) -> None:
    """Set the video's source fields from a checked source, before it is saved. A new URL drops the file."""
    if source.info is not None:
        if source.file is not None:
            video.file = source.file
        else:
            video.file = source.upload.storage_name  # the upload's bytes are the source: nothing is copied
        video.source_url = ""
        video.mime_type, video.format, video.size_bytes = (source.info.mime_type, source.info.format,
                                                           source.info.size_bytes)
    elif source.source_url:
        video.file = None
        video.mime_type, video.format, video.size_bytes = "", "", None


def mark_used(video: Video, source: Source) -> None:
    """After the video is saved (same transaction): the upload is now its source, and can never be used again.
    Two requests racing for one upload: the second gets a field error and its transaction rolls back."""
    if source.upload is None:
        return
    taken = Upload.objects.filter(pk=source.upload.pk, used_at__isnull=True).update(used_at=timezone.now(),
                                                                                   video=video)
    if not taken:
        raise ValidationError({"upload": [f"Upload {source.upload.pk} was already used; upload the file again."]})
