"""Admin display helpers and widgets: status badges, thumbnails, the lifecycle "webhooks" panel, the resumable
upload field and the per-object action buttons."""

from django import forms
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from webhooks_app.models import Webhook

VENDOR = "media_lifecycle/vendor"
UPLOAD_CHUNK_BYTES = 64 * 1024 * 1024  # one PATCH per 64 MB: a dropped connection costs at most the chunk in flight

BADGE_COLOURS = {
    "uploaded": "#6c757d", "processing": "#0d6efd", "ready": "#198754", "failed": "#dc3545",
    "idle": "#6c757d", "live": "#dc3545", "ended": "#495057",
    "pending": "#0d6efd", "accepted": "#6610f2", "succeeded": "#198754", "cancelled": "#6c757d",
    "active": "#198754", "disabled": "#dc3545",
}


def when(moment) -> str:
    """A time as the admin shows times everywhere: to the second (the DATETIME_FORMAT of cms/formats)."""
    if moment is None:
        return "—"
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def badge(value: str, label: str | None = None):
    colour = BADGE_COLOURS.get(value, "#6c757d")
    return format_html(
        '<span style="background:{};color:#fff;padding:2px 8px;border-radius:10px;font-size:11px;'
        'font-weight:600;white-space:nowrap">{}</span>', colour, label or value,
    )


def thumbnail(url: str | None, height: int = 40):
    if not url:
        return "—"
    return format_html('<img src="{}" alt="" style="height:{}px;border-radius:3px;object-fit:cover">', url, height)


def webhooks_panel(event_type: str, tags: list[str]):
    """For each webhook: would the next `event_type` for an object with `tags` reach it, and if not, why."""
    webhooks = list(Webhook.objects.order_by("created_at"))
    if not webhooks:
        return format_html('<p>No webhooks yet. <a href="{}">Add one</a>.</p>',
                           reverse("admin:webhooks_app_webhook_add"))
    rows = []
    for webhook in webhooks:
        reaches, why = webhook.explain(event_type, tags)
        rows.append((
            reverse("admin:webhooks_app_webhook_change", args=[webhook.pk]),
            webhook.description or webhook.url,
            "✔ receives it" if reaches else "✘ does not",
            "#198754" if reaches else "#dc3545",
            why,
        ))
    body = format_html_join(
        "", '<tr><td><a href="{}">{}</a></td><td style="color:{};font-weight:600">{}</td><td>{}</td></tr>',
        ((url, name, colour, verdict, why) for url, name, verdict, colour, why in rows),
    )
    return format_html(
        "<p>The next <code>{}</code> event (tags: {}) would go to:</p>"
        "<table><thead><tr><th>Webhook</th><th>Next event</th><th>Why</th></tr></thead><tbody>{}</tbody></table>",
        event_type, ", ".join(tags) or "none", body,
    )


class TusUploadWidget(forms.Widget):
    """The admin's upload field: a file picker that sends the file with tus (resumable, in chunks, with a
    progress bar) and puts the finished upload's id into a hidden input for the form to use. The widget itself
    is visible (not `is_hidden`), so the field's errors show next to it."""

    template_name = "media_lifecycle/widgets/tus_upload.html"  # an app template: widgets render with the form renderer

    class Media:
        js = [f"{VENDOR}/tus-js-client-4.3.1/tus.min.js", "media_lifecycle/admin/upload-field.js"]
        css = {"all": ["media_lifecycle/admin/admin.css"]}

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["tus"] = {
            "endpoint": reverse("upload-list"),
            "max_bytes": settings.MAX_UPLOAD_BYTES,
            "chunk_bytes": UPLOAD_CHUNK_BYTES,
        }
        return context


def object_actions(request, actions: list[tuple[str, str, str]]) -> str:
    """Buttons for the actions that apply to an object now: (URL, name, label) each, as POST forms."""
    return render_to_string("admin/media_lifecycle/object_actions.html", {"actions": actions}, request=request)
