"""Media API viewsets: thin; they load, check permissions, and call the model layer's actions."""

from django.db import connection
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response

from cms.parsers import JSONParser
from cms.permissions import ModelActionPermission, PublicReadModelActionPermission, has_model_perm
from media_lifecycle import analytics, processing
from media_lifecycle.api.filters import VideoFilter
from media_lifecycle.api.playback import StatsSerializer
from media_lifecycle.api.serializers import (
    LivestreamCreatedSerializer,
    LivestreamEndSerializer,
    LivestreamSerializer,
    PlaylistSerializer,
    VideoSerializer,
)
from media_lifecycle.models import Livestream, Playlist, Video

ID_PATTERN = "[A-Za-z0-9_]+"


class LockingMixin:
    """Writes lock the row first (PostgreSQL), so a concurrent processing callback waits instead of
    making this request fail with a revision conflict."""

    lookup_value_regex = ID_PATTERN

    def lockable(self, queryset):
        # Only inside the write's transaction: OPTIONS describes a PUT (DRF's metadata) with no transaction open.
        if (self.request.method in SAFE_METHODS or not connection.in_atomic_block
                or not connection.features.has_select_for_update):
            return queryset
        if connection.features.has_select_for_update_of:
            return queryset.select_for_update(of=("self",))
        return queryset.select_for_update()


class VideoViewSet(LockingMixin, viewsets.ModelViewSet):
    """Videos. Anonymous users (and users without the view or change permission) see public videos only."""

    serializer_class = VideoSerializer
    permission_classes = [PublicReadModelActionPermission]
    filterset_class = VideoFilter
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    action_perms = {"stats": "view"}

    def get_permissions(self):
        if self.action == "stats":  # analytics are for editors, not the public
            return [ModelActionPermission()]
        return super().get_permissions()

    def get_queryset(self):
        queryset = Video.objects.select_related("created_by").prefetch_related("tags")
        if not has_model_perm(self.request.user, Video, "view"):
            queryset = queryset.public()
        return self.lockable(queryset)

    def _answer(self, video: Video) -> Response:
        return Response(self.get_serializer(video).data)

    @extend_schema(request=None, responses=VideoSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        video = self.get_object()
        video.publish()
        return self._answer(video)

    @extend_schema(request=None, responses=VideoSerializer)
    @action(detail=True, methods=["post"])
    def unpublish(self, request, pk=None):
        video = self.get_object()
        video.unpublish()
        return self._answer(video)

    @extend_schema(request=None, responses=VideoSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        video = self.get_object()
        video.archive()
        return self._answer(video)

    @extend_schema(request=None, responses=VideoSerializer)
    @action(detail=True, methods=["post"])
    def unarchive(self, request, pk=None):
        video = self.get_object()
        video.unarchive()
        return self._answer(video)

    @extend_schema(request=None, responses=VideoSerializer)
    @action(detail=True, methods=["post"])
    def reprocess(self, request, pk=None):
        video = self.get_object()
        processing.reprocess(video)
        return self._answer(video)

    @extend_schema(responses=StatsSerializer)
    @action(detail=True, methods=["get"])
    def stats(self, request, pk=None):
        return Response(analytics.stats(self.get_object()))


class PlaylistViewSet(LockingMixin, viewsets.ModelViewSet):
    serializer_class = PlaylistSerializer
    permission_classes = [ModelActionPermission]

    def get_queryset(self):
        return self.lockable(Playlist.objects.prefetch_related("tags", "items"))


class LivestreamViewSet(LockingMixin, viewsets.ModelViewSet):
    serializer_class = LivestreamSerializer
    permission_classes = [ModelActionPermission]
    filterset_fields = ["status"]

    def get_queryset(self):
        return self.lockable(Livestream.objects.prefetch_related("tags"))

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        stream = serializer.save()
        return Response(LivestreamCreatedSerializer(stream, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=LivestreamSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        stream = self.get_object()
        stream.start()
        return Response(self.get_serializer(stream).data)

    @extend_schema(request=LivestreamEndSerializer, responses=LivestreamSerializer)
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        stream = self.get_object()
        body = LivestreamEndSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        stream.end(recording=body.validated_data.get("recording"))
        return Response(self.get_serializer(stream).data)
