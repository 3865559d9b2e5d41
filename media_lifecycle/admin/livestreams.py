"""Livestream admin: status badges, start / end actions and the webhooks panel."""

from django.contrib import admin, messages
from django.db import transaction

from cms.exceptions import ConflictError
from media_lifecycle.admin.widgets import badge, webhooks_panel
from media_lifecycle.models import Livestream


@admin.register(Livestream)
class LivestreamAdmin(admin.ModelAdmin):
    list_display = ["title", "status_badge", "scheduled_start", "started_at", "ended_at", "recording"]
    list_filter = ["status", "tags"]
    search_fields = ["title", "description", "id"]
    filter_horizontal = ["tags"]
    autocomplete_fields = ["recording"]
    actions = ["start_streams", "end_streams"]
    readonly_fields = ["id", "status_badge", "masked_stream_key", "ingest_url", "playback_url", "started_at",
                       "ended_at", "revision", "created_at", "updated_at", "webhooks"]
    fieldsets = [
        (None, {"fields": ["id", "title", "description", "tags", "scheduled_start", "scheduled_end", "record"]}),
        ("Streaming", {"fields": ["status_badge", "masked_stream_key", "ingest_url", "playback_url", "started_at",
                                  "ended_at", "recording"]}),
        ("Webhooks", {"fields": ["webhooks"]}),
        ("History", {"fields": ["revision", "created_at", "updated_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is None or obj.status != "ended":
            fields.append("recording")  # linked when the stream ends
        return fields

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if not change:  # the key is shown once, as in the API's create answer
            self.message_user(request, f"Stream key (shown only now): {obj.stream_key}. Publish to "
                                       f"{obj.ingest_url}/{obj.stream_key} with OBS or ffmpeg.", messages.WARNING)

    @admin.display(description="status", ordering="status")
    def status_badge(self, stream):
        return badge(stream.status)

    @admin.display(description="stream key")
    def masked_stream_key(self, stream):
        return f"••••••••{stream.stream_key[-4:]}" if stream.stream_key else "—"

    @admin.display(description="webhooks")
    def webhooks(self, stream):
        if stream.pk is None:
            return "Save the livestream first."
        return webhooks_panel("livestream.updated", [tag.name for tag in stream.tags.all()])

    def _transition(self, request, queryset, verb, method):
        for stream in queryset:
            try:
                with transaction.atomic():  # a conflict found while writing must not poison the other streams
                    method(stream)
                self.message_user(request, f"{stream.title}: {verb}.", messages.SUCCESS)
            except ConflictError as exc:
                self.message_user(request, f"{stream.title}: {exc.message}", messages.ERROR)

    @admin.action(description="Start (go live)", permissions=["change"])
    def start_streams(self, request, queryset):
        self._transition(request, queryset, "live", Livestream.start)

    @admin.action(description="End", permissions=["change"])
    def end_streams(self, request, queryset):
        self._transition(request, queryset, "ended", Livestream.end)
