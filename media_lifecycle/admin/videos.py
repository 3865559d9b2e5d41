"""Video admin: status badges, thumbnails, jobs, analytics, the webhooks panel and editorial actions."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.forms.fields import InvalidJSONInput
from django.utils.html import format_html, format_html_join

from cms.exceptions import ConflictError
from cms.parsers import StorableJSONFormField
from media_lifecycle import analytics, processing, uploads
from media_lifecycle.admin.widgets import badge, thumbnail, webhooks_panel
from media_lifecycle.api.fields import METADATA_MAX_DEPTH, absolute_url, file_url, nesting_depth
from media_lifecycle.models import ProcessingJob, Video
from webhooks_app.url_guard import UnsafeURL, check_url


class MetadataFormField(StorableJSONFormField):
    """The metadata box, with the API's nesting limit: a deeper value exhausts the stack when parsed or saved."""

    def _too_deep(self, value) -> bool:
        return nesting_depth(value) > METADATA_MAX_DEPTH

    def to_python(self, value):
        too_deep = forms.ValidationError(f"Nested more than {METADATA_MAX_DEPTH} levels deep.")
        try:
            converted = super().to_python(value)
        except RecursionError:
            raise too_deep from None
        if self._too_deep(converted):
            raise too_deep
        return converted

    def bound_data(self, data, initial):
        """Show a refused value again as the text typed, never re-encoded."""
        try:
            bound = super().bound_data(data, initial)
        except RecursionError:
            return InvalidJSONInput(data)
        return InvalidJSONInput(data) if self._too_deep(bound) else bound


class VideoForm(forms.ModelForm):
    """Uploads are checked by content, posters re-encoded by Pillow, source URLs guarded: as in the API."""

    class Meta:
        model = Video
        fields = ["title", "description", "tags", "file", "source_url", "poster", "auto_publish", "metadata"]
        field_classes = {"metadata": MetadataFormField}

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload and hasattr(upload, "content_type"):  # a new upload, not the stored file
            try:
                self.video_info = uploads.inspect_video(upload)
            except uploads.UploadRejected as exc:
                raise forms.ValidationError(str(exc)) from None
        return upload

    def clean_poster(self):
        upload = self.cleaned_data.get("poster")
        if upload and hasattr(upload, "content_type"):
            try:
                return uploads.process_poster(upload)
            except uploads.UploadRejected as exc:
                raise forms.ValidationError(str(exc)) from None
        return upload

    def clean_source_url(self):
        url = self.cleaned_data.get("source_url")
        if url:
            try:
                check_url(url)
            except UnsafeURL as exc:
                raise forms.ValidationError(str(exc)) from None
        return url

    def clean_metadata(self):
        value = self.cleaned_data.get("metadata")
        if value is not None and not isinstance(value, dict):
            raise forms.ValidationError("Must be a JSON object.")
        return value if value is not None else {}

    def clean(self):
        data = super().clean()
        if getattr(self, "video_info", None) and data.get("source_url"):
            self.add_error("source_url", "Give either a file or a source URL, not both.")
        return data


class ProcessingJobInline(admin.TabularInline):
    model = ProcessingJob
    extra = 0
    can_delete = False
    fields = ["id", "task", "run", "status_badge", "progress_bar", "attempts", "last_error", "created_at",
              "completed_at"]
    readonly_fields = fields
    ordering = ["-created_at", "task"]
    verbose_name_plural = "processing jobs"

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="status")
    def status_badge(self, job):
        return badge(job.status)

    @admin.display(description="progress")
    def progress_bar(self, job):
        if job.progress is None:
            return "—"
        return format_html('<progress max="100" value="{}"></progress> {}%', job.progress, job.progress)

    @admin.display(description="request attempts")
    def attempts(self, job):
        return job.request.attempt_count if job.request else 0

    @admin.display(description="last error")
    def last_error(self, job):
        return job.error_message or (job.request.last_error if job.request else "") or "—"


def _run_action(modeladmin, request, queryset, verb: str, method) -> None:
    done, refused = 0, []
    for video in queryset:
        try:
            with transaction.atomic():  # a conflict found while writing must not poison the other videos
                method(video)
            done += 1
        except ConflictError as exc:
            refused.append(f"{video.title}: {exc.message}")
    if done:
        modeladmin.message_user(request, f"{verb}: {done} video(s).", messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(request, line, messages.ERROR)


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    form = VideoForm
    list_display = ["thumb", "title", "status_badge", "published", "archived", "tag_list", "duration",
                    "created_by", "updated_at"]
    list_display_links = ["thumb", "title"]
    list_filter = ["status", "published", "archived", "auto_publish", "tags"]
    search_fields = ["title", "description", "id"]
    filter_horizontal = ["tags"]
    date_hierarchy = "created_at"
    inlines = [ProcessingJobInline]
    actions = ["reprocess_videos", "publish_videos", "unpublish_videos", "archive_videos", "unarchive_videos"]
    readonly_fields = ["id", "status_badge", "thumbnail_preview", "file_link", "mime_type", "size_bytes", "format",
                       "duration_seconds", "width", "height", "rendition_links", "error_message", "published",
                       "published_at", "archived", "archived_at", "created_by", "revision", "created_at",
                       "updated_at", "player_link", "viewing_stats", "webhooks"]
    fieldsets = [
        (None, {"fields": ["id", "title", "description", "tags", "auto_publish", "metadata"]}),
        ("Source", {"fields": ["file", "source_url", "file_link", "mime_type", "size_bytes", "format"]}),
        ("Processing", {"fields": ["status_badge", "error_message", "thumbnail_preview", "poster", "rendition_links",
                                   "duration_seconds", "width", "height"]}),
        ("Publishing", {"fields": ["published", "published_at", "archived", "archived_at", "player_link"]}),
        ("Viewing", {"fields": ["viewing_stats"]}),
        ("Webhooks", {"fields": ["webhooks"]}),
        ("History", {"fields": ["created_by", "revision", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by").prefetch_related("tags")

    def save_model(self, request, video, form, change):
        if not change:
            video.created_by = request.user
        info = getattr(form, "video_info", None)
        if info is not None:
            video.mime_type, video.format, video.size_bytes = info.mime_type, info.format, info.size_bytes
            video.source_url = ""
        elif "source_url" in form.changed_data and video.source_url:
            video.file = None
            video.mime_type, video.format, video.size_bytes = "", "", None
        video.save()

    @admin.display(description="")
    def thumb(self, video):
        return thumbnail(file_url(video.poster) if video.poster else absolute_url(video.thumbnail_url))

    @admin.display(description="thumbnail")
    def thumbnail_preview(self, video):
        return thumbnail(file_url(video.poster) if video.poster else absolute_url(video.thumbnail_url), 160)

    @admin.display(description="status", ordering="status")
    def status_badge(self, video):
        return badge(video.status)

    @admin.display(description="tags")
    def tag_list(self, video):
        return ", ".join(tag.name for tag in video.tags.all()) or "—"

    @admin.display(description="duration", ordering="duration_seconds")
    def duration(self, video):
        if video.duration_seconds is None:
            return "—"
        minutes, seconds = divmod(int(round(video.duration_seconds)), 60)
        return f"{minutes}:{seconds:02d}"

    @admin.display(description="file URL")
    def file_link(self, video):
        url = file_url(video.file) if video.file else video.source_url
        return format_html('<a href="{}">{}</a>', url, url) if url else "—"

    @admin.display(description="renditions")
    def rendition_links(self, video):
        if not video.renditions:
            return "—"
        return format_html_join(" · ", '<a href="{}">{} {}</a>', (
            (absolute_url(r.get("url", "")), r.get("quality", "?"), r.get("format", "")) for r in video.renditions
        ))

    @admin.display(description="player")
    def player_link(self, video):
        if video.pk is None:
            return "—"
        return format_html('<a href="/player/{}/" target="_blank">Open the player page</a>', video.pk)

    @admin.display(description="viewing")
    def viewing_stats(self, video):
        if video.pk is None:
            return "—"
        figures = analytics.stats(video)
        return format_html(
            "{} plays · {} completions ({}%) · average watch {} s",
            figures["plays"], figures["completions"], round(figures["completion_rate"] * 100, 1),
            figures["average_watch_seconds"],
        )

    @admin.display(description="webhooks")
    def webhooks(self, video):
        if video.pk is None:
            return "Save the video first: the panel shows which webhooks its next event reaches."
        return webhooks_panel("video.updated", [tag.name for tag in video.tags.all()])

    @admin.action(description="Reprocess selected videos", permissions=["change"])
    def reprocess_videos(self, request, queryset):
        _run_action(self, request, queryset, "Reprocessing", processing.reprocess)

    @admin.action(description="Publish selected videos", permissions=["change"])
    def publish_videos(self, request, queryset):
        _run_action(self, request, queryset, "Published", Video.publish)

    @admin.action(description="Unpublish selected videos", permissions=["change"])
    def unpublish_videos(self, request, queryset):
        _run_action(self, request, queryset, "Unpublished", Video.unpublish)

    @admin.action(description="Archive selected videos", permissions=["change"])
    def archive_videos(self, request, queryset):
        _run_action(self, request, queryset, "Archived", Video.archive)

    @admin.action(description="Unarchive selected videos", permissions=["change"])
    def unarchive_videos(self, request, queryset):
        _run_action(self, request, queryset, "Unarchived", Video.unarchive)
