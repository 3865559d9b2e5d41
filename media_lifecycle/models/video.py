"""Video: the central media row, its status machine hooks and its editorial actions."""

import posixpath
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from media_lifecycle import rules, states
from media_lifecycle.models.ids import video_id
from media_lifecycle.models.tag import Tag, TagsField
from media_lifecycle.models.tracking import LifecycleQuerySet, TrackedModel


def source_upload_path(video: "Video", filename: str) -> str:
    extension = posixpath.splitext(filename)[1].lower()[:10]
    return f"videos/{video.pk}/source-{secrets.token_hex(4)}{extension}"


def poster_upload_path(video: "Video", filename: str) -> str:
    return f"posters/{video.pk}/poster-{secrets.token_hex(4)}.jpg"


class VideoQuerySet(LifecycleQuerySet):
    """Note: QuerySet.update() and bulk_create() skip the lifecycle hooks (no events, no new revision);
    code that should fire events saves instances or calls the model's actions."""

    def public(self) -> "VideoQuerySet":
        """What anonymous viewers may see: published, ready and not archived."""
        return self.filter(published=True, status=states.READY, archived=False)


class Video(TrackedModel):
    SILENT_FIELDS = frozenset({"processing_run"})

    id = models.CharField(primary_key=True, max_length=40, default=video_id, editable=False)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=states.CHOICES, default=states.UPLOADED, db_index=True)
    tags = TagsField(Tag, blank=True, related_name="videos")
    source_url = models.URLField("source URL", max_length=2000, blank=True, validators=[rules.validate_source_url],
                                 help_text="A URL the processor fetches the video from (instead of a file).")
    file = models.FileField(upload_to=source_upload_path, max_length=500, blank=True)
    mime_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    format = models.CharField(max_length=32, blank=True)
    processed_url = models.URLField("processed URL", max_length=2000, blank=True)
    hls_url = models.URLField("HLS URL", max_length=2000, blank=True,
                              help_text="The adaptive-streaming master playlist, when the processor made one.")
    renditions = models.JSONField(default=list, blank=True)
    thumbnail_url = models.URLField("thumbnail URL", max_length=2000, blank=True,
                                    help_text="Set by processing; an uploaded poster takes precedence.")
    poster = models.FileField(upload_to=poster_upload_path, max_length=500, blank=True)
    error_message = models.TextField(blank=True)
    published = models.BooleanField(default=False, db_index=True)
    published_at = models.DateTimeField(null=True, blank=True)
    auto_publish = models.BooleanField(default=False, help_text="Publish automatically when processing succeeds.")
    archived = models.BooleanField(default=False, db_index=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="videos")
    metadata = models.JSONField(default=dict, blank=True, validators=[rules.validate_metadata])
    processing_run = models.PositiveIntegerField(default=0, editable=False)

    objects = VideoQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def has_source(self) -> bool:
        return bool(self.file) or bool(self.source_url)

    @property
    def is_public(self) -> bool:
        return self.published and self.status == states.READY and not self.archived

    def validate_change(self, changes: dict) -> None:
        if "status" in changes:
            states.check_transition(changes["status"], self.status)
        if self.published and (self._state.adding or "published" in changes):
            states.check_publishable(self.status, self.archived)

    def publish(self) -> None:
        """Publish a ready video; publishing a published one changes nothing."""
        if self.published:
            states.check_publishable(self.status, self.archived)
            return
        self.published = True
        self.published_at = timezone.now()
        self.save()

    def unpublish(self) -> None:
        if self.published:
            self.published = False
            self.published_at = None
            self.save()

    def archive(self) -> None:
        """Hide the video from viewers (unpublished) while keeping it and its history."""
        if not self.archived:
            self.archived = True
            self.archived_at = timezone.now()
            self.published = False
            self.published_at = None
            self.save()

    def unarchive(self) -> None:
        """Restore an archived video, unpublished."""
        if self.archived:
            self.archived = False
            self.archived_at = None
            self.save()
