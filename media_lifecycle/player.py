"""The player page: a published, ready video (staff may preview ready, unpublished ones), its analytics
script and the client-side webhooks it calls while playing."""

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt

from media_lifecycle import states
from media_lifecycle.api.fields import absolute_url, file_url
from media_lifecycle.models import ClientWebhook, Video


def playable(video_id: str, user) -> Video | None:
    """The video if this user may watch it here: published and ready, or a staff preview of a ready one."""
    video = Video.objects.filter(pk=video_id).first()
    if video is None or video.archived or video.status != states.READY:
        return None
    if not video.published and not (user.is_authenticated and user.is_staff):
        return None
    return video


MIME_TYPES = {"mp4": "video/mp4", "webm": "video/webm", "ogg": "video/ogg", "mov": "video/quicktime",
              "m3u8": "application/vnd.apple.mpegurl", "hls": "application/vnd.apple.mpegurl"}


def sources(video: Video) -> list[tuple[str, str]]:
    """(URL, MIME type) pairs, best first: renditions by height, then the processed file, then the source.
    The browser plays the first one it can, so a missing or unplayable rendition falls back to the next."""
    heights = settings.RENDITION_HEIGHTS
    renditions = sorted((r for r in video.renditions or [] if r.get("url")),
                        key=lambda r: -heights.get(r.get("quality"), 0))
    candidates = [(absolute_url(r["url"]), MIME_TYPES.get(r.get("format") or "mp4", f"video/{r.get('format')}"))
                  for r in renditions]
    if video.processed_url:
        candidates.append((absolute_url(video.processed_url), "video/mp4"))
    original = file_url(video.file) if video.file else video.source_url
    if original:
        candidates.append((original, video.mime_type or "video/mp4"))
    unique: dict[str, str] = {}
    for url, mime in candidates:
        unique.setdefault(url, mime)
    return list(unique.items())


def _page(request, video_id: str, *, embed: bool):
    video = playable(video_id, request.user)
    if video is None:  # the friendly page, also with DEBUG on
        return render(request, "404.html", {"player": True}, status=404)
    hooks = ClientWebhook.objects.filter(is_active=True).order_by("created_at")
    config = {
        "videoId": video.pk,
        "analyticsUrl": reverse("analytics"),
        "clientWebhooks": [
            {"url": hook.url, "requestField": hook.request_field, "responseField": hook.response_field,
             "rpm": hook.rpm}
            for hook in hooks
        ],
    }
    thumbnail = file_url(video.poster) if video.poster else absolute_url(video.thumbnail_url)
    return render(request, "player.html", {
        "video": video, "sources": sources(video), "thumbnail": thumbnail, "config": config,
        "embed": embed, "preview": not video.published,
    })


def player(request, video_id: str):
    return _page(request, video_id, embed=False)


@xframe_options_exempt
def player_embed(request, video_id: str):
    """The same player without page chrome; the only page other sites may frame."""
    response = _page(request, video_id, embed=True)
    response["Content-Security-Policy"] = "frame-ancestors *"
    return response
