"""Fan-out after commit: a worker claims recorded events under a lease (like deliveries) and writes, in one
transaction per batch of events, one Delivery per matching webhook and function subscriber. A worker killed between
the claim and that transaction leaves the events claimed; once the lease runs out another worker fans them out, and
since the deliveries and the end of the claim commit together, an event is never fanned out twice."""

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from webhooks_app import functions, ids, leases
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
    """Lease up to `limit` events waiting for fan-out; returns them (oldest first) and the lease token."""
    token = uuid.uuid4().hex
    now = timezone.now()
    picked = leases.take(Event.objects.filter(_due(now)).order_by("timestamp"), limit, {
        "lease_token": token, "lease_expires_at": now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS)})
    if not picked:
        return [], token
    claimed = Event.objects.filter(pk__in=picked, lease_token=token).only(
        "id", "type", "timestamp", "tags", "object_type", "object_id").order_by("timestamp", "id")
    return list(claimed), token


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


def expand(events: list[Event], token: str) -> list[str]:
    """Write the deliveries of claimed events and end their claim, in one transaction; returns the ids of the
    events fanned out here (an event whose lease was lost meanwhile is left to the worker that took it over)."""
    with transaction.atomic():
        # The claim ends first: that locks the rows still ours, and the deliveries commit or roll back with it.
        held = Event.objects.filter(pk__in=[event.pk for event in events], lease_token=token, fanout_pending=True)
        kept = set(leases.take(held, len(events), {"fanout_pending": False, "lease_token": None,
                                                   "lease_expires_at": None}))
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
            insert_deliveries(event, [pk for pk, since in matches[key] if since <= event.timestamp])
            hook_rows += [Delivery(event_id=event.pk, channel="hook", hook=name, next_attempt_at=event.timestamp,
                                   created_at=event.timestamp) for name in matching_hooks(event)]
        Delivery.objects.bulk_create(hook_rows)
    return [event.pk for event in events if event.pk in kept]


def _match_key(event: Event) -> tuple:
    return event.type, tuple(event.tags or ()), event.object_type == "webhook" and event.object_id


def expand_due(limit: int = BATCH_SIZE, *, known_due: bool = False) -> int:
    """Claim and fan out up to `limit` waiting events; returns how many were fanned out here. `known_due` skips the
    read-only look when the caller just made it."""
    if not known_due and not due_exists():
        return 0
    events, token = claim(limit)
    if not events:
        return 0
    done = expand(events, token)
    if len(done) < len(events):
        logger.warning("Fan-out of %d event(s) lost its lease before it was written; the worker that took them "
                       "over decides.", len(events) - len(done))
    return len(done)


def insert_deliveries(event: Event, webhook_ids: Iterable[str]) -> None:
    """Insert the webhook deliveries of an event with as few statements as possible: only the id and the webhook
    differ from row to row, so the rest is bound once (INSERT … SELECT … FROM (VALUES …))."""
    webhook_ids = list(webhook_ids)
    if not webhook_ids:
        return
    template = Delivery(event=event, next_attempt_at=event.timestamp, created_at=event.timestamp)
    shared = [f for f in Delivery._meta.concrete_fields
              if f.attname not in ("id", "webhook_id") and getattr(template, f.attname) is not None]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in [Delivery._meta.pk, Delivery._meta.get_field("webhook"), *shared])
    constants = [f.get_db_prep_save(getattr(template, f.attname), connection) for f in shared]
    step = ROWS_PER_STATEMENT.get(connection.vendor, 400)
    with connection.cursor() as cursor:
        for start in range(0, len(webhook_ids), step):
            chunk = webhook_ids[start:start + step]
            sql = "INSERT INTO {} ({}) SELECT v.column1, v.column2, {} FROM (VALUES {}) AS v".format(
                quote(Delivery._meta.db_table), columns, ", ".join(["%s"] * len(shared)),
                ", ".join(["(%s, %s)"] * len(chunk)),
            )
            params = list(constants)
            for delivery_pk, webhook_pk in zip(ids.delivery_ids(len(chunk)), chunk, strict=True):
                params += (delivery_pk, webhook_pk)
            cursor.execute(sql, params)
