"""Typed readers for environment variables: bad values stop startup with a message naming the variable."""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def get_str(name: str, default: str | None = None) -> str | None:
    """A string variable, with empty treated as unset."""
    value = _raw(name)
    return default if value is None else value


def get_bool(name: str, default: bool) -> bool:
    """A boolean variable: true/false/1/0/yes/no/on/off, in any case."""
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use true/false, 1/0 or yes/no.")


def get_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """An integer variable, optionally bounded below."""
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def get_float(name: str, default: float, *, minimum: float | None = None, positive: bool = False) -> float:
    """A decimal number variable, optionally bounded below or required to be positive."""
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ImproperlyConfigured(f"{name}={value!r} is not a finite number.")
    if positive and number <= 0:
        raise ImproperlyConfigured(f"{name}={number} must be greater than 0.")
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def get_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list variable; blank items are dropped."""
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def get_url(name: str, default: str | None, *, schemes: tuple[str, ...], host: bool = True) -> str | None:
    """A URL variable with one of `schemes` (and a host, unless `host` is false); malformed ones are refused."""
    value = get_str(name, default)
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (reading it raises ValueError for a port that is not a number in 0-65535)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not a valid URL: {exc}.") from None
    if parts.scheme not in schemes or (host and not parts.hostname):
        kinds = ", ".join(f"{scheme}://" for scheme in schemes)
        raise ImproperlyConfigured(f"{name}={value!r} must be an absolute URL starting with one of: {kinds}.")
    return value


def get_schedule(name: str, default: str) -> list[float]:
    """A comma-separated list of non-negative delays in seconds."""
    raw = get_str(name, default)
    delays = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            delay = float(item)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not a number of seconds.") from None
        if delay < 0 or delay != delay or delay == float("inf"):
            raise ImproperlyConfigured(f"{name}: {item!r} must be a finite number of seconds >= 0.")
        delays.append(delay)
    return delays


def secret_file(path: Path, nbytes: int = 32) -> str:
    """Read a generated secret from `path`, creating it (mode 600) on first use, safely across processes."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(nbytes) + "\n")
        try:
            os.link(temporary, path)  # atomic: the first process to link wins
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    value = path.read_text().strip()
    if not value:
        raise ImproperlyConfigured(f"{path.name} is empty; delete it to generate a new secret.")
    return value
