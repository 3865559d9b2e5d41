"""The relay's sender: signed POSTs through libcurl's multi interface (pycurl), driven by one asyncio loop in a thread
of its own, so hundreds of attempts run at once and a slow subscriber only holds its own connections. It keeps what
the sender always promised: the address guard on the socket actually connected (libcurl asks us for each socket,
with the address it will connect it to, so DNS rebinding cannot slip past it), no redirects, a 64 KB read cap, a
hard time limit per attempt, keep-alive connections reused per host, and no environment proxy. How many attempts run
at once, in all and per webhook, is the relay's to decide (so that two webhooks on one host never wait for each
other's connections). It never raises on an HTTP failure: every outcome is an `Attempt`.

libcurl does the HTTP in C: an attempt costs this process about a sixth of the CPU it cost on aiohttp (README,
Design), and the relay's throughput is bound by CPU."""

import asyncio
import atexit
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import pycurl
from django.utils import timezone

from webhooks_app import retry
from webhooks_app.results import Attempt
from webhooks_app.sending import (
    ERROR_BODY_CHARS,
    KEPT_RESPONSE_HEADERS,
    READ_LIMIT,
    STORE_LIMIT,
    stored_headers,
)
from webhooks_app.url_guard import is_public_address

logger = logging.getLogger(__name__)

REFUSED = "not a public address (set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow it)"
KEEPALIVE_SECONDS = 30  # an idle kept-alive connection is closed after this long
_QUIET = [b"Expect:", b"Accept:", b"User-Agent:"]
KEPT_CONNECTIONS = 512  # per pool: room for every attempt the relay runs at once (CAPACITY) to keep its connection

# libcurl's error codes, as the attempt log words them.
_TIMED_OUT = pycurl.E_OPERATION_TIMEDOUT
_WRITE_STOPPED = pycurl.E_WRITE_ERROR  # our write callback stopped the transfer: the read cap
_NOT_SENT = {pycurl.E_UNSUPPORTED_PROTOCOL, pycurl.E_URL_MALFORMAT}
_TLS = {pycurl.E_SSL_CONNECT_ERROR, pycurl.E_PEER_FAILED_VERIFICATION, pycurl.E_SSL_CERTPROBLEM,
        pycurl.E_SSL_CIPHER, pycurl.E_SSL_CACERT_BADFILE, pycurl.E_SSL_ENGINE_NOTFOUND,
        pycurl.E_SSL_ENGINE_SETFAILED, pycurl.E_SSL_SHUTDOWN_FAILED, pycurl.E_SSL_CRL_BADFILE,
        pycurl.E_SSL_ISSUER_ERROR, pycurl.E_USE_SSL_FAILED}
for _name in ("E_SSL_PINNEDPUBKEYNOTMATCH", "E_SSL_INVALIDCERTSTATUS", "E_SSL_CACERT"):
    if hasattr(pycurl, _name):  # named in newer libcurl releases than some of the above
        _TLS.add(getattr(pycurl, _name))


@dataclass(frozen=True)
class Post:
    """One signed POST to make: where, what, with which headers, within how long, and whether guarded."""

    url: str
    body: bytes
    headers: dict
    timeout: float
    guarded: bool


class _Answer:
    """What one easy handle collects of its current attempt: the headers (those of the last response, after any 1xx),
    at most READ_LIMIT bytes of body, and why the guard refused a socket (a guarded pool's handles only). Kept with
    its handle and reset for each attempt, so libcurl's callbacks are set once per handle."""

    __slots__ = ("capped", "chunks", "headers", "refused", "size")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.headers: list[tuple[str, str]] = []
        self.chunks: list[bytes] = []
        self.size = 0
        self.capped = False
        self.refused = ""

    def header(self, line: bytes) -> None:
        if line.startswith(b"HTTP/"):  # a new response (after a 100 Continue, say): its headers start afresh
            self.headers = []
            return
        name, colon, value = line.partition(b":")
        if colon:
            self.headers.append((name.decode("latin-1").strip(), value.decode("latin-1").strip()))

    def write(self, data: bytes) -> int | None:
        room = READ_LIMIT - self.size
        if len(data) <= room:
            self.chunks.append(data)
            self.size += len(data)
            return None
        self.chunks.append(data[:room])  # a longer body's connection is closed instead of drained:
        self.size = READ_LIMIT
        self.capped = True
        return 0  # libcurl stops the transfer (E_WRITE_ERROR) and closes the connection

    def open_socket(self, _purpose, address) -> socket.socket | int:
        """libcurl's socket(): the address is the one this very socket is then connected to."""
        peer = address.addr[0] if isinstance(address.addr, tuple) else None
        if peer is None or not is_public_address(peer):
            self.refused = f"refused to connect to {peer or 'a non-IP address'}: {REFUSED}"
            return pycurl.SOCKET_BAD
        return socket.socket(address.family, address.socktype, address.protocol)


class _Pool:
    """One libcurl multi handle (its own cache of keep-alive connections; the guarded and the unguarded never share
    one) on the sender's loop: libcurl says which sockets to watch and when to call it back, the loop does it."""

    def __init__(self, loop: asyncio.AbstractEventLoop, guarded: bool) -> None:
        self.loop = loop
        self.guarded = guarded
        self.multi = pycurl.CurlMulti()
        self.multi.setopt(pycurl.M_SOCKETFUNCTION, self._watch)
        self.multi.setopt(pycurl.M_TIMERFUNCTION, self._schedule)
        self.multi.setopt(pycurl.M_MAXCONNECTS, KEPT_CONNECTIONS)
        self.timer: asyncio.TimerHandle | None = None
        self.spare: list[pycurl.Curl] = []
        self.running: dict[pycurl.Curl, tuple[Post, Callable[[Attempt], None], object, float]] = {}

    def _handle(self) -> pycurl.Curl:
        if self.spare:
            return self.spare.pop()
        handle = pycurl.Curl()
        answer = handle.answer = _Answer()
        handle.setopt(pycurl.WRITEFUNCTION, answer.write)
        handle.setopt(pycurl.HEADERFUNCTION, answer.header)
        if self.guarded:
            handle.setopt(pycurl.OPENSOCKETFUNCTION, answer.open_socket)
        handle.setopt(pycurl.PROXY, "")  # no proxy, whatever the environment says: it would bypass the guard
        handle.setopt(pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS)
        handle.setopt(pycurl.FOLLOWLOCATION, 0)
        handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)  # one attempt per connection at a time
        handle.setopt(pycurl.NOSIGNAL, 1)
        handle.setopt(pycurl.MAXAGE_CONN, KEEPALIVE_SECONDS)
        return handle

    def start(self, post: Post, callback: Callable[[Attempt], None]) -> None:
        started_at, clock = timezone.now(), time.monotonic()
        problem = _unsendable(post.headers)
        if problem:
            callback(_finished(post, started_at, clock, error=f"invalid request header: {problem}"))
            return
        try:
            url = _wire_url(post.url)
        except (ValueError, UnicodeError) as exc:
            callback(_finished(post, started_at, clock, error=f"invalid request: {exc}"))
            return
        # A header with no value is one libcurl does not send of its own: Expect (it would wait for a 100 Continue
        # on a body over 1 KB), Accept (*/*), and User-Agent (pycurl's) unless the POST names its own.
        lines = [f"{name}: {value}".encode("latin-1") for name, value in post.headers.items()]
        lines += _QUIET if not any(name.lower() == "user-agent" for name in post.headers) else _QUIET[:2]
        handle = self._handle()
        handle.setopt(pycurl.URL, url)
        handle.setopt(pycurl.POSTFIELDS, post.body)
        handle.setopt(pycurl.HTTPHEADER, lines)
        handle.setopt(pycurl.TIMEOUT_MS, max(1, round(post.timeout * 1000)))
        self.running[handle] = (post, callback, started_at, clock)
        self.multi.add_handle(handle)

    def _watch(self, what: int, fd: int, _multi, _data) -> None:
        """libcurl's socket callback: watch `fd` for what it waits for (never call libcurl back from here)."""
        if what in (pycurl.POLL_IN, pycurl.POLL_INOUT):
            self.loop.add_reader(fd, self._act, fd, pycurl.CSELECT_IN)
        else:
            self.loop.remove_reader(fd)
        if what in (pycurl.POLL_OUT, pycurl.POLL_INOUT):
            self.loop.add_writer(fd, self._act, fd, pycurl.CSELECT_OUT)
        else:
            self.loop.remove_writer(fd)

    def _schedule(self, milliseconds: int) -> None:
        """libcurl's timer callback: call it back after `milliseconds` (-1: no timer)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if milliseconds >= 0:
            self.timer = self.loop.call_later(milliseconds / 1000, self._timed_out)

    def _timed_out(self) -> None:
        self.timer = None
        self._act(pycurl.SOCKET_TIMEOUT, 0)

    def _act(self, fd: int, flags: int) -> None:
        self.multi.socket_action(fd, flags)
        while True:
            queued, succeeded, failed = self.multi.info_read()
            for handle in succeeded:
                self._end(handle, 0, "")
            for handle, code, message in failed:
                self._end(handle, code, message)
            if not queued:
                return

    def _end(self, handle: pycurl.Curl, code: int, message: str) -> None:
        post, callback, started_at, clock = self.running.pop(handle)
        answer = handle.answer
        try:
            attempt = _attempt(post, started_at, clock, handle, answer, code, message)
        except Exception as exc:  # a defect here must not leave the delivery in flight forever: it is retried
            logger.exception("Could not read the answer to a POST to %s.", post.url)
            attempt = _finished(post, started_at, clock, error=f"internal error: {exc}")
        self.multi.remove_handle(handle)
        answer.reset()
        self.spare.append(handle)
        callback(attempt)

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        for handle in list(self.running):
            self.multi.remove_handle(handle)
            handle.close()
        for handle in self.spare:
            handle.close()
        self.running, self.spare = {}, []
        self.multi.close()


def _attempt(post: Post, started_at, clock: float, handle: pycurl.Curl, answer: _Answer, code: int,
             message: str) -> Attempt:
    """The Attempt a finished transfer makes: an answer (also one cut at the read cap), or the error's wording."""
    status = handle.getinfo(pycurl.RESPONSE_CODE) or None
    if code == 0 or code == _WRITE_STOPPED and answer.capped:
        return _judged(post, started_at, clock, status or 0, answer)
    if code == _TIMED_OUT:
        where = "waiting for the response" if handle.getinfo(pycurl.REQUEST_SIZE) else "while connecting"
        return _finished(post, started_at, clock, status_code=status,
                         error=f"timed out after {post.timeout:g} s {where}")
    if code == pycurl.E_COULDNT_CONNECT and answer.refused:
        return _finished(post, started_at, clock, error=f"connection error: {answer.refused}")
    if code in _TLS:
        return _finished(post, started_at, clock, error=f"TLS error: {message}")
    if code in _NOT_SENT:
        return _finished(post, started_at, clock, error=f"invalid request: {message}")
    errno = handle.getinfo(pycurl.OS_ERRNO) if code == pycurl.E_COULDNT_CONNECT else 0
    reason = f"[Errno {errno}] {os.strerror(errno)}" if errno else message or f"libcurl error {code}"
    return _finished(post, started_at, clock, status_code=status, error=f"connection error: {reason}")


def _finished(post: Post, started_at, clock: float, **kwargs) -> Attempt:
    return Attempt(url=post.url, started_at=started_at, finished_at=timezone.now(),
                   duration_ms=int((time.monotonic() - clock) * 1000), request_headers=stored_headers(post.headers),
                   **kwargs)


def _judged(post: Post, started_at, clock: float, code: int, answer: _Answer) -> Attempt:
    text = b"".join(answer.chunks)[:STORE_LIMIT].decode("utf-8", errors="replace")
    kept = {name: value for name, value in answer.headers if name.lower() in KEPT_RESPONSE_HEADERS}
    found = {name.lower(): value for name, value in answer.headers}
    error = ""
    if 300 <= code < 400:
        location = found.get("location", "")
        error = f"HTTP {code}: redirect to {location or '(no Location)'} not followed"
    elif not 200 <= code < 300:
        snippet = " ".join(text[:ERROR_BODY_CHARS].split())
        error = f"HTTP {code}" + (f": {snippet}" if snippet else "")
    retry_after = None
    if code in retry.RETRY_AFTER_STATUSES:
        retry_after = retry.parse_retry_after(found.get("retry-after"), timezone.now())
    return _finished(post, started_at, clock, status_code=code, error=error, response_body=text,
                     response_headers=kept, retry_after=retry_after)


def _wire_url(url: str) -> str:
    """The URL as it goes on the wire: an international host name in IDNA, other characters outside ASCII
    percent-encoded as UTF-8 (libcurl takes ASCII only)."""
    if url.isascii():
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host.encode("idna").decode("ascii")
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    if parts.username is not None:
        userinfo = quote(parts.username, safe="%!$&'()*+,;=")
        if parts.password is not None:
            userinfo += ":" + quote(parts.password, safe="%!$&'()*+,;=")
        netloc = f"{userinfo}@{netloc}"
    safe = "%/:@!$&'()*+,;=?~[]"
    return urlunsplit((parts.scheme, netloc, quote(parts.path, safe=safe), quote(parts.query, safe=safe),
                       quote(parts.fragment, safe=safe)))


class Sender:
    """One event loop thread and two connection pools (guarded and not) per process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._pools: dict[bool, _Pool] = {}
        self._thread = threading.Thread(target=self.loop.run_forever, name="webhook-sender", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def close(self) -> None:
        """Close the connection pools and stop the loop (at exit), so no connection is left half-open."""
        if not self.loop.is_running():
            return
        done = threading.Event()

        def close_pools() -> None:
            pools, self._pools = list(self._pools.values()), {}
            for pool in pools:
                pool.close()
            done.set()

        self.loop.call_soon_threadsafe(close_pools)
        done.wait(2)
        self.loop.call_soon_threadsafe(self.loop.stop)

    def submit_many(self, posts: list[Post], callbacks: list[Callable[[Attempt], None]]) -> None:
        """Start a batch of POSTs with one hand-over to the loop; each callback gets its Attempt, in the loop's
        thread, as soon as that attempt ends."""
        self.loop.call_soon_threadsafe(self.start_many, posts, callbacks)

    def start_many(self, posts: list[Post], callbacks: list[Callable[[Attempt], None]]) -> None:
        """submit_many, called in the loop's own thread."""
        for post, callback in zip(posts, callbacks, strict=True):
            try:
                self._pool(post.guarded).start(post, callback)
            except Exception as exc:  # a defect here must not leave the delivery in flight forever: it is retried
                logger.exception("Could not start a POST to %s.", post.url)
                now = timezone.now()
                callback(Attempt(url=post.url, started_at=now, finished_at=now, duration_ms=0,
                                 error=f"internal error: {exc}"))

    def _pool(self, guarded: bool) -> _Pool:
        if guarded not in self._pools:
            self._pools[guarded] = _Pool(self.loop, guarded)
        return self._pools[guarded]


def _unsendable(headers: dict[str, str]) -> str:
    """Why a header cannot go on the wire (HTTP/1.1 carries Latin-1 without line breaks), or ""."""
    for name, value in headers.items():
        try:
            name.encode("latin-1")
            value.encode("latin-1")
        except UnicodeEncodeError as exc:
            return f"{name}: {exc}"
        if "\r" in f"{name}{value}" or "\n" in f"{name}{value}":
            return f"{name}: line breaks are not allowed"
    return ""


_sender: tuple[int, Sender] | None = None
_lock = threading.Lock()


def get() -> Sender:
    """This process's sender (a forked process starts its own loop), or the one `use()` installed."""
    global _sender
    with _lock:
        if _sender is None or _sender[0] != os.getpid():
            _sender = (os.getpid(), Sender())
        return _sender[1]


def use(instance) -> None:
    """Make `instance` (anything with `submit_many`, such as a SenderProcess) this process's sender."""
    global _sender
    with _lock:
        _sender = (os.getpid(), instance)
