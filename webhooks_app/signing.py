"""Signatures over the exact bytes sent: Standard Webhooks (`webhook-signature`) and plain `X-Signature`
(with `X-Signature-Next` during a secret rotation)."""

import base64
import hashlib
import hmac
import time

WHSEC_PREFIX = "whsec_"


def key_bytes(secret: str) -> bytes:
    """The HMAC key: base64-decoded after `whsec_`, else the secret's UTF-8 bytes."""
    if secret.startswith(WHSEC_PREFIX):
        return base64.b64decode(secret[len(WHSEC_PREFIX):])
    return secret.encode("utf-8")


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def plain_signature(secret: str, body: bytes) -> str:
    """Lowercase hex HMAC-SHA256 of the body with the secret's UTF-8 bytes (Flowplayer style)."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def same(candidate: str, expected: str) -> bool:
    """Constant-time comparison of a received signature; non-ASCII input (a forged header) is simply unequal."""
    return hmac.compare_digest(candidate.encode("utf-8"), expected.encode("utf-8"))


def signature_headers(secrets: list[str], msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The signing headers; `secrets` lists the current secret first, then any still-valid old one.

    `webhook-signature` carries one signature per secret, but `X-Signature` holds only one: during a rotation
    it stays on the previous secret, so plain-HMAC verifiers keep working, and `X-Signature-Next` carries the
    new one, so they can switch within the overlap."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    current, previous = secrets[0], (secrets[1] if len(secrets) > 1 else None)
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(standard_signature(s, msg_id, timestamp, body) for s in secrets),
        "X-Signature": plain_signature(previous or current, body),
    }
    if previous:
        headers["X-Signature-Next"] = plain_signature(current, body)
    return headers


class SignatureError(ValueError):
    """The request is unsigned, wrongly signed, or its timestamp is out of tolerance."""


TIMESTAMP_DIGITS = 12  # Unix seconds until the year 33658: anything longer is not a time, and overflows floats


def parse_timestamp(value: str) -> int:
    """A `webhook-timestamp` as Unix seconds, or SignatureError: only plain ASCII digits of a sane length, so a
    header of 400 nines (or `+1_0`, or Arabic-Indic digits, which int() accepts) is refused, never an error."""
    text = value.strip()
    if not (text.isascii() and text.isdigit() and len(text) <= TIMESTAMP_DIGITS):
        raise SignatureError("webhook-timestamp must be Unix time in seconds (up to 12 digits).")
    return int(text)


def verify(secret: str, headers, body: bytes, *, tolerance: int = 300, now: float | None = None) -> str:
    """Accept either scheme; returns the scheme used. `headers` is any case-insensitive mapping."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signature = headers.get("webhook-signature")
    if msg_id and timestamp and signature:
        stamp = parse_timestamp(timestamp)
        now = time.time() if now is None else now
        if abs(now - stamp) > tolerance:
            raise SignatureError(f"webhook-timestamp is more than {tolerance} s from now.")
        expected = standard_signature(secret, msg_id, stamp, body)
        for candidate in signature.split():
            if same(candidate, expected):
                return "standard-webhooks"
        raise SignatureError("webhook-signature does not match.")
    plain = headers.get("X-Signature")
    if plain:
        if same(plain.strip().lower(), plain_signature(secret, body)):
            return "x-signature"
        raise SignatureError("X-Signature does not match.")
    raise SignatureError("The request is not signed (no webhook-signature or X-Signature header).")
