"""Small admin display helpers: status badges, thumbnails and the lifecycle "webhooks" panel."""

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from webhooks_app.models import Webhook

BADGE_COLOURS = {
    "uploaded": "#6c757d", "processing": "#0d6efd", "ready": "#198754", "failed": "#dc3545",
    "idle": "#6c757d", "live": "#dc3545", "ended": "#495057",
    "pending": "#0d6efd", "accepted": "#6610f2", "succeeded": "#198754", "cancelled": "#6c757d",
    "active": "#198754", "disabled": "#dc3545",
}


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
