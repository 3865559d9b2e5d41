"""The address guard (SSRF): outbound URLs must be http(s) and, unless allowed, reach only public addresses."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeURL(ValueError):
    """The URL is malformed or points somewhere the server must not call."""


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address; False for loopback, private, link-local, etc."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_scheme(url: str) -> tuple[str, str, int]:
    """Parse an http(s) URL into (scheme, host, port), or raise UnsafeURL saying what is wrong."""
    if not isinstance(url, str) or not url:
        raise UnsafeURL("Enter a URL.")
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        raise UnsafeURL("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"Not a valid URL: {exc}.") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("Only http:// and https:// URLs are allowed.")
    if not parts.hostname:
        raise UnsafeURL("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeURL("Credentials in the URL are not allowed; use the headers field instead.")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_url(url: str, *, allow_private: bool | None = None) -> None:
    """Raise UnsafeURL unless `url` is http(s) and every address its host resolves to is public."""
    _scheme, host, port = check_scheme(url)
    if allow_private is None:
        allow_private = settings.WEBHOOK_ALLOW_PRIVATE_TARGETS
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL(f"The host {host!r} does not resolve: {exc}.") from None
    for info in infos:
        address = info[4][0]
        if not is_public_address(address):
            raise UnsafeURL(
                f"The host {host!r} resolves to {address}, a loopback, private, link-local, multicast or "
                "reserved address (set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow it in development)."
            )
