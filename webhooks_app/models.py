"""Subscriptions (Webhook), the outbox (Event), and the delivery log (Delivery, DeliveryAttempt)."""

import base64
import json
import re
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from cms.storable import text_problem
from webhooks_app import catalog, conditions, ids
from webhooks_app.url_guard import UnsafeURL, check_url

RESERVED_HEADERS = {
    "content-type", "content-length", "host", "user-agent", "webhook-id", "webhook-timestamp",
    "webhook-signature", "x-signature", "x-signature-next", "transfer-encoding", "connection",
}
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an RFC 9110 token
# What HTTP/1.1 (and http.client, in Latin-1) can carry, without leading whitespace (which requests refuses).
HEADER_VALUE = re.compile(r"(?:[\x21-\x7e\xa1-\xff][\t\x20-\x7e\xa0-\xff]*)?")
SECRET_MIN, SECRET_MAX = 16, 128
ROTATION_OVERLAP = timedelta(hours=24)


def new_secret() -> str:
    """`whsec_` + base64 of 24 random bytes, as Standard Webhooks recommends."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def mask_secret(secret: str) -> str:
    """Show only enough of a secret to tell two apart."""
    if not secret:
        return ""
    head = "whsec_" if secret.startswith("whsec_") else ""
    return f"{head}{'•' * 8}{secret[-4:]}"


def validate_events(value) -> list[str]:
    """A list of catalog event names, or ["*"]; raises ValidationError naming the unknown ones."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError("Must be a list of event names.")
    if not value:
        raise ValidationError("Choose at least one event, or '*' for all.")
    if "*" in value:
        if len(value) > 1:
            raise ValidationError("'*' already means every event; list nothing else beside it.")
        return value
    known = set(catalog.names())
    unknown = [item for item in value if item not in known]
    if unknown:
        raise ValidationError(f"Unknown event name(s): {', '.join(unknown)}.")
    return list(dict.fromkeys(value))


def validate_tags(value) -> list[str]:
    """A list of non-empty tag names (they need not exist yet)."""
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValidationError("Must be a list of non-empty tag names.")
    if any(len(item) > 64 for item in value):
        raise ValidationError("Tag names are at most 64 characters long.")
    for item in value:
        problem = text_problem(item)
        if problem:
            raise ValidationError(f"The tag name {json.dumps(item)} holds {problem}, which cannot be stored.")
    return list(dict.fromkeys(item.strip() for item in value))


def validate_headers(value) -> dict[str, str]:
    """Extra request headers: a flat string-to-string object that cannot override signing headers."""
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValidationError("Must be an object of header names to string values.")
    for name, header_value in value.items():
        if not HEADER_NAME.fullmatch(name):
            raise ValidationError(f"{name!r} is not a valid header name (letters, digits and !#$%&'*+-.^_`|~).")
        if not HEADER_VALUE.fullmatch(header_value):
            raise ValidationError(f"The value of {name} may hold only printable Latin-1 characters.")
        if name.lower() in RESERVED_HEADERS:
            raise ValidationError(f"The {name} header is set by MediaHooks and cannot be overridden.")
    return value


def validate_secret(value: str) -> str:
    if not isinstance(value, str) or not SECRET_MIN <= len(value) <= SECRET_MAX:
        raise ValidationError(f"A secret must be {SECRET_MIN} to {SECRET_MAX} characters long.")
    if value.startswith("whsec_"):
        try:
            base64.b64decode(value[6:], validate=True)
        except ValueError:
            raise ValidationError("A whsec_ secret must be followed by valid base64.") from None
    return value


def validate_target_url(value: str) -> str:
    try:
        check_url(value)
    except UnsafeURL as exc:
        raise ValidationError(str(exc)) from None
    return value


class WebhookQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        """Bulk-created webhooks get their subscription index too (save() is not called for them)."""
        made = super().bulk_create(objs, *args, **kwargs)
        index_subscriptions(made)
        return made


class Webhook(models.Model):
    """A subscription: which events, under which tag conditions, go to which URL, signed with which secret."""

    class TagMatch(models.TextChoices):
        ANY = conditions.MATCH_ANY, "any of the tags"
        ALL = conditions.MATCH_ALL, "all of the tags"

    objects = WebhookQuerySet.as_manager()

    id = models.CharField(primary_key=True, max_length=40, default=ids.webhook_id, editable=False)
    url = models.URLField("URL", max_length=2000)
    description = models.TextField(blank=True)
    events = models.JSONField(default=list, help_text="Event names from the catalog, or [\"*\"] for all.")
    tags = models.JSONField(default=list, blank=True, help_text="Tag condition; empty means no condition.")
    tag_match = models.CharField(max_length=3, choices=TagMatch.choices, default=TagMatch.ANY)
    is_active = models.BooleanField("active", default=True)
    disabled_reason = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True, help_text="Extra request headers.")
    secret = models.CharField(max_length=SECRET_MAX, default=new_secret)
    previous_secret = models.CharField(max_length=SECRET_MAX, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    # When it was last switched on (its creation, at first): events recorded before that never reach it, as it was
    # off or did not exist when they happened.
    activated_at = models.DateTimeField(default=timezone.now, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.description or self.url

    @property
    def status(self) -> str:
        return "active" if self.is_active else "disabled"

    @property
    def masked_secret(self) -> str:
        return mask_secret(self.secret)

    def clean(self) -> None:
        errors = {}
        for field, validator in (("url", validate_target_url), ("events", validate_events),
                                 ("tags", validate_tags), ("headers", validate_headers),
                                 ("secret", validate_secret)):
            try:
                setattr(self, field, validator(getattr(self, field)))
            except ValidationError as exc:
                errors[field] = exc.messages
        if errors:
            raise ValidationError(errors)

    def signing_secrets(self, now=None) -> list[str]:
        """The current secret, then the rotated-out one while it is still valid."""
        now = now or timezone.now()
        keys = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            keys.append(self.previous_secret)
        return keys

    def rotate_secret(self, new: str | None = None) -> str:
        """Replace the secret; the old one keeps signing beside the new one for 24 hours."""
        self.previous_secret = self.secret
        self.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
        self.secret = validate_secret(new) if new else new_secret()
        self.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
        return self.secret

    def set_active(self, active: bool) -> None:
        """An admin's switch: turning on clears the reason and the failure count; off leaves no reason."""
        if active and not self.is_active:
            self.activated_at = timezone.now()
        self.is_active = active
        self.disabled_reason = ""
        if active:
            self.consecutive_failures = 0

    # What an edit never sets: the health the workers keep, and the secrets (rotated through their own action).
    KEPT_ON_EDIT = ("is_active", "disabled_reason", "consecutive_failures", "activated_at", "secret",
                    "previous_secret", "previous_secret_expires_at")

    def save_edit(self, *, switch: bool | None = None) -> None:
        """An editor's save (the API's and the admin's one rule): the row is locked, and what an edit never sets
        is taken from it as it is now (the failure count, an automatic switch-off and its reason, a rotation), so
        an edit made from an older read never undoes them; then the editor's switch, if they turned it, is
        applied. Webhook.DoesNotExist if it was deleted meanwhile (rather than write it back)."""
        with transaction.atomic():
            current = (type(self).objects.select_for_update().filter(pk=self.pk)
                       .values(*self.KEPT_ON_EDIT).first())
            if current is None:
                raise Webhook.DoesNotExist(f"The webhook {self.pk} was deleted.")
            for name, value in current.items():
                setattr(self, name, value)
            if switch is not None and switch != self.is_active:
                self.set_active(switch)
            self.save()

    def save(self, *args, **kwargs) -> None:
        """Save, and keep the subscription index (SubscribedEvent, ConditionTag) in step with events and tags."""
        update_fields = kwargs.get("update_fields")
        super().save(*args, **kwargs)
        if update_fields is None or {"events", "tags"} & set(update_fields):
            index_subscriptions([self])

    def explain(self, event_type: str, resource_tags) -> tuple[bool, str]:
        return conditions.explain(is_active=self.is_active, events=self.events, tags=self.tags,
                                  tag_match=self.tag_match, event_type=event_type, resource_tags=resource_tags)


class SubscribedEvent(models.Model):
    """One event name (or "*") a webhook subscribes to: fan-out finds the webhooks of an event type through the
    (name, webhook) index instead of reading every webhook's JSON list."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="subscribed_events")
    name = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "webhook"], name="subscribed_event_unique")]

    def __str__(self) -> str:
        return f"{self.webhook_id} ← {self.name}"


class ConditionTag(models.Model):
    """One tag of a webhook's tag condition, so the database can evaluate `any` and `all` conditions."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="condition_tags")
    name = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["webhook", "name"], name="condition_tag_unique")]

    def __str__(self) -> str:
        return f"{self.webhook_id} needs {self.name}"


def index_subscriptions(webhooks) -> None:
    """Rewrite the SubscribedEvent and ConditionTag rows of `webhooks` from their `events` and `tags` lists."""
    webhooks = [w for w in webhooks if w.pk is not None]
    if not webhooks:
        return
    pks = [w.pk for w in webhooks]
    SubscribedEvent.objects.filter(webhook__in=pks).delete()
    ConditionTag.objects.filter(webhook__in=pks).delete()
    SubscribedEvent.objects.bulk_create(
        [SubscribedEvent(webhook_id=w.pk, name=name) for w in webhooks for name in dict.fromkeys(w.events or [])],
        batch_size=500)
    ConditionTag.objects.bulk_create(
        [ConditionTag(webhook_id=w.pk, name=name) for w in webhooks for name in dict.fromkeys(w.tags or [])],
        batch_size=500)


class Event(models.Model):
    """One recorded event (the outbox row): its body bytes are frozen here and sent as-is on every attempt.
    A catalog event waits for fan-out (`fanout_pending`): a worker claims it under a lease, like a delivery, and
    writes one Delivery per matching webhook and function subscriber after the recording transaction commits."""

    id = models.CharField(primary_key=True, max_length=40, default=ids.event_id, editable=False)
    # Only two indexes besides the key, both cheap to append to: every save inserts one row here, and each index
    # is one more page written at its commit. The event log and replay read (internal, timestamp); fan-out reads
    # its partial index; pruning goes by the time-ordered id.
    type = models.CharField(max_length=100)
    timestamp = models.DateTimeField()
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    tags = models.JSONField(default=list, blank=True)
    body = models.BinaryField()
    internal = models.BooleanField(
        default=False, help_text="Test events and processing requests: not in the event log, never replayed."
    )
    fanout_pending = models.BooleanField(default=False, help_text="Recorded, its deliveries not written yet.")
    lease_token = models.CharField(max_length=32, null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-timestamp", "-id"]
        indexes = [
            models.Index(fields=["internal", "timestamp"]),
            models.Index(fields=["timestamp"], condition=models.Q(fanout_pending=True), name="event_fanout_due"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    @property
    def payload(self) -> dict:
        return json.loads(bytes(self.body))

    @property
    def data(self) -> dict:
        return self.payload.get("data", {})


def untried(prefix: str = "") -> models.Q:
    """Deliveries still pending that were never tried (`prefix` reaches Delivery through a relation)."""
    return models.Q(**{f"{prefix}status": "pending", f"{prefix}attempt_count": 0})


# A delivery joins its webhook's history index once it has been tried or has ended. Untried rows stay out:
# every save inserts one per matching webhook, and in an index ordered by webhook those land on as many scattered
# pages (in SQLite's write-ahead log, a whole page each), which cost more than all the rest of the save. Until
# their first attempt, untried rows are found through `delivery_due`, as the relay finds them. A query reaches the
# history index only when it repeats this condition word for word.
HISTORY = ~untried()


class DeliveryQuerySet(models.QuerySet):
    def of_webhook(self, webhook) -> "DeliveryQuerySet":
        """A webhook's deliveries, each part read through its own index: its history, and those not tried yet."""
        history = Delivery.objects.filter(HISTORY, webhook=webhook).order_by().values("pk")
        waiting = Delivery.objects.filter(untried(), webhook=webhook).order_by().values("pk")
        return self.filter(pk__in=history.union(waiting, all=True))


class Delivery(models.Model):
    """One event on its way to one target; attempts are retried until success, exhaustion or cancellation."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    objects = DeliveryQuerySet.as_manager()

    id = models.CharField(primary_key=True, max_length=40, default=ids.delivery_id, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries",
                                db_index=False)  # indexed by `delivery_webhook_history` below
    channel = models.CharField(max_length=32, default="webhook")
    hook = models.CharField(max_length=200, blank=True,
                            help_text="For the hook channel: the dotted name of the function subscriber.")
    target_url = models.CharField(max_length=2000, blank=True,
                                  help_text="For channels that send to a per-message URL (processor callbacks).")
    is_test = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Ids sort by creation time, so the primary key orders deliveries without another index to maintain
        # on the hot insert path (every save inserts one row per matching webhook).
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["webhook", "id"], condition=HISTORY, name="delivery_webhook_history"),
            models.Index(fields=["channel", "status", "next_attempt_at"], name="delivery_channel_due"),
        ]

    def __str__(self) -> str:
        return self.id


class DeliveryAttempt(models.Model):
    """One HTTP attempt: what was sent (headers without secrets), what came back, how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    url = models.CharField(max_length=2000)
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    success = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    request_headers = models.JSONField(default=dict)
    response_headers = models.JSONField(default=dict)
    response_body = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}"

