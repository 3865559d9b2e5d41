"""Id generators for media rows (module-level functions, so migrations can reference them)."""

from webhooks_app.ids import new_id


def video_id() -> str:
    return new_id("vid")


def playlist_id() -> str:
    return new_id("pl")


def livestream_id() -> str:
    return new_id("ls")


def job_id() -> str:
    return new_id("job")


def client_webhook_id() -> str:
    return new_id("cwh")


def upload_id() -> str:
    return new_id("upl")
