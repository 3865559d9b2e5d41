"""URL map: the admin, the REST API (+ schema and offline docs), the player, the built-in processor and live HLS."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from cms import search
from cms.media import serve_media
from media_lifecycle.admin.code_hooks import registered_hooks_view
from media_lifecycle.ingest.views import live_hls
from media_lifecycle.player import views as player
from media_lifecycle.processor.views import BuiltinProcessorView

admin.site.site_header = "MediaHooks"
admin.site.site_title = "MediaHooks admin"
admin.site.index_title = "Videos, playlists, livestreams and their webhooks"
# Tables must fit a 1366 px screen: the navigation sidebar would take 290 px of it beside the filters.
admin.site.enable_nav_sidebar = False
search.limit_admin_searches(admin.site)  # every admin is registered by now (the admin app's ready())

handler404 = "cms.exceptions.not_found"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/hooks/", admin.site.admin_view(registered_hooks_view), name="admin-code-hooks"),
    path("admin/", admin.site.urls),
    path("api/", include("media_lifecycle.api.urls")),
    path("api/", include("webhooks_app.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("player/<str:video_id>/", player.player, name="player"),
    path("player/<str:video_id>/embed/", player.player_embed, name="player-embed"),
    path("processor/jobs/", BuiltinProcessorView.as_view(), name="builtin-processor"),
    path("live/<str:livestream_id>/<str:name>", live_hls, name="live-hls"),  # the media server's HLS, while live
]

if settings.STORAGE == "filesystem":
    # Local media (uploads, renditions, thumbnails) for players and the built-in processor. In production,
    # put a web server or a CDN in front of MEDIA_ROOT, or use STORAGE=s3.
    urlpatterns.append(
        re_path(r"^media/(?P<path>.*)$", serve_media, name="media")
    )
