"""Waking the relay when work arrives, per backend: on PostgreSQL the database itself (a trigger on the outbox
NOTIFYs at commit, and workers LISTEN); on SQLite with Redis a PUBLISH after commit; on SQLite alone nothing, the
relay polls. Polling stays on everywhere as the safety net, so a lost wake-up only costs latency."""

import logging
import os
import threading
from collections.abc import Callable

from django.conf import settings
from django.db import connection, connections, transaction
from django_q.conf import Conf

logger = logging.getLogger(__name__)

PG_CHANNEL = "webhooks_app_wake"  # the outbox trigger (migrations 0004 and 0006) notifies this channel
EVENTS_ONLY = "events"  # the payload of a wake-up about recorded events alone; any other may mean deliveries too
RECONNECT_SECONDS = 1.0

_inline_runner: Callable[[], object] | None = None
_redis: tuple[int, object] | None = None


def set_inline_runner(runner: Callable[[], object]) -> None:
    """What a wake-up runs in this very process when the task queue is synchronous (django-q2's test mode)."""
    global _inline_runner
    _inline_runner = runner


def mode() -> str:
    """How workers are woken: "postgresql" (LISTEN/NOTIFY), "redis" (pub/sub) or "poll" (SQLite alone)."""
    if connection.vendor == "postgresql":
        return "postgresql"
    return "redis" if settings.REDIS_URL else "poll"


def redis_channel() -> str:
    return f"{settings.Q_CLUSTER['name']}:wake"


def _redis_client():
    global _redis
    if _redis is None or _redis[0] != os.getpid():
        import redis

        _redis = (os.getpid(), redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1))
    return _redis[1]


class _Wake:
    """One on-commit wake-up per transaction. It remembers having run: callbacks run early (captureOnCommitCallbacks
    in tests) stay listed while their transaction goes on, and must not silence the wake-ups of later work."""

    def __init__(self, explicit: bool) -> None:
        self.explicit = explicit
        self.done = False

    def __call__(self) -> None:
        self.done = True
        wake_now(explicit=self.explicit)


def after_commit(*, events_only: bool) -> None:
    """Wake the workers once the current transaction commits (at once outside one). `events_only`: the work is
    recorded events alone, which wake them on PostgreSQL by themselves (the outbox trigger, whose wake-up says
    just that), so that costs nothing here; anything else (new deliveries) needs a NOTIFY of its own."""
    explicit = not events_only
    needed = Conf.SYNC or mode() == "redis" or (explicit and mode() == "postgresql")
    if not needed:
        return
    if connection.in_atomic_block:
        scope = set(connection.savepoint_ids)  # one wake-up per transaction and savepoint level is enough
        if any(isinstance(func, _Wake) and not func.done and func.explicit >= explicit and sids == scope
               for sids, func, _robust in connection.run_on_commit):
            return
    transaction.on_commit(_Wake(explicit), robust=True)


def wake_now(*, explicit: bool = True) -> None:
    """Wake the workers now; `explicit=False` says only that events were recorded (PostgreSQL's trigger has said
    it already). A failure only logs: the committed rows are found by polling anyway."""
    if Conf.SYNC and _inline_runner is not None:
        _inline_runner()
        return
    current = mode()
    try:
        if current == "redis":
            _redis_client().publish(redis_channel(), b"1" if explicit else EVENTS_ONLY.encode())
        elif current == "postgresql" and explicit:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, '')", [PG_CHANNEL])
    except Exception as exc:  # any broker or database failure: the work is committed and will be polled
        logger.warning("Could not wake the workers (%s); they will pick the work up by polling.", exc)


class Listener(threading.Thread):
    """Calls `wake` whenever a wake-up arrives, with `everything=False` when it says only that events were
    recorded (the relay then has events to fan out, and no deliveries to look for). It reconnects after an outage
    (a Redis restart, a dropped database connection) and kicks once when it does, since wake-ups sent meanwhile
    were lost; `connected` tells the relay whether it may poll slowly."""

    def __init__(self, wake: Callable[..., None], stop: threading.Event) -> None:
        super().__init__(name="wake-listener", daemon=True)
        self.wake = wake
        self.stop = stop
        self.mode = mode()
        self.connected = False

    def run(self) -> None:
        outage_logged = False
        while not self.stop.is_set():
            try:
                if self.mode == "redis":
                    self._listen_redis()
                else:
                    self._listen_postgresql()
            except Exception as exc:  # the broker or database went away: poll meanwhile, then reconnect
                if not outage_logged:
                    logger.warning("Wake-ups unavailable (%s); the relay polls until they are back.", exc)
                    outage_logged = True
            finally:
                self.connected = False
            self.stop.wait(RECONNECT_SECONDS)

    def _subscribed(self) -> None:
        self.connected = True
        self.wake(everything=True)
        logger.info("Wake-ups: listening on %s.", self.mode)

    def _listen_redis(self) -> None:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=None,
                                      health_check_interval=5)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(redis_channel())
            self._subscribed()
            while not self.stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message is not None:
                    self.wake(everything=message["data"] != EVENTS_ONLY.encode())
        finally:
            pubsub.close()
            client.close()

    def _listen_postgresql(self) -> None:
        wrapper = connections.create_connection("default")
        try:
            wrapper.ensure_connection()
            raw = wrapper.connection
            raw.autocommit = True
            raw.execute(f"LISTEN {PG_CHANNEL}")
            self._subscribed()
            while not self.stop.is_set():
                for notice in raw.notifies(timeout=0.5):
                    self.wake(everything=notice.payload != EVENTS_ONLY)
                if raw.closed:
                    raise ConnectionError("the listening connection closed")
        finally:
            wrapper.close()
