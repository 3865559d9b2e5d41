"""Errors raised by the model layer, and the API's mapping of them to 4xx answers."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ConflictError(Exception):
    """A request that is well-formed but contradicts the resource's current state (HTTP 409)."""

    def __init__(self, message: str, **context):
        super().__init__(message)
        self.message = message
        self.context = context

    def as_dict(self) -> dict:
        return {"detail": self.message, **self.context}


class WriteRefused(Exception):
    """A write refused by a rule outside the serializer (a code hook's Reject): HTTP 400 with `data`, field
    errors or `{"detail": message}`."""

    def __init__(self, message: str, data: dict):
        super().__init__(message)
        self.data = data


class WriteFailed(Exception):
    """A write that failed because extension code broke (a before-hook's bug): rolled back whole, HTTP 500
    with a message naming the culprit."""


def exception_handler(exc, context):
    """DRF's handler, plus 409 for state conflicts, 400 for Django validation errors, and a JSON 413 / 400 for
    bodies Django refuses while parsing (a form over DATA_UPLOAD_MAX_MEMORY_SIZE, too many fields or files)."""
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": f"The request body is over the limit of {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} "
                                   "bytes for fields that are not files."},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, WriteRefused):
        return Response(exc.data, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, WriteFailed):
        return Response({"detail": str(exc)}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, ConflictError):
        return Response(exc.as_dict(), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


def not_found(request, exception=None):
    """Django's 404 page, except under /api/, where clients get a DRF-shaped JSON answer as for any API error."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": f"No API route matches {request.path}."}, status=status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)
