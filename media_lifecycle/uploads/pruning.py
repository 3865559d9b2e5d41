"""Deleting expired uploads: unfinished or unused ones with their bytes, used ones as records only (their bytes
are a video's source now). `prune_history` runs it."""

from django.utils import timezone

from media_lifecycle.models import Upload
from media_lifecycle.uploads.chunks import Chunks


def prune_expired(now=None, chunks: Chunks | None = None) -> tuple[int, int]:
    """Delete uploads past their expiry; returns (uploads deleted, of which bytes were freed)."""
    chunks = chunks or Chunks()
    now = now or timezone.now()
    deleted = freed = 0
    for upload in Upload.objects.filter(expires_at__lte=now).order_by("expires_at").iterator():
        if upload.lease_token and upload.lease_expires_at and upload.lease_expires_at > now:
            continue  # a request is writing to it right now; its next write extends the expiry
        if upload.used_at is None:
            chunks.delete(upload)
            freed += 1
        upload.delete()
        deleted += 1
    return deleted, freed


def prune_on_history_pruning(sender, now, **kwargs) -> str:
    """The prune_history command's signal: report what was deleted, as a line of its output."""
    deleted, freed = prune_expired(now)
    return f"Deleted {deleted} expired uploads ({freed} unfinished or unused, with their bytes)."
