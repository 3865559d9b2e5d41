"""The video status machine and the publish rule (SPEC §3), in one place; every save goes through it."""

from cms.exceptions import ConflictError

UPLOADED, PROCESSING, READY, FAILED = "uploaded", "processing", "ready", "failed"
CHOICES = [(UPLOADED, "Uploaded"), (PROCESSING, "Processing"), (READY, "Ready"), (FAILED, "Failed")]

# (from, to) pairs a save may make. Entering `processing` from ready/failed needs a reprocess, which
# the processing module checks (a job of the current run); the table only says the edge exists.
TRANSITIONS = {
    (UPLOADED, PROCESSING),
    (UPLOADED, FAILED),
    (PROCESSING, READY),
    (PROCESSING, FAILED),
    (FAILED, PROCESSING),
    (READY, PROCESSING),
}


class InvalidTransition(ConflictError):
    """An illegal status change; the API answers 409 with the current status."""

    def __init__(self, current: str, target: str, message: str | None = None):
        super().__init__(message or f"A video cannot go from {current} to {target}.", status=current)
        self.current = current
        self.target = target


def check_transition(current: str, target: str) -> None:
    if current != target and (current, target) not in TRANSITIONS:
        raise InvalidTransition(current, target)


def check_publishable(status: str, archived: bool) -> None:
    """A video can be published only when it is ready and not archived."""
    if archived:
        raise InvalidTransition(status, status, "An archived video cannot be published; unarchive it first.")
    if status != READY:
        raise InvalidTransition(
            status, status, f"Only a ready video can be published; this one is {status}."
        )
