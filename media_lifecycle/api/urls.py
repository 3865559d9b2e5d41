"""Media API routes."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from media_lifecycle.api.callbacks import ProcessingCallbackView
from media_lifecycle.api.hooks import RegisteredHooksView
from media_lifecycle.api.playback import AnalyticsView, ClientWebhookViewSet
from media_lifecycle.api.views import LivestreamViewSet, PlaylistViewSet, VideoViewSet

router = DefaultRouter(use_regex_path=True)
router.register("videos", VideoViewSet, basename="video")
router.register("playlists", PlaylistViewSet, basename="playlist")
router.register("livestreams", LivestreamViewSet, basename="livestream")
router.register("client-webhooks", ClientWebhookViewSet, basename="client-webhook")

urlpatterns = [
    path("callbacks/processing/<str:job_id>/", ProcessingCallbackView.as_view(), name="processing-callback"),
    path("analytics/", AnalyticsView.as_view(), name="analytics"),
    path("hooks/", RegisteredHooksView.as_view(), name="hooks"),
    *router.urls,
]
