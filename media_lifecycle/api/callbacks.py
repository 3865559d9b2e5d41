"""`POST /api/callbacks/processing/{job_id}/`: the processor reports progress, success or failure (SPEC §7)."""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cms.parsers import json_object
from cms.serializers import StrictSerializer
from media_lifecycle import processing
from media_lifecycle.models import ProcessingJob
from webhooks_app.signing import SignatureError, verify

CALLBACK_MAX_BYTES = 1024 * 1024
SIGNATURE_TOLERANCE = 300
MAX_DIMENSION = 65535  # MP4's track header holds 16-bit widths and heights; larger is nonsense, not a 500


MAX_BITRATE = 10**12  # bits per second; anything above is nonsense, not a 500


def _web_url(value: str) -> str:
    """Players fetch these URLs: only http(s), whatever else a URL may be."""
    if value and urlsplit(value).scheme.lower() not in ("http", "https"):
        raise serializers.ValidationError("Must be an http:// or https:// URL.")
    return value


class RenditionSerializer(serializers.Serializer):
    quality = serializers.CharField(max_length=16)
    format = serializers.CharField(max_length=16)
    url = serializers.URLField(max_length=2000)
    size = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    width = serializers.IntegerField(min_value=1, max_value=MAX_DIMENSION, required=False, allow_null=True)
    height = serializers.IntegerField(min_value=1, max_value=MAX_DIMENSION, required=False, allow_null=True)
    bitrate = serializers.IntegerField(min_value=1, max_value=MAX_BITRATE, required=False, allow_null=True,
                                       help_text="Bits per second.")


class CallbackSerializer(StrictSerializer):
    """The callback body, camelCase on the wire; unknown fields are refused so typos do not pass silently."""

    status = serializers.ChoiceField(choices=["processed", "failed", "progress"])
    processedUrl = serializers.URLField(max_length=2000, required=False, allow_blank=True)  # noqa: N815
    hlsUrl = serializers.URLField(max_length=2000, required=False, allow_blank=True,  # noqa: N815
                                  validators=[_web_url], help_text="The HLS master playlist (http or https).")
    renditions = RenditionSerializer(many=True, required=False)
    thumbnailUrl = serializers.URLField(max_length=2000, required=False, allow_blank=True)  # noqa: N815
    duration = serializers.FloatField(min_value=0, required=False, allow_null=True)
    width = serializers.IntegerField(min_value=1, max_value=MAX_DIMENSION, required=False, allow_null=True)
    height = serializers.IntegerField(min_value=1, max_value=MAX_DIMENSION, required=False, allow_null=True)
    errorMessage = serializers.CharField(max_length=5000, required=False, allow_blank=True)  # noqa: N815
    progress = serializers.FloatField(min_value=0, max_value=100, required=False)

    def validate(self, attrs):
        kind = attrs["status"]
        if kind == "progress" and "progress" not in attrs:
            raise serializers.ValidationError({"progress": ["Required when status is progress."]})
        if kind == "processed":
            task = self.context["job"].task
            if task == ProcessingJob.Task.TRANSCODE and not attrs.get("processedUrl"):
                raise serializers.ValidationError({"processedUrl": ["Required when a transcode is processed."]})
            if task == ProcessingJob.Task.THUMBNAIL and not (attrs.get("thumbnailUrl") or attrs.get("processedUrl")):
                raise serializers.ValidationError({"thumbnailUrl": ["Required when a thumbnail is processed."]})
        return attrs

    def snake_case(self) -> dict:
        """The validated body with the model's names (what processing.apply_callback takes)."""
        data = self.validated_data
        body = {"status": data["status"]}
        names = {"processedUrl": "processed_url", "hlsUrl": "hls_url", "thumbnailUrl": "thumbnail_url",
                 "duration": "duration_seconds", "width": "width", "height": "height",
                 "errorMessage": "error_message", "progress": "progress"}
        for wire, name in names.items():
            if data.get(wire) not in (None, ""):
                body[name] = data[wire]
        if data.get("renditions") is not None:
            body["renditions"] = [dict(r) for r in data["renditions"]]
        if body["status"] == "progress":
            body["progress"] = int(round(body["progress"]))
        return body


def _client_allowed(request) -> bool:
    allowed = settings.PROCESSOR_ALLOWED_IPS
    if not allowed:
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in allowed)


class ProcessingCallbackView(APIView):
    """Signed with PROCESSOR_SECRET (Standard Webhooks or X-Signature); no user login."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=CallbackSerializer,
        responses={200: inline_serializer("CallbackAnswer", {"job": serializers.CharField(),
                                                             "video": serializers.CharField(),
                                                             "status": serializers.CharField()})},
    )
    def post(self, request, job_id: str):
        if not _client_allowed(request):
            return Response({"detail": "This address may not call the processing callback."},
                            status=status.HTTP_403_FORBIDDEN)
        body = request._request.body
        if len(body) > CALLBACK_MAX_BYTES:
            return Response({"detail": f"The callback body is over {CALLBACK_MAX_BYTES} bytes."},
                            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        try:
            verify(settings.PROCESSOR_SECRET, request.headers, body, tolerance=SIGNATURE_TOLERANCE)
        except SignatureError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_401_UNAUTHORIZED,
                            headers={"WWW-Authenticate": 'Signature realm="processing-callback"'})
        job = ProcessingJob.objects.filter(pk=job_id).first()
        if job is None:
            return Response({"detail": f"No processing job {job_id}."}, status=status.HTTP_404_NOT_FOUND)
        serializer = CallbackSerializer(data=json_object(body), context={"job": job})
        serializer.is_valid(raise_exception=True)
        video = processing.apply_callback(job, serializer.snake_case())
        return Response({"job": job.pk, "video": video.pk, "status": video.status})
