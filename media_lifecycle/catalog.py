"""The media events of the catalog (SPEC §4), each with a realistic example for "send test event"."""

from webhooks_app import catalog

EXAMPLE_TIME = "2026-11-22T12:00:00.123000Z"


def example_video(**overrides) -> dict:
    video = {
        "object": "video",
        "id": "vid_01example0000000000000000",
        "title": "Launch keynote",
        "description": "The full keynote, with chapters.",
        "status": "ready",
        "tags": ["news", "keynote"],
        "source_url": "",
        "file_url": "https://media.example.com/media/videos/vid_01example/source.mp4",
        "mime_type": "video/mp4",
        "size_bytes": 48_213_552,
        "duration_seconds": 1312.4,
        "width": 1920,
        "height": 1080,
        "format": "mp4",
        "processed_url": "https://media.example.com/media/processed/vid_01example/1080p.mp4",
        "hls_url": "https://media.example.com/media/processed/vid_01example/master.m3u8",
        "renditions": [
            {"quality": "1080p", "format": "mp4", "url": "https://media.example.com/media/processed/1080p.mp4",
             "size_bytes": 40_112_001, "width": 1920, "height": 1080, "bitrate_kbps": 245},
            {"quality": "720p", "format": "mp4", "url": "https://media.example.com/media/processed/720p.mp4",
             "size_bytes": 21_004_310, "width": 1280, "height": 720, "bitrate_kbps": 128},
        ],
        "thumbnail_url": "https://media.example.com/media/thumbnails/vid_01example.jpg",
        "error_message": "",
        "published": True,
        "published_at": EXAMPLE_TIME,
        "auto_publish": True,
        "archived": False,
        "archived_at": None,
        "created_by": "editor",
        "revision": 4,
        "metadata": {"series": "Launch week"},
        "created_at": "2026-11-22T11:58:01.000000Z",
        "updated_at": EXAMPLE_TIME,
    }
    video.update(overrides)
    return video


def example_playlist(**overrides) -> dict:
    playlist = {
        "object": "playlist", "id": "pl_01example0000000000000000", "title": "Launch week",
        "description": "Every talk of the launch.", "tags": ["news"],
        "videos": ["vid_01example0000000000000000", "vid_01example0000000000000001"], "revision": 2,
        "created_at": "2026-11-22T11:00:00.000000Z", "updated_at": EXAMPLE_TIME,
    }
    playlist.update(overrides)
    return playlist


def example_livestream(**overrides) -> dict:
    stream = {
        "object": "livestream", "id": "ls_01example0000000000000000", "title": "Launch live",
        "description": "", "tags": ["news"], "status": "live", "ingest_url": "rtmp://media.example.com:1935/live",
        "playback_url": "https://media.example.com/live/ls_01example0000000000000000/index.m3u8",
        "scheduled_start": "2026-11-22T12:00:00Z", "scheduled_end": "2026-11-22T13:00:00Z",
        "record": True, "started_at": EXAMPLE_TIME, "ended_at": None, "recording": None, "created_by": "editor",
        "revision": 3,
        "created_at": "2026-11-21T09:00:00.000000Z", "updated_at": EXAMPLE_TIME,
    }
    stream.update(overrides)
    return stream


def _updated(base: dict, changes: dict) -> dict:
    """An update example: the new state, the changed fields and their previous values."""
    return {**base, "changes": list(changes), "previous": changes}


def example_user(**overrides) -> dict:
    user = {"object": "user", "id": 7, "username": "editor", "email": "editor@example.com", "first_name": "Ada",
            "last_name": "Editor", "is_staff": True, "is_active": True, "date_joined": "2026-01-05T09:00:00Z"}
    user.update(overrides)
    return user


EVENTS = {
    "video.created": ("A video was created.", lambda: example_video(status="uploaded", published=False,
                                                                     published_at=None, revision=1)),
    "video.updated": ("A video was saved with changed fields.",
                      lambda: _updated(example_video(), {"title": "Keynote"})),
    "video.deleted": ("A video was deleted; data is its last snapshot.", example_video),
    "video.processing": ("The processor accepted the transcode request.",
                         lambda: _updated(example_video(status="processing", published=False, published_at=None),
                                          {"status": "uploaded"})),
    "video.ready": ("Processing succeeded.", lambda: _updated(example_video(published=False, published_at=None),
                                                               {"status": "processing"})),
    "video.failed": ("Processing failed.", lambda: _updated(
        example_video(status="failed", published=False, published_at=None, processed_url="", hls_url=None,
                      renditions=[],
                      error_message="ffmpeg failed: Invalid data found when processing input"),
        {"status": "processing", "error_message": ""})),
    "video.published": ("The video was published.",
                        lambda: _updated(example_video(), {"published": False, "published_at": None})),
    "video.unpublished": ("The video was unpublished.",
                          lambda: _updated(example_video(published=False, published_at=None),
                                           {"published": True, "published_at": EXAMPLE_TIME})),
    "video.archived": ("The video was archived (hidden, kept).",
                       lambda: _updated(example_video(archived=True, archived_at=EXAMPLE_TIME, published=False,
                                                      published_at=None), {"archived": False, "archived_at": None})),
    "video.unarchived": ("The video was unarchived (unpublished).",
                         lambda: _updated(example_video(published=False, published_at=None),
                                          {"archived": True, "archived_at": EXAMPLE_TIME})),
    "playlist.created": ("A playlist was created.", lambda: example_playlist(revision=1)),
    "playlist.updated": ("A playlist changed (membership and order count).",
                         lambda: _updated(example_playlist(), {"videos": ["vid_01example0000000000000000"]})),
    "playlist.deleted": ("A playlist was deleted.", example_playlist),
    "livestream.created": ("A livestream was created.",
                           lambda: example_livestream(status="idle", started_at=None, revision=1)),
    "livestream.updated": ("A livestream changed.", lambda: _updated(example_livestream(), {"status": "idle"})),
    "livestream.deleted": ("A livestream was deleted.", example_livestream),
    "livestream.started": ("A livestream went live.",
                           lambda: _updated(example_livestream(), {"status": "idle", "started_at": None})),
    "livestream.ended": ("A livestream ended.", lambda: _updated(
        example_livestream(status="ended", ended_at="2026-11-22T13:02:00Z"), {"status": "live", "ended_at": None})),
    "user.created": ("A CMS account was created.", example_user),
    "user.updated": ("A CMS account changed.", lambda: _updated(example_user(), {"email": "ada@example.com"})),
    "user.deleted": ("A CMS account was deleted.", example_user),
    "engagement.view": ("A viewer started watching (once per viewing session).", lambda: {
        "object": "view", "video_id": "vid_01example0000000000000000", "session_id": "5c1f0e0e-1d1b-4a8e-9b53",
        "viewer_id": None, "position": 0.0, "video": example_video(),
    }),
}


def register_events() -> None:
    for name, (description, example) in EVENTS.items():
        catalog.register(name, description, example)
