"""The hook runner: function subscribers run in a few long-lived child processes, forked from the relay's process
once Django is set up (so they hold the same registry and find each function by its name), never in the relay's
sending loop. Each attempt is bounded by HOOK_TIMEOUT: a child that overruns is killed and replaced, so a stuck
hook costs one child for that long, and delays neither webhooks nor other hooks."""

import concurrent.futures
import json
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback

from django.db import close_old_connections, connections
from django.utils import timezone

from webhooks_app import functions, pipes
from webhooks_app.results import Attempt
from webhooks_app.sending import STORE_LIMIT

logger = logging.getLogger(__name__)

# Hook attempts at once per worker, in children forked as they are needed. Each stuck attempt holds a child until
# HOOK_TIMEOUT, and the relay gives one hook at most PER_HOOK of them: the others keep the rest.
DEFAULT_SIZE = 16
_inherited: list = []  # a child keeps its parent's connection objects alive and unused, never closing them


def _child_main(conn) -> None:
    """A child's loop: receive (name, body), call the function, answer ("ok"|"error"|"missing", error, trace)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for wrapper in connections.all(initialized_only=True):
        _inherited.append(wrapper.connection)
        wrapper.connection = None  # the parent's socket: this process opens its own when a hook needs one
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        name, body = request
        subscriber = functions.get(name)
        if subscriber is None:
            conn.send(("missing", f"the hook {name} is not registered in the hook runner", ""))
            continue
        try:
            subscriber.func(json.loads(body))
        except BaseException as exc:  # the hook author's error, whatever it is, is the attempt's outcome
            trace = traceback.format_exc()
            conn.send(("error", f"{type(exc).__name__}: {exc}", trace[-STORE_LIMIT:]))
        else:
            conn.send(("ok", "", ""))
        finally:
            close_old_connections()


class _Child:
    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self.conn, child_end = context.Pipe()
        pipes.parents_end(self.conn)  # the child ends with its worker (pipes.py)
        self.generation = functions.generation()
        self.process = context.Process(target=_child_main, args=(child_end,), name="hook-runner", daemon=True)
        self.process.start()
        child_end.close()

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class HookRunner:
    """`size` children, each driven by one thread of a small pool; `submit` returns a future of the Attempt."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        # Last in, first out: a child that just finished is taken again before a slot without one (None), so
        # children are forked only when that many runs are in flight at once.
        self._idle: queue.LifoQueue[_Child | None] = queue.LifoQueue()
        for _ in range(size):
            self._idle.put(None)  # started on first use
        self._threads = concurrent.futures.ThreadPoolExecutor(size, thread_name_prefix="hook-runner")
        self._children: set[_Child] = set()
        self._lock = threading.Lock()

    def submit(self, name: str, body: bytes, *, timeout: float) -> concurrent.futures.Future:
        return self._threads.submit(self.run, name, body, timeout)

    def run(self, name: str, body: bytes, timeout: float) -> Attempt:
        """Call the hook in a child and wait at most `timeout` seconds for it."""
        started_at, clock = timezone.now(), time.monotonic()

        def finish(error: str = "", trace: str = "") -> Attempt:
            return Attempt(url=f"hook:{name}", started_at=started_at, finished_at=timezone.now(),
                           duration_ms=int((time.monotonic() - clock) * 1000), error=error, response_body=trace)

        child = self._take()
        try:
            child.conn.send((name, body))
            if child.conn.poll(timeout):
                kind, error, trace = child.conn.recv()
                return finish(error, trace)
            logger.warning("Hook %s overran HOOK_TIMEOUT (%g s); its process is killed and replaced.", name, timeout)
            self._retire(child)
            child = None
            return finish(f"timed out after {timeout:g} s (the hook's process was stopped)")
        except (EOFError, OSError, BrokenPipeError):
            code = child.process.exitcode if child else None
            self._retire(child)
            child = None
            return finish(f"the hook's process died (exit code {code})")
        finally:
            self._idle.put(child)

    def _take(self) -> _Child:
        child = self._idle.get()
        if child is not None and (child.generation != functions.generation() or not child.process.is_alive()):
            self._retire(child)  # the registry changed since it was forked, or it died: fork a fresh one
            child = None
        if child is None:
            child = _Child()
            with self._lock:
                self._children.add(child)
        return child

    def _retire(self, child: _Child | None) -> None:
        if child is None:
            return
        child.stop()
        with self._lock:
            self._children.discard(child)

    def close(self) -> None:
        """Stop every child (the relay is stopping)."""
        with self._lock:
            children, self._children = list(self._children), set()
        for child in children:
            child.stop()
        self._threads.shutdown(wait=False, cancel_futures=True)


_runner: tuple[int, HookRunner] | None = None
_runner_lock = threading.Lock()


def get() -> HookRunner:
    """This process's hook runner."""
    global _runner
    with _runner_lock:
        if _runner is None or _runner[0] != os.getpid():
            _runner = (os.getpid(), HookRunner())
        return _runner[1]


def close() -> None:
    """Stop this process's hook runner and its children (the next `get()` starts a new one)."""
    global _runner
    with _runner_lock:
        runner, _runner = _runner, None
    if runner is not None and runner[0] == os.getpid():
        runner[1].close()
