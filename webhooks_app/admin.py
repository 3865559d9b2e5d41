"""Webhook admin: grouped event checkboxes, tag conditions, masked secrets with rotation, a "send test event"
button, recent deliveries and the success rate; deliveries with every attempt; the event log."""

import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from webhooks_app import catalog, events, relay
from webhooks_app.models import (
    HISTORY,
    Delivery,
    DeliveryAttempt,
    Event,
    Webhook,
    validate_events,
    validate_secret,
    validate_tags,
)

BADGES = {"pending": "#0d6efd", "succeeded": "#198754", "failed": "#dc3545", "cancelled": "#6c757d",
          "active": "#198754", "disabled": "#dc3545"}
RECENT = 20


def badge(value: str):
    return format_html('<span style="background:{};color:#fff;padding:2px 8px;border-radius:10px;font-size:11px;'
                       'font-weight:600">{}</span>', BADGES.get(value, "#6c757d"), value)


def event_choices():
    groups = [("*", "All events (*), including ones added later")]
    for group, types in catalog.grouped().items():
        groups.append((group, [(t.name, format_html('<code>{}</code> <small class="event-help">{}</small>',
                                                    t.name, t.description)) for t in types]))
    return groups


def _finished(status: str):
    """How many real deliveries of the webhook ended with `status`. The status is tested in the count, not in
    the WHERE clause: there it would draw SQLite to the status index and a scan of every such delivery."""
    rows = (Delivery.objects.filter(HISTORY, webhook=OuterRef("pk"), is_test=False).order_by().values("webhook")
            .annotate(n=Count("pk", filter=Q(status=status))).values("n"))
    return Coalesce(Subquery(rows), 0)


SUCCEEDED_COUNT = _finished(Delivery.Status.SUCCEEDED)
FAILED_COUNT = _finished(Delivery.Status.FAILED)


def success_rate(succeeded: int, failed: int) -> str:
    """Finished real (non-test) deliveries that succeeded, as a percentage and a fraction."""
    finished = succeeded + failed
    if not finished:
        return "—"
    return f"{100 * succeeded / finished:.1f}% ({succeeded}/{finished})"


class WebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=event_choices, widget=forms.CheckboxSelectMultiple,
                                       help_text="Pick events one by one, or * for every event.")
    tags = forms.CharField(required=False, help_text="Tag condition, comma-separated (e.g. news, sport). "
                                                     "Empty means every object matches.")
    secret = forms.CharField(required=False, help_text="16–128 characters. Leave empty to generate a whsec_ "
                                                       "secret; it is shown once, after saving.")

    class Meta:
        model = Webhook
        fields = ["url", "description", "events", "tags", "tag_match", "is_active", "headers"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:  # the id has a default, so a new webhook has a pk already
            self.initial["tags"] = ", ".join(self.instance.tags or [])
            self.initial["events"] = self.instance.events
            del self.fields["secret"]

    def clean_events(self):
        return validate_events(list(self.cleaned_data["events"]))

    def clean_tags(self):
        names = [part.strip() for part in (self.cleaned_data.get("tags") or "").split(",") if part.strip()]
        return validate_tags(names)

    def clean_secret(self):
        value = self.cleaned_data.get("secret")
        return validate_secret(value) if value else self.instance.secret  # empty: keep the generated one


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "duration_ms", "status_code", "success", "error", "sent_headers",
              "response_excerpt"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="request headers")
    def sent_headers(self, attempt):
        return format_html("<pre style='white-space:pre-wrap;font-size:11px'>{}</pre>",
                           json.dumps(attempt.request_headers, indent=1))

    @admin.display(description="response (first 4 KB)")
    def response_excerpt(self, attempt):
        return format_html("<pre style='white-space:pre-wrap;font-size:11px;max-height:12em;overflow:auto'>{}</pre>",
                           attempt.response_body or "—")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm

    class Media:
        css = {"all": ["webhooks_app/admin.css"]}

    list_display = ["url", "description", "event_summary", "tag_condition", "status_badge", "consecutive_failures",
                    "rate", "updated_at"]
    list_filter = ["is_active", "tag_match"]
    search_fields = ["url", "description", "id"]
    actions = ["enable", "disable"]
    readonly_fields = ["id", "status_badge", "disabled_reason", "masked_secret", "consecutive_failures", "rate",
                       "recent_deliveries", "created_at", "updated_at"]

    def get_queryset(self, request):
        """The success rate comes with the rows: one query for the whole list, not one per webhook."""
        return super().get_queryset(request).annotate(n_succeeded=SUCCEEDED_COUNT, n_failed=FAILED_COUNT)

    def get_fieldsets(self, request, obj=None):
        main = ["url", "description", "events", "tags", "tag_match", "is_active", "headers"]
        if obj is None:
            return [(None, {"fields": main + ["secret"]})]
        return [
            (None, {"fields": ["id"] + main}),
            ("Signing", {"fields": ["masked_secret"]}),
            ("Health", {"fields": ["status_badge", "disabled_reason", "consecutive_failures", "rate"]}),
            ("Recent deliveries", {"fields": ["recent_deliveries"]}),
            ("History", {"fields": ["created_at", "updated_at"]}),
        ]

    def get_urls(self):
        def exempt(view):
            wrapped = self.admin_site.admin_view(view)
            wrapped.unit_of_work_exempt = True  # the test event is committed, then sent, in this request
            return wrapped

        return [
            path("<str:pk>/send-test/", exempt(self.send_test_view), name="webhooks_app_webhook_send_test"),
            path("<str:pk>/rotate-secret/", self.admin_site.admin_view(self.rotate_secret_view),
                 name="webhooks_app_webhook_rotate_secret"),
            *super().get_urls(),
        ]

    def save_model(self, request, webhook, form, change):
        webhook.tags = form.cleaned_data["tags"]
        webhook.events = form.cleaned_data["events"]
        if not change:
            if form.cleaned_data.get("secret"):
                webhook.secret = form.cleaned_data["secret"]
            webhook.save()
            self.message_user(request, format_html(
                "Webhook created. Its signing secret (shown only now): <code>{}</code>", webhook.secret
            ), messages.WARNING)
            return
        if "is_active" in form.changed_data:
            webhook.set_active(webhook.is_active)
        webhook.save()

    @admin.display(description="events")
    def event_summary(self, webhook):
        if "*" in (webhook.events or []):
            return "all (*)"
        names = webhook.events or []
        return ", ".join(names[:3]) + (f" +{len(names) - 3}" if len(names) > 3 else "")

    @admin.display(description="tag condition")
    def tag_condition(self, webhook):
        if not webhook.tags:
            return "—"
        return f"{webhook.tag_match} of {', '.join(webhook.tags)}"

    @admin.display(description="status", ordering="is_active")
    def status_badge(self, webhook):
        return badge(webhook.status)

    @admin.display(description="success rate")
    def rate(self, webhook):
        return success_rate(webhook.n_succeeded, webhook.n_failed)

    @admin.display(description="secret")
    def masked_secret(self, webhook):
        rotate = reverse("admin:webhooks_app_webhook_rotate_secret", args=[webhook.pk])
        test = reverse("admin:webhooks_app_webhook_send_test", args=[webhook.pk])
        return format_html(
            '<code>{}</code> &nbsp; <button type="submit" class="button" formaction="{}" formmethod="post" '
            'name="_rotate">Rotate secret</button> &nbsp; <button type="submit" class="button" formaction="{}" '
            'formmethod="post" name="_send_test">Send test event</button>'
            '<p class="help">Rotating keeps the old secret signing beside the new one for 24 hours.</p>',
            webhook.masked_secret, rotate, test,
        )

    @admin.display(description="last 20")
    def recent_deliveries(self, webhook):
        rows = Delivery.objects.of_webhook(webhook).select_related("event").order_by("-id")[:RECENT]
        if not rows:
            return "No deliveries yet."
        body = format_html_join("", (
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>'
        ), (
            (reverse("admin:webhooks_app_delivery_change", args=[d.pk]), d.pk, d.event.type, badge(d.status),
             d.attempt_count, d.last_status_code or "—", (d.last_error or "")[:120])
            for d in rows
        ))
        return format_html("<table><thead><tr><th>Delivery</th><th>Event</th><th>Status</th><th>Attempts</th>"
                           "<th>Last code</th><th>Last error</th></tr></thead><tbody>{}</tbody></table>", body)

    def send_test_view(self, request, pk):
        webhook = get_object_or_404(Webhook, pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, webhook):
            return redirect("admin:webhooks_app_webhook_change", pk)
        delivery = relay.send_test(webhook)
        level = messages.SUCCESS if delivery.status == Delivery.Status.SUCCEEDED else messages.ERROR
        outcome = "delivered" if level == messages.SUCCESS else f"failed: {delivery.last_error}"
        self.message_user(request, f"Test event {delivery.event_id} {outcome}.", level)
        return redirect("admin:webhooks_app_delivery_change", delivery.pk)

    def rotate_secret_view(self, request, pk):
        webhook = get_object_or_404(Webhook, pk=pk)
        if request.method == "POST" and self.has_change_permission(request, webhook):
            secret = webhook.rotate_secret()
            self.message_user(request, format_html(
                "New signing secret (shown only now): <code>{}</code>. The old one signs beside it for 24 hours.",
                secret), messages.WARNING)
        return redirect("admin:webhooks_app_webhook_change", pk)

    @admin.action(description="Enable selected webhooks (clears the failure count)", permissions=["change"])
    def enable(self, request, queryset):
        for webhook in queryset:
            webhook.set_active(True)
            webhook.save()

    @admin.action(description="Disable selected webhooks", permissions=["change"])
    def disable(self, request, queryset):
        for webhook in queryset:
            webhook.set_active(False)
            webhook.save()


class WebhookFilter(admin.SimpleListFilter):
    """Deliveries of one webhook, read through its indexes (see `DeliveryQuerySet.of_webhook`)."""

    title = "webhook"
    parameter_name = "webhook"

    def lookups(self, request, model_admin):
        return [(webhook.pk, webhook.url) for webhook in Webhook.objects.order_by("url")]

    def queryset(self, request, queryset):
        return queryset.of_webhook(self.value()) if self.value() else queryset


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "event_type", "target", "status_badge", "attempt_count", "last_status_code", "short_error",
                    "created_at", "next_attempt_at"]
    list_filter = ["status", WebhookFilter, "channel", "is_test"]
    search_fields = ["id", "event__id", "event__type", "webhook__url", "hook"]
    list_select_related = ["event", "webhook"]
    inlines = [AttemptInline]
    actions = ["redeliver"]
    fields = ["id", "event_link", "webhook", "channel", "hook", "target_url", "is_test", "status_badge",
              "attempt_count", "next_attempt_at", "lease_expires_at", "last_status_code", "last_error", "created_at",
              "completed_at", "body"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description="event", ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type

    @admin.display(description="to")
    def target(self, delivery):
        if delivery.webhook:
            return delivery.webhook.url
        if delivery.hook:
            return f"hook {delivery.hook}"
        return delivery.target_url or delivery.channel

    @admin.display(description="status", ordering="status")
    def status_badge(self, delivery):
        return badge(delivery.status)

    @admin.display(description="last error")
    def short_error(self, delivery):
        return (delivery.last_error or "")[:80] or "—"

    @admin.display(description="event")
    def event_link(self, delivery):
        return format_html('<a href="{}">{} ({})</a>', reverse("admin:webhooks_app_event_change",
                                                               args=[delivery.event_id]),
                           delivery.event_id, delivery.event.type)

    @admin.display(description="body sent")
    def body(self, delivery):
        return format_html("<pre style='white-space:pre-wrap;font-size:11px'>{}</pre>",
                           json.dumps(delivery.event.payload, indent=2, ensure_ascii=False))

    @admin.action(description="Redeliver (a new attempt series, same body and webhook-id)", permissions=["view"])
    def redeliver(self, request, queryset):
        made = 0
        for delivery in queryset.select_related("event", "webhook"):
            if delivery.status == Delivery.Status.PENDING:
                self.message_user(request, f"{delivery.pk} is still pending; not redelivered.", messages.WARNING)
                continue
            events.redeliver(delivery)
            made += 1
        if made:
            self.message_user(request, f"{made} new delivery(ies) queued.", messages.SUCCESS)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "type", "object_type", "object_id", "timestamp", "delivery_count", "internal"]
    list_filter = ["type", "internal", "object_type"]
    search_fields = ["id", "type", "object_id"]
    date_hierarchy = "timestamp"
    fields = ["id", "type", "timestamp", "object_type", "object_id", "tags", "internal", "pretty_body"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_deliveries=Count("deliveries"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description="deliveries", ordering="n_deliveries")
    def delivery_count(self, event):
        return event.n_deliveries

    @admin.display(description="body")
    def pretty_body(self, event):
        return format_html("<pre style='white-space:pre-wrap;font-size:11px'>{}</pre>",
                           json.dumps(event.payload, indent=2, ensure_ascii=False))
