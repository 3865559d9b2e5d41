"""Upload: one resumable (tus) upload, written in chunks by the user who created it and used once as a
video's source."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from media_lifecycle.models.ids import upload_id


class Upload(models.Model):
    """Where the bytes are (`storage_name`, laid out as `layout` says), how many arrived (`offset`) of how many
    were announced (`length`), and who may write them. A lease keeps two requests from writing at once."""

    class Layout(models.TextChoices):
        FILE = "file", "one file, appended in place (filesystem storage)"
        PARTS = "parts", "one object per request, joined when complete (object storage such as S3)"

    id = models.CharField(primary_key=True, max_length=40, default=upload_id, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="uploads")
    length = models.BigIntegerField(help_text="Upload-Length: the size announced at creation, in bytes.")
    offset = models.BigIntegerField(default=0, help_text="Bytes received and stored so far.")
    filename = models.CharField(max_length=255, blank=True)
    filetype = models.CharField(max_length=255, blank=True)
    metadata = models.JSONField(default=dict, blank=True, help_text="The decoded Upload-Metadata.")
    layout = models.CharField(max_length=8, choices=Layout.choices)
    storage_name = models.CharField(max_length=500, help_text="The upload's file in storage (for `parts`, once "
                                                              "they are joined).")
    parts = models.JSONField(default=list, blank=True,
                             help_text="`parts` layout: [offset, stored name, size] of each part written.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="Deleted by prune_history after this, unless used.")
    completed_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)
    video = models.ForeignKey("media_lifecycle.Video", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="uploads", help_text="The video this upload became the source of.")
    lease_token = models.CharField(max_length=32, null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["expires_at"], name="upload_expiry")]

    def __str__(self) -> str:
        return f"{self.id} ({self.filename or 'unnamed'}, {self.offset}/{self.length} bytes)"

    @property
    def is_complete(self) -> bool:
        return self.completed_at is not None

    def is_expired(self, now=None) -> bool:
        return self.used_at is None and self.expires_at <= (now or timezone.now())
