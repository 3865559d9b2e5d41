"""The API's JSON parser: DRF's, plus a 400 (not a 500) for bodies nested too deeply for Python's decoder."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """`[[[[…]]]]` a hundred thousand levels deep fits in 2.5 MB and makes `json.loads` raise RecursionError."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
