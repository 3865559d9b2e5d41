"""Playlist admin: its videos ordered by drag and drop (django-admin-sortable2), each with its thumbnail, and
the webhooks panel."""

from adminsortable2.admin import SortableAdminBase, SortableTabularInline
from django.contrib import admin

from cms.admin_ids import PlainIdAdmin
from media_lifecycle.admin.code_hooks import CodeHooksAdminMixin
from media_lifecycle.admin.widgets import thumbnail, webhooks_panel
from media_lifecycle.api.fields import absolute_url, file_url
from media_lifecycle.models import Playlist, PlaylistItem


class PlaylistItemInline(SortableTabularInline):
    """Rows are dragged into order; the hidden `position` is renumbered by the library on save."""

    model = PlaylistItem
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
