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
