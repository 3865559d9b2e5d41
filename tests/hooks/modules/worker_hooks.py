"""The hook module that real `runworker` processes load through HOOK_MODULES in the worker tests: one well-behaved
after-hook that posts to a receiver (as the README's Slack example does), and one that misbehaves on request."""

import os
import time

import requests

from media_lifecycle import hooks


@hooks.after("video.published", tags=["news"])
def announce(event: hooks.Event) -> None:
    """Post the published news video to HOOK_TEST_URL."""
    answer = requests.post(os.environ["HOOK_TEST_URL"], timeout=5, json={
        "hook": "announce", "id": event.id, "type": event.type, "title": event.data["title"],
        "timestamp": event.timestamp.isoformat(),
    })
    answer.raise_for_status()


@hooks.after("video.updated")
def misbehave(event: hooks.Event) -> None:
    """Hang forever, or raise, when the video's title asks for it."""
    title = event.data["title"]
    if "hang" in title:
        time.sleep(3600)
    if "boom" in title:
        raise RuntimeError(f"boom on {event.data['id']}")
