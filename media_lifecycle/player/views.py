"""`/player/{id}/` and its embed variant: a video (published and ready; staff may preview), a playlist's
published videos one after the other, or a livestream (its HLS while live, a plain notice otherwise)."""

import re

from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt

from media_lifecycle.models import ClientWebhook, Livestream, Playlist
from media_lifecycle.models.livestream import ENDED, LIVE
from media_lifecycle.player import items

ID = re.compile(r"\A(vid|pl|ls)_[A-Za-z0-9]{1,40}\Z")
NOT_LIVE = {
    "idle": "This livestream is not live yet. This page reloads itself until it starts.",
    "ended": "This livestream is not live: it has ended.",
}


def _not_found(request, what: str = "video"):
    """The friendly page, also with DEBUG on."""
    return render(request, "404.html", {"player": True, "what": what}, status=404)


def _config(entries: list[dict], **extra) -> dict:
    hooks = ClientWebhook.objects.filter(is_active=True).order_by("created_at")
    return {
        "analyticsUrl": reverse("analytics"),
        "clientWebhooks": [
            {"url": hook.url, "requestField": hook.request_field, "responseField": hook.response_field,
             "rpm": hook.rpm}
            for hook in hooks
        ],
        "items": entries,
        **extra,
    }


def _render(request, *, embed: bool, title: str, description: str, entries: list[dict], config: dict, **context):
    first = entries[0] if entries else None
    return render(request, "player.html", {
        "title": title, "description": description, "embed": embed, "config": config, "items": entries,
        "first": first, "sources": first["sources"] if first and not first["hls"] else [],
        "thumbnail": first["poster"] if first else None, "needs_hls": any(entry["hls"] for entry in entries),
        **context,
    })


def _video_page(request, video_id: str, *, embed: bool):
    video = items.playable(video_id, request.user)
    if video is None:
        return _not_found(request)
    entry = items.video_item(video)
    return _render(request, embed=embed, title=video.title, description=video.description, entries=[entry],
                   config=_config([entry], kind="video", videoId=video.pk), video=video,
                   preview=not video.published)


def _playlist_page(request, playlist_id: str, *, embed: bool):
    playlist = Playlist.objects.filter(pk=playlist_id).first()
    videos = items.playlist_videos(playlist) if playlist else []
    if not videos:
        return _not_found(request, "playlist")
    entries = [items.video_item(video) for video in videos]
    return _render(request, embed=embed, title=playlist.title, description=playlist.description, entries=entries,
                   config=_config(entries, kind="playlist", videoId=entries[0]["id"]), playlist=playlist,
                   video=videos[0])


def _livestream_page(request, livestream_id: str, *, embed: bool):
    stream = Livestream.objects.select_related("recording").filter(pk=livestream_id).first()
    if stream is None:
        return _not_found(request, "livestream")
    live = stream.status == LIVE
    entries = [items.livestream_item(stream)] if live else []
    recording = stream.recording if stream.status == ENDED and stream.recording_id else None
    if recording is not None and not recording.is_public:
        recording = None
    return _render(request, embed=embed, title=stream.title, description=stream.description, entries=entries,
                   config=_config(entries, kind="livestream", livestreamId=stream.pk), livestream=stream,
                   not_live=None if live else NOT_LIVE.get(stream.status, NOT_LIVE["ended"]),
                   reload_seconds=15 if stream.status == "idle" else None, recording=recording)


PAGES = {"vid": _video_page, "pl": _playlist_page, "ls": _livestream_page}


def _page(request, video_id: str, *, embed: bool):
    match = ID.match(video_id)
    if match is None:
        return _not_found(request)
    return PAGES[match[1]](request, video_id, embed=embed)


def player(request, video_id: str):
    """The player page for a video, playlist or livestream id (the prefix says which)."""
    return _page(request, video_id, embed=False)


@xframe_options_exempt
def player_embed(request, video_id: str):
    """The same player without page chrome; the only page other sites may frame."""
    response = _page(request, video_id, embed=True)
    response["Content-Security-Policy"] = "frame-ancestors *"
    return response
