"""`/api/uploads/`: tus 1.0.0 (core, creation, termination, expiration) with the API's authentication and the
`add_video` permission. Bodies are streamed to storage by the upload service, never read whole."""

from django.conf import settings
from django.urls import reverse
from django.utils.http import http_date
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from cms.permissions import has_model_perm
from media_lifecycle.models import Upload, Video
from media_lifecycle.uploads import protocol, receiving
from media_lifecycle.uploads.protocol import TusError

OVERRIDABLE = {"PATCH", "DELETE", "HEAD"}


class MayUpload(BasePermission):
    """Uploading is adding a video: the `add_video` permission. OPTIONS (discovery) is open."""

    def has_permission(self, request, view) -> bool:
        return request.method == "OPTIONS" or has_model_perm(request.user, Video, "add")


def _expires(upload: Upload) -> dict[str, str]:
    if upload.used_at is not None:
        return {}
    return {"Upload-Expires": http_date(upload.expires_at.timestamp())}


class TusView(APIView):
    """Protocol plumbing shared by both routes: the version check, headers on every answer, errors as JSON."""

    permission_classes = [MayUpload]
    parser_classes: list = []  # bodies are never parsed: PATCH streams them to storage
    renderer_classes = [JSONRenderer]
    unit_of_work_exempt = True  # no transaction may span a request body (see receiving.py)

    def dispatch(self, request, *args, **kwargs):
        override = request.META.get("HTTP_X_HTTP_METHOD_OVERRIDE", "").strip().upper()
        if request.method == "POST" and override in OVERRIDABLE:  # for clients limited to GET and POST
            request.method = override
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        if request.method != "OPTIONS":
            protocol.check_version(request.headers.get("Tus-Resumable"))
        super().initial(request, *args, **kwargs)

    def handle_exception(self, exc):
        if isinstance(exc, TusError):
            response = Response({"detail": exc.message}, status=exc.status)
            if exc.status == 412:
                response["Tus-Version"] = protocol.TUS_VERSION
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = protocol.TUS_VERSION
        response["Cache-Control"] = "no-store"
        return response

    def options(self, request, *args, **kwargs):
        """Discovery: the version, the extensions and the largest upload accepted."""
        return Response(status=status.HTTP_204_NO_CONTENT, headers={
            "Tus-Version": protocol.TUS_VERSION,
            "Tus-Extension": ",".join(protocol.EXTENSIONS),
            "Tus-Max-Size": str(settings.MAX_UPLOAD_BYTES),
        })


@extend_schema(exclude=True)  # tus is described by its own protocol, not by OpenAPI
class UploadCollectionView(TusView):
    def post(self, request):
        """Creation: a new upload of Upload-Length bytes; Location is where to PATCH the bytes."""
        body = request.META.get("CONTENT_LENGTH")
        if body and protocol.parse_count("Content-Length", body) > 0:
            raise TusError(400, "Send the bytes with PATCH to the upload's Location (creation-with-upload is "
                                "not offered).")
        length = protocol.parse_length(request.headers.get("Upload-Length"),
                                       deferred=request.headers.get("Upload-Defer-Length"),
                                       maximum=settings.MAX_UPLOAD_BYTES)
        metadata = protocol.parse_metadata(request.headers.get("Upload-Metadata"))
        upload = receiving.create(request.user, length=length, metadata=metadata)
        location = request.build_absolute_uri(reverse("upload-detail", args=[upload.pk]))
        return Response(status=status.HTTP_201_CREATED, headers={"Location": location, **_expires(upload)})


@extend_schema(exclude=True)
class UploadDetailView(TusView):
    def head(self, request, upload_id: str):
        """Where the upload stands: the offset to resume from, and its length and metadata."""
        upload = receiving.find(upload_id, request.user)
        headers = {"Upload-Offset": str(upload.offset), "Upload-Length": str(upload.length), **_expires(upload)}
        if upload.metadata:
            headers["Upload-Metadata"] = protocol.encode_metadata(upload.metadata)
        return Response(status=status.HTTP_200_OK, headers=headers)

    def patch(self, request, upload_id: str):
        """The next bytes, at the offset where the upload stands."""
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type != protocol.CHUNK_CONTENT_TYPE:
            raise TusError(415, f"A PATCH body must be sent as Content-Type: {protocol.CHUNK_CONTENT_TYPE}.")
        offset = protocol.parse_offset(request.headers.get("Upload-Offset"))
        raw_length = request.META.get("CONTENT_LENGTH")
        if not raw_length:
            raise TusError(411, "A PATCH needs a Content-Length header.")
        length = protocol.parse_count("Content-Length", raw_length)
        upload = receiving.write(upload_id, request.user, offset=offset, stream=request._request, length=length)
        return Response(status=status.HTTP_204_NO_CONTENT,
                        headers={"Upload-Offset": str(upload.offset), **_expires(upload)})

    def delete(self, request, upload_id: str):
        """Termination: the upload and its bytes are deleted."""
        receiving.terminate(upload_id, request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
