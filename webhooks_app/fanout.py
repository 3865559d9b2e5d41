"""Fan-out after commit: a worker claims recorded events under a lease (like deliveries) and writes, in one
transaction per batch of events, one Delivery per matching webhook and function subscriber. A worker killed between
the claim and that transaction leaves the events claimed; once the lease runs out another worker fans them out, and
since the deliveries and the end of the claim commit together, an event is never fanned out twice. The deliveries
the fanning worker has room for are written already leased to it (a Taker), and handed to it after the commit."""

import functools
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from webhooks_app import functions, ids, prepared, rows
from webhooks_app.models import ConditionTag, Delivery, Event, SubscribedEvent, Webhook

logger = logging.getLogger(__name__)

BATCH_SIZE = 64
ROWS_PER_STATEMENT = 400  # SQLite: 2 bound parameters a row, and its historical limit is 999 parameters


def _due(now) -> Q:
    return Q(fanout_pending=True) & (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))


def due_events():
    """Events waiting for fan-out and not claimed (read through the `event_fanout_due` index)."""
    return Event.objects.filter(_due(timezone.now()))


def due_exists() -> bool:
    """A read-only look so an idle worker never takes a write lock."""
    return due_events().exists()


CLAIMED_FIELDS = ["id", "type", "timestamp", "tags", "object_type", "object_id", "body"]  # what a fan-out reads


def claim(limit: int = BATCH_SIZE) -> tuple[list[Event], str]:
    """Lease up to `limit` events waiting for fan-out; returns them (oldest first, their bodies read by the same
    statement, for deliveries started at once) and the lease token. One statement, like leases.take (PostgreSQL
    skips events other workers hold; SQLite runs it alone), written out in SQL: on the path from a commit to the
    first delivery, building it with the ORM cost more than running it."""
    token = uuid.uuid4().hex
    now = timezone.now()
    expires = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    sql, fields, reader = _claim_statement(connection.vendor)
    adapt = connection.ops.adapt_datetimefield_value
    with prepared.cursor() as cursor:
        cursor.execute(sql, [token, adapt(expires), adapt(now), limit])
        claimed = [rows.build(Event, fields, reader.values(row)) for row in cursor.fetchall()]
    claimed.sort(key=lambda event: (event.timestamp, event.pk))
    return claimed, token


@functools.cache
def _claim_statement(vendor: str) -> tuple[str, list, rows.Reader]:
    """The claim's statement, the fields it reads and their reader, built once per database vendor."""
    quote, table = connection.ops.quote_name, _table(Event)
    pick = (f"SELECT {quote('id')} FROM {table} WHERE {quote('fanout_pending')} AND ({quote('lease_expires_at')}"
            f" IS NULL OR {quote('lease_expires_at')} <= %s) ORDER BY {quote('timestamp')} LIMIT %s")
    if connection.features.has_select_for_update_skip_locked:
        pick += " FOR UPDATE SKIP LOCKED"
    fields = [Event._meta.get_field(name) for name in CLAIMED_FIELDS]
    reader = rows.Reader(fields)
    sql = (f"UPDATE {table} SET {quote('lease_token')} = %s, {quote('lease_expires_at')} = %s"
           f" WHERE {quote('id')} IN ({pick}) RETURNING {', '.join(reader.columns(table))}")
    return sql, fields, reader


def _end_claim(events: list[Event], token: str) -> set[str]:
    """End the claim of those events still ours (and still waiting): this locks their rows until the deliveries
    commit with it. Returns their ids."""
    quote, table = connection.ops.quote_name, _table(Event)
    sql = (f"UPDATE {table} SET {quote('fanout_pending')} = %s, {quote('lease_token')} = NULL,"
           f" {quote('lease_expires_at')} = NULL WHERE {quote('id')} IN ({', '.join(['%s'] * len(events))})"
           f" AND {quote('lease_token')} = %s AND {quote('fanout_pending')} RETURNING {quote('id')}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [False, *(event.pk for event in events), token])
        return {row[0] for row in cursor.fetchall()}


class Taker(Protocol):
    """Who fans out may start some of the new deliveries itself: they are then written already leased to it, and
    handed over once they are committed, which saves claiming them again (the path from a commit to the first
    delivery)."""

    def wants(self, webhook_id: str) -> bool:
        """Whether to lease this webhook's new delivery to the taker (asked once per delivery, in order)."""

    def take(self, deliveries: list[Delivery], lease_deadline: float) -> None:
        """The leased deliveries (webhook and event attached), once committed, and their lease's monotonic end."""


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _in(column: str, values: list) -> tuple[str, list]:
    """`column IN (values)`, and its parameters: on PostgreSQL one array parameter, so that the statement's text is
    the same whatever the number of values, and prepared once (see prepared.py)."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [values]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def matching_webhooks(event: Event, *, until=None) -> list[tuple[str, object]]:
    """(id, activated_at) of the webhooks an event reaches, found by the database through the subscription index:
    switched on (and on since before the event, or before `until` when one query serves several events),
    subscribed to its type or "*", and whose tag condition its tags meet. Written out in SQL: building it with
    the ORM cost more than running it, on the path from a commit to the first delivery."""
    tags = list(dict.fromkeys(event.tags or []))
    rule = f"NOT EXISTS (SELECT 1 FROM {_table(ConditionTag)} c WHERE c.webhook_id = w.id)"
    params: list = []
    if tags:
        among, among_params = _in("c.name", tags)
        rule += (f" OR (w.tag_match = %s AND EXISTS (SELECT 1 FROM {_table(ConditionTag)} c"
                 f" WHERE c.webhook_id = w.id AND {among}))"
                 f" OR (w.tag_match = %s AND NOT EXISTS (SELECT 1 FROM {_table(ConditionTag)} c"
                 f" WHERE c.webhook_id = w.id AND NOT ({among})))")
        params += ["any", *among_params, "all", *among_params]
    sql = (f"SELECT w.id, w.activated_at FROM {_table(Webhook)} w WHERE w.is_active AND w.activated_at <= %s"
           f" AND w.id IN (SELECT s.webhook_id FROM {_table(SubscribedEvent)} s WHERE s.name IN (%s, %s))"
           f" AND ({rule})")
    moment = connection.ops.adapt_datetimefield_value(until or event.timestamp)
    params = [moment, event.type, "*", *params]
    if event.object_type == "webhook":  # never tell a webhook about itself
        sql += " AND w.id <> %s"
        params.append(event.object_id)
    with prepared.cursor() as cursor:
        cursor.execute(sql, params)
        return [(pk, _aware(since)) for pk, since in cursor.fetchall()]


def _aware(value) -> datetime:
    """A datetime column read raw: SQLite gives naive UTC text, PostgreSQL an aware datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def matching_hooks(event: Event) -> list[str]:
    """Names of the function subscribers registered in this process that the event reaches."""
    return [subscriber.name for subscriber in functions.registered()
            if subscriber.matches(event.type, event.tags or [])]


@dataclass
class _Planned:
    """The deliveries one event's fan-out writes, each with its new id: to the webhooks it reaches (`leased`: the
    ones the taker wants, written leased to it) and to the hooks it reaches."""

    event: Event
    webhooks: list[tuple[str, str]]  # (delivery id, webhook id)
    leased: list[tuple[str, str]]
    hooks: list[tuple[str, str]]  # (delivery id, hook name)


def _plan(events: list[Event], taker: Taker | None) -> list[_Planned]:
    """Match each event to its subscribers (reads only) and ask the taker which deliveries it wants."""
    # Events of one batch often share their type, tags and subject: one query each, as of the latest of them.
    latest: dict[tuple, object] = {}
    for event in events:
        key = _match_key(event)
        latest[key] = max(latest.get(key, event.timestamp), event.timestamp)
    matches: dict[tuple, list] = {}
    planned = []
    for event in events:
        key = _match_key(event)
        if key not in matches:
            matches[key] = matching_webhooks(event, until=latest[key])
        reached = [pk for pk, since in matches[key] if since <= event.timestamp]
        hooks = matching_hooks(event)
        new_ids = iter(ids.delivery_ids(len(reached) + len(hooks)))
        free, mine = [], []
        for webhook_id in reached:
            (mine if taker is not None and taker.wants(webhook_id) else free).append((next(new_ids), webhook_id))
        planned.append(_Planned(event, free, mine, [(next(new_ids), name) for name in hooks]))
    return planned


def expand(events: list[Event], token: str, taker: Taker | None = None) -> list[str]:
    """Write the deliveries of claimed events and end their claim, atomically; returns the ids of the events
    fanned out here (an event whose lease was lost meanwhile is left to the worker that took it over).
    Deliveries the `taker` wants are written leased to it, and handed to it after the commit."""
    lease = _DeliveryLease.start()
    if connection.vendor == "postgresql":
        planned = _plan(events, taker)  # reads: before the write, which is then one statement
        try:
            kept, webhooks = _write_in_one_statement(planned, token, lease)
        except IntegrityError:
            if connection.in_atomic_block:
                raise
            # A webhook it matched was deleted before the write committed, which then wrote nothing: match again
            # (without it) at once, rather than leave the whole batch to the next worker after the lease.
            logger.info("A webhook was deleted during the fan-out of %d event(s); matching them again.", len(events))
            planned = _plan(events, taker)
            kept, webhooks = _write_in_one_statement(planned, token, lease)
    else:
        with transaction.atomic():
            # The claim ends first: that locks the rows still ours, and the deliveries commit or roll back with it.
            kept = _end_claim(events, token)
            planned = _plan([event for event in events if event.pk in kept], taker)
            for plan in planned:
                insert_deliveries(plan.event, plan.webhooks)
                insert_deliveries(plan.event, plan.leased, **lease.fields)
            Delivery.objects.bulk_create(
                Delivery(pk=pk, event_id=plan.event.pk, channel="hook", hook=name, next_attempt_at=plan.event.timestamp,
                         created_at=plan.event.timestamp) for plan in planned for pk, name in plan.hooks)
            webhooks = webhooks_by_id({webhook_id for plan in planned for _pk, webhook_id in plan.leased})
    leased = [lease.delivery(plan.event, pk, webhook_id, webhooks.get(webhook_id))
              for plan in planned if plan.event.pk in kept for pk, webhook_id in plan.leased]
    if leased:
        taker.take(leased, lease.deadline)
    return [event.pk for event in events if event.pk in kept]


def _write_in_one_statement(planned: list[_Planned], token: str, lease: "_DeliveryLease") -> tuple[set[str], dict]:
    """PostgreSQL: end the claim of the planned events still ours and write their deliveries, in one statement (so
    one transaction, and one round trip where BEGIN, the end of the claim, the inserts, the read of the webhooks
    and COMMIT were five on the path from a commit to the first delivery); it also reads the leased deliveries'
    webhooks. Returns the ids of the events it ended, and those webhooks by id. The rows are one JSON parameter
    laid over a record of the columns they share (see relay._json_rows)."""
    records = []
    expires = lease.expires.isoformat()
    for plan in planned:
        event_id, at = plan.event.pk, plan.event.timestamp.isoformat()
        records += [{"id": pk, "event_id": event_id, "webhook_id": webhook_id, "next_attempt_at": at,
                     "created_at": at} for pk, webhook_id in plan.webhooks]
        records += [{"id": pk, "event_id": event_id, "webhook_id": webhook_id, "next_attempt_at": expires,
                     "created_at": at, "lease_token": lease.token, "lease_expires_at": expires}
                    for pk, webhook_id in plan.leased]
        records += [{"id": pk, "event_id": event_id, "channel": "hook", "hook": name, "next_attempt_at": at,
                     "created_at": at} for pk, name in plan.hooks]
    sql, defaults, reader = _write_statement()
    leased = list({webhook_id for plan in planned for _pk, webhook_id in plan.leased})
    params = [[plan.event.pk for plan in planned], token, defaults, json.dumps(records), leased]
    with prepared.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    webhooks = [rows.build(Webhook, reader.fields, reader.values(row[1:])) for row in found]
    return set(found[0][0]), {webhook.pk: webhook for webhook in webhooks if webhook.pk is not None}


@functools.cache
def _write_statement() -> tuple[str, str, rows.Reader]:
    """PostgreSQL: the statement of _write_in_one_statement, the JSON of the defaults of the columns a row does not
    set, and the reader of the webhooks it reads, built once."""
    quote = connection.ops.quote_name
    delivery_table = _table(Delivery)
    shared = Delivery()
    defaults = {f.column: getattr(shared, f.attname) for f in Delivery._meta.concrete_fields
                if f.attname not in ("id", "created_at")}  # every row sets these two (their defaults are calls)
    columns = ", ".join(quote(f.column) for f in Delivery._meta.concrete_fields)
    reader = rows.Reader(Webhook._meta.concrete_fields)
    sql = (f"WITH ended AS (UPDATE {_table(Event)} SET fanout_pending = false, lease_token = NULL,"
           f" lease_expires_at = NULL WHERE id = ANY(%s) AND lease_token = %s AND fanout_pending RETURNING id),"
           f" written AS (INSERT INTO {delivery_table} ({columns}) SELECT {columns} FROM json_populate_recordset("
           f"json_populate_record(NULL::{delivery_table}, %s::json), %s::json) v"
           f" WHERE v.event_id IN (SELECT id FROM ended))"
           f" SELECT ARRAY(SELECT id FROM ended), {', '.join(reader.columns('w'))} FROM (SELECT 1) AS one"
           f" LEFT JOIN {_table(Webhook)} w ON w.id = ANY(%s)")  # one row at least: the LEFT JOIN's
    return sql, json.dumps(defaults), reader


def webhooks_by_id(pks: set[str]) -> dict[str, Webhook]:
    """The webhooks of these ids (every column), by id, read through rows.Reader."""
    if not pks:
        return {}
    reader = rows.Reader(Webhook._meta.concrete_fields)
    sql = (f"SELECT {', '.join(reader.columns(_table(Webhook)))} FROM {_table(Webhook)}"
           f" WHERE {connection.ops.quote_name('id')} IN ({', '.join(['%s'] * len(pks))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, list(pks))
        found = [rows.build(Webhook, reader.fields, reader.values(row)) for row in cursor.fetchall()]
    return {webhook.pk: webhook for webhook in found}


class _DeliveryLease:
    """New deliveries written already leased to the worker fanning them out, exactly as its claim would lease them
    (and, like a claim's, due again when the lease runs out should that worker die)."""

    def __init__(self, token: str, expires, deadline: float) -> None:
        self.token, self.expires, self.deadline = token, expires, deadline
        self.fields = {"next_attempt_at": expires, "lease_token": token, "lease_expires_at": expires}

    @classmethod
    def start(cls) -> "_DeliveryLease":
        seconds = settings.WEBHOOK_LEASE_SECONDS
        return cls(uuid.uuid4().hex, timezone.now() + timedelta(seconds=seconds), time.monotonic() + seconds)

    def delivery(self, event: Event, pk: str, webhook_id: str, webhook: Webhook | None) -> Delivery:
        """A delivery written under this lease, as the worker holds it (its event and webhook attached)."""
        delivery = Delivery(pk=pk, event=event, webhook_id=webhook_id, created_at=event.timestamp, **self.fields)
        delivery.webhook = webhook
        return delivery


def _match_key(event: Event) -> tuple:
    return event.type, tuple(event.tags or ()), event.object_type == "webhook" and event.object_id


def expand_due(limit: int = BATCH_SIZE, *, known_due: bool = False, taker: Taker | None = None) -> int:
    """Claim and fan out up to `limit` waiting events; returns how many were fanned out here. `known_due` skips the
    read-only look when the caller just made it; `taker` may start some of the new deliveries itself."""
    if not known_due and not due_exists():
        return 0
    events, token = claim(limit)
    if not events:
        return 0
    done = expand(events, token, taker)
    if len(done) < len(events):
        logger.warning("Fan-out of %d event(s) lost its lease before it was written; the worker that took them "
                       "over decides.", len(events) - len(done))
    return len(done)


def insert_deliveries(event: Event, deliveries: list[tuple[str, str]], **fields) -> None:
    """SQLite: insert webhook deliveries of an event, given as (delivery id, webhook id), with `fields` set on each,
    in as few statements as possible: only the id and the webhook differ from row to row, so the rest is bound
    once (INSERT … SELECT … FROM (VALUES …))."""
    if not deliveries:
        return
    template = Delivery(**{"event": event, "next_attempt_at": event.timestamp, "created_at": event.timestamp,
                          **fields})
    shared = [f for f in Delivery._meta.concrete_fields
              if f.attname not in ("id", "webhook_id") and getattr(template, f.attname) is not None]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in [Delivery._meta.pk, Delivery._meta.get_field("webhook"), *shared])
    constants = [f.get_db_prep_save(getattr(template, f.attname), connection) for f in shared]
    with connection.cursor() as cursor:
        for start in range(0, len(deliveries), ROWS_PER_STATEMENT):
            chunk = deliveries[start:start + ROWS_PER_STATEMENT]
            sql = "INSERT INTO {} ({}) SELECT v.column1, v.column2, {} FROM (VALUES {}) AS v".format(
                quote(Delivery._meta.db_table), columns, ", ".join(["%s"] * len(shared)),
                ", ".join(["(%s, %s)"] * len(chunk)),
            )
            cursor.execute(sql, [*constants, *(value for pair in chunk for value in pair)])
