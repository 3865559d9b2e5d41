"""Fan-out after commit: a worker claims recorded events under a lease (like deliveries) and writes, in one
transaction per batch of events, one Delivery per matching webhook and function subscriber. A worker killed between
the claim and that transaction leaves the events claimed; once the lease runs out another worker fans them out, and
since the deliveries and the end of the claim commit together, an event is never fanned out twice. The deliveries
the fanning worker has room for are written already leased to it (a Taker), and handed to it after the commit."""

import logging
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from webhooks_app import functions, ids
from webhooks_app.models import ConditionTag, Delivery, Event, SubscribedEvent, Webhook

logger = logging.getLogger(__name__)

BATCH_SIZE = 64
# Rows per INSERT: 2 bound parameters a row; SQLite's historical limit is 999 parameters, PostgreSQL's 65,535.
ROWS_PER_STATEMENT = {"sqlite": 400, "postgresql": 5000}


def _due(now) -> Q:
    return Q(fanout_pending=True) & (Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))


def due_events():
    """Events waiting for fan-out and not claimed (read through the `event_fanout_due` index)."""
    return Event.objects.filter(_due(timezone.now()))


def due_exists() -> bool:
    """A read-only look so an idle worker never takes a write lock."""
    return due_events().exists()


def claim(limit: int = BATCH_SIZE) -> tuple[list[Event], str]:
    """Lease up to `limit` events waiting for fan-out; returns them (oldest first, their bodies read by the same
    statement, for deliveries started at once) and the lease token. One statement, like leases.take (PostgreSQL
    skips events other workers hold; SQLite runs it alone), written out in SQL: on the path from a commit to the
    first delivery, building it with the ORM cost more than running it."""
    token = uuid.uuid4().hex
    now = timezone.now()
    expires = now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)
    quote, table = connection.ops.quote_name, _table(Event)
    pick = (f"SELECT {quote('id')} FROM {table} WHERE {quote('fanout_pending')} AND ({quote('lease_expires_at')}"
            f" IS NULL OR {quote('lease_expires_at')} <= %s) ORDER BY {quote('timestamp')} LIMIT %s")
    if connection.features.has_select_for_update_skip_locked:
        pick += " FOR UPDATE SKIP LOCKED"
    returned = ", ".join(quote(name) for name in ["id", "type", "timestamp", "tags", "object_type", "object_id",
                                                  "body"])
    sql = (f"UPDATE {table} SET {quote('lease_token')} = %s, {quote('lease_expires_at')} = %s"
           f" WHERE {quote('id')} IN ({pick}) RETURNING {returned}")
    adapt = connection.ops.adapt_datetimefield_value
    claimed = list(Event.objects.raw(sql, [token, adapt(expires), adapt(now), limit]))
    claimed.sort(key=lambda event: (event.timestamp, event.pk))
    return claimed, token


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


def matching_webhooks(event: Event, *, until=None) -> list[tuple[str, object]]:
    """(id, activated_at) of the webhooks an event reaches, found by the database through the subscription index:
    switched on (and on since before the event, or before `until` when one query serves several events),
    subscribed to its type or "*", and whose tag condition its tags meet. Written out in SQL: building it with
    the ORM cost more than running it, on the path from a commit to the first delivery."""
    tags = list(dict.fromkeys(event.tags or []))
    tag_list = ", ".join(["%s"] * len(tags))
    rule = f"NOT EXISTS (SELECT 1 FROM {_table(ConditionTag)} c WHERE c.webhook_id = w.id)"
    params: list = []
    if tags:
        rule += (f" OR (w.tag_match = %s AND EXISTS (SELECT 1 FROM {_table(ConditionTag)} c"
                 f" WHERE c.webhook_id = w.id AND c.name IN ({tag_list})))"
                 f" OR (w.tag_match = %s AND NOT EXISTS (SELECT 1 FROM {_table(ConditionTag)} c"
                 f" WHERE c.webhook_id = w.id AND c.name NOT IN ({tag_list})))")
        params += ["any", *tags, "all", *tags]
    sql = (f"SELECT w.id, w.activated_at FROM {_table(Webhook)} w WHERE w.is_active AND w.activated_at <= %s"
           f" AND w.id IN (SELECT s.webhook_id FROM {_table(SubscribedEvent)} s WHERE s.name IN (%s, %s))"
           f" AND ({rule})")
    moment = connection.ops.adapt_datetimefield_value(until or event.timestamp)
    params = [moment, event.type, "*", *params]
    if event.object_type == "webhook":  # never tell a webhook about itself
        sql += " AND w.id <> %s"
        params.append(event.object_id)
    with connection.cursor() as cursor:
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


def expand(events: list[Event], token: str, taker: Taker | None = None) -> list[str]:
    """Write the deliveries of claimed events and end their claim, in one transaction; returns the ids of the
    events fanned out here (an event whose lease was lost meanwhile is left to the worker that took it over).
    Deliveries the `taker` wants are written leased to it, and handed to it after the commit."""
    lease = _DeliveryLease.start() if taker is not None else None
    leased: list[Delivery] = []
    with transaction.atomic():
        # The claim ends first: that locks the rows still ours, and the deliveries commit or roll back with it.
        kept = _end_claim(events, token)
        fanned = [event for event in events if event.pk in kept]
        # Events of one batch often share their type, tags and subject: one query each, as of the latest of them.
        latest: dict[tuple, object] = {}
        for event in fanned:
            key = _match_key(event)
            latest[key] = max(latest.get(key, event.timestamp), event.timestamp)
        matches = {key: None for key in latest}
        hook_rows = []
        for event in fanned:
            key = _match_key(event)
            if matches[key] is None:
                matches[key] = matching_webhooks(event, until=latest[key])
            reached = [pk for pk, since in matches[key] if since <= event.timestamp]
            mine = [pk for pk in reached if taker.wants(pk)] if taker is not None else []
            if mine:
                taken = set(mine)
                insert_deliveries(event, [pk for pk in reached if pk not in taken])
                leased += lease.insert(event, mine)
            else:
                insert_deliveries(event, reached)
            hook_rows += [Delivery(event_id=event.pk, channel="hook", hook=name, next_attempt_at=event.timestamp,
                                   created_at=event.timestamp) for name in matching_hooks(event)]
        Delivery.objects.bulk_create(hook_rows)
        if leased:
            lease.attach_webhooks(leased)
    if leased:
        taker.take(leased, lease.deadline)
    return [event.pk for event in events if event.pk in kept]


class _DeliveryLease:
    """New deliveries written already leased to the worker fanning them out, exactly as its claim would lease them
    (and, like a claim's, due again when the lease runs out should that worker die)."""

    def __init__(self, token: str, expires, deadline: float) -> None:
        self.token, self.expires, self.deadline = token, expires, deadline

    @classmethod
    def start(cls) -> "_DeliveryLease":
        seconds = settings.WEBHOOK_LEASE_SECONDS
        return cls(uuid.uuid4().hex, timezone.now() + timedelta(seconds=seconds), time.monotonic() + seconds)

    def insert(self, event: Event, webhook_ids: list[str]) -> list[Delivery]:
        fields = {"next_attempt_at": self.expires, "lease_token": self.token, "lease_expires_at": self.expires}
        pks = insert_deliveries(event, webhook_ids, **fields)
        return [Delivery(pk=pk, event=event, webhook_id=webhook_id, created_at=event.timestamp, **fields)
                for pk, webhook_id in zip(pks, webhook_ids, strict=True)]

    @staticmethod
    def attach_webhooks(deliveries: list[Delivery]) -> None:
        wanted = list({delivery.webhook_id for delivery in deliveries})
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in Webhook._meta.concrete_fields)
        sql = f"SELECT {columns} FROM {_table(Webhook)} WHERE {quote('id')} IN ({', '.join(['%s'] * len(wanted))})"
        webhooks = {webhook.pk: webhook for webhook in Webhook.objects.raw(sql, wanted)}
        for delivery in deliveries:
            delivery.webhook = webhooks.get(delivery.webhook_id)


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


def insert_deliveries(event: Event, webhook_ids: Iterable[str], **fields) -> list[str]:
    """Insert the webhook deliveries of an event (with `fields` set on each) with as few statements as possible:
    only the id and the webhook differ from row to row, so the rest is bound once (INSERT … SELECT … FROM
    (VALUES …)). Returns the new deliveries' ids, in the order of `webhook_ids`."""
    webhook_ids = list(webhook_ids)
    if not webhook_ids:
        return []
    template = Delivery(**{"event": event, "next_attempt_at": event.timestamp, "created_at": event.timestamp,
                          **fields})
    shared = [f for f in Delivery._meta.concrete_fields
              if f.attname not in ("id", "webhook_id") and getattr(template, f.attname) is not None]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in [Delivery._meta.pk, Delivery._meta.get_field("webhook"), *shared])
    constants = [f.get_db_prep_save(getattr(template, f.attname), connection) for f in shared]
    step = ROWS_PER_STATEMENT.get(connection.vendor, 400)
    written = []
    with connection.cursor() as cursor:
        for start in range(0, len(webhook_ids), step):
            chunk = webhook_ids[start:start + step]
            sql = "INSERT INTO {} ({}) SELECT v.column1, v.column2, {} FROM (VALUES {}) AS v".format(
                quote(Delivery._meta.db_table), columns, ", ".join(["%s"] * len(shared)),
                ", ".join(["(%s, %s)"] * len(chunk)),
            )
            params = list(constants)
            pks = ids.delivery_ids(len(chunk))
            for delivery_pk, webhook_pk in zip(pks, chunk, strict=True):
                params += (delivery_pk, webhook_pk)
            cursor.execute(sql, params)
            written += pks
    return written
