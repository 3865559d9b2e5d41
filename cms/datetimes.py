"""Dates and times that come in (query filters, request bodies, admin filters), read defensively: ISO 8601,
turned into UTC before any query sees them. PostgreSQL refuses offsets beyond ±15:59 ("time zone displacement
out of range") and Python overflows converting year 1 or 9999 across midnight; both are the client's mistake,
so a 400 (or the admin's "incorrect lookup" notice), never a database error."""

from datetime import UTC, datetime, timedelta

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import lookups
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework import serializers

MAX_OFFSET = timedelta(hours=14)  # the furthest any time zone is from UTC (Kiribati's +14:00)
EXAMPLE = "2026-01-31T12:00:00Z"


def _offset_text(offset: timedelta) -> str:
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def to_utc(moment: datetime) -> datetime:
    """An aware UTC datetime (a naive one is read in TIME_ZONE), or ValueError for an offset no time zone has
    or a moment outside the years 1–9999 once in UTC."""
    if timezone.is_naive(moment):
        try:
            moment = timezone.make_aware(moment)
        except (OverflowError, ValueError) as exc:
            raise ValueError(f"{moment.isoformat()} is out of range: {exc}.") from None
    offset = moment.utcoffset()
    if abs(offset) > MAX_OFFSET:
        raise ValueError(f"The time zone offset {_offset_text(offset)} is out of range: "
                         "offsets go from -14:00 to +14:00.")
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{moment.isoformat()} is out of range once converted to UTC "
                         "(years 1 to 9999).") from None


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date and time as an aware UTC datetime, or ValueError saying what is wrong with it."""
    try:
        parsed = parse_datetime(text.strip())
    except ValueError as exc:  # well-formed but impossible: month 13, an offset of 24 h or more
        raise ValueError(f"{text!r} is not a valid date and time: {exc}.") from None
    if parsed is None:
        raise ValueError(f"{text!r} is not an ISO 8601 date and time such as {EXAMPLE}.")
    return to_utc(parsed)


class InstantField(serializers.DateTimeField):
    """DRF's DateTimeField, with parse_instant's rules: UTC out, a 400 for offsets no time zone has."""

    def enforce_timezone(self, value):
        try:
            return to_utc(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class InstantFormField(forms.DateTimeField):
    """A form field (query filters) reading ISO 8601 through parse_instant."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return to_utc(value) if isinstance(value, datetime) else parse_instant(str(value))
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


class InstantFilter(django_filters.IsoDateTimeFilter):
    """A query filter on a date and time (`?since=…`), in UTC before it reaches the database."""

    field_class = InstantFormField


def _in_utc(value):
    """An aware datetime (or a list of them, for __in and __range) in UTC, or ValidationError saying why not."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        try:
            return to_utc(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
    if isinstance(value, list | tuple):
        return type(value)(_in_utc(item) for item in value)
    return value


class _ComparedInUTC:
    """Lookup mixin: the datetime a column is compared with is put in UTC while the query is built."""

    def get_prep_lookup(self):
        return _in_utc(super().get_prep_lookup())


COMPARISONS = (lookups.Exact, lookups.GreaterThan, lookups.GreaterThanOrEqual, lookups.LessThan,
               lookups.LessThanOrEqual, lookups.Range, lookups.In)


def register_lookups() -> None:
    """Every comparison with a DateTimeField, whoever builds it (an admin date filter, a query string turned into
    ORM lookups, plain code), takes its value in UTC, and refuses an impossible one with ValidationError, which
    the admin turns into its "incorrect lookup" notice: no offset ever reaches the database."""
    for comparison in COMPARISONS:
        models.DateTimeField.register_lookup(type(comparison.__name__, (_ComparedInUTC, comparison), {}))
