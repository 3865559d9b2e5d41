"""The API's JSON parser: DRF's, plus a 400 (not a 500) for bodies nested too deeply for Python's decoder."""

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """`[[[[…]]]]` a hundred thousand levels deep fits in 2.5 MB and makes `json.loads` raise RecursionError."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None


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
    return payload
