"""The media server's HTTP edge: nginx-rtmp's `on_publish`, `on_publish_done` and `on_record_done` callbacks
(form posts from an address in INGEST_ALLOWED_IPS), and live HLS at the livestream's playback URL."""

import ipaddress
import re

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_safe
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from cms.media import serve_ranges
from media_lifecycle.ingest import callbacks
from media_lifecycle.models import Livestream
from media_lifecycle.models.livestream import LIVE

ID = re.compile(r"\Als_[A-Za-z0-9_]{1,37}\Z")
LIVE_FILE = re.compile(r"\A[A-Za-z0-9_-]{1,100}\.(m3u8|ts)\Z")
LIVE_TYPES = {"m3u8": "application/vnd.apple.mpegurl", "ts": "video/mp2t"}


class IngestForm(serializers.Serializer):
    """The fields MediaHooks reads from nginx-rtmp's form post; the server sends more, which are ignored."""

    call = serializers.CharField(max_length=32)
    app = serializers.CharField(max_length=256)
    name = serializers.CharField(max_length=128, help_text="The stream key the encoder published with.")
    addr = serializers.CharField(max_length=64, required=False, allow_blank=True)
    clientid = serializers.CharField(max_length=32, required=False, allow_blank=True)

    def validate_call(self, value: str) -> str:
        expected = self.context["call"]
        if value != expected:
            raise serializers.ValidationError(f"This endpoint takes call={expected}, not {value!r}.")
        return value

    def session(self) -> str:
        """The encoder's session on the media server, as its address and nginx's connection number."""
        data = self.validated_data
        return f"{data.get('addr', '')} {data.get('clientid', '')}".strip()


class RecordDoneForm(IngestForm):
    path = serializers.CharField(max_length=4096, help_text="The recorded file, as the media server wrote it.")


def _allowed(request) -> bool:
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.INGEST_ALLOWED_IPS)


class IngestCallbackView(APIView):
    """One nginx-rtmp callback: 403 for a caller outside INGEST_ALLOWED_IPS or an unknown key, 400 for a
    form that lacks what the callback needs."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser, MultiPartParser]
    form_class = IngestForm
    call = ""

    def form(self, request) -> IngestForm:
        """The callback's fields, validated (400 naming the field otherwise)."""
        # The first value of each field: nginx writes its own fields before the encoder's URL arguments, so an
        # encoder publishing to ".../key?name=other" cannot pass for another stream.
        fields = {name: values[0] for name, values in request.POST.lists() if values}
        form = self.form_class(data=fields, context={"call": self.call})
        form.is_valid(raise_exception=True)
        return form

    def post(self, request):
        if not _allowed(request):
            return Response({"detail": "This address may not call the ingest callbacks (INGEST_ALLOWED_IPS)."},
                            status=status.HTTP_403_FORBIDDEN)
        form = self.form(request)
        try:
            return self.handle(form)
        except callbacks.Refused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except callbacks.BadRecording as exc:
            return Response({"path": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)

    def handle(self, form: IngestForm):
        """What this callback does once the caller and its fields are accepted."""
        raise NotImplementedError


ANSWER = inline_serializer("IngestAnswer", {"livestream": serializers.CharField(),
                                            "status": serializers.CharField(),
                                            "recording": serializers.CharField(allow_null=True)})


def _answer(stream: Livestream) -> Response:
    return Response({"livestream": stream.pk, "status": stream.status, "recording": stream.recording_id})


class PublishView(IngestCallbackView):
    """on_publish: the encoder may go on, and the stream is renamed to the livestream's id (a 302 whose
    Location is the new name), so HLS paths and playback URLs never carry the stream key."""

    call = "publish"

    @extend_schema(request=IngestForm, responses={302: None, 400: None, 403: None})
    def post(self, request):
        return super().post(request)

    def handle(self, form: IngestForm):
        stream = callbacks.publish(form.validated_data["name"], form.session())
        response = HttpResponse(status=302)
        response["Location"] = stream.pk
        return response


class PublishDoneView(IngestCallbackView):
    """on_publish_done: the encoder stopped, so the livestream ends."""

    call = "publish_done"

    @extend_schema(request=IngestForm, responses={200: ANSWER})
    def post(self, request):
        return super().post(request)

    def handle(self, form: IngestForm):
        return _answer(callbacks.publish_done(form.validated_data["name"], form.session()))


class RecordDoneView(IngestCallbackView):
    """on_record_done: the recording becomes a video. It commits on its own (the file is copied first)."""

    call = "record_done"
    form_class = RecordDoneForm
    unit_of_work_exempt = True

    @extend_schema(request=RecordDoneForm, responses={200: ANSWER})
    def post(self, request):
        return super().post(request)

    def handle(self, form: IngestForm):
        return _answer(callbacks.record_done(form.validated_data["name"], form.validated_data["path"]))


@require_safe
def live_hls(request, livestream_id: str, name: str):
    """The media server's HLS of a livestream, served while it is live (404 before and after)."""
    match = LIVE_FILE.match(name)
    if not ID.match(livestream_id) or match is None:
        raise Http404("No such live file")
    if not Livestream.objects.filter(pk=livestream_id, status=LIVE).exists():
        raise Http404("This livestream is not live")
    response = serve_ranges(request, name, callbacks.hls_dir() / livestream_id, content_type=LIVE_TYPES[match[1]])
    response["Cache-Control"] = "no-cache" if match[1] == "m3u8" else "max-age=60"
    return response
