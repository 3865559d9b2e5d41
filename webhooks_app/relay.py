"""The outbox relay: fan recorded events out, claim due deliveries under a lease, start their attempts (HTTP on the
sender's event loop, function subscribers in the hook runner) and record each outcome as soon as it is in, while
the other attempts run. A slow subscriber only holds its own attempts: every finished attempt frees its slot at
once, and new work is claimed while slow attempts run. The Delivery row and its lease carry the "never lost"
guarantee: a claim that is never settled (a killed worker) becomes due again when it expires."""

import concurrent.futures
import logging
import operator
import os
import queue
import re
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from webhooks_app import (
    catalog,
    channels,
    events,
    fanout,
    functions,
    hook_runner,
    leases,
    retry,
    rows,
    sender,
    signing,
    wakeups,
)
from webhooks_app.channels import Call, Outcome
from webhooks_app.models import Delivery, DeliveryAttempt, Event
from webhooks_app.results import Attempt, Cancelled, Released, Result
from webhooks_app.sender import Post

logger = logging.getLogger(__name__)

BATCH_SIZE = 128
CAPACITY = 256  # HTTP attempts in flight per worker
PER_WEBHOOK = 64  # attempts in flight per webhook: a hung subscriber holds at most this many of the CAPACITY slots
PER_HOOK = 4  # runs in flight per code hook: a stuck one holds at most this many of the hook runner's children
CLAIM_MIN = 32  # when busy, claim only once this many slots are free (fewer, larger claims)
REFILL_AT = PER_WEBHOOK // 2  # a busy webhook that answers is claimed for again once this few of its wait parked
IDLE_POLL_SECONDS = 0.25  # with wake-ups (LISTEN/NOTIFY, Redis), polling is only the safety net
FAST_POLL_SECONDS = 0.025  # without them (SQLite alone, or a broker outage), polling is the wake-up
LEASE_MARGIN_SECONDS = 2.0
MAX_DATABASE_ERRORS = 20
SETTLE_BATCH = 256
SETTLE_DELAY_SECONDS = 0.05
SETTLED_FIELDS = ["status", "attempt_count", "next_attempt_at", "lease_token", "lease_expires_at",
                  "last_status_code", "last_error", "completed_at"]


def _due(now, hooks: bool | None = None):
    """Pending, due, and not leased (or its lease ran out); `hooks` narrows to the hook channel or the others."""
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    if hooks is True:  # read through `delivery_channel_due`
        return Q(channel="hook", status=Delivery.Status.PENDING, next_attempt_at__lte=now) & free
    due = Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) & free
    return due & ~Q(channel="hook") if hooks is False else due


def _attempt_limit(hooks: bool) -> float:
    return settings.HOOK_TIMEOUT if hooks else settings.WEBHOOK_TIMEOUT


def lease_seconds(hooks: bool = False) -> float:
    """A hook's lease keeps the same room beyond its timeout as a webhook's lease has beyond WEBHOOK_TIMEOUT."""
    if not hooks:
        return settings.WEBHOOK_LEASE_SECONDS
    return settings.HOOK_TIMEOUT + settings.WEBHOOK_LEASE_SECONDS - settings.WEBHOOK_TIMEOUT


def claim(limit: int = BATCH_SIZE, *, only: list[str] | None = None, hooks: bool | None = None,
          skip_webhooks: list[str] = (), skip_hooks: list[str] = ()) -> tuple[list[Delivery], float]:
    """Lease up to `limit` due deliveries for this worker; returns them and the monotonic lease deadline.
    `hooks` narrows the claim to the hook channel (True) or to the others (False).

    One UPDATE (leases.take, or on PostgreSQL leases.taking inside the statement that also reads the claimed rows):
    PostgreSQL skips rows other workers hold (FOR UPDATE SKIP LOCKED) and re-checks the due condition on those it
    locks; SQLite runs it alone. Either way no delivery is claimed twice.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    lease = lease_seconds(bool(hooks))
    deadline = time.monotonic() + lease
    candidates = Delivery.objects.filter(_due(now, hooks))
    if only is not None:
        candidates = candidates.filter(pk__in=only)
    if skip_webhooks:
        candidates = candidates.exclude(webhook_id__in=list(skip_webhooks))
    if skip_hooks:
        candidates = candidates.exclude(hook__in=list(skip_hooks))
    expires = now + timedelta(seconds=lease)
    # next_attempt_at moves to the lease's end: should this worker die, that is when the delivery is due again, and
    # meanwhile claims skip it in the `delivery_due` index instead of reading past it.
    candidates = candidates.order_by("next_attempt_at")
    assignments = {"lease_token": token, "lease_expires_at": expires, "next_attempt_at": expires}
    if connection.vendor == "postgresql":
        claimed = _take_with_events(candidates, limit, assignments)
    else:
        picked = leases.take(candidates, limit, assignments)
        claimed = list(Delivery.objects.filter(pk__in=picked, lease_token=token).select_related("event")
                       .defer("event__tags")) if picked else []
    _attach_webhooks(claimed)
    return claimed, deadline


EVENT_FIELDS = [f for f in Event._meta.concrete_fields if f.name != "tags"]  # what an attempt reads of its event


def _take_with_events(candidates, limit: int, assignments: dict) -> list[Delivery]:
    """PostgreSQL: the claim and the read of what was claimed, with each delivery's event, in one statement
    (the UPDATE … RETURNING inside a WITH): one round trip instead of two, and no statement of one placeholder
    per claimed row."""
    quote = connection.ops.quote_name
    update, params = leases.taking(candidates, limit, assignments)
    delivery_fields, split = Delivery._meta.concrete_fields, len(Delivery._meta.concrete_fields)
    # Times come as ISO text (see rows.Reader): a claimed row has six, and a claim of 128 took 12 ms instead of 17.
    reader = rows.Reader([*delivery_fields, *EVENT_FIELDS], times_as_text=True)
    columns = reader.columns(*["d"] * split, *["e"] * len(EVENT_FIELDS))
    sql = (f"WITH d AS ({update} RETURNING *) SELECT {', '.join(columns)} FROM d"
           f" JOIN {quote(Event._meta.db_table)} e ON e.{quote('id')} = d.{quote('event_id')}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    event_field = Delivery._meta.get_field("event")
    delivery_of, event_of = rows.builder(Delivery, tuple(delivery_fields)), rows.builder(Event, tuple(EVENT_FIELDS))
    claimed = []
    for row in found:
        values = reader.values(row)
        delivery = delivery_of(values[:split])
        event_field.set_cached_value(delivery, event_of(values[split:]))
        claimed.append(delivery)
    return claimed


def _attach_webhooks(deliveries: list[Delivery]) -> None:
    """Load each webhook once for the batch (a claim's deliveries often share a few webhooks)."""
    webhooks = fanout.webhooks_by_id({d.webhook_id for d in deliveries if d.webhook_id})
    for delivery in deliveries:
        if delivery.webhook_id:
            delivery.webhook = webhooks.get(delivery.webhook_id)


@dataclass(frozen=True)
class HookCall:
    """A function subscriber's attempt, ready to hand to the hook runner."""

    hook: str
    timeout: float


def prepare(delivery: Delivery, lease_deadline: float) -> Post | HookCall | Cancelled | Released:
    """What one attempt will be: a signed Post or a HookCall; or at once a Cancelled (no longer wanted) or a
    Released (the lease has no room left for a whole attempt, so another worker could not be sure it was not
    made)."""
    target = channels.get(delivery.channel).target(delivery)
    if isinstance(target, str):
        return Cancelled(target)
    is_hook = isinstance(target, Call)
    limit = _attempt_limit(is_hook)
    margin = min(LEASE_MARGIN_SECONDS, (lease_seconds(is_hook) - limit) / 2)
    if time.monotonic() > lease_deadline - limit - margin:
        return Released("its lease had no room left for a whole attempt")
    if is_hook:
        return HookCall(target.hook, limit)
    body = bytes(delivery.event.body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": settings.WEBHOOK_USER_AGENT,
        **target.headers,
        **signing.signature_headers(target.secrets, delivery.event_id, body),
    }
    return Post(target.url, body, headers, timeout=limit, guarded=target.guarded)


def start(delivery: Delivery, lease_deadline: float) -> Result | concurrent.futures.Future:
    """Begin one attempt: a future of its Attempt, or at once a Cancelled or a Released."""
    prepared = prepare(delivery, lease_deadline)
    if isinstance(prepared, Post):
        future: concurrent.futures.Future = concurrent.futures.Future()
        sender.get().submit_many([prepared], [future.set_result])
        return future
    if isinstance(prepared, HookCall):
        return hook_runner.get().submit(prepared.hook, bytes(delivery.event.body), timeout=prepared.timeout)
    return prepared


def send_batch(deliveries: list[Delivery], lease_deadline: float) -> list[Result]:
    """Start every delivery's attempt and wait for all of them (the one-off paths: tests, "send test event")."""
    started = [start(delivery, lease_deadline) for delivery in deliveries]
    return [item.result() if isinstance(item, concurrent.futures.Future) else item for item in started]


def _still_held(deliveries: list[Delivery]) -> set[str]:
    """The deliveries whose lease is still ours, locked until the outcome is written (PostgreSQL row locks;
    SQLite's BEGIN IMMEDIATE already serialises writers). A worker that overran its lease must not
    overwrite the newer outcome of the worker that took the delivery over. The lock is NO KEY UPDATE, what the
    outcome's UPDATE takes anyway: it excludes other writers of the row but not the foreign-key checks of rows
    that point at it, which a FOR UPDATE blocked. A processing callback that updated its job (whose `request`
    points at the delivery) then waited at its commit for this settle, while this settle waited for the job's
    lock: a deadlock."""
    quote = connection.ops.quote_name
    table = quote(Delivery._meta.db_table)
    if connection.vendor == "postgresql":  # one parameter whatever the batch (see _json_rows)
        fields = [Delivery._meta.pk, Delivery._meta.get_field("lease_token")]
        sql = (f"SELECT d.{quote('id')} FROM {table} d JOIN json_populate_recordset(NULL::{table}, %s::json) v"
               f" ON d.{quote('id')} = v.{quote('id')} AND d.{quote('lease_token')} = v.{quote('lease_token')}"
               f" FOR NO KEY UPDATE OF d")
        with connection.cursor() as cursor:
            cursor.execute(sql, [_json_rows(fields, deliveries)])
            return {row[0] for row in cursor.fetchall()}
    by_token: dict[str, list[str]] = {}
    for delivery in deliveries:
        by_token.setdefault(delivery.lease_token, []).append(delivery.pk)
    held = Q()
    for token, pks in by_token.items():
        held |= Q(lease_token=token, pk__in=pks)
    return set(Delivery.objects.filter(held).values_list("pk", flat=True))


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """Text from outside (a subscriber's answer, a hook's exception) as any column can keep it: PostgreSQL's text
    refuses NUL, and UTF-8 has no lone surrogates; each becomes U+FFFD, as undecodable bytes already do. One
    such answer would otherwise fail the whole batch's record, again at every try."""
    return _UNSTORABLE.sub("\ufffd", text) if text else text


@dataclass(slots=True)
class _AttemptRow:
    """A DeliveryAttempt's columns as the relay writes them (by attname): a model instance cost more to build than
    the row cost to write."""

    delivery_id: str
    number: int
    url: str
    started_at: datetime
    duration_ms: int
    status_code: int | None
    success: bool
    error: str
    request_headers: dict
    response_headers: dict
    response_body: str


def _judge(delivery: Delivery, result: Result, now) -> tuple[_AttemptRow | None, Outcome | None]:
    """Apply one turn's result to its delivery (in memory): the attempt row and the outcome, if any."""
    delivery.lease_token = None
    delivery.lease_expires_at = None
    match result:
        case Released():
            delivery.next_attempt_at = now  # due again at once, for a worker with room for a whole attempt
            return None, None
        case Cancelled(reason=reason):
            delivery.status = Delivery.Status.CANCELLED
            delivery.last_error = f"cancelled: {reason}"
            delivery.completed_at = now
            delivery.next_attempt_at = None
            return None, None
    delivery.attempt_count += 1
    delivery.last_status_code = result.status_code
    error = storable(result.error)
    attempt = _AttemptRow(
        delivery_id=delivery.pk, number=delivery.attempt_count, url=result.url,
        started_at=result.started_at, duration_ms=result.duration_ms, status_code=result.status_code,
        success=result.ok, error=error, request_headers=result.request_headers,
        response_headers={storable(k): storable(v) for k, v in result.response_headers.items()},
        response_body=storable(result.response_body),
    )
    gone = result.status_code == 410 and not channels.get(delivery.channel).retry_on_gone
    if result.ok:
        delivery.status = Delivery.Status.SUCCEEDED
        delivery.last_error = ""
        delivery.completed_at = now
        delivery.next_attempt_at = None
        return attempt, Outcome(delivery, result, final=True)
    delivery.last_error = error
    delay = None if gone or delivery.is_test else retry.next_delay(  # a test event is one attempt, never retried
        delivery.attempt_count, settings.WEBHOOK_RETRY_SCHEDULE, settings.WEBHOOK_RETRY_JITTER,
        status_code=result.status_code, retry_after=result.retry_after,
    )
    if delay is None:
        delivery.status = Delivery.Status.FAILED
        delivery.completed_at = now
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = result.finished_at + timedelta(seconds=delay)
    return attempt, Outcome(delivery, result, final=delay is None, gone=gone)


ROWS_PER_STATEMENT = 200  # SQLite: attempts or outcomes per statement (12 values a row, far below its limit)


def _json_rows(fields, objects) -> str:
    """PostgreSQL: rows as one JSON array of objects keyed by column, for `json_populate_recordset(NULL::table,
    …)`, which types each value by the table's own column. The statement has one parameter whatever the batch:
    psycopg parses it once and caches it, where a multi-row VALUES of thousands of placeholders was parsed again at
    every call, and adapting thousands of values one by one cost more than the database's work. Encoded by orjson
    (date-times as ISO 8601 with their offset, as isoformat() writes them): the standard library's encoder took 3.9
    µs an attempt row, an eighth of the relay's CPU when it drains a backlog; orjson takes 0.8."""
    columns = [f.column for f in fields]
    values = operator.attrgetter(*[f.attname for f in fields])
    return orjson.dumps([dict(zip(columns, values(item), strict=True)) for item in objects]).decode()


def _insert_attempts(attempts: list[_AttemptRow]) -> None:
    """The batch's attempts in one INSERT on PostgreSQL, multi-row INSERTs on SQLite (bulk_create's SQL
    building, or executemany's row-by-row protocol, cost more than the rows themselves)."""
    if not attempts:
        return
    fields = [f for f in DeliveryAttempt._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    table = quote(DeliveryAttempt._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM json_populate_recordset("
                           f"NULL::{table}, %s::json)", [_json_rows(fields, attempts)])
            return
        row = "({})".format(", ".join(["%s"] * len(fields)))
        for start in range(0, len(attempts), ROWS_PER_STATEMENT):
            chunk = attempts[start:start + ROWS_PER_STATEMENT]
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(chunk))}", [
                f.get_db_prep_save(getattr(a, f.attname), connection) for a in chunk for f in fields])


def _write_outcomes(deliveries: list[Delivery]) -> None:
    """The batch's outcomes in one UPDATE … FROM json_populate_recordset(…) on PostgreSQL, multi-row UPDATE …
    FROM (VALUES …) on SQLite (Django's bulk_update builds a CASE per field and row, and executemany sends row
    after row)."""
    if not deliveries:
        return
    fields = [Delivery._meta.pk, *(Delivery._meta.get_field(name) for name in SETTLED_FIELDS)]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields[1:])
    table = quote(Delivery._meta.db_table)
    update = f"UPDATE {table} SET {assignments} FROM {{}} WHERE {table}.{quote('id')} = v.{quote('id')}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(update.format(f"json_populate_recordset(NULL::{table}, %s::json) AS v"),
                           [_json_rows(fields, deliveries)])
            return
        row = "({})".format(", ".join(["%s"] * len(fields)))
        aliases = ", ".join(f"column{i + 1} AS {quote(f.column)}" for i, f in enumerate(fields))
        for start in range(0, len(deliveries), ROWS_PER_STATEMENT):
            chunk = deliveries[start:start + ROWS_PER_STATEMENT]
            # SQLite names the columns of VALUES column1, column2, …
            source = f"(SELECT {aliases} FROM (VALUES {', '.join([row] * len(chunk))})) AS v"
            cursor.execute(update.format(source), [
                f.get_db_prep_save(getattr(d, f.attname), connection) for d in chunk for f in fields])


def settle(deliveries: list[Delivery], results: list[Result]) -> None:
    """Record attempts and outcomes in bulk, then let each channel apply its consequences."""
    if not deliveries:
        return
    now = timezone.now()
    with transaction.atomic():
        held = _still_held(deliveries)
        if len(held) < len(deliveries):
            logger.warning("%d delivery(ies) lost their lease before their outcome was recorded; "
                           "the worker that took them over decides.", len(deliveries) - len(held))
        kept, attempts, outcomes = [], [], {}
        for delivery, result in zip(deliveries, results, strict=True):
            if delivery.pk not in held:
                continue
            attempt, outcome = _judge(delivery, result, now)
            kept.append(delivery)
            if attempt is not None:
                attempts.append(attempt)
            if outcome is not None:
                outcomes.setdefault(delivery.channel, []).append(outcome)
        _insert_attempts(attempts)
        _write_outcomes(kept)
        for name, channel_outcomes in outcomes.items():
            channels.get(name).settle(channel_outcomes)


def process(deliveries: list[Delivery], lease_deadline: float) -> None:
    """Attempt a claimed batch and record it (the one-off path)."""
    if deliveries:
        settle(deliveries, send_batch(deliveries, lease_deadline))


# Forks wait for the relay to be between two turns. SQLite keeps the bookkeeping of its file locks per process, so
# a process forked while the relay is inside a transaction (the task cluster, a hook runner's child) inherits locks
# nobody there will ever release, and each of its writes waits out the busy timeout, then fails. The relay's turns
# are the only database work of the worker's process; the task cluster is started beside a running relay.
_turn = threading.RLock()
_recording = threading.RLock()  # held by the Recorder while it writes: forks wait for it too
_forks_wait = False


def _both_acquired() -> None:
    _turn.acquire()
    _recording.acquire()


def _both_released() -> None:
    _recording.release()
    _turn.release()


def _make_forks_wait_for_turns() -> None:
    global _forks_wait
    if not _forks_wait:
        os.register_at_fork(before=_both_acquired, after_in_parent=_both_released, after_in_child=_both_released)
        _forks_wait = True


class Recorder:
    """Writes a worker's outcomes in a thread (and a database connection) of its own, so the relay goes on claiming
    and starting attempts meanwhile: writing a batch is mostly waiting for the database, and a worker draining a
    backlog on PostgreSQL spent a third of its turns in that wait. Batches handed over while one is being written are
    written together next. On a database error the batch is kept and written again once the database answers, as
    the relay keeps its own (the leases still decide: an outcome whose lease ran out is not written). The relay
    uses it on PostgreSQL; on SQLite, a second writer would only wait for the first."""

    def __init__(self) -> None:
        self.batches: queue.SimpleQueue[list[tuple[Delivery, Result]] | None] = queue.SimpleQueue()
        self.database_errors = 0
        self.unwritten = 0  # outcomes it stopped without writing
        self.giving_up = threading.Event()
        self.thread = threading.Thread(target=self._run, name="delivery-recorder", daemon=True)
        self.thread.start()

    def record(self, batch: list[tuple[Delivery, Result]]) -> None:
        self.batches.put(batch)

    def close(self, timeout: float) -> bool:
        """Write what was handed over, for at most `timeout` seconds (what is left comes back with its lease), and
        stop. True if everything was written."""
        self.batches.put(None)
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.giving_up.set()
            self.thread.join(5)
        return not self.thread.is_alive() and not self.unwritten

    def _run(self) -> None:
        waiting: list[tuple[Delivery, Result]] = []
        closing = False
        try:
            while not self.giving_up.is_set():
                closing = self._gather(waiting, block=not waiting and not closing) or closing
                if not waiting:
                    if closing:
                        return
                    continue
                try:
                    with _recording:
                        settle([d for d, _r in waiting], [r for _d, r in waiting])
                except DatabaseError:
                    logger.exception("Delivery recorder: database error; reconnecting.")
                    _reconnect()
                    if closing:  # stopping: as the relay's own last writes, no waiting for the database
                        return
                    self.database_errors += 1
                    self.giving_up.wait(min(1.0, 0.1 * self.database_errors))
                    continue
                self.database_errors = 0
                waiting.clear()
        finally:
            self.unwritten = len(waiting)
            connection.close()  # this thread's own

    def _gather(self, waiting: list, *, block: bool) -> bool:
        """Add every batch handed over so far to `waiting` (waiting for one if `block`); True once close() asked."""
        while True:
            try:
                batch = self.batches.get(timeout=0.5) if block else self.batches.get_nowait()
            except queue.Empty:
                return False
            if batch is None:
                return True
            waiting += batch
            block = False


class Relay:
    """The continuous relay of one worker: at most CAPACITY HTTP attempts and the hook runner's size of hook
    attempts in flight. A finished attempt frees its slot at once; outcomes are recorded in batches (up to
    SETTLE_BATCH, or SETTLE_DELAY after the first waits), and the outbox is looked at when a wake-up arrives, when
    a full claim suggests more, or every `poll_interval`: each query costs the relay more than a request does."""

    def __init__(self, poll_interval: float = FAST_POLL_SECONDS) -> None:
        _make_forks_wait_for_turns()
        self.poll_interval = poll_interval
        self.kick = threading.Event()
        self.woken = True  # look for work at once
        self.everything = True  # whether it may be about deliveries too (not only about recorded events)
        self.wake_ups = False  # whether `woken` comes from a real wake-up (not only the first look or an error)
        self.next_look = 0.0
        self.finished: queue.SimpleQueue[tuple[Delivery, Result]] = queue.SimpleQueue()
        self.http_in_flight: dict[str, Delivery] = {}
        self.hooks_in_flight: dict[str, Delivery] = {}
        self.webhook_load: Counter = Counter()
        self.hook_load: Counter = Counter()  # runs in flight per code hook
        self.parked: dict[str, deque[tuple[Delivery, float]]] = {}  # claimed, waiting for their webhook's room
        self.passed_over: set[str] = set()  # busy webhooks the last claim skipped: their backlog may wait
        self.refill: set[str] = set()  # busy webhooks that answer and run low: the next claim takes them again
        self.unsettled: list[tuple[Delivery, Result]] = []
        self.first_unsettled_at = 0.0
        self.handled = 0
        self.database_errors = 0
        self.more_due = False
        self.busy_look = _Pace(IDLE_POLL_SECONDS)  # the look past busy webhooks' backlog
        self.busy_hook_look = _Pace(IDLE_POLL_SECONDS)  # the look past the backlog of hooks at their limit
        self.more_events = False
        self.hooks_due = False
        self.recorder: Recorder | None = None  # run_forever on PostgreSQL: outcomes written beside the turns

    @property
    def in_flight(self) -> int:
        """Claimed and not finished: running attempts and parked deliveries."""
        return len(self.http_in_flight) + len(self.hooks_in_flight) + sum(map(len, self.parked.values()))

    def wake(self, *, everything: bool = True) -> None:
        """Work arrived (a wake-up): claim it at once. `everything=False`: only events were recorded, so fanning
        them out is all there is to do (no look for deliveries or hook runs, which would delay their first POSTs)."""
        self.wake_ups = True
        if everything:
            self.everything = True  # before `woken`: the turn that takes `woken` reads this after it
        self.woken = True
        self.kick.set()

    def look_again(self) -> None:
        """Look at the whole outbox in the next turn."""
        self.everything = True
        self.woken = True

    def _launch(self, deliveries: list[Delivery], deadline: float, *, hooks: bool) -> None:
        self.handled += len(deliveries)
        posts = []
        for delivery in deliveries:
            if not hooks and delivery.webhook_id and self.webhook_load[delivery.webhook_id] >= PER_WEBHOOK:
                self.parked.setdefault(delivery.webhook_id, deque()).append((delivery, deadline))
                continue  # started when one of that webhook's attempts ends
            post = self._start(delivery, deadline, hooks=hooks)
            if post is not None:
                posts.append((delivery, post))
        self._send(posts)

    def _start(self, delivery: Delivery, deadline: float, *, hooks: bool) -> Post | None:
        """Begin one attempt: a hook run is handed to the hook runner here; a POST is returned for `_send`."""
        outcome = prepare(delivery, deadline)
        if isinstance(outcome, Cancelled | Released):
            self.finished.put((delivery, outcome))
            return None
        (self.hooks_in_flight if hooks else self.http_in_flight)[delivery.pk] = delivery
        if delivery.webhook_id:
            self.webhook_load[delivery.webhook_id] += 1
        if hooks:
            self.hook_load[delivery.hook] += 1
        if isinstance(outcome, Post):
            return outcome
        future = hook_runner.get().submit(outcome.hook, bytes(delivery.event.body), timeout=outcome.timeout)
        future.add_done_callback(lambda done, delivery=delivery: self._done(delivery, done))
        return None

    def _send(self, posts: list[tuple[Delivery, Post]]) -> None:
        if posts:  # one hand-over to the sender's loop for the whole batch
            sender.get().submit_many([post for _d, post in posts], [
                lambda result, delivery=delivery: self._finished(delivery, result) for delivery, _p in posts])

    def _finished(self, delivery: Delivery, result: Result) -> None:
        self.finished.put((delivery, result))
        self.kick.set()

    def _done(self, delivery: Delivery, future: concurrent.futures.Future) -> None:
        try:
            result = future.result()
        except Exception as exc:  # a defect in the runner must not lose the delivery: it is retried
            logger.exception("Attempt of %s crashed.", delivery.pk)
            now = timezone.now()
            result = Attempt(url="", started_at=now, finished_at=now, duration_ms=0, error=f"internal error: {exc}")
        self._finished(delivery, result)

    def take_finished(self) -> int:
        """Free the slots of every attempt finished so far, and start the parked deliveries that now have room (in
        one hand-over to the sender); their outcomes wait to be recorded."""
        taken = 0
        posts: list[tuple[Delivery, Post]] = []
        while True:
            try:
                delivery, result = self.finished.get_nowait()
            except queue.Empty:
                self._send(posts)
                return taken
            if not self.unsettled:
                self.first_unsettled_at = time.monotonic()
            self.unsettled.append((delivery, result))
            taken += 1
            if isinstance(result, Released):
                self.more_due = True
            sent = self.http_in_flight.pop(delivery.pk, None) is not None
            if not sent and self.hooks_in_flight.pop(delivery.pk, None):
                self.hooks_due = True  # a child is free: look for the next hook run at once
                self.hook_load[delivery.hook] -= 1
                if not self.hook_load[delivery.hook]:
                    del self.hook_load[delivery.hook]
            if sent and delivery.webhook_id:  # not one that never started (released or cancelled at once)
                answered = isinstance(result, Attempt) and result.status_code is not None
                posts += self._one_less(delivery.webhook_id, answered=answered)

    def _one_less(self, webhook_id: str, *, answered: bool = False) -> list[tuple[Delivery, Post]]:
        """An attempt of this webhook ended: start its next parked delivery, if any (the POST is returned, to be
        sent with the others). A webhook at its limit whose
        backlog may go on in the outbox (the claims skip it) is claimed for again as soon as it runs low, if it
        answers: otherwise one subscriber with a backlog would wait for the next look at each turn. A hung one
        (its attempts time out unanswered) is left to the looks, so it holds no more than one claim's remainder."""
        self.webhook_load[webhook_id] -= 1
        waiting = self.parked.get(webhook_id)
        posts = []
        while waiting and self.webhook_load[webhook_id] < PER_WEBHOOK:
            delivery, deadline = waiting.popleft()
            post = self._start(delivery, deadline, hooks=False)
            if post is not None:
                posts.append((delivery, post))
        backlog = waiting is not None or webhook_id in self.passed_over
        if answered and backlog and len(waiting or ()) <= REFILL_AT and webhook_id not in self.refill:
            self.refill.add(webhook_id)
            self.more_due = True
        if not waiting and self.parked.pop(webhook_id, None) is not None:
            self.more_due = True  # its backlog may go on in the outbox: claim again now, not at the next look
        if not self.webhook_load[webhook_id]:
            del self.webhook_load[webhook_id]
        return posts

    def settle_finished(self) -> int:
        """Record the waiting outcomes in one transaction (or hand them to the Recorder, which does). On a database
        error they are kept, and recorded once the database answers again (while their leases last)."""
        self.take_finished()
        batch, self.unsettled = self.unsettled, []
        if not batch:
            return 0
        if self.recorder is not None:
            self.recorder.record(batch)
            return len(batch)
        try:
            settle([d for d, _r in batch], [r for _d, r in batch])
        except DatabaseError:
            self.unsettled = batch + self.unsettled
            raise
        return len(batch)

    def _settle_now(self) -> bool:
        if not self.unsettled:
            return False
        return (len(self.unsettled) >= SETTLE_BATCH or not self.in_flight
                or time.monotonic() - self.first_unsettled_at >= SETTLE_DELAY_SECONDS)

    def busy(self) -> set[str]:
        """The webhooks the next claim skips: at their limit, or with claimed deliveries parked, unless they are
        to be refilled (they answer, and run low)."""
        full = {pk for pk, load in self.webhook_load.items() if load >= PER_WEBHOOK}
        return (full | set(self.parked)) - self.refill

    def claim_and_start(self, seen: "Waiting | None" = None) -> int:
        """Claim what fits in the free slots and start it; returns how many deliveries were started. `seen` is
        what a look at the outbox just found (None: no look this turn)."""
        look = seen is not None
        claimed = 0
        running = len(self.http_in_flight) + sum(map(len, self.parked.values()))
        free = CAPACITY - running
        if free >= min(CLAIM_MIN, CAPACITY) or not running:
            busy = self.busy()
            # The read-only look keeps an idle worker off SQLite's write lock; after a full claim, more is likely.
            # Looking past busy webhooks may read through their whole backlog: that look is made less often.
            if self.more_due or (look and seen.deliveries and (not busy or self.busy_look.due() and due_now(
                    hooks=False, skip_webhooks=busy))):
                limit = min(free, BATCH_SIZE)
                deliveries, deadline = claim(limit, hooks=False, skip_webhooks=sorted(busy))
                self._launch(deliveries, deadline, hooks=False)
                # Skipped by the next claims: the busy webhooks, and those this claim brought to their limit (their
                # backlog may go on in the outbox even when none of it waits parked here).
                self.passed_over = busy | {d.webhook_id for d in deliveries
                                           if d.webhook_id and self.webhook_load[d.webhook_id] >= PER_WEBHOOK}
                self.refill = set()
                # A full claim suggests more, unless every webhook in it is busy now (the next claim would only
                # read past their backlog): then the next look decides.
                self.more_due = len(deliveries) == limit and any(
                    self.webhook_load[d.webhook_id] < PER_WEBHOOK and d.webhook_id not in self.parked
                    for d in deliveries if d.webhook_id)
                claimed += len(deliveries)
        full = sorted(name for name, load in self.hook_load.items() if load >= PER_HOOK)
        # However the claimed runs fall among the hooks not at their limit, none goes past it.
        room = min(hook_runner.get().size - len(self.hooks_in_flight),
                   PER_HOOK - max((load for load in self.hook_load.values() if load < PER_HOOK), default=0))
        # A look that finds hook runs due may only be seeing a hook at its limit's backlog, which the query for
        # the others reads past: while a hook is at its limit, that query waits for a freed child or new runs
        # (both set hooks_due), or for the slow look, like the look past busy webhooks.
        looked = look and seen.hooks and (not full or self.busy_hook_look.due())
        if room > 0 and (looked or self.hooks_due):
            self.hooks_due = False
            if due_now(hooks=True, skip_hooks=full):
                deliveries, deadline = claim(room, hooks=True, skip_hooks=full)
                self.hooks_due = len(deliveries) == room  # more may wait for the next free child
                self._launch(deliveries, deadline, hooks=True)
                claimed += len(deliveries)
        return claimed

    def step(self) -> bool:
        """One turn: free finished slots, record outcomes when a batch is ready, fan out new events, start what is
        due. True if anything happened. A database error (a dropped connection) ends the turn: the connection is
        reopened for the next one, and finished attempts wait in memory to be recorded then."""
        with _turn:
            return self._turn()

    def _turn(self) -> bool:
        self.take_finished()
        woken, self.woken = self.woken, False
        everything, self.everything = self.everything, False
        look_due = time.monotonic() >= self.next_look
        try:
            settled = self.settle_finished() if self._settle_now() else 0
            if woken and self.wake_ups and (everything or not look_due):
                # A wake-up says what was committed: go and take it, no need to look first. One about events alone
                # is no look: it does not put off the next one (retries come due without a wake-up).
                seen, looked = Waiting(events=True, deliveries=everything, hooks=everything), everything
            elif woken or look_due:
                seen, looked = waiting(), True  # one read-only query for all three kinds of work
            else:
                seen, looked = None, False
            if looked:
                self.next_look = time.monotonic() + self.poll_interval
            fanned = 0
            if self.more_events or (seen and seen.events):
                room = _Room(self)
                fanned = fanout.expand_due(known_due=True, taker=room)
                if fanned:  # what the relay had no room for waits in the outbox: claim it as soon as there is
                    self.more_due = self.more_due or room.declined
                    if functions.registered():  # it may have written hook runs
                        self.hooks_due = True
            self.more_events = fanned >= fanout.BATCH_SIZE
            started = self.claim_and_start(seen)
        except DatabaseError:
            logger.exception("Delivery relay: database error; reconnecting.")
            _reconnect()
            self.database_errors += 1
            self.look_again()
            return False
        self.database_errors = 0
        return bool(settled or fanned or started)

    def _nap(self, longest: float) -> None:
        """Wait for a finished attempt or a wake-up, at most until the next look or the next batch to record."""
        until = self.next_look
        if self.unsettled:
            until = min(until, self.first_unsettled_at + SETTLE_DELAY_SECONDS)
        self.kick.wait(max(0.0, min(longest, until - time.monotonic())))
        self.kick.clear()

    def run_until_idle(self) -> int:
        """Work until nothing is due or in flight (tests and the synchronous task queue); returns how many
        deliveries were handled."""
        while True:
            if self.step():
                continue
            if self.database_errors > MAX_DATABASE_ERRORS:
                raise DatabaseError("the database kept failing; the outbox keeps what was not recorded")
            if not self.in_flight and self.finished.empty() and not self.unsettled and not self.database_errors:
                self.look_again()  # one last look, to be sure
                if not self.step() and not self.in_flight and self.finished.empty() and not self.unsettled:
                    return self.handled
                continue
            self._nap(self.poll_interval)

    def run_forever(self, stop: threading.Event, listener: "wakeups.Listener | None" = None) -> None:
        """The worker loop: work while there is work, otherwise nap until woken (or the poll interval)."""
        if connection.vendor == "postgresql":
            self.recorder = Recorder()
        try:
            while not stop.is_set():
                self.poll_interval = IDLE_POLL_SECONDS if listener is not None and listener.connected \
                    else FAST_POLL_SECONDS
                if self.step():
                    continue
                if self.database_errors:
                    stop.wait(min(1.0, 0.1 * self.database_errors))
                    continue
                self._nap(self.poll_interval)
            self.drain_in_flight(stop_grace=settings.WEBHOOK_TIMEOUT)
        finally:
            recorder, self.recorder = self.recorder, None
            if recorder is not None and not recorder.close(timeout=settings.WEBHOOK_TIMEOUT):
                logger.warning("Stopping before every outcome was recorded; those deliveries come back with their "
                               "lease.")

    def drain_in_flight(self, stop_grace: float) -> None:
        """On stop: hand parked deliveries back, wait a little for attempts in flight and record them (the rest
        come back with their lease)."""
        parked, self.parked = self.parked, {}
        for waiting in parked.values():
            for delivery, _deadline in waiting:
                self.finished.put((delivery, Released("the worker is stopping")))
        deadline = time.monotonic() + stop_grace
        while (self.in_flight or self.unsettled) and time.monotonic() < deadline:
            try:
                with _turn:
                    self.settle_finished()
            except DatabaseError:
                break
            if self.in_flight:
                self.kick.wait(0.05)
                self.kick.clear()


class _Pace:
    """A look made at most once per `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.next = seconds, 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now < self.next:
            return False
        self.next = now + self.seconds
        return True


class _Room:
    """The relay's free slots, offered to its own fan-out: a new delivery it can start at once is written leased
    to it and started after the commit, without a claim (the shortest path from a commit to the first delivery)."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.free = CAPACITY - len(relay.http_in_flight) - sum(map(len, relay.parked.values()))
        self.load = Counter(relay.webhook_load)
        self.declined = False

    def wants(self, webhook_id: str) -> bool:
        if self.free <= 0 or self.load[webhook_id] >= PER_WEBHOOK or webhook_id in self.relay.parked:
            self.declined = True
            return False
        self.free -= 1
        self.load[webhook_id] += 1
        return True

    def take(self, deliveries: list[Delivery], lease_deadline: float) -> None:
        self.relay._launch(deliveries, lease_deadline, hooks=False)


def _reconnect() -> None:
    """Drop this thread's database connection after an error, so the next query opens a fresh one (Django keeps
    a broken SQLite connection, which it always deems usable)."""
    if connection.in_atomic_block:
        close_old_connections()
    else:
        connection.close()


def due_now(*, hooks: bool | None = None, skip_webhooks: list[str] = (), skip_hooks: list[str] = ()) -> bool:
    """A read-only look for due work, so an idle worker never takes the database's write lock."""
    due = Delivery.objects.filter(_due(timezone.now(), hooks))
    if skip_webhooks:
        due = due.exclude(webhook_id__in=list(skip_webhooks))
    if skip_hooks:
        due = due.exclude(hook__in=list(skip_hooks))
    return due.exists()


@dataclass(frozen=True)
class Waiting:
    """What a look at the outbox found: events to fan out, due deliveries, due hook runs."""

    events: bool
    deliveries: bool
    hooks: bool


def waiting() -> Waiting:
    """One read-only query telling whether events, deliveries or hook runs are waiting (an idle worker's whole
    cost, and no write lock on SQLite). Written out in SQL, through the same indexes as the claims: building it
    with the ORM cost more than running it."""
    quote = connection.ops.quote_name
    event, delivery = quote(Event._meta.db_table), quote(Delivery._meta.db_table)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    free = "(lease_expires_at IS NULL OR lease_expires_at <= %s)"
    sql = (f"SELECT EXISTS (SELECT 1 FROM {event} WHERE fanout_pending AND {free}),"
           f" EXISTS (SELECT 1 FROM {delivery} WHERE status = 'pending' AND next_attempt_at <= %s AND {free}"
           f" AND channel <> 'hook'),"
           f" EXISTS (SELECT 1 FROM {delivery} WHERE channel = 'hook' AND status = 'pending'"
           f" AND next_attempt_at <= %s AND {free})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [now] * 5)
        events, deliveries, hooks = cursor.fetchone()
    return Waiting(bool(events), bool(deliveries), bool(hooks))


def drain() -> int:
    """Fan out and deliver everything due now, until nothing is left in flight; returns deliveries handled."""
    return Relay().run_until_idle()


def send_test(webhook, event_type: str | None = None) -> Delivery:
    """"Send test event": `webhook.test`, or a realistic example of a catalog event, to this webhook only,
    whatever its subscriptions or switch. It is one attempt, made before this returns, and never retried."""
    if event_type and event_type != "webhook.test":
        data = catalog.get(event_type).example()
    else:
        event_type = "webhook.test"
        data = {"object": "webhook", "webhook": {"id": webhook.pk, "url": webhook.url},
                "message": "This is a test event from MediaHooks."}
    with transaction.atomic():  # leased before it commits, so no awake worker can take the attempt
        delivery = events.record_message(event_type, data, channel="webhook", webhook=webhook, is_test=True,
                                         object_type="webhook", object_id=webhook.pk)
        deliveries, deadline = claim(1, only=[delivery.pk])
    process(deliveries, deadline)
    return Delivery.objects.get(pk=delivery.pk)
