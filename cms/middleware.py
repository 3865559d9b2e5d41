"""Refuse, before anything reads them, request bodies that are too large (413) and URLs holding a NUL (400)."""

from urllib.parse import unquote_plus

from django.conf import settings
from django.http import JsonResponse

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MULTIPART_OVERHEAD = 1024 * 1024  # room for the other form fields and part headers
TUS_CHUNK = "application/offset+octet-stream"  # a resumable upload's bytes, streamed to storage by its view


class BodySizeLimitMiddleware:
    """Non-file bodies over DATA_UPLOAD_MAX_MEMORY_SIZE and uploads (multipart files, tus chunks) over
    MAX_UPLOAD_BYTES get 413."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in BODY_METHODS:
            raw = request.META.get("CONTENT_LENGTH") or "0"
            try:
                length = int(raw)
            except ValueError:
                return JsonResponse({"detail": f"Invalid Content-Length header: {raw!r}."}, status=400)
            content_type = request.META.get("CONTENT_TYPE", "")
            if content_type.startswith("multipart/form-data"):
                limit = settings.MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
                what = "upload"
            elif content_type.split(";")[0].strip().lower() == TUS_CHUNK:
                limit = settings.MAX_UPLOAD_BYTES  # never more than a whole upload; the view checks the offset too
                what = "upload chunk"
            else:
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
                what = "request body"
            if length > limit:
                return JsonResponse(
                    {"detail": f"The {what} is {length} bytes; the limit is {limit} bytes."}, status=413
                )
        return self.get_response(request)


class NulInURLMiddleware:
    """A NUL character (`%00`) in the path or the query string gets 400 at once. Nothing in MediaHooks names a
    thing with one, and PostgreSQL cannot even compare text with it: an id, a search or an admin filter holding
    one would otherwise end in a database error."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or "\x00" in unquote_plus(request.META.get("QUERY_STRING", "")):
            return JsonResponse({"detail": "The URL holds a NUL character (%00); no path or parameter may."},
                                status=400)
        return self.get_response(request)
