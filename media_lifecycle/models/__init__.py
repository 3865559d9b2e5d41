"""Media and its lifecycle: the models."""

from media_lifecycle.models.livestream import Livestream
from media_lifecycle.models.playback import ClientWebhook, PlaybackEvent
from media_lifecycle.models.playlist import Playlist, PlaylistItem
from media_lifecycle.models.processing_job import ProcessingJob
from media_lifecycle.models.tag import Tag
from media_lifecycle.models.upload import Upload
from media_lifecycle.models.video import Video

__all__ = ["ClientWebhook", "Livestream", "PlaybackEvent", "Playlist", "PlaylistItem", "ProcessingJob", "Tag",
           "Upload", "Video"]
