"""Playlist admin: its videos ordered by drag and drop (django-admin-sortable2), each with its thumbnail, and
the webhooks panel."""

from adminsortable2.admin import CustomInlineFormSet, SortableAdminBase, SortableTabularInline
from django.contrib import admin

from cms.admin_ids import PlainIdAdmin
from media_lifecycle import hooks
from media_lifecycle.admin.code_hooks import CodeHooksAdminMixin
from media_lifecycle.admin.widgets import thumbnail, webhooks_panel
from media_lifecycle.api.fields import absolute_url, file_url
from media_lifecycle.models import Playlist, PlaylistItem


class PlaylistItemFormSet(CustomInlineFormSet):
    """Announces the playlist's videos as this save leaves them before the playlist is saved, so its update
    hooks see "videos" with its other changes, once (the items are written after the playlist)."""

    def clean(self):
        super().clean()
        playlist = self.instance
        if any(self.errors) or playlist._state.adding or not hooks.has_before("playlist", "update") \
                or not self.has_changed():
            return
        playlist.announce_related(videos=self.videos_after())

    def videos_after(self) -> list[str]:
        """The video ids in the order the saved items will have: kept rows with their positions, then new rows,
        those without a position appended at the end as the library numbers them (max + 1)."""
        placed = []
        for index, form in enumerate(self.forms):
            data = getattr(form, "cleaned_data", None)
            if not data or self._should_delete_form(form) or (form.instance.pk is None and not form.has_changed()):
                continue
            new = form.instance.pk is None
            placed.append([data.get("position"), new, form.instance.pk if not new else index, data["video"].pk])
        for row in placed:
            if row[1] and (row[0] is None or row[0] <= 0):
                row[0] = max((other[0] or 0 for other in placed), default=0) + 1
        return [video for *_key, video in sorted(placed)]


class PlaylistItemInline(SortableTabularInline):
    """Rows are dragged into order; the hidden `position` is renumbered by the library on save."""

    model = PlaylistItem
    formset = PlaylistItemFormSet
    extra = 1
    fields = ["position", "preview", "video"]
    readonly_fields = ["preview"]
    autocomplete_fields = ["video"]
    ordering = ["position", "id"]

    @admin.display(description="")
    def preview(self, item):
        video = item.video if item.video_id else None
        if video is None:
            return "—"
        return thumbnail(file_url(video.poster) if video.poster else absolute_url(video.thumbnail_url), 36)


@admin.register(Playlist)
class PlaylistAdmin(CodeHooksAdminMixin, PlainIdAdmin, SortableAdminBase, admin.ModelAdmin):
    list_display = ["title", "video_count", "tag_list", "revision", "updated_at"]
    list_filter = ["tags"]
    search_fields = ["title", "description", "id"]
    filter_horizontal = ["tags"]
    inlines = [PlaylistItemInline]
    readonly_fields = ["id", "revision", "created_at", "updated_at", "webhooks"]

    def get_fields(self, request, obj=None):
        fields = ["id", "title", "description", "tags", "revision", "created_at", "updated_at", "webhooks"]
        if not request.user.has_perm("webhooks_app.view_webhook"):
            fields.remove("webhooks")  # editors never see webhooks
        return fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags", "items")

    @admin.display(description="videos")
    def video_count(self, playlist):
        return len(playlist.items.all())

    @admin.display(description="tags")
    def tag_list(self, playlist):
        return ", ".join(tag.name for tag in playlist.tags.all()) or "—"

    @admin.display(description="webhooks")
    def webhooks(self, playlist):
        if playlist.pk is None or playlist._state.adding:
            return "Save the playlist first."
        return webhooks_panel("playlist.updated", [tag.name for tag in playlist.tags.all()])
