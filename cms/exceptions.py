"""Errors raised by the model layer, and the API's mapping of them to 4xx answers."""

from django.core.exceptions import ValidationError as DjangoValidationError
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


def exception_handler(exc, context):
    """DRF's handler, plus 409 for state conflicts and 400 for Django validation errors."""
    if isinstance(exc, ConflictError):
        return Response(exc.as_dict(), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
