"""Webhook, delivery and event serializers. Secrets are shown in full only when created or rotated."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import NotFound

from cms.datetimes import InstantField
from cms.parsers import StorableJSONField
from cms.serializers import StrictFieldsMixin, StrictSerializer
from webhooks_app import catalog
from webhooks_app.headers import MaskedValueError, keep_masked, masked
from webhooks_app.models import (
    Delivery,
    DeliveryAttempt,
    Event,
    Webhook,
    validate_events,
    validate_headers,
    validate_secret,
    validate_tags,
    validate_target_url,
)

SERVER_OWNED = {"id", "status", "disabled_reason", "created_at", "updated_at", "last_delivery"}


def _django(validator):
    def run(value):
        try:
            return validator(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None

    return run


class RuleField(StorableJSONField):
    """A JSON value (no unstorable strings) checked and normalised by one of the model's rules (the admin's form
    calls the same rule), so both store the same value: `["video.created", "video.created"]` is stored once,
    `" news "` as `"news"`."""

    def __init__(self, rule, **kwargs):
        self.rule = rule
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return _django(self.rule)(super().to_internal_value(data))


class LastDeliverySerializer(serializers.Serializer):
    success = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True)
    timestamp = serializers.DateTimeField()


class WebhookSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    url = serializers.URLField(max_length=2000, validators=[_django(validate_target_url)])
    events = RuleField(validate_events, help_text='Event names from the catalog, or ["*"].')
    tags = RuleField(validate_tags, required=False)
    headers = RuleField(validate_headers, required=False)
    secret = serializers.CharField(required=False, trim_whitespace=False, validators=[_django(validate_secret)],
                                   help_text="16–128 characters; generated (whsec_…) when omitted. "
                                             "Shown in full only in the create and rotate answers.")
    status = serializers.CharField(read_only=True)
    last_delivery = serializers.SerializerMethodField()

    class Meta:
        model = Webhook
        fields = ["id", "url", "description", "events", "tags", "tag_match", "is_active", "status",
                  "disabled_reason", "headers", "secret", "created_at", "updated_at", "last_delivery"]
        read_only_fields = ["id", "disabled_reason", "created_at", "updated_at"]

    reveal_secret = False
    reveal_headers = False  # credential-like header values are shown only in the create answer

    def refused_fields(self, data) -> dict:
        errors = {}
        for name in SERVER_OWNED & set(data.keys()):
            if self.instance is None or data[name] != self.to_representation(self.instance).get(name):
                errors[name] = [f"{name} is set by the server and cannot be written."]
        if self.instance is not None and "secret" in data and data["secret"] != self.instance.masked_secret:
            errors["secret"] = ["Use POST /api/webhooks/{id}/rotate-secret/ to change the secret."]
        return errors

    def to_internal_value(self, data):
        if self.instance is not None and hasattr(data, "keys") and "secret" in data \
                and data["secret"] == self.instance.masked_secret:  # the masked secret echoed (GET, edit, PUT)
            data = data.copy()
            data.pop("secret")
        if hasattr(data, "keys") and isinstance(data.get("headers"), dict):
            try:  # masked credential values echoed back keep the stored ones
                merged = keep_masked(data["headers"], self.instance.headers if self.instance else {})
            except MaskedValueError as exc:
                raise serializers.ValidationError({"headers": [str(exc)]}) from None
            data = {**data, "headers": merged}
        return super().to_internal_value(data)

    def get_last_delivery(self, webhook) -> dict | None:
        if getattr(webhook, "last_attempt_at", None) is None:
            return None
        return {"success": webhook.last_attempt_success, "status_code": webhook.last_attempt_status,
                "timestamp": serializers.DateTimeField().to_representation(webhook.last_attempt_at)}

    def to_representation(self, webhook):
        data = super().to_representation(webhook)
        data["secret"] = webhook.secret if self.reveal_secret else webhook.masked_secret
        data["headers"] = webhook.headers if self.reveal_headers else masked(webhook.headers or {})
        return data

    def update(self, webhook, validated_data):
        validated_data.pop("secret", None)
        switch = validated_data.pop("is_active", None)
        for name, value in validated_data.items():
            setattr(webhook, name, value)
        try:
            webhook.save_edit(switch=switch)
        except Webhook.DoesNotExist:
            raise NotFound("This webhook was deleted meanwhile.") from None
        return webhook


class RevealedWebhookSerializer(WebhookSerializer):
    """The create answer: the secret and every header value in clear, this once."""

    reveal_secret = True
    reveal_headers = True


class RotatedWebhookSerializer(WebhookSerializer):
    """The rotate answer: the new secret in clear; credential headers stay masked."""

    reveal_secret = True


class RotateSecretSerializer(StrictSerializer):
    secret = serializers.CharField(required=False, trim_whitespace=False, validators=[_django(validate_secret)],
                                   help_text="The new secret; generated when omitted.")


class TestEventSerializer(StrictSerializer):
    type = serializers.CharField(required=False, help_text="A catalog event to send an example of.")

    def validate_type(self, value: str) -> str:
        event_type = catalog.get(value)
        if event_type is None or (event_type.example is None and value != "webhook.test"):
            raise serializers.ValidationError(f"Unknown event type {value!r}; use a name from the catalog.")
        return value


class ReplaySerializer(StrictSerializer):
    since = InstantField()
    until = InstantField(required=False)
    types = serializers.ListField(child=serializers.CharField(), required=False)

    def validate_types(self, value):
        unknown = [name for name in value if name not in catalog.names()]
        if unknown:
            raise serializers.ValidationError(f"Unknown event name(s): {', '.join(unknown)}.")
        return value

    def validate(self, attrs):
        if attrs.get("until") and attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": ["Must be after since."]})
        return attrs


class EventRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "url", "started_at", "duration_ms", "status_code", "success", "error",
                  "request_headers", "response_headers", "response_body"]


class DeliverySerializer(serializers.ModelSerializer):
    event = EventRefSerializer(read_only=True)
    webhook = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "event", "webhook", "channel", "hook", "status", "attempt_count", "next_attempt_at",
                  "last_status_code", "last_error", "created_at", "completed_at"]


class DeliveryDetailSerializer(DeliverySerializer):
    attempts = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = DeliverySerializer.Meta.fields + ["attempts"]


class EventSerializer(serializers.ModelSerializer):
    object = serializers.CharField(source="object_type")
    data = serializers.SerializerMethodField()

    class Meta:
        model = Event
        fields = ["id", "type", "timestamp", "object", "object_id", "data"]

    def get_data(self, event) -> dict:
        return event.data
