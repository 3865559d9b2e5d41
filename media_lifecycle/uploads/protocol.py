"""The tus 1.0.0 header rules (https://tus.io/protocols/resumable-upload): versions, extensions, and parsing of
Upload-Length, Upload-Offset and Upload-Metadata. Pure functions: they raise TusError with the HTTP status."""

import base64
import binascii
import re
import unicodedata

TUS_VERSION = "1.0.0"
EXTENSIONS = ("creation", "termination", "expiration")
CHUNK_CONTENT_TYPE = "application/offset+octet-stream"
METADATA_KEY = re.compile(r"[!-+\--~]+")  # printable ASCII without space and comma
MAX_METADATA_VALUE = 4096


class TusError(Exception):
    """A request the protocol refuses: `status` is the HTTP answer, the message says why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def check_version(header: str | None) -> None:
    """Every request but OPTIONS names the protocol version it speaks; only 1.0.0 is spoken here (412)."""
    if header is None:
        raise TusError(412, f"The Tus-Resumable header is missing; this server speaks tus {TUS_VERSION}.")
    if header.strip() != TUS_VERSION:
        raise TusError(412, f"Tus-Resumable {header!r} is not supported; this server speaks tus {TUS_VERSION}.")


def parse_count(name: str, header: str | None) -> int:
    """A header holding a byte count: a non-negative integer (400 otherwise)."""
    if header is None:
        raise TusError(400, f"The {name} header is missing.")
    value = header.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise TusError(400, f"{name} must be a non-negative integer, not {header!r}.")
    return int(value)


def parse_length(header: str | None, *, deferred: str | None, maximum: int) -> int:
    """Upload-Length at creation: required (the creation-defer-length extension is not offered), at most
    `maximum` bytes (413 above it)."""
    if header is None and deferred is not None:
        raise TusError(400, "Upload-Defer-Length is not supported; send Upload-Length with the file's size.")
    length = parse_count("Upload-Length", header)
    if length > maximum:
        raise TusError(413, f"Upload-Length is {length} bytes; the limit (MAX_UPLOAD_BYTES) is {maximum} bytes.")
    return length


def parse_offset(header: str | None) -> int:
    """Upload-Offset of a PATCH: where the client believes the upload stands."""
    return parse_count("Upload-Offset", header)


def parse_metadata(header: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64(value)` pairs (a key may come without a value)."""
    if header is None or not header.strip():
        return {}
    metadata: dict[str, str] = {}
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        if len(parts) > 2 or not METADATA_KEY.fullmatch(parts[0]):
            raise TusError(400, f"Upload-Metadata: {pair.strip()!r} is not `key base64-value`.")
        key = parts[0]
        if key in metadata:
            raise TusError(400, f"Upload-Metadata: the key {key!r} appears twice.")
        if len(parts) == 1 or not parts[1]:
            metadata[key] = ""
            continue
        try:
            raw = base64.b64decode(parts[1], validate=True)
            value = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            raise TusError(400, f"Upload-Metadata: the value of {key!r} is not base64 of UTF-8 text.") from None
        if len(value) > MAX_METADATA_VALUE or _has_control_characters(value):
            raise TusError(400, f"Upload-Metadata: the value of {key!r} is too long or holds control characters.")
        metadata[key] = value
    return metadata


BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")  # can disguise a name


def _has_control_characters(value: str) -> bool:
    """Control characters (NUL, line breaks, C1, the line and paragraph separators), lone surrogates and the
    bidirectional overrides; not the spaces and marks of real file names (macOS puts U+202F before "AM" in
    screen recordings' names; right-to-left names carry U+200F)."""
    return any(unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in BIDI_CONTROLS for char in value)


def encode_metadata(metadata: dict[str, str]) -> str:
    """The Upload-Metadata header for a HEAD answer, from stored metadata."""
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
                    for key, value in metadata.items())
