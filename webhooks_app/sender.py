"""The relay's sender: signed POSTs on one asyncio loop (aiohttp) in a thread of its own, so hundreds of attempts
run at once and a slow subscriber only holds its own connections. It keeps what the sender always promised: the
address guard on the socket actually connected (so DNS rebinding cannot slip past it), no redirects, a 64 KB read
cap, a hard time limit per attempt, keep-alive connections reused per host, and no environment proxy. How many
attempts run at once, in all and per webhook, is the relay's to decide (so that two webhooks on one host never
wait for each other's connections). It never raises on an HTTP failure: every outcome is an `Attempt`."""

import asyncio
import atexit
import concurrent.futures
import contextvars
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
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

REFUSED = "not a public address (set WEBHOOK_ALLOW_PRIVATE_TARGETS=true to allow it)"

_connected: contextvars.ContextVar[list | None] = contextvars.ContextVar("sender_connected", default=None)


class _Connector(aiohttp.TCPConnector):
    """A keep-alive pool that notes when a request got its connection (to word timeouts), and, when guarded,
    refuses a socket whose peer is not a public address, whatever the name resolved to earlier."""

    def __init__(self, *, guarded: bool) -> None:
        super().__init__(limit=0, limit_per_host=0, keepalive_timeout=30, ttl_dns_cache=10)
        self.guarded = guarded

    async def connect(self, req, traces, timeout):
        connection = await super().connect(req, traces, timeout)
        mark = _connected.get()
        if mark is not None:
            mark.append(True)
        return connection

    # aiohttp's hook where a new socket is connected (a private method, as urllib3's `_new_conn` was): the only
    # place that sees the peer address of every new connection, whatever the name resolved to.
    async def _wrap_create_connection(self, *args, req, **kwargs):
        transport, protocol = await super()._wrap_create_connection(*args, req=req, **kwargs)
        if self.guarded:
            peer = transport.get_extra_info("peername")
            address = peer[0] if peer else None
            if address is None or not is_public_address(address):
                transport.close()
                raise aiohttp.ClientConnectorError(
                    req.connection_key, OSError(f"refused to connect to {address or req.host}: {REFUSED}"))
        return transport, protocol


@dataclass(frozen=True)
class Post:
    """One signed POST to make: where, what, with which headers, within how long, and whether guarded."""

    url: str
    body: bytes
    headers: dict
    timeout: float
    guarded: bool


class Sender:
    """One event loop thread and two connection pools (guarded and not) per process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._sessions: dict[bool, aiohttp.ClientSession] = {}
        self._tasks: set[asyncio.Task] = set()  # kept referenced until done
        self._thread = threading.Thread(target=self.loop.run_forever, name="webhook-sender", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def close(self) -> None:
        """Close the connection pools and stop the loop (at exit), so no connection is left half-open."""
        if not self.loop.is_running():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._close_sessions(), self.loop).result(timeout=2)
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _close_sessions(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()

    def submit_many(self, posts: list[Post], callbacks: list[Callable[[Attempt], None]]) -> None:
        """Start a batch of POSTs with one hand-over to the loop; each callback gets its Attempt, in the loop's
        thread, as soon as that attempt ends."""
        self.loop.call_soon_threadsafe(self.start_many, posts, callbacks)

    def start_many(self, posts: list[Post], callbacks: list[Callable[[Attempt], None]]) -> None:
        """submit_many, called in the loop's own thread."""
        for post, callback in zip(posts, callbacks, strict=True):
            task = self.loop.create_task(self._post(post))
            self._tasks.add(task)
            task.add_done_callback(lambda done, callback=callback: self._report(done, callback))

    def _report(self, task: asyncio.Task, callback: Callable[[Attempt], None]) -> None:
        self._tasks.discard(task)
        try:
            result = task.result()
        except Exception as exc:  # a defect here must not leave the delivery in flight forever: it is retried
            now = timezone.now()
            result = Attempt(url="", started_at=now, finished_at=now, duration_ms=0, error=f"internal error: {exc}")
        callback(result)

    async def _post(self, post: Post) -> Attempt:
        return await self.post(post.url, post.body, post.headers, timeout=post.timeout, guarded=post.guarded)

    def _session(self, guarded: bool) -> aiohttp.ClientSession:
        if guarded not in self._sessions:
            self._sessions[guarded] = aiohttp.ClientSession(
                connector=_Connector(guarded=guarded), auto_decompress=False, trust_env=False,
                skip_auto_headers=("Accept-Encoding", "Accept"), cookie_jar=aiohttp.DummyCookieJar())
        return self._sessions[guarded]

    async def post(self, url: str, body: bytes, headers: dict[str, str], *, timeout: float,
                   guarded: bool) -> Attempt:
        """POST `body` to `url`; any outcome, including a transport error, comes back as an Attempt."""
        started_at = timezone.now()
        clock = time.monotonic()
        kept_headers = stored_headers(headers)

        def finish(**kwargs) -> Attempt:
            return Attempt(url=url, started_at=started_at, finished_at=timezone.now(),
                           duration_ms=int((time.monotonic() - clock) * 1000), request_headers=kept_headers,
                           **kwargs)

        problem = _unsendable(headers)
        if problem:
            return finish(error=f"invalid request header: {problem}")
        connected: list = []
        token = _connected.set(connected)
        status = None
        try:
            async with asyncio.timeout(timeout):
                async with self._session(guarded).post(url, data=body, headers=headers, allow_redirects=False,
                                                       timeout=aiohttp.ClientTimeout(total=None)) as response:
                    status = response.status
                    content = await _read_capped(response)
        except TimeoutError:
            where = "waiting for the response" if connected else "while connecting"
            return finish(status_code=status, error=f"timed out after {timeout:g} s {where}")
        except (aiohttp.ClientSSLError, aiohttp.ClientConnectorCertificateError) as exc:
            return finish(error=f"TLS error: {exc}")
        except aiohttp.ClientConnectorError as exc:
            return finish(error=f"connection error: {_os_error_text(exc.os_error)}")
        except (aiohttp.ClientError, OSError) as exc:
            return finish(status_code=status, error=f"connection error: {exc or type(exc).__name__}")
        except (ValueError, UnicodeError) as exc:  # a URL or header aiohttp refuses: nothing was sent
            return finish(error=f"invalid request: {exc}")
        finally:
            _connected.reset(token)
        return _judged(finish, response, content)


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    """At most READ_LIMIT bytes of the body; a longer body's connection is closed instead of drained."""
    chunks, size = [], 0
    while size < READ_LIMIT:
        chunk = await response.content.read(READ_LIMIT - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size >= READ_LIMIT and not response.content.at_eof():
        response.close()
    return b"".join(chunks)


def _judged(finish, response: aiohttp.ClientResponse, content: bytes) -> Attempt:
    text = content[:STORE_LIMIT].decode("utf-8", errors="replace")
    kept = {k: v for k, v in response.headers.items() if k.lower() in KEPT_RESPONSE_HEADERS}
    code = response.status
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
    return finish(status_code=code, error=error, response_body=text, response_headers=kept, retry_after=retry_after)


def _os_error_text(error: OSError) -> str:
    """"[Errno 111] Connection refused" rather than asyncio's "Connect call failed (address)"."""
    if error.errno:
        return f"[Errno {error.errno}] {os.strerror(error.errno)}"
    return str(error) or type(error).__name__


def _unsendable(headers: dict[str, str]) -> str:
    """Why a header cannot go on the wire (HTTP/1.1 carries Latin-1 without line breaks), or ""."""
    for name, value in headers.items():
        try:
            value.encode("latin-1")
        except UnicodeEncodeError as exc:
            return f"{name}: {exc}"
        if "\r" in value or "\n" in value:
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
