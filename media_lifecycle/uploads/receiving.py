"""An upload's life on the server: created with its announced length, written a request at a time at the offset
the server reports (under a lease, so two requests never write at once), and terminated or pruned.

No transaction spans a request body: each step is a short conditional UPDATE, so a slow upload never holds a
database lock, and a crashed writer costs at most the bytes since its last progress report."""

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from media_lifecycle.models import Upload
from media_lifecycle.uploads.chunks import Chunks, layout_for, storage_name
from media_lifecycle.uploads.protocol import TusError

# Renewed about every second while bytes arrive, so a writer that died (a restarted server) blocks the client's
# retry for a few seconds at most.
LEASE = timedelta(seconds=5)


class LeaseLost(Exception):
    """Another request took over the upload (ours stalled past the lease); stop writing."""


def expiry(now: datetime | None = None) -> datetime:
    """When an upload last touched now expires: UPLOAD_EXPIRY_HOURS later."""
    return (now or timezone.now()) + timedelta(hours=settings.UPLOAD_EXPIRY_HOURS)


def create(user, *, length: int, metadata: dict[str, str], chunks: Chunks | None = None) -> Upload:
    """A new, empty upload of `length` bytes owned by `user`."""
    chunks = chunks or Chunks()
    now = timezone.now()
    upload = Upload(created_by=user, length=length, metadata=metadata,
                    filename=metadata.get("filename", "")[:255], filetype=metadata.get("filetype", "")[:255],
                    layout=layout_for(chunks.storage), created_at=now, expires_at=expiry(now),
                    completed_at=now if length == 0 else None)
    upload.storage_name = storage_name(upload.pk, upload.filename)
    chunks.start(upload)
    upload.save(force_insert=True)
    return upload


def find(upload_id: str, user, *, expired_ok: bool = False) -> Upload:
    """The user's own upload (404 for anyone else's, so ids are not probed), not expired (410)."""
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None or upload.created_by_id != user.pk:
        raise TusError(404, "No such upload (it does not exist, or another user created it).")
    if not expired_ok and upload.is_expired():
        raise TusError(410, "This upload has expired; start a new one.")
    return upload


def write(upload_id: str, user, *, offset: int, stream, length: int, chunks: Chunks | None = None) -> Upload:
    """Append `length` bytes of `stream` at `offset`, which must be where the upload stands (409 otherwise).
    A body cut short (a dropped connection) keeps what arrived; the client asks HEAD and goes on from there."""
    chunks = chunks or Chunks()
    upload = find(upload_id, user)
    if upload.used_at is not None:
        raise TusError(409, "This upload is already a video's source; it cannot change any more.")
    if offset != upload.offset:
        raise TusError(409, f"Upload-Offset is {offset}, but the upload stands at {upload.offset} bytes; "
                            "ask HEAD for the offset and resume from there.")
    if offset + length > upload.length:
        raise TusError(413, f"This request would take the upload to {offset + length} bytes, past its "
                            f"Upload-Length of {upload.length}.")
    if upload.completed_at is not None:
        return upload  # complete already, and this (empty) request adds nothing: it must not finish it again
    token = _take_lease(upload, offset)
    stored = 0

    def progress(count: int) -> None:
        nonlocal stored
        renewed = {"lease_expires_at": timezone.now() + LEASE}
        if upload.layout == Upload.Layout.FILE:
            renewed["offset"] = offset + count  # bytes written in place are durable: a resume may skip them
        if not Upload.objects.filter(pk=upload.pk, lease_token=token).update(**renewed):
            raise LeaseLost
        if upload.layout == Upload.Layout.FILE:
            stored = count

    try:
        written, parts = chunks.write(upload, stream, length, progress)
    except LeaseLost:
        raise TusError(409, "Another request took over this upload while this one stalled; ask HEAD for the "
                            "offset and resume.") from None
    except OSError as exc:
        _release(upload, token, offset + stored)
        raise TusError(507, f"The storage refused the bytes: {exc}.") from None
    upload.offset, upload.parts = offset + written, parts
    fields = {"offset": upload.offset, "parts": upload.parts, "expires_at": expiry(), "lease_token": None,
              "lease_expires_at": None}
    if upload.offset == upload.length:
        upload.storage_name = chunks.finish(upload)
        upload.parts = []
        fields.update(storage_name=upload.storage_name, parts=[], completed_at=timezone.now())
    if not Upload.objects.filter(pk=upload.pk, lease_token=token).update(**fields):
        raise TusError(409, "Another request took over this upload; ask HEAD for the offset and resume.")
    upload.refresh_from_db()
    return upload


def _take_lease(upload: Upload, offset: int) -> str:
    token = secrets.token_hex(8)
    now = timezone.now()
    free = Q(lease_token__isnull=True) | Q(lease_expires_at__lte=now)
    taken = (Upload.objects.filter(free, pk=upload.pk, offset=offset, used_at__isnull=True)
             .update(lease_token=token, lease_expires_at=now + LEASE))
    if taken:
        return token
    current = Upload.objects.filter(pk=upload.pk).values_list("offset", flat=True).first()
    if current is not None and current != offset:
        raise TusError(409, f"The upload now stands at {current} bytes; resume from there.")
    raise TusError(423, "Another request is writing to this upload right now; retry in a moment.")


def _release(upload: Upload, token: str, offset: int) -> None:
    Upload.objects.filter(pk=upload.pk, lease_token=token).update(offset=offset, lease_token=None,
                                                                  lease_expires_at=None)


def terminate(upload_id: str, user, *, chunks: Chunks | None = None) -> None:
    """The termination extension: delete an upload and its bytes (not while a request writes to it, and not
    once a video uses it)."""
    chunks = chunks or Chunks()
    upload = find(upload_id, user, expired_ok=True)
    if upload.used_at is not None:
        raise TusError(409, "This upload is a video's source now; delete the video instead.")
    if upload.lease_token and upload.lease_expires_at and upload.lease_expires_at > timezone.now():
        raise TusError(423, "A request is writing to this upload right now; retry in a moment.")
    chunks.delete(upload)
    upload.delete()
