"""The sender in a process of its own, for `runworker`: the relay's database work and the HTTP event loop then run
on two CPUs instead of sharing one interpreter lock. Batches of POSTs go to the child over a pipe, and batches of
Attempts come back; the child runs the very same Sender, so every guarantee of the sender holds."""

import logging
import multiprocessing
import os
import signal
import socket
import threading
from collections.abc import Callable

from django.utils import timezone

from webhooks_app import pipes
from webhooks_app.results import Attempt
from webhooks_app.sender import Post, Sender

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.001  # the child sends finished attempts back at most this long after the first of a batch


def _serve(conn) -> None:
    """The child: read batches of (id, Post), start them, and send back batches of (id, Attempt); it ends when the
    pipe does, that is when its worker is gone, however it went (pipes.py). The loop itself reads the pipe, so a
    batch starts without a hand-over between two threads."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sender = Sender()
    finished: list = []
    ended = threading.Event()

    def flush() -> None:
        batch = finished[:]
        finished.clear()
        if batch:
            conn.send(batch)

    def reporter(number: int) -> Callable[[Attempt], None]:
        def report(attempt: Attempt) -> None:  # in the loop's thread, like flush
            if not finished:
                sender.loop.call_later(FLUSH_SECONDS, flush)
            finished.append((number, attempt))

        return report

    def receive() -> None:  # in the loop's thread, whenever the pipe is readable
        try:
            batch = conn.recv()
        except Exception as exc:  # the pipe ended (EOFError, OSError) or broke: this child ends, as before
            if not isinstance(exc, EOFError | OSError):
                logger.exception("The sender process could not read its work; it stops.")
            sender.loop.remove_reader(conn.fileno())
            ended.set()
            return
        sender.start_many([post for _number, post in batch], [reporter(number) for number, _post in batch])

    sender.loop.call_soon_threadsafe(sender.loop.add_reader, conn.fileno(), receive)
    ended.wait()


class SenderProcess:
    """The Sender's interface (`submit_many`), served by a child process forked now: start it before any other
    thread, so the fork copies no lock held by one."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        pipes.parents_end(self._conn)
        self._process = context.Process(target=_serve, args=(child,), name="webhook-sender", daemon=True)
        self._process.start()
        child.close()
        self._callbacks: dict[int, Callable[[Attempt], None]] = {}
        self._numbers = 0
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="webhook-sender-results", daemon=True)
        self._reader.start()

    def submit_many(self, posts: list[Post], callbacks: list[Callable[[Attempt], None]]) -> None:
        """Start a batch of POSTs in the child; each callback gets its Attempt (in this process's reader thread)."""
        with self._lock:
            batch = []
            for post, callback in zip(posts, callbacks, strict=True):
                self._numbers += 1
                self._callbacks[self._numbers] = callback
                batch.append((self._numbers, post))
            self._conn.send(batch)

    def _read(self) -> None:
        while True:
            try:
                batch = self._conn.recv()
            except (EOFError, OSError):
                break
            for number, attempt in batch:
                with self._lock:
                    callback = self._callbacks.pop(number)
                callback(attempt)
        self._fail_pending("the sender process stopped")

    def _fail_pending(self, reason: str) -> None:
        """Attempts the child never reported count as failed (their deliveries are retried), never as lost."""
        with self._lock:
            pending, self._callbacks = self._callbacks, {}
        now = timezone.now()
        for callback in pending.values():
            callback(Attempt(url="", started_at=now, finished_at=now, duration_ms=0, error=f"internal error: {reason}"))

    def close(self) -> None:
        """Stop the child (the worker is stopping): it reads the end of its pipe and exits. The pipe is shut down
        before it is closed: while this process's reader thread is blocked reading it, a plain close() leaves the
        socket open until that read returns, so the child never saw the end, and was killed after 5 s (every
        worker's Ctrl-C took that long)."""
        try:
            with socket.socket(fileno=os.dup(self._conn.fileno())) as end:
                end.shutdown(socket.SHUT_RDWR)  # the socket itself, whoever else holds it: the child reads EOF
        except OSError:
            pass  # already closed, or the child is gone
        self._conn.close()
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)
