"""The body encoder: the JSON json.dumps with Django's encoder writes, made by orjson, with the standard library
behind it for what orjson does not take."""

import dataclasses
import datetime
import decimal
import json
import uuid

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy

from webhooks_app import events


def _stdlib(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder).encode("utf-8")


class Colour(models.TextChoices):
    RED = "red"


@pytest.mark.parametrize("value", [
    {"at": datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)},
    {"at": datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))},
    {"day": datetime.date(2026, 1, 2), "time": datetime.time(1, 2, 3, 456789)},
    {"duration": datetime.timedelta(days=1, seconds=5)},
    {"price": decimal.Decimal("1.10"), "id": uuid.UUID("cd1adb0e-15ea-4984-8e76-c7d4c67f81bb")},
    {"label": gettext_lazy("Video"), "colour": Colour.RED},
    {1: "int key", None: "null key", 1.5: "float key", False: "bool key"},
    {"text": "é \u2028 \u2029 </script> \" \\ \n \x00 😀", "empty": "", "nothing": None},
    {"nested": [{"a": [1, 2.5, True]}, (3, 4)], "big": 2**63 - 1, "small": -(2**63)},
])
def test_bodies_are_the_bytes_json_dumps_with_djangos_encoder_writes(value):
    assert events.dumps(value) == _stdlib(value)


def test_an_integer_beyond_64_bits_goes_through_the_standard_library():
    value = {"huge": 2**64 + 1, "at": datetime.datetime(2026, 1, 2, tzinfo=datetime.UTC)}
    assert events.dumps(value) == _stdlib(value) == b'{"huge":18446744073709551617,"at":"2026-01-02T00:00:00Z"}'


def test_a_value_neither_can_encode_raises_as_json_dumps_does():
    with pytest.raises(TypeError, match="not JSON serializable"):
        events.dumps({"tags": {"a", "b"}})


def test_a_string_that_is_not_valid_unicode_raises_as_before():
    with pytest.raises(UnicodeEncodeError):
        events.dumps({"title": "half a pair \ud800"})


def test_an_exponent_has_no_leading_zero_and_the_value_is_the_same():
    body = events.dumps({"small": 1e-7, "large": 1e16})
    assert body == b'{"small":1e-7,"large":1e+16}'
    assert json.loads(body) == {"small": 1e-7, "large": 1e16}


def test_nan_and_infinity_are_null_not_the_nan_json_parsers_refuse():
    body = events.dumps({"duration": float("nan"), "size": float("inf")})
    assert body == b'{"duration":null,"size":null}'
    assert _stdlib({"duration": float("nan")}) == b'{"duration":NaN}'  # what the standard library wrote


def test_a_dataclass_is_refused_as_json_dumps_refused_it():
    @dataclasses.dataclass
    class Point:
        x: int

    with pytest.raises(TypeError, match="not JSON serializable"):
        events.dumps({"point": Point(1)})


def test_encode_body_is_the_envelope_around_the_data():
    moment = datetime.datetime(2026, 12, 6, 19, 28, 18, 748197, tzinfo=datetime.UTC)
    body = events.encode_body("evt_1", "video.updated", moment, {"object": "video", "title": "Café"})
    assert body == ('{"id":"evt_1","type":"video.updated","timestamp":"2026-12-06T19:28:18.748Z",'
                    '"data":{"object":"video","title":"Café"}}').encode()
