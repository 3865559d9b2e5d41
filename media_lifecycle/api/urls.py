"""Media API routes."""

from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from media_lifecycle.api.callbacks import ProcessingCallbackView
from media_lifecycle.api.hooks import RegisteredHooksView
from media_lifecycle.api.playback import AnalyticsView, ClientWebhookViewSet
from media_lifecycle.api.views import ID_PATTERN, LivestreamViewSet, PlaylistViewSet, VideoViewSet
from media_lifecycle.ingest.views import PublishDoneView, PublishView, RecordDoneView
from media_lifecycle.uploads.views import UploadCollectionView, UploadDetailView

router = DefaultRouter(use_regex_path=True)
router.register("videos", VideoViewSet, basename="video")
router.register("playlists", PlaylistViewSet, basename="playlist")
router.register("livestreams", LivestreamViewSet, basename="livestream")
router.register("client-webhooks", ClientWebhookViewSet, basename="client-webhook")

urlpatterns = [
    re_path(rf"^callbacks/processing/(?P<job_id>{ID_PATTERN})/$", ProcessingCallbackView.as_view(),
            name="processing-callback"),
    path("callbacks/ingest/publish/", PublishView.as_view(), name="ingest-publish"),
    path("callbacks/ingest/publish-done/", PublishDoneView.as_view(), name="ingest-publish-done"),
    path("callbacks/ingest/record-done/", RecordDoneView.as_view(), name="ingest-record-done"),
    path("analytics/", AnalyticsView.as_view(), name="analytics"),
    path("hooks/", RegisteredHooksView.as_view(), name="hooks"),
    path("uploads/", UploadCollectionView.as_view(), name="upload-list"),
    re_path(r"^uploads/(?P<upload_id>[A-Za-z0-9_]{1,40})/?$", UploadDetailView.as_view(), name="upload-detail"),
    *router.urls,
]
