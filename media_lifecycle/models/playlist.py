"""Playlist: an ordered list of videos; membership and order changes are playlist updates."""

from django.db import models

from media_lifecycle.models.ids import playlist_id
from media_lifecycle.models.tag import Tag
from media_lifecycle.models.tracking import LifecycleQuerySet, TrackedModel


class Playlist(TrackedModel):
    id = models.CharField(primary_key=True, max_length=40, default=playlist_id, editable=False)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="playlists")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    def video_ids(self) -> list[str]:
        return list(self.items.order_by("position").values_list("video_id", flat=True))


class PlaylistItem(models.Model):
    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="items")
    video = models.ForeignKey("media_lifecycle.Video", on_delete=models.CASCADE, related_name="playlist_items")
    position = models.PositiveIntegerField(default=0)

    objects = LifecycleQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["playlist", "video"], name="playlist_video_once")]

    def __str__(self) -> str:
        return f"{self.playlist_id} #{self.position}: {self.video_id}"
