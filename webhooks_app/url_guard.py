"""The address guard (SSRF): outbound URLs must be http(s) and, unless allowed, reach only public addresses."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeURL(ValueError):
    """The URL is malformed or points somewhere the server must not call."""


# IPv6 forms that carry an IPv4 address the packet really goes to (RFC 4291, 6052, 6145, 3056, 4380, 8215).
IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
# Where RFC 6052 puts the IPv4 address for each NAT64 prefix length that fits in the local-use /48:
# (bits of the address before the u-octet, bits after it).
NAT64_LAYOUTS = ((48, 16, 16), (56, 8, 24), (64, 0, 32), (96, 0, 0))


def _ipv4(value: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(value & 0xFFFFFFFF)


def _nat64_local_use(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """Every RFC 6052 reading of a local-use NAT64 address: the operator's prefix length is not knowable here."""
    value = int(ip)
    found = []
    for prefix, before, after in NAT64_LAYOUTS:
        if prefix == 96:
            found.append(_ipv4(value))
            continue
        high = (value >> (128 - prefix - before)) & ((1 << before) - 1) if before else 0
        low = (value >> (128 - 72 - after)) & ((1 << after) - 1)  # bits 64-71 are the u-octet, skipped
        found.append(_ipv4((high << after) | low))
    return found


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (mapped, translated, compatible, 6to4, Teredo, NAT64)."""
    if ip in IPV4_MAPPED or ip in IPV4_TRANSLATED or ip in IPV4_COMPATIBLE or ip in NAT64_WELL_KNOWN:
        return [_ipv4(int(ip))]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        server, client = ip.teredo  # the client address is stored XOR-obfuscated; ipaddress undoes that
        return [server, client]
    if ip in NAT64_LOCAL_USE:
        return _nat64_local_use(ip)
    return []


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def is_public_address(address: str) -> bool:
    """True for a globally routable unicast address; False for loopback, private, link-local, etc.

    An IPv6 address that carries an IPv4 address (6to4, NAT64, Teredo, IPv4-mapped or -compatible) is judged
    by the IPv4 address it leads to: `2002:7f00:1::1` reaches 127.0.0.1 through a 6to4 relay."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        carried = embedded_ipv4(ip)
        if carried:
            return all(_is_public(inner) for inner in carried)
    return _is_public(ip)


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
