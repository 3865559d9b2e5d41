"""Admin for client-side webhooks and the raw playback analytics."""

from django.contrib import admin

from cms.admin_ids import PlainIdAdmin
from media_lifecycle.models import ClientWebhook, PlaybackEvent


@admin.register(ClientWebhook)
class ClientWebhookAdmin(PlainIdAdmin, admin.ModelAdmin):
    """Its write rules (URL scheme, field names, 1-60 requests per minute) are the model's, as in the API."""

    fields = ["id", "url", "description", "request_field", "response_field", "rpm", "is_active", "created_at",
              "updated_at"]
    list_display = ["url", "description", "request_field", "response_field", "rpm", "is_active", "updated_at"]
    list_filter = ["is_active"]
    list_editable = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = ["id", "created_at", "updated_at"]


@admin.register(PlaybackEvent)
class PlaybackEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "video", "event_type", "position", "playback_duration", "session_id", "viewer_id"]
    list_filter = ["event_type", "first_play"]
    search_fields = ["video__id", "video__title", "session_id", "viewer_id"]
    list_select_related = ["video"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
