"""Player-facing API: analytics reports (anonymous, throttled) and client-side webhook configuration (staff)."""

import logging

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from redis.exceptions import RedisError
from rest_framework import serializers, status, viewsets
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from media_lifecycle import analytics, states
from media_lifecycle.models import ClientWebhook, PlaybackEvent, Video
from webhooks_app.url_guard import UnsafeURL, check_scheme

FIELD_NAME = r"^[A-Za-z0-9_.\-]{1,64}$"
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


class PlaybackReportSerializer(serializers.Serializer):
    videoId = serializers.CharField(max_length=40)  # noqa: N815
    sessionId = serializers.RegexField(r"^[A-Za-z0-9_\-]{1,64}$", max_length=64)  # noqa: N815
    eventType = serializers.ChoiceField(choices=PlaybackEvent.Type.choices)  # noqa: N815
    position = serializers.FloatField(min_value=0)
    playbackDuration = serializers.FloatField(min_value=0, required=False, default=0)  # noqa: N815
    viewerId = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")  # noqa: N815

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)

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


class ClientWebhookSerializer(serializers.ModelSerializer):
    request_field = serializers.RegexField(FIELD_NAME, max_length=64)
    response_field = serializers.RegexField(FIELD_NAME, max_length=64)
    rpm = serializers.IntegerField(min_value=1, max_value=60, required=False)

    class Meta:
        model = ClientWebhook
        fields = ["id", "url", "description", "request_field", "response_field", "rpm", "is_active",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(set(data.keys()) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)

    def validate_url(self, value: str) -> str:
        try:
            check_scheme(value)  # browsers call it: private addresses (an intranet LMS) are fine
        except UnsafeURL as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value


class ClientWebhookViewSet(viewsets.ModelViewSet):
    """Client-side webhooks the player calls while a video plays (staff only)."""

    serializer_class = ClientWebhookSerializer
    permission_classes = [IsAdminUser]
    queryset = ClientWebhook.objects.all()
    lookup_value_regex = "[A-Za-z0-9_]+"
