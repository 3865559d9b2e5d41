"""Prefixed public ids (`whk_…`, `evt_…`): opaque, unguessable, and sortable by creation time."""

import secrets
import time
from datetime import datetime

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase: no ambiguous letters
_PAIRS = [first + second for first in ALPHABET for second in ALPHABET]  # 10 bits -> two characters
_SHIFTS = range(120, -1, -10)


def _encode(prefix: str, value: int) -> str:
    return f"{prefix}_{''.join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])}"


def new_id(prefix: str) -> str:
    """`prefix_` + 26 base32 characters: a 48-bit millisecond clock, then 80 random bits (a ULID), so ids
    sort by creation time. Encoded ten bits at a time: ids are made in every save, so this stays cheap."""
    return _encode(prefix, (int(time.time() * 1000) << 80) | secrets.randbits(80))


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
