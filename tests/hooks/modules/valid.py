"""A hook module with one hook of each kind, for the startup and listing tests."""

from media_lifecycle import hooks


@hooks.before("playlist.create", "playlist.update")
def tidy_playlist_title(change: hooks.Change) -> None:
    """Trim titles."""
    change.instance.title = change.instance.title.strip()


@hooks.after("playlist.created", tags=["news"], tag_match="all")
def playlist_created(event: hooks.Event) -> None:
    """Does nothing; listed only."""
