"""Playlist: an ordered list of videos; membership and order changes are playlist updates."""

from django.db import models
from django.dispatch import Signal

from media_lifecycle.models.ids import playlist_id
from media_lifecycle.models.tag import Tag, TagsField
from media_lifecycle.models.tracking import LifecycleQuerySet, TrackedModel

# Sent with `playlist` and `before` (the video ids before) when replace_videos rewrote the items in bulk, which
# sends no per-item signals: the lifecycle turns it into one playlist update.
videos_replaced = Signal()


class Playlist(TrackedModel):
    id = models.CharField(primary_key=True, max_length=40, default=playlist_id, editable=False)
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    tags = TagsField(Tag, blank=True, related_name="playlists")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    def video_ids(self) -> list[str]:
        return list(self.items.order_by("position").values_list("video_id", flat=True))

    def replace_videos(self, video_ids: list[str]) -> None:
        """Make the playlist hold exactly these videos, in this order (one bulk rewrite, one update event)."""
        before = self.video_ids()
        if video_ids == before:
            return
        PlaylistItem.objects.filter(playlist=self).delete()
        PlaylistItem.objects.bulk_create(
            PlaylistItem(playlist=self, video_id=vid, position=index) for index, vid in enumerate(video_ids)
        )
        videos_replaced.send(sender=Playlist, playlist=self, before=before)
        # The item signals may bump the revision through another instance of this playlist.
        self.refresh_from_db(fields=["revision", "updated_at"])


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
