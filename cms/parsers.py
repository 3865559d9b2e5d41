"""Incoming JSON, wherever it comes from (API bodies, raw callback bodies, JSON in form fields): DRF's decoding,
plus a 400 (not a 500) for bodies nested too deeply for Python's decoder and for strings or keys that no
database can store (NUL characters, lone surrogates)."""

import json

from django import forms
from django.forms.fields import InvalidJSONInput
from rest_framework import parsers, serializers
from rest_framework.exceptions import ParseError

from cms.storable import Problem, json_problem


class JSONParser(parsers.JSONParser):
    """`[[[[…]]]]` a hundred thousand levels deep fits in 2.5 MB and makes `json.loads` raise RecursionError;
    `"\\u0000"` decodes fine but PostgreSQL refuses it: both are the client's mistake, so both get 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
        problem = json_problem(data)
        if problem:
            raise refusal(problem)
        return data


def refusal(problem: Problem) -> ParseError:
    """A 400 naming the field (as DRF's field errors do) when the string is inside one, else the body."""
    if problem.field is not None:
        return ParseError({problem.field: [f"{problem.message}."]})
    return ParseError(f"JSON parse error - {problem.message}.")


def json_object(body: bytes) -> dict:
    """Decode a raw (already signature-checked) body as a JSON object, or raise ParseError (400) saying why."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError(f"The body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise ParseError("The body is nested too deeply.") from None
    if not isinstance(payload, dict):
        raise ParseError("The body must be a JSON object.")
    problem = json_problem(payload)
    if problem:
        raise refusal(problem)
    return payload


class StorableJSONField(serializers.JSONField):
    """DRF's JSONField, which also decodes JSON typed into a form field (multipart `metadata`), with the same
    check as the parser: a field error naming the string or key that cannot be stored."""

    too_deep = "The JSON value is nested too deeply."

    def to_internal_value(self, data):
        try:
            value = super().to_internal_value(data)
        except RecursionError:  # JSON typed into a form field, nested deeper than the decoder can go
            raise serializers.ValidationError(self.too_deep) from None
        problem = json_problem(value)
        if problem:
            raise serializers.ValidationError(f"The JSON value is not usable: {problem.message}.")
        return value


class StorableJSONFormField(forms.JSONField):
    """The admin's JSON boxes: Django's JSONField, with the same check, and a refused value shown again as the
    text typed (re-encoding a lone surrogate to show it would fail while the page is written)."""

    too_deep = "The JSON value is nested too deeply."

    def to_python(self, value):
        try:
            converted = super().to_python(value)
        except RecursionError:  # nested deeper than the decoder can go
            raise forms.ValidationError(self.too_deep) from None
        problem = json_problem(converted)
        if problem:
            raise forms.ValidationError(f"The JSON value is not usable: {problem.message}.")
        return converted

    def bound_data(self, data, initial):
        try:
            bound = super().bound_data(data, initial)
        except RecursionError:
            return InvalidJSONInput(data)
        if isinstance(bound, InvalidJSONInput):
            return bound
        return InvalidJSONInput(data) if json_problem(bound) else bound
