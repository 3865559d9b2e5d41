"""Matching: does an event reach a webhook? Pure functions over the subscription's JSON data."""

import logging
from collections.abc import Iterable

logger = logging.getLogger(__name__)

MATCH_ANY = "any"
MATCH_ALL = "all"


def subscribes_to(events: Iterable[str], event_type: str) -> bool:
    """True when `events` names `event_type` or is the wildcard `*`."""
    events = list(events or [])
    return "*" in events or event_type in events


def tags_match(condition: list[str], tag_match: str, tags: Iterable[str]) -> bool:
    """Evaluate a tag condition; no condition tags means no condition. A broken rule never matches."""
    if not condition:
        return True
    present = set(tags or [])
    if tag_match == MATCH_ANY:
        return any(tag in present for tag in condition)
    if tag_match == MATCH_ALL:
        return all(tag in present for tag in condition)
    logger.warning("Unknown tag_match %r in a webhook condition; treating it as no match.", tag_match)
    return False


def explain(*, is_active: bool, events: list[str], tags: list[str], tag_match: str,
            event_type: str, resource_tags: Iterable[str]) -> tuple[bool, str]:
    """Whether an event would reach a webhook, and if not, why (for the admin's webhooks panel)."""
    if not is_active:
        return False, "inactive"
    if not subscribes_to(events, event_type):
        return False, f"not subscribed to {event_type}"
    present = set(resource_tags or [])
    if not tags_match(tags, tag_match, present):
        if tag_match == MATCH_ALL:
            missing = [tag for tag in tags if tag not in present]
            return False, f"tag condition fails: needs all of {', '.join(tags)}; missing {', '.join(missing)}"
        return False, f"tag condition fails: needs any of {', '.join(tags)}"
    if tags:
        return True, f"matches tag condition ({tag_match} of {', '.join(tags)})"
    return True, "subscribed, no tag condition"
