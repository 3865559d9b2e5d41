"""A hook module with a before-hook on an action that does not exist (startup must stop)."""

from media_lifecycle import hooks


@hooks.before("video.publish")
def before_publish(change: hooks.Change) -> None:
    """Never registered."""
