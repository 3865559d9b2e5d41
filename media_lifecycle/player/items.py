"""What a player page plays: each item's HLS playlist, its MP4 sources and its quality menu, for a video, the
published ready videos of a playlist, or a live livestream."""

from django.conf import settings

from media_lifecycle import states
from media_lifecycle.api.fields import absolute_url, file_url
from media_lifecycle.models import Livestream, Playlist, Video
from media_lifecycle.models.livestream import LIVE

MIME_TYPES = {"mp4": "video/mp4", "webm": "video/webm", "ogg": "video/ogg", "mov": "video/quicktime",
              "m3u8": "application/vnd.apple.mpegurl", "hls": "application/vnd.apple.mpegurl"}


def playable(video_id: str, user) -> Video | None:
    """The video if this user may watch it here: published and ready, or a staff preview of a ready one."""
    video = Video.objects.filter(pk=video_id).first()
    if video is None or video.archived or video.status != states.READY:
        return None
    if not video.published and not (user.is_authenticated and user.is_staff):
        return None
    return video


def _height(rendition: dict) -> int:
    height = rendition.get("height")
    if isinstance(height, int):
        return height
    return settings.RENDITION_HEIGHTS.get(rendition.get("quality"), 0)


def _renditions(video: Video) -> list[dict]:
    """Renditions with a URL, tallest first."""
    return sorted((r for r in video.renditions or [] if r.get("url")), key=lambda r: -_height(r))


def sources(video: Video) -> list[tuple[str, str]]:
    """(URL, MIME type) pairs of the progressive files, best first: renditions by height, then the processed
    file, then the source. The browser plays the first it can, so an unplayable one falls back to the next."""
    candidates = [(absolute_url(r["url"]), MIME_TYPES.get(r.get("format") or "mp4", f"video/{r.get('format')}"))
                  for r in _renditions(video)]
    if video.processed_url:
        candidates.append((absolute_url(video.processed_url), "video/mp4"))
    original = file_url(video.file) if video.file else video.source_url
    if original:
        candidates.append((original, video.mime_type or "video/mp4"))
    unique: dict[str, str] = {}
    for url, mime in candidates:
        unique.setdefault(url, mime)
    return list(unique.items())


def qualities(video: Video) -> list[dict]:
    """The quality menu after "Auto": one entry per rendition, with the height hls.js's levels are matched by
    and the rendition's MP4 (what a browser without HLS in script plays for that choice)."""
    return [{"label": r.get("quality") or f"{_height(r)}p", "height": _height(r), "url": absolute_url(r["url"])}
            for r in _renditions(video)]


def poster(video: Video) -> str:
    """The editor's poster if there is one, else the processed thumbnail (absolute)."""
    return file_url(video.poster) if video.poster else absolute_url(video.thumbnail_url)


def video_item(video: Video) -> dict:
    """One video as the page's script plays it."""
    return {"id": video.pk, "kind": "video", "title": video.title, "hls": absolute_url(video.hls_url) or None,
            "sources": sources(video), "qualities": qualities(video), "poster": poster(video) or None,
            "analytics": True}


def playlist_videos(playlist: Playlist) -> list[Video]:
    """The playlist's published, ready, unarchived videos, in its order."""
    ids = playlist.video_ids()
    public = {video.pk: video for video in Video.objects.public().filter(pk__in=ids)}
    return [public[vid] for vid in ids if vid in public]


def livestream_item(stream: Livestream) -> dict:
    """A live livestream: its HLS at the playback URL, no renditions to choose from but the stream's own."""
    return {"id": stream.pk, "kind": "livestream", "title": stream.title,
            "hls": stream.playback_url if stream.status == LIVE else None, "sources": [], "qualities": [],
            "poster": None, "analytics": False}
