"""Sending one signed POST: pooled keep-alive sessions, no redirects, a hard time limit, a capped response,
and the address guard enforced on the socket actually connected (so DNS rebinding cannot slip past it).
The sender never raises on an HTTP failure; it returns a SendResult and retry.py decides what happens next."""

import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

import requests
from django.utils import timezone
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util import Timeout

from webhooks_app import headers as credential_headers
from webhooks_app import retry
from webhooks_app.url_guard import is_public_address

READ_LIMIT = 64 * 1024
STORE_LIMIT = 4 * 1024
ERROR_BODY_CHARS = 200
KEPT_RESPONSE_HEADERS = ("content-type", "content-length", "location", "retry-after", "server", "date")


@dataclass
class SendResult:
    """What one attempt did: the answer or the transport error, timing, and what to keep for the log."""

    url: str
    started_at: datetime
    finished_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str = ""
    response_body: str = ""
    response_headers: dict = field(default_factory=dict)
    retry_after: float | None = None
    request_headers: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.error and self.status_code is not None and 200 <= self.status_code < 300


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


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, guarded: bool) -> SendResult:
    """POST `body` to `url`; any outcome, including a transport error, comes back as a SendResult."""
    started_at = timezone.now()
    clock = time.monotonic()
    deadline = clock + timeout
    result_headers = stored_headers(headers)

    def finish(**kwargs) -> SendResult:
        elapsed = time.monotonic() - clock
        return SendResult(url=url, started_at=started_at, finished_at=timezone.now(), duration_ms=int(elapsed * 1000),
                          request_headers=result_headers, **kwargs)

    try:
        response = session(guarded).post(url, data=body, headers=headers,
                                         timeout=Timeout(connect=timeout, read=timeout, total=timeout),
                                         allow_redirects=False, stream=True)
    except requests.exceptions.RequestException as exc:
        return finish(error=transport_error(exc, timeout))
    except UnicodeError as exc:  # a header that HTTP cannot carry (saved before validation): nothing was sent
        return finish(error=f"invalid request header: {exc}")
    try:
        chunks, size = [], 0
        for chunk in response.iter_content(8192):
            chunks.append(chunk)
            size += len(chunk)
            if size >= READ_LIMIT:
                break
            if time.monotonic() > deadline:
                raise requests.exceptions.ReadTimeout()
        content = b"".join(chunks)[:READ_LIMIT]
    except requests.exceptions.RequestException as exc:
        response.close()
        return finish(status_code=response.status_code, error=transport_error(exc, timeout))
    response.close()

    text = content[:STORE_LIMIT].decode("utf-8", errors="replace")
    kept = {k: v for k, v in response.headers.items() if k.lower() in KEPT_RESPONSE_HEADERS}
    code = response.status_code
    error = ""
    if 300 <= code < 400:
        location = response.headers.get("Location", "")
        error = f"HTTP {code}: redirect to {location or '(no Location)'} not followed"
    elif not 200 <= code < 300:
        snippet = " ".join(text[:ERROR_BODY_CHARS].split())
        error = f"HTTP {code}" + (f": {snippet}" if snippet else "")
    retry_after = None
    if code in retry.RETRY_AFTER_STATUSES:
        retry_after = retry.parse_retry_after(response.headers.get("Retry-After"), timezone.now())
    return finish(status_code=code, error=error, response_body=text, response_headers=kept,
                  retry_after=retry_after)
