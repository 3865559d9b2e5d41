"""The one place that refuses unknown fields in API bodies: a misspelt field is an error, never silently
dropped. Every serializer that takes input (media, webhooks, action bodies, analytics) mixes it in."""

from rest_framework import serializers


class StrictFieldsMixin:
    """Refuse keys that are not fields of the serializer (400, one "Unknown field." per key), then let
    `refused_fields(data)` add serializer-specific refusals (server-owned fields) before parsing."""

    def refused_fields(self, data) -> dict[str, list[str]]:
        """Further {field: [messages]} to refuse before parsing; none by default."""
        return {}

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            errors = {str(name): ["Unknown field."] for name in data.keys() if name not in self.fields}
            errors.update(self.refused_fields(data))
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictSerializer(StrictFieldsMixin, serializers.Serializer):
    """A plain (action body) serializer that refuses unknown fields."""
