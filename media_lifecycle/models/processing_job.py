"""ProcessingJob: one request to the processor (transcode or thumbnail) for one processing run of a video."""

from django.db import models
from django.utils import timezone

from media_lifecycle.models.ids import job_id


class ProcessingJob(models.Model):
    class Task(models.TextChoices):
        TRANSCODE = "transcode"
        THUMBNAIL = "thumbnail"

    class Status(models.TextChoices):
        PENDING = "pending", "waiting for the processor to accept"
        ACCEPTED = "accepted", "accepted by the processor"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.CharField(primary_key=True, max_length=40, default=job_id, editable=False)
    video = models.ForeignKey("media_lifecycle.Video", on_delete=models.CASCADE, related_name="jobs")
    task = models.CharField(max_length=10, choices=Task.choices)
    run = models.PositiveIntegerField(help_text="The video's processing run this job belongs to.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(null=True, blank=True)
    request = models.OneToOneField("webhooks_app.Delivery", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="processing_job")
    result = models.JSONField(null=True, blank=True, help_text="The final callback body, as applied.")
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "task"]

    def __str__(self) -> str:
        return f"{self.task} {self.id}"

    @property
    def is_final(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)
