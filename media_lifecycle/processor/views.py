"""The built-in processor's endpoint: it speaks the SPEC §7 protocol like any external processor."""


from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cms.parsers import json_object
from media_lifecycle.processor import tasks
from webhooks_app.signing import SignatureError, verify
from webhooks_app.url_guard import UnsafeURL, check_scheme


class JobRequestSerializer(serializers.Serializer):
    jobId = serializers.CharField(max_length=64)  # noqa: N815
    task = serializers.ChoiceField(choices=["transcode", "thumbnail"])
    videoId = serializers.CharField(max_length=64)  # noqa: N815
    videoUrl = serializers.CharField(max_length=2000)  # noqa: N815
    callbackUrl = serializers.CharField(max_length=2000)  # noqa: N815
    renditions = serializers.ListField(child=serializers.ChoiceField(choices=list(settings.RENDITION_HEIGHTS)),
                                       required=False)
    timestamp = serializers.RegexField(r"^(\d{1,2}:)?(\d{1,2}:)?\d{1,5}(\.\d+)?$", required=False)
    metadata = serializers.DictField(required=False)
    format = serializers.CharField(required=False)
    quality = serializers.CharField(required=False)

    def _url(self, value: str) -> str:
        try:
            check_scheme(value)
        except UnsafeURL as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value

    validate_videoUrl = _url  # noqa: N815
    validate_callbackUrl = _url  # noqa: N815


class BuiltinProcessorView(APIView):
    """Accepts a signed job request (202) and runs it on the task queue."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    unit_of_work_exempt = True  # it writes nothing; with a synchronous queue the job runs right here

    @extend_schema(exclude=True)
    def post(self, request):
        body = request._request.body
        try:
            verify(settings.PROCESSOR_SECRET, request.headers, body)
        except SignatureError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_401_UNAUTHORIZED)
        serializer = JobRequestSerializer(data=json_object(body))
        serializer.is_valid(raise_exception=True)
        job = dict(serializer.validated_data)
        tasks.enqueue(job)
        return Response({"accepted": True, "jobId": job["jobId"]}, status=status.HTTP_202_ACCEPTED)
