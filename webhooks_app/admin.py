"""Webhook admin: grouped event checkboxes, tag conditions, masked secrets with rotation, a "send test event"
button, recent deliveries and the success rate; deliveries with every attempt; the event log."""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join

from cms.admin_ids import PlainIdAdmin, change_url
from cms.parsers import StorableJSONFormField
from webhooks_app import catalog, events, permissions, relay
from webhooks_app.headers import MaskedValueError, keep_masked, masked
from webhooks_app.models import (
    HISTORY,
    ROTATION_OVERLAP,
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


class EventCheckboxes(forms.CheckboxSelectMultiple):
    """The event catalog as groups of checkboxes, each group with a "select all" box (event-groups.js)."""

    class Media:
        js = ["webhooks_app/event-groups.js"]


class WebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=event_choices, widget=EventCheckboxes,
                                       help_text="Pick events one by one, a whole group, or * for every event.")
    tags = forms.CharField(required=False, help_text="Tag condition, comma-separated (e.g. news, sport). "
                                                     "Empty means every object matches.")
    secret = forms.CharField(required=False, strip=False,  # a chosen secret is used exactly as typed
                             help_text="16–128 characters. Leave empty to generate a whsec_ secret; it is shown "
                                       "once, after saving.")

    class Meta:
        model = Webhook
        fields = ["url", "description", "events", "tags", "tag_match", "is_active", "headers"]
        field_classes = {"headers": StorableJSONFormField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["is_active"].show_hidden_initial = True  # see WebhookAdmin.save_model
        if not self.instance._state.adding:  # the id has a default, so a new webhook has a pk already
            self.initial["tags"] = ", ".join(self.instance.tags or [])
            self.initial["events"] = self.instance.events
            self.initial["headers"] = masked(self.instance.headers or {})  # credentials never shown again
            del self.fields["secret"]

    def clean_events(self):
        return validate_events(list(self.cleaned_data["events"]))

    def clean_tags(self):
        names = [part.strip() for part in (self.cleaned_data.get("tags") or "").split(",") if part.strip()]
        return validate_tags(names)

    def clean_headers(self):
        """A masked credential value left as shown keeps the stored value (the API's rule, webhooks_app.headers)."""
        value = self.cleaned_data.get("headers")
        if not isinstance(value, dict):
            return value
        try:
            return keep_masked(value, {} if self.instance._state.adding else self.instance.headers or {})
        except MaskedValueError as exc:
            raise forms.ValidationError(str(exc)) from None

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
class WebhookAdmin(PlainIdAdmin, admin.ModelAdmin):
    form = WebhookForm

    class Media:
        css = {"all": ["webhooks_app/admin.css"]}

    list_display = ["target", "short_description", "event_summary", "tag_condition", "status_badge", "failures",
                    "rate", "updated_at"]
    list_display_links = ["target"]
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
        # changed_data compares the switch with what the editor saw (its hidden initial value), not with the row
        # now: a webhook the workers switched off meanwhile is not switched back on by an unrelated edit.
        try:
            webhook.save_edit(switch=webhook.is_active if "is_active" in form.changed_data else None)
        except Webhook.DoesNotExist:
            raise Http404("This webhook was deleted meanwhile.") from None

    @admin.display(description="URL", ordering="url")
    def target(self, webhook):
        return format_html('<span class="clipped" title="{}">{}</span>', webhook.url, webhook.url)

    @admin.display(description="description", ordering="description")
    def short_description(self, webhook):
        if not webhook.description:
            return "—"
        return format_html('<span class="clipped" title="{}">{}</span>', webhook.description, webhook.description)

    @admin.display(description="events")
    def event_summary(self, webhook):
        if "*" in (webhook.events or []):
            return "all (*)"
        names = webhook.events or []
        summary = ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
        return format_html('<span class="clipped" title="{}">{}</span>', ", ".join(names), summary)

    @admin.display(description="tag condition")
    def tag_condition(self, webhook):
        if not webhook.tags:
            return "—"
        condition = f"{webhook.tag_match} of {', '.join(webhook.tags)}"
        return format_html('<span class="clipped" title="{}">{}</span>', condition, condition)

    @admin.display(description="failures in a row", ordering="consecutive_failures")
    def failures(self, webhook):
        return webhook.consecutive_failures

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
            '<code>{}</code> &nbsp; <a class="button" href="{}" id="rotate-secret">Rotate secret…</a> &nbsp; '
            '<button type="submit" class="button" formaction="{}" formmethod="post" name="_send_test">Send test '
            'event</button><p class="help">Rotating asks first; the old secret keeps signing beside the new one '
            "for 24 hours.</p>",
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
        if request.method != "POST":
            return redirect("admin:webhooks_app_webhook_change", pk)
        if not permissions.may(request.user, "test"):  # the API's rule for POST /api/webhooks/{id}/test/
            raise PermissionDenied
        delivery = relay.send_test(webhook)
        level = messages.SUCCESS if delivery.status == Delivery.Status.SUCCEEDED else messages.ERROR
        outcome = "delivered" if level == messages.SUCCESS else f"failed: {delivery.last_error}"
        self.message_user(request, f"Test event {delivery.event_id} {outcome}.", level)
        return redirect("admin:webhooks_app_delivery_change", delivery.pk)

    def rotate_secret_view(self, request, pk):
        """Asks first (GET, or a POST without `confirm`), explaining the overlap; rotates on a confirmed POST."""
        webhook = get_object_or_404(Webhook, pk=pk)
        if not permissions.may(request.user, "rotate_secret"):  # the API's rule for rotate-secret/
            raise PermissionDenied
        if request.method == "POST" and request.POST.get("confirm"):
            secret = webhook.rotate_secret()
            self.message_user(request, format_html(
                "New signing secret (shown only now): <code>{}</code>. The old one signs beside it for 24 hours.",
                secret), messages.WARNING)
            return redirect("admin:webhooks_app_webhook_change", pk)
        overlap_hours = int(ROTATION_OVERLAP.total_seconds() // 3600)
        return TemplateResponse(request, "admin/webhooks_app/webhook/rotate_secret.html", {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Rotate the signing secret?",
            "webhook": webhook,
            "overlap_hours": overlap_hours,
            "overlap_ends": timezone.now() + ROTATION_OVERLAP,
            "rotating_again": webhook.signing_secrets() != [webhook.secret],
        })

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
class DeliveryAdmin(PlainIdAdmin, admin.ModelAdmin):
    list_display = ["id", "status_badge", "last_code", "short_error", "event_type", "target", "times"]
    list_filter = ["status", WebhookFilter, "channel", "is_test"]
    search_fields = ["id", "event__id", "event__type", "webhook__url", "hook"]
    list_select_related = ["event", "webhook"]
    inlines = [AttemptInline]
    actions = ["redeliver"]
    fields = ["id", "event_link", "webhook_link", "channel", "hook", "target_url", "is_test", "status_badge",
              "attempt_count", "next_attempt_at", "lease_expires_at", "last_status_code", "last_error", "created_at",
              "completed_at", "body"]
    readonly_fields = fields

    class Media:
        css = {"all": ["webhooks_app/admin.css"]}

    @admin.display(description="webhook")
    def webhook_link(self, delivery):
        if delivery.webhook is None:
            return "—"
        return format_html('<a href="{}">{}</a>', change_url(self, delivery.webhook), delivery.webhook)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def get_urls(self):
        return [
            path("<str:pk>/redeliver/", self.admin_site.admin_view(self.redeliver_view),
                 name="webhooks_app_delivery_redeliver"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        delivery = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if delivery is not None and permissions.may(request.user, "redeliver"):
            extra["redeliver_url"] = reverse("admin:webhooks_app_delivery_redeliver", args=[delivery.pk])
            extra["redeliver_pending"] = delivery.status == Delivery.Status.PENDING
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def redeliver_view(self, request, pk):
        """The delivery page's "Redeliver" button: a new attempt series, then that delivery's page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not permissions.may(request.user, "redeliver"):  # the API's rule for POST …/redeliver/
            raise PermissionDenied
        delivery = get_object_or_404(Delivery.objects.select_related("event", "webhook"), pk=pk)
        if delivery.status == Delivery.Status.PENDING:
            self.message_user(request, f"{delivery.pk} is still pending; redeliver it once it has finished.",
                              messages.WARNING)
            return redirect("admin:webhooks_app_delivery_change", delivery.pk)
        fresh = events.redeliver(delivery)
        self.message_user(request, f"Redelivery queued as {fresh.pk}: same body and webhook-id as {delivery.pk}.",
                          messages.SUCCESS)
        return redirect("admin:webhooks_app_delivery_change", fresh.pk)

    @admin.display(description="event", ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type

    @admin.display(description="created · next attempt", ordering="id")
    def times(self, delivery):
        """Both times to the second, so the retry spacing shows; one column keeps the table within 1366 px."""
        created = formats.date_format(timezone.localtime(delivery.created_at), "DATETIME_FORMAT")
        upcoming = (formats.date_format(timezone.localtime(delivery.next_attempt_at), "DATETIME_FORMAT")
                    if delivery.next_attempt_at and delivery.status == Delivery.Status.PENDING else "—")
        return format_html('<span class="times">{}<br><small>next: {}</small></span>', created, upcoming)

    @admin.display(description="to")
    def target(self, delivery):
        if delivery.webhook:
            target = delivery.webhook.url
        elif delivery.hook:
            target = f"hook {delivery.hook}"
        else:
            target = delivery.target_url or delivery.channel
        return format_html('<span class="clipped" title="{}">{}</span>', target, target)

    @admin.display(description="status", ordering="status")
    def status_badge(self, delivery):
        return badge(delivery.status)

    @admin.display(description="code", ordering="last_status_code")
    def last_code(self, delivery):
        return delivery.last_status_code or "—"

    @admin.display(description="last error")
    def short_error(self, delivery):
        if not delivery.last_error:
            return "—"
        return format_html('<span class="clipped" title="{}">{}</span>', delivery.last_error,
                           delivery.last_error[:60])

    @admin.display(description="event")
    def event_link(self, delivery):
        return format_html('<a href="{}">{} ({})</a>', reverse("admin:webhooks_app_event_change",
                                                               args=[delivery.event_id]),
                           delivery.event_id, delivery.event.type)

    @admin.display(description="body sent")
    def body(self, delivery):
        return format_html("<pre style='white-space:pre-wrap;font-size:11px'>{}</pre>",
                           json.dumps(delivery.event.payload, indent=2, ensure_ascii=False))

    @admin.action(description="Redeliver (a new attempt series, same body and webhook-id)", permissions=["change"])
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
class EventAdmin(PlainIdAdmin, admin.ModelAdmin):
    list_display = ["id", "type", "subject", "timestamp", "delivery_count", "internal"]
    list_filter = ["type", "internal", "object_type"]
    search_fields = ["id", "type", "object_id"]
    date_hierarchy = "timestamp"
    fields = ["id", "type", "timestamp", "object_type", "object_id", "tags", "internal", "pretty_body"]
    readonly_fields = fields

    class Media:
        css = {"all": ["webhooks_app/admin.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_deliveries=Count("deliveries"))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    @admin.display(description="deliveries", ordering="n_deliveries")
    def delivery_count(self, event):
        return event.n_deliveries

    @admin.display(description="object", ordering="object_id")
    def subject(self, event):
        if not event.object_id:
            return event.object_type or "—"
        return format_html('{} <span class="object-id">{}</span>', event.object_type, event.object_id)

    @admin.display(description="body")
    def pretty_body(self, event):
        return format_html("<pre style='white-space:pre-wrap;font-size:11px'>{}</pre>",
                           json.dumps(event.payload, indent=2, ensure_ascii=False))
