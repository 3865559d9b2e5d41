"""Serializer building blocks shared by the media resources: strict input and server-owned fields."""

import json
from urllib.parse import urljoin

from django.conf import settings
from django.db import models
from rest_framework import serializers
from rest_framework.exceptions import APIException

from cms.datetimes import InstantField
from cms.parsers import StorableJSONField
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


METADATA_MAX_DEPTH = 32


def nesting_depth(value) -> int:
    """How deeply lists and objects nest in a JSON value, found without recursion (it may be deeper than the stack)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in children)
    return deepest


class MetadataField(StorableJSONField):
    """Free-form JSON metadata (a JSON string in multipart forms), at most METADATA_MAX_DEPTH levels deep."""

    def to_internal_value(self, data):
        too_deep = serializers.ValidationError(f"Nested more than {METADATA_MAX_DEPTH} levels deep.")
        if nesting_depth(data) > METADATA_MAX_DEPTH:
            raise too_deep
        try:
            value = super().to_internal_value(data)
        except RecursionError:  # a multipart JSON string too deep for the decoder itself
            raise too_deep from None
        if nesting_depth(value) > METADATA_MAX_DEPTH:
            raise too_deep
        return value


def _comparable(value):
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(float(value))  # 2 and 2.0 are one number: JavaScript clients echo 2.0 back as 2
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def unknown_field_errors(serializer: serializers.Serializer, data) -> dict:
    """A misspelt field must be an error, not silently dropped."""
    return {name: ["Unknown field."] for name in data.keys() if name not in serializer.fields}


class StrictSerializer(serializers.Serializer):
    """A plain (action body) serializer that refuses unknown fields."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            errors = unknown_field_errors(self, data)
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class StrictModelSerializer(serializers.ModelSerializer):
    """Refuses unknown fields, and server-owned fields unless they echo the current value unchanged.

    `server_owned` maps a read-only field to the way to change it instead (a sentence, or "").
    Date and time fields read their input through cms.datetimes (UTC, no impossible offsets).
    """

    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.DateTimeField: InstantField}

    server_owned: dict[str, str] = {}

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            errors = unknown_field_errors(self, data)
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
