"""Player-facing API: analytics reports (anonymous, throttled) and client-side webhook configuration (staff)."""

import logging

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from redis.exceptions import RedisError
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from cms.permissions import StaffModelActionPermission
from cms.serializers import StrictSerializer
from media_lifecycle import analytics, states
from media_lifecycle.api.fields import StrictModelSerializer
from media_lifecycle.models import ClientWebhook, PlaybackEvent, Video

CACHE_ERRORS = (RedisError, OSError)  # what Django's Redis cache raises while Redis is down or unreachable
logger = logging.getLogger(__name__)


class AnalyticsThrottle(SimpleRateThrottle):
    """ANALYTICS_THROTTLE per client address, counted in Django's cache.

    The count is a guard, not the feature: while the cache (Redis) is down the throttle lets every report
    through with a logged warning, so viewers' analytics keep being accepted (SPEC §11)."""

    scope = "analytics"

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_ERRORS as exc:
            logger.warning("Analytics throttle skipped: the cache is unreachable (%s: %s); report accepted.",
                           type(exc).__name__, exc)
            return True

    def get_rate(self) -> str:
        # Read per request, not DRF's rate table frozen at import, so overriding the setting takes effect.
        return settings.ANALYTICS_THROTTLE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PlaybackReportSerializer(StrictSerializer):
    videoId = serializers.CharField(max_length=40)  # noqa: N815
    sessionId = serializers.RegexField(r"^[A-Za-z0-9_\-]{1,64}$", max_length=64)  # noqa: N815
    eventType = serializers.ChoiceField(choices=PlaybackEvent.Type.choices)  # noqa: N815
    position = serializers.FloatField(min_value=0)
    playbackDuration = serializers.FloatField(min_value=0, required=False, default=0)  # noqa: N815
    viewerId = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")  # noqa: N815

    def validate_videoId(self, value):  # noqa: N802
        video = Video.objects.filter(pk=value, status=states.READY, archived=False).first()  # what players play
        if video is None:
            raise serializers.ValidationError(f"Unknown or unplayable video {value!r}.")
        self._video = video
        return value


class AnalyticsView(APIView):
    """`POST /api/analytics/`: the player's play / pause / progress / complete reports."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AnalyticsThrottle]

    @extend_schema(request=PlaybackReportSerializer,
                   responses={201: inline_serializer("AnalyticsAccepted", {"recorded": serializers.BooleanField()})})
    def post(self, request):
        body = PlaybackReportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        analytics.report(body._video, session_id=data["sessionId"], event_type=data["eventType"],
                         position=data["position"], playback_duration=data["playbackDuration"],
                         viewer_id=data["viewerId"])
        return Response({"recorded": True}, status=status.HTTP_201_CREATED)


class StatsSerializer(serializers.Serializer):
    plays = serializers.IntegerField()
    completions = serializers.IntegerField()
    completion_rate = serializers.FloatField()
    average_watch_seconds = serializers.FloatField()


class ClientWebhookSerializer(StrictModelSerializer):
    """Every rule (URL scheme, field names, 1-60 requests per minute) is the model's, as in the admin; the
    server-owned fields are refused, as on every resource, unless echoed unchanged."""

    server_owned = {"id": "", "created_at": "", "updated_at": ""}

    class Meta:
        model = ClientWebhook
        fields = ["id", "url", "description", "request_field", "response_field", "rpm", "is_active",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]



class ClientWebhookViewSet(viewsets.ModelViewSet):
    """Client-side webhooks the player calls while a video plays (staff, with the model permissions, as in the
    admin: an editor may read them, not change them)."""

    serializer_class = ClientWebhookSerializer
    permission_classes = [StaffModelActionPermission]
    queryset = ClientWebhook.objects.all()
    lookup_value_regex = "[A-Za-z0-9_]+"
