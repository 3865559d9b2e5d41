"""Recording events: one Event row with frozen body bytes and one Delivery per matching webhook, in the caller's
transaction, with a constant number of queries however many webhooks match."""

import functools
import json
from collections.abc import Iterable
from datetime import UTC, datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from webhooks_app import conditions, ids
from webhooks_app.models import Delivery, Event, Webhook


def isoformat(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds and a Z, as in the SPEC's example body."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def encode_body(event_id: str, event_type: str, moment: datetime, data: dict) -> bytes:
    """The compact UTF-8 JSON body every attempt sends."""
    body = {"id": event_id, "type": event_type, "timestamp": isoformat(moment), "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder).encode("utf-8")


@functools.lru_cache(maxsize=4096)
def _json_list(text: str | None) -> tuple:
    """Subscriptions repeat the same few lists: decode each distinct JSON text once per process."""
    return tuple(json.loads(text)) if text else ()


def matching_webhook_ids(event_type: str, tags: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """Active webhooks subscribed to `event_type` whose tag conditions hold for `tags` (one query, read raw:
    this runs inside every save, and decoding the same JSON lists over and over is most of its cost)."""
    tags = set(tags)
    excluded = set(exclude)
    table = connection.ops.quote_name(Webhook._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, events, tags, tag_match FROM {table} WHERE is_active = %s", [True])
        rows = cursor.fetchall()
    return [
        pk for pk, events, condition, match in rows
        if pk not in excluded
        and conditions.subscribes_to(_json_list(events), event_type)
        and conditions.tags_match(_json_list(condition), match, tags)
    ]


def record(event_type: str, data: dict, *, tags: Iterable[str] = (), object_type: str = "", object_id: str = "",
           exclude_webhook_ids: Iterable[str] = ()) -> Event:
    """Record a catalog event for every matching webhook; deliveries go out after the transaction commits."""
    tags = list(tags)
    event = _new_event(event_type, data, tags=tags, object_type=object_type, object_id=object_id)
    webhook_ids = matching_webhook_ids(event_type, tags, exclude_webhook_ids)
    with transaction.atomic(savepoint=False):
        event.save(force_insert=True)
        insert_deliveries(event, webhook_ids)
    if webhook_ids:
        schedule_wake()
    return event


def record_message(event_type: str, data: dict, *, channel: str, webhook: Webhook | None = None,
                   is_test: bool = False, object_type: str = "", object_id: str = "", bare: bool = False,
                   target_url: str = "") -> Delivery:
    """Record an internal message (a test event, a processing request) with one delivery on `channel`.

    `bare` sends `data` itself as the body, without the event envelope (the processor protocol's bodies).
    """
    event = _new_event(event_type, data, tags=[], object_type=object_type, object_id=object_id, internal=True)
    if bare:
        event.body = json.dumps(data, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder).encode()
    with transaction.atomic(savepoint=False):
        event.save(force_insert=True)
        delivery = Delivery.objects.create(event=event, webhook=webhook, channel=channel, is_test=is_test,
                                           next_attempt_at=event.timestamp, target_url=target_url)
    schedule_wake()
    return delivery


def redeliver(delivery: Delivery) -> Delivery:
    """A new attempt series for an already-recorded event: the same body and the same webhook-id."""
    fresh = Delivery.objects.create(event=delivery.event, webhook=delivery.webhook, channel=delivery.channel,
                                    is_test=delivery.is_test, target_url=delivery.target_url,
                                    next_attempt_at=timezone.now())
    schedule_wake()
    return fresh


def replay(webhook: Webhook, event_ids: list[str]) -> int:
    """New deliveries of recorded events to one webhook (recovery after a subscriber lost data)."""
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(event_id=event_id, webhook=webhook, next_attempt_at=now, created_at=now) for event_id in event_ids
    )
    if event_ids:
        schedule_wake()
    return len(event_ids)


def cancel_pending(delivery_id: str | None, *, reason: str) -> bool:
    """Stop a delivery that is no longer wanted. A worker holding it mid-attempt loses its lease, so its
    outcome is not recorded either. Returns whether a pending delivery was cancelled."""
    if delivery_id is None:
        return False
    return bool(Delivery.objects.filter(pk=delivery_id, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.CANCELLED, last_error=f"cancelled: {reason}", completed_at=timezone.now(),
        next_attempt_at=None, lease_token=None, lease_expires_at=None,
    ))


def _new_event(event_type: str, data: dict, *, tags: list[str], object_type: str, object_id: str,
               internal: bool = False) -> Event:
    now = timezone.now()
    event_id = ids.event_id()
    body = encode_body(event_id, event_type, now, data)
    return Event(id=event_id, type=event_type, timestamp=now, object_type=object_type, object_id=object_id,
                 tags=tags, body=body, internal=internal)


ROWS_PER_STATEMENT = 400  # 2 parameters a row, under SQLite's historical limit of 999 bound parameters


def insert_deliveries(event: Event, webhook_ids: list[str]) -> None:
    """Insert all deliveries of an event with one statement: only the id and the webhook differ from row to row,
    so the rest is bound once (INSERT … SELECT … FROM (VALUES …)); null columns are left to their default."""
    if not webhook_ids:
        return
    template = Delivery(event=event, next_attempt_at=event.timestamp, created_at=event.timestamp)
    shared = [f for f in Delivery._meta.concrete_fields
              if f.attname not in ("id", "webhook_id") and getattr(template, f.attname) is not None]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in [Delivery._meta.pk, Delivery._meta.get_field("webhook"), *shared])
    constants = [f.get_db_prep_save(getattr(template, f.attname), connection) for f in shared]
    with connection.cursor() as cursor:
        for start in range(0, len(webhook_ids), ROWS_PER_STATEMENT):
            chunk = webhook_ids[start:start + ROWS_PER_STATEMENT]
            sql = "INSERT INTO {} ({}) SELECT v.column1, v.column2, {} FROM (VALUES {}) AS v".format(
                quote(Delivery._meta.db_table), columns, ", ".join(["%s"] * len(shared)),
                ", ".join(["(%s, %s)"] * len(chunk)),
            )
            params = list(constants)
            for delivery_pk, webhook_pk in zip(ids.delivery_ids(len(chunk)), chunk, strict=True):
                params += (delivery_pk, webhook_pk)
            cursor.execute(sql, params)


class _WakeWorkers:
    """One on-commit wake-up. It remembers having run: callbacks run early (captureOnCommitCallbacks in tests)
    stay listed while their transaction goes on, and must not silence the wake-ups of later events."""

    def __init__(self) -> None:
        self.done = False

    def __call__(self) -> None:
        from webhooks_app.tasks import wake

        self.done = True
        wake()


def schedule_wake() -> None:
    """Wake the workers once per transaction, after it commits (at once outside a transaction)."""
    if connection.in_atomic_block and any(isinstance(func, _WakeWorkers) and not func.done
                                          for _sids, func, _robust in connection.run_on_commit):
        return
    transaction.on_commit(_WakeWorkers(), robust=True)
