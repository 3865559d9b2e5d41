"""What one turn of a delivery produced, as types the relay matches on: an attempt was made (`Attempt`), the
delivery is no longer wanted (`Cancelled`), or it was handed back unsent for a later turn (`Released`)."""

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class Attempt:
    """One attempt, made: the answer or the error, timing, and what the attempt log keeps. `url` is the target
    (`hook:<name>` for a function subscriber, which has no status code)."""

    url: str
    started_at: datetime
    finished_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str = ""
    response_body: str = ""
    response_headers: dict = field(default_factory=dict)
    retry_after: float | None = None
    request_headers: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Success: no error, and for HTTP a 2xx answer (a function subscriber has no status code)."""
        if self.error:
            return False
        return self.status_code is None or 200 <= self.status_code < 300


@dataclass(frozen=True)
class Cancelled:
    """The delivery ends without an attempt; `reason` is kept in its last_error."""

    reason: str


@dataclass(frozen=True)
class Released:
    """The delivery goes back to the outbox unsent (its lease had no room left for a whole attempt)."""

    why: str


Result = Attempt | Cancelled | Released
