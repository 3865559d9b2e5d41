"""Playlist: an ordered list of videos; membership and order changes are playlist updates."""

from django.db import models
from django.dispatch import Signal

from media_lifecycle import hooks
from media_lifecycle.models.ids import playlist_id
from media_lifecycle.models.tag import Tag, TagsField
from media_lifecycle.models.tracking import LifecycleQuerySet, TrackedModel
from media_lifecycle.unit_of_work import approvals

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

    def stored_related(self, api_field: str) -> list:
        if api_field == "videos":
            return list(self.items.order_by("position", "id").values_list("video_id", flat=True))
        return super().stored_related(api_field)

    def check_items_write(self, changes_order) -> None:
        """Before ORM code writes items of this playlist one by one: its update before-hooks run when
        `changes_order(video ids now)` says the videos or their order change (nothing is read without hooks)."""
        if self.needs_related_hooks("videos"):
            before = self.stored_related("videos")
            if changes_order(before):
                self.run_related_hooks("videos", before)

    def replace_videos(self, video_ids: list[str]) -> None:
        """Make the playlist hold exactly these videos, in this order (one bulk rewrite, one update event). The
        update before-hooks run first, once, unless the save() before it ran them with "videos" announced."""
        before = self.video_ids()
        if video_ids == before:
            return
        with approvals(hooks.has_before("playlist", "update")):  # the rewrite's item delete is not checked again
            if self.needs_related_hooks("videos"):
                self.run_related_hooks("videos", before)
            PlaylistItem.objects.filter(playlist=self).delete()
            PlaylistItem.objects.bulk_create(
                PlaylistItem(playlist=self, video_id=vid, position=index) for index, vid in enumerate(video_ids)
            )
            videos_replaced.send(sender=Playlist, playlist=self, before=before)
        # The item signals may bump the revision through another instance of this playlist.
        self.refresh_from_db(fields=["revision", "updated_at"])


class PlaylistItemQuerySet(LifecycleQuerySet):
    def delete(self):
        """Deleting items changes their playlists' videos: their update before-hooks run first."""
        if hooks.has_before("playlist", "update"):
            for playlist in Playlist.objects.filter(pk__in=self.values("playlist_id")):
                playlist.check_items_write(bool)
        return super().delete()

    delete.alters_data = True
    delete.queryset_only = True


class PlaylistItem(models.Model):
    """One video at one position of a playlist. Writing one (the admin's inline, ORM code) is a change of the
    playlist's videos, checked by its update before-hooks before it is written; a delete cascading from the
    playlist or a video is not."""

    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="items")
    video = models.ForeignKey("media_lifecycle.Video", on_delete=models.CASCADE, related_name="playlist_items")
    position = models.PositiveIntegerField(default=0)

    objects = PlaylistItemQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["playlist", "video"], name="playlist_video_once")]

    def __str__(self) -> str:
        return f"{self.playlist_id} #{self.position}: {self.video_id}"

    def save(self, *args, **kwargs):
        if hooks.has_before("playlist", "update"):
            self.playlist.check_items_write(self._changes_order)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if hooks.has_before("playlist", "update") and self.pk is not None:
            self.playlist.check_items_write(bool)
        return super().delete(*args, **kwargs)

    def _changes_order(self, before: list[str]) -> bool:
        """Whether saving this item changes its playlist's video ids or their order."""
        if self.pk is None or self._state.adding:
            return True
        rows = PlaylistItem.objects.filter(playlist_id=self.playlist_id).values_list("id", "video_id", "position")
        after = {pk: (position, pk, video) for pk, video, position in rows}
        after[self.pk] = (self.position, self.pk, self.video_id)
        return [video for _position, _pk, video in sorted(after.values())] != before
