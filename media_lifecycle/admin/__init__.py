"""The media admin: editors' home. Importing the modules registers their ModelAdmins."""

from media_lifecycle.admin import livestreams, playback, playlists, tags, videos  # noqa: F401
