"""Serializer building blocks shared by the media resources: strict input and server-owned fields."""

import json
from urllib.parse import urljoin

from django.conf import settings
from rest_framework import serializers
from rest_framework.exceptions import APIException

from media_lifecycle.models.tag import TAG_MAX_LENGTH


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = "The upload is too large."
    default_code = "payload_too_large"


def absolute_url(url: str) -> str:
    """Storage URLs are made absolute with PUBLIC_BASE_URL, so events and API answers carry usable links."""
    return urljoin(settings.PUBLIC_BASE_URL + "/", url) if url else url


def file_url(field_file) -> str | None:
    return absolute_url(field_file.url) if field_file else None


class TagNamesField(serializers.ListField):
    """Tags as a list of names; unknown names are created on write."""

    child = serializers.CharField(max_length=TAG_MAX_LENGTH, allow_blank=False, trim_whitespace=True)

    def to_representation(self, manager):
        return [tag.name for tag in manager.all()]

    def to_internal_value(self, data):
        names = super().to_internal_value(data)
        return list(dict.fromkeys(names))


def _comparable(value):
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


class StrictModelSerializer(serializers.ModelSerializer):
    """Refuses unknown fields, and server-owned fields unless they echo the current value unchanged.

    `server_owned` maps a read-only field to the way to change it instead (a sentence, or "").
    """

    server_owned: dict[str, str] = {}

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            errors = {}
            allowed = set(self.fields)
            for name in data.keys():
                if name not in allowed:
                    errors[name] = ["Unknown field."]
            errors.update(self._server_owned_errors(data))
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def _server_owned_errors(self, data) -> dict:
        errors = {}
        current = None
        for name, hint in self.server_owned.items():
            if name not in data.keys():
                continue
            if self.instance is not None:
                if current is None:
                    current = self.to_representation(self.instance)
                if _comparable(data[name]) == _comparable(current.get(name)):
                    continue  # an unchanged echo, as in GET → edit → PUT
            message = f"{name} is set by the server and cannot be written."
            errors[name] = [f"{message} {hint}".strip()]
        return errors
