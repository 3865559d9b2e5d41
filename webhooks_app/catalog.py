"""The event catalog: one registry of event types, from which choices, validation and examples derive."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    example: Callable[[], dict] | None = None
    subscribable: bool = True

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]


_registry: dict[str, EventType] = {}


def register(name: str, description: str, example: Callable[[], dict] | None = None,
             subscribable: bool = True) -> EventType:
    """Add an event type; apps call this from AppConfig.ready(). Registering twice keeps the first."""
    if name not in _registry:
        _registry[name] = EventType(name, description, example, subscribable)
    return _registry[name]


def get(name: str) -> EventType | None:
    return _registry.get(name)


def names(*, subscribable_only: bool = True) -> list[str]:
    """All registered names in registration order; by default only those a webhook may subscribe to."""
    return [t.name for t in _registry.values() if t.subscribable or not subscribable_only]


def grouped() -> dict[str, list[EventType]]:
    """Subscribable event types grouped by resource (the part before the dot), for the admin's checkboxes."""
    groups: dict[str, list[EventType]] = {}
    for event_type in _registry.values():
        if event_type.subscribable:
            groups.setdefault(event_type.group, []).append(event_type)
    return groups


def _system_warning() -> dict:
    return {"object": "webhook",
            "webhook": {"id": "whk_01example0000000000000000", "url": "https://hooks.example.com/mediahooks"},
            "reason": "Delivery dlv_01example0000000000000000 of video.ready failed after 10 attempt(s): HTTP 500",
            "delivery": {"id": "dlv_01example0000000000000000",
                         "event": {"id": "evt_01example0000000000000000", "type": "video.ready"}}}


def _system_error() -> dict:
    return {"object": "processing_job",
            "job": {"id": "job_01example0000000000000000", "task": "transcode",
                    "video": "vid_01example0000000000000000"},
            "reason": "processor unreachable: connection error: [Errno 111] Connection refused"}


register("webhook.test", "Sent only by “send test event”, to one webhook.", subscribable=False)
register("system.warning", "A webhook was disabled automatically, or one of its deliveries failed for good.",
         _system_warning)
register("system.error", "A background job failed for good, for example because the processor was unreachable.",
         _system_error)
