"""Admin for client-side webhooks and the raw playback analytics."""

from django import forms
from django.contrib import admin

from media_lifecycle.models import ClientWebhook, PlaybackEvent
from webhooks_app.url_guard import UnsafeURL, check_scheme


class ClientWebhookForm(forms.ModelForm):
    class Meta:
        model = ClientWebhook
        fields = ["url", "description", "request_field", "response_field", "rpm", "is_active"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            check_scheme(url)  # browsers call it, so private (intranet) addresses are allowed
        except UnsafeURL as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


@admin.register(ClientWebhook)
class ClientWebhookAdmin(admin.ModelAdmin):
    form = ClientWebhookForm
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
