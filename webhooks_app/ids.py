"""Prefixed public ids (`whk_…`, `evt_…`): opaque, unguessable, and sortable by creation time."""

import os
import time
from datetime import datetime

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase: no ambiguous letters
_PAIRS = [a + b for a in ALPHABET for b in ALPHABET]  # 10 bits -> two characters
_TRIPLES = [pair + c for pair in _PAIRS for c in ALPHABET]  # 15 bits -> three characters


def _encode(prefix: str, value: int) -> str:
    """The 128-bit `value` as 26 base32 characters (two zero bits on top), 15 bits at a time: ids are made in
    every save, one per matching webhook, so this stays cheap."""
    t = _TRIPLES
    return (f"{prefix}_{_PAIRS[value >> 120]}{t[(value >> 105) & 32767]}{t[(value >> 90) & 32767]}"
            f"{t[(value >> 75) & 32767]}{t[(value >> 60) & 32767]}{t[(value >> 45) & 32767]}"
            f"{t[(value >> 30) & 32767]}{t[(value >> 15) & 32767]}{t[value & 32767]}")


def new_id(prefix: str) -> str:
    """`prefix_` + 26 base32 characters: a 48-bit millisecond clock, then 80 random bits (a ULID), so ids
    sort by creation time."""
    return new_ids(prefix, 1)[0]


def new_ids(prefix: str, count: int) -> list[str]:
    """`count` ids of one millisecond, from one read of the clock and of the system's randomness (a save
    makes one per matching webhook)."""
    clock = int(time.time() * 1000) << 80
    randomness = os.urandom(10 * count)
    return [_encode(prefix, clock | int.from_bytes(randomness[i:i + 10], "big")) for i in range(0, 10 * count, 10)]


def first_id_at(prefix: str, moment: datetime) -> str:
    """The smallest id made at `moment`: `pk < first_id_at(...)` selects rows made before it, by the primary
    key's index (Delivery keeps no index on created_at, to stay cheap to insert)."""
    return _encode(prefix, int(moment.timestamp() * 1000) << 80)


def webhook_id() -> str:
    return new_id("whk")


def event_id() -> str:
    return new_id("evt")


def delivery_id() -> str:
    return new_id("dlv")


def delivery_ids(count: int) -> list[str]:
    return new_ids("dlv", count)
