"""Serving MEDIA_ROOT (and live HLS) with HTTP Range support, so players can seek (django.views.static.serve sends whole
files only). For development and small sites; production puts a web server, a CDN or S3 in front."""

import mimetypes
import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.utils._os import safe_join
from django.views.static import serve

SINGLE_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


def _chunks(handle, length: int):
    with handle:
        while length > 0:
            data = handle.read(min(CHUNK, length))
            if not data:
                break
            length -= len(data)
            yield data


def serve_media(request, path: str):
    """A file of MEDIA_ROOT: whole (200), or the one byte range asked for (206); an unsatisfiable range gets 416."""
    return serve_ranges(request, path, settings.MEDIA_ROOT)


def serve_ranges(request, path: str, document_root, content_type: str | None = None):
    """A file under `document_root`, whole or by one byte range (players seek, and HLS addresses segments of a
    fragmented MP4 by range); `content_type` overrides the guess from the file name."""
    match = SINGLE_RANGE.match(request.META.get("HTTP_RANGE", "").strip())
    if match is None or not (match[1] or match[2]):  # no range, or one we do not handle: the whole file
        response = serve(request, path, document_root=document_root)
        response["Accept-Ranges"] = "bytes"
        if content_type and response.status_code == 200:
            response["Content-Type"] = content_type
        return response
    try:
        full = Path(safe_join(document_root, path))
    except (ValueError, SuspiciousFileOperation):
        raise Http404("No such file") from None
    if not full.is_file():
        raise Http404("No such file")
    size = full.stat().st_size
    if match[1]:
        start, end = int(match[1]), int(match[2]) if match[2] else size - 1
    else:
        start, end = max(0, size - int(match[2])), size - 1
    if start >= size or start > end:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return refused
    end = min(end, size - 1)
    handle = full.open("rb")
    handle.seek(start)
    content_type = content_type or mimetypes.guess_type(full.name)[0] or "application/octet-stream"
    response = StreamingHttpResponse(_chunks(handle, end - start + 1), status=206, content_type=content_type)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response
