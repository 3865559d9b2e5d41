"""Prefixed public ids (`whk_…`, `evt_…`): opaque, unguessable, and sortable by creation time."""

import secrets
import time

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase: no ambiguous letters
_PAIRS = [first + second for first in ALPHABET for second in ALPHABET]  # 10 bits -> two characters
_SHIFTS = range(120, -1, -10)


def new_id(prefix: str) -> str:
    """`prefix_` + 26 base32 characters: a 48-bit millisecond clock, then 80 random bits (a ULID), so ids
    sort by creation time. Encoded ten bits at a time: ids are made in every save, so this stays cheap."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return f"{prefix}_{''.join([_PAIRS[(value >> shift) & 1023] for shift in _SHIFTS])}"


def webhook_id() -> str:
    return new_id("whk")


def event_id() -> str:
    return new_id("evt")


def delivery_id() -> str:
    return new_id("dlv")
