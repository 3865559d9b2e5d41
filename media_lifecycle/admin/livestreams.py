"""Livestream admin: status badges, start / end buttons on the page (and as bulk actions), the webhooks panel."""

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from cms.admin_ids import PlainIdAdmin
from media_lifecycle.admin.code_hooks import CodeHooksAdminMixin, refusal
from media_lifecycle.admin.widgets import badge, object_actions, webhooks_panel
from media_lifecycle.models import Livestream
from media_lifecycle.models.livestream import IDLE, LIVE

STREAM_ACTIONS = {"start": ("Start (go live)", Livestream.start), "end": ("End", Livestream.end)}


@admin.register(Livestream)
class LivestreamAdmin(CodeHooksAdminMixin, PlainIdAdmin, admin.ModelAdmin):
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

    class Media:
        css = {"all": ["media_lifecycle/admin/admin.css"]}

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not request.user.has_perm("webhooks_app.view_webhook"):
            fieldsets = [entry for entry in fieldsets if entry[0] != "Webhooks"]  # editors never see webhooks
        return fieldsets

    def get_urls(self):
        return [
            path("<str:object_id>/actions/<str:action>/", self.admin_site.admin_view(self.action_view),
                 name="media_lifecycle_livestream_action"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        stream = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if stream is not None and self.has_change_permission(request, stream):
            applicable = {IDLE: ["start"], LIVE: ["end"]}.get(stream.status, [])
            extra["object_actions"] = object_actions(request, [
                (reverse("admin:media_lifecycle_livestream_action", args=[stream.pk, name]), name,
                 STREAM_ACTIONS[name][0]) for name in applicable
            ])
        return super().change_view(request, object_id, form_url, extra_context=extra)

    @method_decorator(require_POST)
    def action_view(self, request, object_id, action):
        """The page's start / end buttons, through the livestream's own state machine."""
        stream = self.action_target(request, object_id, action, STREAM_ACTIONS)
        self._transition(request, [stream], "live" if action == "start" else "ended", STREAM_ACTIONS[action][1])
        return redirect("admin:media_lifecycle_livestream_change", stream.pk)

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
            reason = refusal(stream, method)
            if reason is None:
                self.message_user(request, f"{stream.title}: {verb}.", messages.SUCCESS)
            else:
                self.message_user(request, f"{stream.title}: {reason}", messages.ERROR)

    @admin.action(description="Start (go live)", permissions=["change"])
    def start_streams(self, request, queryset):
        self._transition(request, queryset, "live", Livestream.start)

    @admin.action(description="End", permissions=["change"])
    def end_streams(self, request, queryset):
        self._transition(request, queryset, "ended", Livestream.end)
