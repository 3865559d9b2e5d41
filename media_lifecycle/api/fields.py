"""Serializer building blocks shared by the media resources: tags, metadata, absolute URLs and server-owned fields."""

import json
from urllib.parse import urljoin

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from rest_framework import serializers
from rest_framework.exceptions import APIException

from cms.datetimes import InstantField
from cms.parsers import StorableJSONField
from cms.serializers import StrictFieldsMixin
from media_lifecycle import rules
from media_lifecycle.models.tag import names_of


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
    """Tags as a list of names, normalised by the one tag rule (stripped, each once); unknown names are created."""

    child = serializers.CharField(allow_blank=True, trim_whitespace=False)  # the rule strips and checks lengths

    def get_attribute(self, instance):
        return instance  # not `instance.tags`: building that manager costs more than reading the names

    def to_representation(self, instance):
        prefetched = getattr(instance, "_prefetched_objects_cache", {}).get("tags")
        if prefetched is not None:  # a list answer prefetched them for every object at once
            return [tag.name for tag in prefetched]
        return names_of(instance)  # one plain statement, not the ORM's query (it runs in every event)

    def to_internal_value(self, data):
        names = super().to_internal_value(data)
        try:
            return rules.tag_names(names)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class MetadataField(StorableJSONField):
    """Free-form JSON metadata (a JSON string in multipart forms; no unstorable strings). The nesting limit is
    checked before the value is parsed or re-encoded (a deeper one exhausts the stack there); the model's rule
    checks the rest."""

    too_deep = f"Nested more than {rules.METADATA_MAX_DEPTH} levels deep."  # a multipart string too deep to decode

    def to_internal_value(self, data):
        try:
            rules.check_depth(data)
            return super().to_internal_value(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


def _comparable(value):
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(float(value))  # 2 and 2.0 are one number: JavaScript clients echo 2.0 back as 2
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


class StrictModelSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """Refuses unknown fields, and server-owned fields unless they echo the current value unchanged.

    `server_owned` maps a read-only field to the way to change it instead (a sentence, or "").
    Date and time fields read their input through cms.datetimes (UTC, no impossible offsets).
    """

    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.DateTimeField: InstantField}

    server_owned: dict[str, str] = {}

    def refused_fields(self, data) -> dict:
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
