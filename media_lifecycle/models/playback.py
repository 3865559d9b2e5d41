"""Playback analytics reported by the player, and client-side webhooks the player calls itself."""

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from media_lifecycle import rules
from media_lifecycle.models.ids import client_webhook_id

FIELD_NAME = RegexValidator(r"^[A-Za-z0-9_.\-]{1,64}$", "Use 1-64 letters, digits, '_', '.' or '-'.")


class PlaybackEvent(models.Model):
    class Type(models.TextChoices):
        PLAY = "play"
        PAUSE = "pause"
        PROGRESS = "progress"
        COMPLETE = "complete"

    video = models.ForeignKey("media_lifecycle.Video", on_delete=models.CASCADE, related_name="playback_events")
    session_id = models.CharField(max_length=64, db_index=True)
    event_type = models.CharField(max_length=10, choices=Type.choices)
    position = models.FloatField()
    playback_duration = models.FloatField(default=0)
    viewer_id = models.CharField(max_length=128, blank=True)
    first_play = models.BooleanField(default=False, help_text="The first play of its viewing session.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["video", "session_id", "event_type"])]
        constraints = [models.UniqueConstraint(fields=["video", "session_id"], condition=models.Q(first_play=True),
                                               name="one_first_play_per_session")]

    def __str__(self) -> str:
        return f"{self.event_type} {self.video_id} @{self.position:.1f}s"


class ClientWebhook(models.Model):
    """A URL the player itself POSTs progress to while a video plays (an LMS tracking watch time)."""

    id = models.CharField(primary_key=True, max_length=40, default=client_webhook_id, editable=False)
    # Not a URLField: browsers call it, and intranet hosts such as http://moodle/track are valid targets.
    url = models.CharField("URL", max_length=2000, help_text="http(s) URL the player POSTs to.",
                           validators=[rules.validate_browser_url])
    description = models.CharField(max_length=255, blank=True)
    request_field = models.CharField(max_length=64, validators=[FIELD_NAME],
                                     help_text="Query parameter of the player URL to read.")
    response_field = models.CharField(max_length=64, validators=[FIELD_NAME],
                                      help_text="Form field the value is sent as.")
    rpm = models.PositiveSmallIntegerField("requests per minute", default=6,
                                           validators=[MinValueValidator(1), MaxValueValidator(60)])
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.description or self.url
