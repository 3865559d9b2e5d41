"""Video admin: the resumable upload field, a live processing panel (status, progress, jobs, preview player),
buttons for the actions that apply now, plays per day, the webhooks panel, and the same actions in bulk."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms.fields import InvalidJSONInput
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join, json_script
from django.views.decorators.http import require_POST

from cms.admin_ids import PlainIdAdmin
from cms.parsers import StorableJSONFormField
from media_lifecycle import analytics, processing, rules, states
from media_lifecycle.admin.code_hooks import CodeHooksAdminMixin, refusal
from media_lifecycle.admin.widgets import (
    VENDOR,
    TusUploadWidget,
    badge,
    object_actions,
    thumbnail,
    webhooks_panel,
    when,
)
from media_lifecycle.api.fields import absolute_url, file_url
from media_lifecycle.models import ProcessingJob, Video
from media_lifecycle.uploads import content, sources

POLL_MILLISECONDS = 2000
RECENT_JOBS = 8


class MetadataFormField(StorableJSONFormField):
    """The metadata box (no unstorable strings, as every JSON box). The nesting limit is checked as soon as the
    text is parsed: a deeper value exhausts the stack when it is re-encoded, which model validation would do next.
    The model's rule checks the rest."""

    too_deep = f"Nested more than {rules.METADATA_MAX_DEPTH} levels deep."

    def to_python(self, value):
        converted = super().to_python(value)
        rules.check_depth(converted)
        return converted if converted is not None else {}

    def bound_data(self, data, initial):
        """Show a refused value again as the text typed, never re-encoded."""
        bound = super().bound_data(data, initial)
        if isinstance(bound, InvalidJSONInput):
            return bound
        return InvalidJSONInput(data) if rules.nesting_depth(bound) > rules.METADATA_MAX_DEPTH else bound


class VideoForm(forms.ModelForm):
    """The write rules are the API's: `sources.clean_source` (one source, checked by its content, an upload used
    once by its creator), the model's validators (source URL guard, metadata), the poster check."""

    upload = forms.CharField(
        label="Video file", required=False, max_length=40, widget=TusUploadWidget,
        help_text="Sent in chunks: it resumes by itself after a dropped connection. Checked by its content when "
                  "you save.")
    current_user = None  # set for each request by VideoAdmin.get_form: an upload is usable only by its creator

    class Meta:
        model = Video
        fields = ["title", "description", "tags", "upload", "source_url", "poster", "auto_publish", "metadata"]
        field_classes = {"metadata": MetadataFormField}

    def clean_poster(self):
        poster = self.cleaned_data.get("poster")
        if poster and hasattr(poster, "content_type"):  # a new image, not the stored one
            try:
                return content.process_poster(poster)
            except content.UploadRejected as exc:
                raise forms.ValidationError(str(exc)) from None
        return poster

    def clean(self):
        data = super().clean()
        new_url = (data.get("source_url") or "") if "source_url" in self.changed_data else ""
        self.source = sources.Source()
        try:
            self.source = sources.clean_source(user=self.current_user, upload_id=data.get("upload") or "",
                                               source_url=new_url)
        except ValidationError as exc:
            for field, errors in exc.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return data


# --- the live panel: status, progress, jobs and preview, re-rendered for the page's polling -----------------


def is_live(video: Video) -> bool:
    """Worth watching: the video is processing, or a job of its current run has not ended."""
    if video.status == states.PROCESSING:
        return True
    return video.jobs.filter(run=video.processing_run).exclude(
        status__in=[ProcessingJob.Status.SUCCEEDED, ProcessingJob.Status.FAILED]).exists()


def _progress(job: ProcessingJob | None):
    if job is None or job.progress is None:
        return "—"
    return format_html('<progress max="100" value="{}"></progress> {}%', job.progress, job.progress)


def jobs_table(video: Video):
    """The video's latest processing jobs, each with its status, progress, request attempts and last error."""
    jobs = list(video.jobs.select_related("request").order_by("-run", "-created_at", "task")[:RECENT_JOBS])
    if not jobs:
        return format_html("<p>No processing jobs yet{}.</p>", "" if video.has_source else ": add a video file")
    rows = format_html_join("", (
        '<tr class="job-row" id="job-{}"><td class="field-id"><p>{}</p></td><td class="field-task"><p>{}</p></td>'
        '<td class="field-run"><p>{}</p></td><td class="field-status_badge"><p>{}</p></td>'
        '<td class="field-progress_bar"><p>{}</p></td><td class="field-attempts"><p>{}</p></td>'
        '<td class="field-last_error"><p>{}</p></td><td class="field-created_at"><p>{}</p></td>'
        '<td class="field-completed_at"><p>{}</p></td></tr>'
    ), (
        (job.pk, job.pk, job.get_task_display(), job.run, badge(job.status), _progress(job),
         job.request.attempt_count if job.request else 0,
         job.error_message or (job.request.last_error if job.request else "") or "—",
         when(job.created_at), when(job.completed_at))
        for job in jobs
    ))
    return format_html(
        '<table class="jobs"><thead><tr><th>Job</th><th>Task</th><th>Run</th><th>Status</th><th>Progress</th>'
        "<th>Request attempts</th><th>Last error</th><th>Created</th><th>Completed</th></tr></thead>"
        "<tbody>{}</tbody></table>", rows)


def preview_source(video: Video) -> str | None:
    """What the preview plays: the best rendition (as the API lists them), else the processed file."""
    renditions = sorted((r for r in video.renditions or [] if r.get("url")),
                        key=lambda r: (r.get("format", "mp4") != "mp4", -(r.get("height") or 0),
                                       -int((r.get("quality") or "0p").rstrip("p") or 0)))
    if renditions:
        return absolute_url(renditions[0]["url"])
    return absolute_url(video.processed_url) or None


def _results(video: Video):
    """What processing found and made: thumbnail, renditions, duration and frame size."""
    thumb = thumbnail(file_url(video.poster) if video.poster else absolute_url(video.thumbnail_url), 90)
    renditions = format_html_join(" · ", '<a href="{}">{} {}</a>', (
        (absolute_url(r.get("url", "")), r.get("quality", "?"), r.get("format", "")) for r in video.renditions or []
    )) or "—"
    if video.duration_seconds is None:
        measured = "—"
    else:
        minutes, seconds = divmod(round(video.duration_seconds, 1), 60)
        measured = f"{int(minutes)}:{seconds:04.1f}"
        if video.width and video.height:
            measured += f" · {video.width}×{video.height}"
    return format_html(
        '<dl class="video-results"><dt>Thumbnail</dt><dd class="result-thumbnail">{}</dd><dt>Renditions</dt>'
        '<dd class="result-renditions">{}</dd><dt>Duration · size</dt><dd class="result-duration">{}</dd></dl>',
        thumb, renditions, measured)


def live_status(video: Video):
    """The part of the page that changes while processing runs: status, progress, error, preview, results, jobs."""
    transcode = video.jobs.filter(run=video.processing_run, task=ProcessingJob.Task.TRANSCODE).first()
    progress = _progress(transcode) if video.status == states.PROCESSING else ""
    error = format_html('<p class="errornote">{}</p>', video.error_message) if video.error_message else ""
    preview = ""
    source = preview_source(video) if video.status == states.READY else None
    if source:
        poster = file_url(video.poster) if video.poster else absolute_url(video.thumbnail_url)
        preview = format_html('<video class="video-preview" controls preload="metadata" src="{}"{}></video>',
                              source, format_html(' poster="{}"', poster) if poster else "")
    return format_html('<p class="live-line">{} {}</p>{}{}{}{}', badge(video.status), progress, error, preview,
                       _results(video), jobs_table(video))


VIDEO_ACTIONS = {
    "publish": ("Publish", Video.publish),
    "unpublish": ("Unpublish", Video.unpublish),
    "archive": ("Archive", Video.archive),
    "unarchive": ("Unarchive", Video.unarchive),
    "reprocess": ("Reprocess", processing.reprocess),
}


def applicable_actions(video: Video) -> list[str]:
    """The editorial actions that would succeed now, in the order editors use them."""
    names = []
    if video.status == states.READY and not video.published and not video.archived:
        names.append("publish")
    if video.published:
        names.append("unpublish")
    names.append("unarchive" if video.archived else "archive")
    if video.has_source and not video.archived and video.status != states.PROCESSING:
        names.append("reprocess")
    return names


def _run_action(modeladmin, request, queryset, verb: str, method) -> None:
    done, refused = 0, []
    for video in queryset:
        reason = refusal(video, method)
        if reason is None:
            done += 1
        else:
            refused.append(f"{video.title}: {reason}")
    if done:
        modeladmin.message_user(request, f"{verb}: {done} video(s).", messages.SUCCESS)
    for line in refused:
        modeladmin.message_user(request, line, messages.ERROR)


@admin.register(Video)
class VideoAdmin(CodeHooksAdminMixin, PlainIdAdmin, admin.ModelAdmin):
    form = VideoForm
    list_display = ["thumb", "title", "status_badge", "published", "archived", "tag_list", "duration",
                    "created_by", "updated_at"]
    list_display_links = ["thumb", "title"]
    list_filter = ["status", "published", "archived", "auto_publish", "tags"]
    search_fields = ["title", "description", "id"]
    filter_horizontal = ["tags"]
    date_hierarchy = "created_at"
    actions = ["reprocess_videos", "publish_videos", "unpublish_videos", "archive_videos", "unarchive_videos"]
    readonly_fields = ["id", "processing", "file_link", "mime_type", "size_bytes", "format", "published",
                       "published_at", "archived", "archived_at", "created_by", "revision", "created_at",
                       "updated_at", "player_link", "viewing_stats", "plays_chart", "webhooks"]

    class Media:
        css = {"all": ["media_lifecycle/admin/admin.css"]}
        js = [f"{VENDOR}/chart.js-4.6.2/chart.umd.min.js", "media_lifecycle/admin/video-live.js",
              "media_lifecycle/admin/plays-chart.js"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["id", "title", "description", "tags", "auto_publish", "metadata"]}),
            ("Source", {"fields": ["upload", "source_url", "file_link", "mime_type", "size_bytes", "format"]}),
            ("Processing", {"fields": ["processing", "poster"]}),
            ("Publishing", {"fields": ["published", "published_at", "archived", "archived_at", "player_link"]}),
            ("Viewing", {"fields": ["viewing_stats", "plays_chart"]}),
            ("Webhooks", {"fields": ["webhooks"]}),
            ("History", {"fields": ["created_by", "revision", "created_at", "updated_at"]}),
        ]
        if obj is None:
            fieldsets[0][1]["fields"].remove("id")
        if not request.user.has_perm("webhooks_app.view_webhook"):
            fieldsets = [entry for entry in fieldsets if entry[0] != "Webhooks"]  # editors never see webhooks
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.current_user = request.user
        return form

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by").prefetch_related("tags")

    def get_urls(self):
        return [
            path("<str:object_id>/live/", self.admin_site.admin_view(self.live_view),
                 name="media_lifecycle_video_live"),
            path("<str:object_id>/actions/<str:action>/", self.admin_site.admin_view(self.action_view),
                 name="media_lifecycle_video_action"),
            *super().get_urls(),
        ]

    def save_model(self, request, video, form, change):
        if not change:
            video.created_by = request.user
        sources.apply_source(video, form.source)
        video.save()
        try:
            sources.mark_used(video, form.source)
        except ValidationError as exc:  # another save used the same upload a moment ago
            transaction.set_rollback(True)
            self.message_user(request, f"Nothing was saved: {' '.join(exc.messages)}", messages.ERROR)

    # --- the page's buttons and live panel --------------------------------------------------------------

    def _buttons(self, request, video: Video):
        if not self.has_change_permission(request, video):
            return ""
        return object_actions(request, [
            (reverse("admin:media_lifecycle_video_action", args=[video.pk, name]), name, VIDEO_ACTIONS[name][0])
            for name in applicable_actions(video)
        ])

    def change_view(self, request, object_id, form_url="", extra_context=None):
        video = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if video is not None:
            extra["object_actions"] = self._buttons(request, video)
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def live_view(self, request, object_id):
        """What the page polls while processing runs: fresh HTML for the status panel and the buttons."""
        video = self.get_object(request, object_id)
        if video is None:
            raise Http404("No such video.")
        if not self.has_view_permission(request, video):
            raise PermissionDenied
        live = is_live(video)
        return JsonResponse({"status": video.status, "final": not live, "panels": {
            "live-status": str(live_status(video)),
            "object-actions": str(self._buttons(request, video)),
        }}, headers={"Cache-Control": "no-store"})

    @method_decorator(require_POST)
    def action_view(self, request, object_id, action):
        """One editorial action from the page's buttons, through the model layer; back to the page after."""
        video = self.action_target(request, object_id, action, VIDEO_ACTIONS)
        label, method = VIDEO_ACTIONS[action]
        reason = refusal(video, method)
        if reason is None:
            self.message_user(request, f"{video.title}: {label.lower()} done.", messages.SUCCESS)
        else:
            self.message_user(request, f"{video.title}: {reason}", messages.ERROR)
        return redirect("admin:media_lifecycle_video_change", video.pk)

    # --- columns and read-only fields -------------------------------------------------------------------

    @admin.display(description="")
    def thumb(self, video):
        return thumbnail(file_url(video.poster) if video.poster else absolute_url(video.thumbnail_url))

    @admin.display(description="status", ordering="status")
    def status_badge(self, video):
        return badge(video.status)

    @admin.display(description="processing")
    def processing(self, video):
        if video.pk is None or video._state.adding:
            return "Save the video to start processing its file."
        url = reverse("admin:media_lifecycle_video_live", args=[video.pk])
        return format_html('<div id="video-live" data-live-url="{}" data-live="{}" data-interval="{}">'
                           '<div id="live-status">{}</div></div>', url, "true" if is_live(video) else "false",
                           POLL_MILLISECONDS, live_status(video))

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

    @admin.display(description="plays per day")
    def plays_chart(self, video):
        if video.pk is None or video._state.adding:
            return "—"
        days = analytics.plays_per_day(video, days=analytics.CHART_DAYS)
        data = {"labels": [day.isoformat() for day, _count in days], "plays": [count for _day, count in days]}
        return format_html(
            '<div class="plays-chart"><canvas id="plays-chart" aria-label="Plays per day, last {} days" role="img">'
            '</canvas></div>{}<p class="help">Viewing sessions with a play, per day (UTC), last {} days: {} in all.'
            "</p>", analytics.CHART_DAYS, json_script(data, "plays-chart-data"), analytics.CHART_DAYS,
            sum(data["plays"]))

    @admin.display(description="webhooks")
    def webhooks(self, video):
        if video.pk is None or video._state.adding:
            return "Save the video first: the panel shows which webhooks its next event reaches."
        return webhooks_panel("video.updated", [tag.name for tag in video.tags.all()])

    # --- bulk actions (the same model methods as the buttons) -------------------------------------------

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
