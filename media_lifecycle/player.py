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


def best_source(video: Video) -> tuple[str, str]:
    """The largest rendition, else the processed file, else the source; with its MIME type."""
    heights = settings.RENDITION_HEIGHTS
    renditions = sorted(video.renditions or [], key=lambda r: -heights.get(r.get("quality"), 0))
    if renditions:
        return absolute_url(renditions[0]["url"]), f"video/{renditions[0].get('format') or 'mp4'}"
    if video.processed_url:
        return absolute_url(video.processed_url), "video/mp4"
    return (file_url(video.file) if video.file else video.source_url), video.mime_type or "video/mp4"


def _page(request, video_id: str, *, embed: bool):
    video = playable(video_id, request.user)
    if video is None:  # the friendly page, also with DEBUG on
        return render(request, "404.html", status=404)
    source, mime = best_source(video)
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
        "video": video, "source": source, "mime": mime, "thumbnail": thumbnail, "config": config,
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
