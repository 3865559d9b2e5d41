"""Playlist admin: an ordered inline of its videos and the webhooks panel."""

from django.contrib import admin

from media_lifecycle.admin.code_hooks import CodeHooksAdminMixin
from media_lifecycle.admin.widgets import webhooks_panel
from media_lifecycle.models import Playlist, PlaylistItem


class PlaylistItemInline(admin.TabularInline):
    model = PlaylistItem
    extra = 1
    fields = ["position", "video"]
    autocomplete_fields = ["video"]
    ordering = ["position", "id"]


@admin.register(Playlist)
class PlaylistAdmin(CodeHooksAdminMixin, admin.ModelAdmin):
    list_display = ["title", "video_count", "tag_list", "revision", "updated_at"]
    list_filter = ["tags"]
    search_fields = ["title", "description", "id"]
    filter_horizontal = ["tags"]
    inlines = [PlaylistItemInline]
    readonly_fields = ["id", "revision", "created_at", "updated_at", "webhooks"]
    fields = ["id", "title", "description", "tags", "revision", "created_at", "updated_at", "webhooks"]

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
        if playlist.pk is None:
            return "Save the playlist first."
        return webhooks_panel("playlist.updated", [tag.name for tag in playlist.tags.all()])
