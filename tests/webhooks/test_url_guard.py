"""The address guard (no database): http(s) only, and only public addresses unless private targets are allowed."""

import pytest

from webhooks_app.url_guard import UnsafeURL, check_scheme, check_url, is_public_address

REFUSED = [
    "http://127.0.0.1/hook",  # loopback
    "http://127.5.6.7:8080/hook",
    "http://localhost/hook",
    "http://[::1]/hook",
    "http://2130706433/hook",  # 127.0.0.1 written as one number
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "http://10.1.2.3/hook",  # private
    "http://172.16.0.1/hook",
    "http://192.168.1.10/hook",
    "http://[fd00::1]/hook",
    "http://100.64.0.1/hook",  # shared address space (carrier-grade NAT)
    "http://169.254.169.254/latest/meta-data/",  # link-local (cloud metadata)
    "http://[fe80::1]/hook",
    "http://224.0.0.1/hook",  # multicast
    "http://[ff02::1]/hook",
    "http://240.0.0.1/hook",  # reserved
    "http://0.0.0.0/hook",  # unspecified
]

PUBLIC = ["http://93.184.216.34/hook", "https://8.8.8.8:8443/hooks?x=1", "https://[2606:4700:4700::1111]/hook"]

BAD_SCHEMES = ["ftp://93.184.216.34/hook", "file:///etc/passwd", "javascript:alert(1)", "gopher://8.8.8.8/",
               "93.184.216.34/hook", "", "http://", "http://user:pass@93.184.216.34/hook", "http://[::1/hook"]


@pytest.mark.parametrize("url", REFUSED)
def test_non_public_addresses_are_refused(url):
    with pytest.raises(UnsafeURL, match="WEBHOOK_ALLOW_PRIVATE_TARGETS"):
        check_url(url, allow_private=False)


@pytest.mark.parametrize("url", PUBLIC)
def test_public_addresses_are_allowed(url):
    check_url(url, allow_private=False)


@pytest.mark.parametrize("url", REFUSED)
def test_private_targets_are_allowed_when_configured(url):
    check_url(url, allow_private=True)


@pytest.mark.parametrize("url", BAD_SCHEMES)
def test_only_well_formed_http_urls_are_accepted(url):
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=True)


def test_the_scheme_check_reports_the_default_port():
    assert check_scheme("https://8.8.8.8/x") == ("https", "8.8.8.8", 443)
    assert check_scheme("http://8.8.8.8:8080/x") == ("http", "8.8.8.8", 8080)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.1", "169.254.1.1", "fe80::1%eth0", "224.0.0.5",
                                     "240.0.0.1", "::ffff:192.168.0.1", "192.0.2.1", "0.0.0.0"])
def test_socket_addresses_that_are_not_public(address):
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_socket_addresses_that_are_public(address):
    assert is_public_address(address)


# --- IPv6 forms that carry an IPv4 address: the guard judges the IPv4 address they lead to ---------------

EMBEDDED = [
    # (URL, public?, what it is)
    ("http://[2002:7f00:1::1]/", False, "6to4 of 127.0.0.1"),
    ("http://[2002:a9fe:a9fe::1]/", False, "6to4 of 169.254.169.254 (cloud metadata)"),
    ("http://[2002:0a00:0001::1]/", False, "6to4 of 10.0.0.1"),
    ("http://[2002:c0a8:0101:1::2]/", False, "6to4 of 192.168.1.1"),
    ("http://[2002:6440:1::1]/", False, "6to4 of 100.64.0.1 (carrier-grade NAT)"),
    ("http://[2002:e000:1::1]/", False, "6to4 of 224.0.0.1 (multicast)"),
    ("http://[2002::1]/", False, "6to4 of 0.0.0.0"),
    ("http://[2002:808:808::1]/", True, "6to4 of 8.8.8.8"),
    ("http://[2002:5db8:d822::1]/", True, "6to4 of 93.184.216.34"),
    ("http://[64:ff9b::7f00:1]/", False, "NAT64 of 127.0.0.1"),
    ("http://[64:ff9b::a9fe:a9fe]/", False, "NAT64 of 169.254.169.254"),
    ("http://[64:ff9b::10.0.0.1]/", False, "NAT64 of 10.0.0.1, dotted"),
    ("http://[64:ff9b::c0a8:1]/", False, "NAT64 of 192.168.0.1"),
    ("http://[64:ff9b::808:808]/", True, "NAT64 of 8.8.8.8"),
    ("http://[64:ff9b::93.184.216.34]/", True, "NAT64 of 93.184.216.34, dotted"),
    ("http://[64:ff9b:1::7f00:1]/", False, "local-use NAT64 of 127.0.0.1 (/96 layout)"),
    ("http://[64:ff9b:1:7f00:1::]/", False, "local-use NAT64 of 127.0.x.x (/48 layout)"),
    ("http://[64:ff9b:1::a9fe:a9fe]/", False, "local-use NAT64 of 169.254.169.254"),
    ("http://[64:ff9b:1::808:808]/", False, "local-use NAT64: other RFC 6052 readings give 0.0.0.0"),
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", False, "Teredo, client 127.0.0.1 (XOR-obfuscated)"),
    ("http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", False, "Teredo, client 10.0.0.1"),
    ("http://[2001:0:4136:e378:8000:63bf:5601:5601]/", False, "Teredo, client 169.254.169.254"),
    ("http://[2001:0:7f00:1:8000:63bf:f7f7:f7f7]/", False, "Teredo, server 127.0.0.1, client 8.8.8.8"),
    ("http://[::ffff:127.0.0.1]/", False, "IPv4-mapped 127.0.0.1"),
    ("http://[::ffff:7f00:1]/", False, "IPv4-mapped 127.0.0.1, hex"),
    ("http://[::ffff:169.254.169.254]/", False, "IPv4-mapped 169.254.169.254"),
    ("http://[::ffff:0:7f00:1]/", False, "IPv4-translated (SIIT) 127.0.0.1"),
    ("http://[::ffff:0:a00:1]/", False, "IPv4-translated 10.0.0.1"),
    ("http://[::127.0.0.1]/", False, "IPv4-compatible 127.0.0.1"),
    ("http://[::a9fe:a9fe]/", False, "IPv4-compatible 169.254.169.254"),
    ("http://[::]/", False, "unspecified (IPv4-compatible 0.0.0.0)"),
    ("http://[::ffff:8.8.8.8]/", True, "IPv4-mapped 8.8.8.8"),
    ("http://[::ffff:0:808:808]/", True, "IPv4-translated 8.8.8.8"),
    ("http://[::8.8.8.8]/", True, "IPv4-compatible 8.8.8.8"),
    ("http://0x7f.1/", False, "127.0.0.1 in hex shorthand"),
    ("http://017700000001/", False, "127.0.0.1 in octal"),
    ("http://[2002:7f00:1::1]:8080/hook?x=1", False, "6to4 of 127.0.0.1, with a port and a path"),
    ("http://[2606:4700:4700::1111]/", True, "plain global IPv6"),
]


@pytest.mark.parametrize(("url", "public", "what"), EMBEDDED, ids=[row[2] for row in EMBEDDED])
def test_addresses_carried_inside_ipv6_are_judged_by_the_ipv4_address(url, public, what):
    if public:
        check_url(url, allow_private=False)
    else:
        with pytest.raises(UnsafeURL, match="WEBHOOK_ALLOW_PRIVATE_TARGETS"):
            check_url(url, allow_private=False)


@pytest.mark.parametrize(("address", "public"), [
    ("2002:7f00:1::1", False), ("2002:a9fe:a9fe::1", False), ("2002:808:808::1", True),
    ("64:ff9b::7f00:1", False), ("64:ff9b::808:808", True), ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),
    ("::ffff:0:7f00:1", False), ("::7f00:1", False),
])
def test_socket_peer_addresses_are_judged_by_their_ipv4_address_too(address, public):
    assert is_public_address(address) is public
