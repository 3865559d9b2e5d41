"""Livestream: a scheduled or running stream, with its ingest key and lifecycle (idle → live → ended)."""

import secrets

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from cms.exceptions import ConflictError
from media_lifecycle.models.ids import livestream_id
from media_lifecycle.models.tag import Tag, TagsField
from media_lifecycle.models.tracking import TrackedModel

IDLE, LIVE, ENDED = "idle", "live", "ended"
STATUS_CHOICES = [(IDLE, "Idle"), (LIVE, "Live"), (ENDED, "Ended")]
TRANSITIONS = {(IDLE, LIVE), (LIVE, ENDED)}
# The key ends an RTMP URL (ingest URL + "/" + key): characters that URL syntax or nginx-rtmp would split on
# ("/", "?", "&", spaces) would make a key nobody can publish with.
STREAM_KEY_PATTERN = r"\A[A-Za-z0-9_.~-]+\Z"
STREAM_KEY_RULE = "A stream key may hold only letters, digits and . _ ~ - (it goes into an RTMP URL)."


def new_stream_key() -> str:
    return "sk_" + secrets.token_urlsafe(24)


class Livestream(TrackedModel):
    # The media server's session that is publishing now: bookkeeping, not a change anyone subscribes to.
    SILENT_FIELDS = frozenset({"ingest_session"})

    id = models.CharField(primary_key=True, max_length=40, default=livestream_id, editable=False)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    tags = TagsField(Tag, blank=True, related_name="livestreams")
    status = models.CharField(max_length=8, choices=STATUS_CHOICES, default=IDLE, db_index=True)
    stream_key = models.CharField(max_length=128, default=new_stream_key, unique=True,
                                  validators=[RegexValidator(STREAM_KEY_PATTERN, STREAM_KEY_RULE)])
    scheduled_start = models.DateTimeField(null=True, blank=True)
    scheduled_end = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    recording = models.ForeignKey("media_lifecycle.Video", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="recorded_streams")
    record = models.BooleanField(default=True, help_text="Keep a recording of the stream as a video.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="livestreams", editable=False)
    ingest_session = models.CharField(max_length=200, blank=True, editable=False,
                                      help_text="The media server's publishing session (address and client id).")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def ingest_url(self) -> str:
        return settings.LIVESTREAM_INGEST_URL

    @property
    def playback_url(self) -> str:
        return settings.LIVESTREAM_PLAYBACK_URL.replace("{id}", self.pk)

    def validate_change(self, changes: dict) -> None:
        if "status" in changes and (changes["status"], self.status) not in TRANSITIONS:
            raise ConflictError(f"A livestream cannot go from {changes['status']} to {self.status}.",
                                status=changes["status"])

    def start(self) -> None:
        """Go live (idle → live)."""
        if self.status != IDLE:
            raise ConflictError(f"Only an idle livestream can start; this one is {self.status}.", status=self.status)
        self.status = LIVE
        self.started_at = timezone.now()
        self.save()

    def end(self, recording=None) -> None:
        """Stop the stream (live → ended), optionally linking the recording's video."""
        if self.status != LIVE:
            raise ConflictError(f"Only a live livestream can end; this one is {self.status}.", status=self.status)
        self.status = ENDED
        self.ended_at = timezone.now()
        self.ingest_session = ""
        if recording is not None:
            self.recording = recording
        self.save()
