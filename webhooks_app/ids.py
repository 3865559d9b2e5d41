"""Prefixed public ids (`whk_…`, `evt_…`): opaque, unguessable, and sortable by creation time."""

import secrets
import time

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase


def new_id(prefix: str) -> str:
    """`prefix_` + 26 base32 characters: a 48-bit millisecond clock, then 80 random bits (a ULID)."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def webhook_id() -> str:
    return new_id("whk")


def event_id() -> str:
    return new_id("evt")


def delivery_id() -> str:
    return new_id("dlv")
