"""Blocking HTTP for the built-in processor's source downloads (requests sessions with the address guard on the
socket actually connected, so DNS rebinding cannot slip past it), and the limits and header masking that the
relay's sender (sender.py) shares with it."""

import os
import socket
import threading

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from webhooks_app import headers as credential_headers
from webhooks_app.url_guard import is_public_address

READ_LIMIT = 64 * 1024
STORE_LIMIT = 4 * 1024
ERROR_BODY_CHARS = 200
KEPT_RESPONSE_HEADERS = ("content-type", "content-length", "location", "retry-after", "server", "date")


class _GuardedConnectionMixin:
    """Refuse the socket if the peer address is not public, whatever the name resolved to earlier."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        try:
            address = sock.getpeername()[0]
        except OSError:
            address = None
        if address is None or not is_public_address(address):
            sock.close()
            raise NewConnectionError(
                self, f"refused to connect to {address or self.host}: not a public address "
                      "(set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow it)"
            )
        return sock


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class GuardedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class GuardedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": GuardedHTTPConnectionPool, "https": GuardedHTTPSConnectionPool,
        }


_local = threading.local()


def session(guarded: bool) -> requests.Session:
    """One keep-alive session per thread, process and guard mode (sessions are not shared across forks)."""
    key = (os.getpid(), guarded)
    sessions = getattr(_local, "sessions", None)
    if sessions is None or sessions.get("pid") != os.getpid():
        sessions = _local.sessions = {"pid": os.getpid()}
    if key not in sessions:
        session = requests.Session()
        session.trust_env = False  # an environment proxy would bypass the address guard
        adapter = GuardedAdapter(pool_maxsize=4) if guarded else HTTPAdapter(pool_maxsize=4)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        sessions[key] = session
    return sessions[key]


def stored_headers(headers: dict[str, str]) -> dict[str, str]:
    """Request headers as kept in the attempt log: values of credential-like headers are masked."""
    return credential_headers.masked(headers)


def transport_error(exc: Exception, timeout: float) -> str:
    """A short, readable reason for a failed request (the root cause, not urllib3's whole chain)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"timed out after {timeout:g} s while connecting"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"timed out after {timeout:g} s waiting for the response"
    if isinstance(exc, requests.exceptions.SSLError):
        return f"TLS error: {_root_cause(exc)}"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return f"connection error: {_root_cause(exc)}"
    return f"{type(exc).__name__}: {exc}"


def _root_cause(exc: BaseException) -> str:
    seen = exc
    while True:
        inner = getattr(seen, "reason", None) or seen.__cause__ or seen.__context__
        if inner is None or inner is seen or not isinstance(inner, BaseException):
            break
        seen = inner
    text = str(seen)
    if isinstance(seen, NewConnectionError) and ": " in text:
        text = text.split(": ", 1)[1]
    return text or type(seen).__name__
