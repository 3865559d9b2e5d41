"""A hook module with an after-hook on an event that is not in the catalog (startup must stop)."""

from media_lifecycle import hooks


@hooks.after("video.exploded")
def on_explosion(event: hooks.Event) -> None:
    """Never registered."""
