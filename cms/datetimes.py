"""Dates and times that come in (query filters, request bodies), read defensively: ISO 8601, turned into UTC
before any query sees them. PostgreSQL refuses offsets beyond ±15:59 ("time zone displacement out of range")
and Python overflows converting year 1 or 9999 across midnight; both are the client's mistake, so a 400."""

from datetime import UTC, datetime, timedelta

import django_filters
from django import forms
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
