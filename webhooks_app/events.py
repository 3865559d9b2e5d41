"""Recording: one Event row per event, its body bytes frozen, in the caller's transaction. That is the whole cost
of a save: matching and one Delivery per subscriber are written after commit by the workers (fanout.py)."""

import json
from collections.abc import Iterable
from datetime import UTC, datetime

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from webhooks_app import ids, wakeups
from webhooks_app.models import Delivery, Event, Webhook


def isoformat(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds and a Z, as in the SPEC's example body."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
            f"{moment.second:02d}.{moment.microsecond // 1000:03d}Z")


def encode_body(event_id: str, event_type: str, moment: datetime, data: dict) -> bytes:
    """The compact UTF-8 JSON body every attempt sends."""
    return dumps({"id": event_id, "type": event_type, "timestamp": isoformat(moment), "data": data})


# Dates, times, durations, decimals and lazy strings go to Django's encoder, as they would in json.dumps with
# DjangoJSONEncoder; dataclasses too, which it refuses as before. Non-string keys become strings, as in json.dumps.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
_django_default = DjangoJSONEncoder().default


def dumps(value) -> bytes:
    """Compact UTF-8 JSON, as `json.dumps(value, separators=(",", ":"), ensure_ascii=False,
    cls=DjangoJSONEncoder)` writes it, in a third of the time: this runs in every save. Two differences, both still
    the same values: a float's exponent has no leading zero (1e-7, not 1e-07), and NaN or infinity is null, not
    the NaN that JSON parsers refuse. What orjson does not take (an integer beyond 64 bits) goes through the
    standard library, which also raises what it would have raised (a string that is not valid Unicode)."""
    try:
        return orjson.dumps(value, default=_django_default, option=_ORJSON_OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder).encode("utf-8")


def record(event_type: str, data: dict, *, tags: Iterable[str] = (), object_type: str = "",
           object_id: str = "") -> Event:
    """Record a catalog event: one INSERT. Its deliveries are written after the transaction commits, by a worker,
    for the webhooks and function subscribers matching it then (an event about a webhook, such as the
    system.warning about it, never goes to that webhook)."""
    event = _new_event(event_type, data, tags=list(tags), object_type=object_type, object_id=object_id)
    event.fanout_pending = True
    _insert(event)
    wakeups.after_commit(events_only=True)
    return event


_INSERTED = ("id", "type", "timestamp", "object_type", "object_id", "tags", "body", "internal", "fanout_pending")
_insert_sql: dict[str, str] = {}  # per database vendor


def _insert(event: Event) -> None:
    """INSERT the event row directly, with a statement built once: this runs in every save, and Model.save()
    (or building the statement each time) costs more than the statement."""
    sql = _insert_sql.get(connection.vendor)
    if sql is None:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(Event._meta.get_field(name).column) for name in _INSERTED)
        sql = _insert_sql[connection.vendor] = "INSERT INTO {} ({}) VALUES ({})".format(
            quote(Event._meta.db_table), columns, ", ".join(["%s"] * len(_INSERTED)))
    tags, body = Event._meta.get_field("tags"), Event._meta.get_field("body")
    params = [event.id, event.type, connection.ops.adapt_datetimefield_value(event.timestamp), event.object_type,
              event.object_id, tags.get_db_prep_save(event.tags, connection),
              body.get_db_prep_save(event.body, connection), event.internal, event.fanout_pending]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    event._state.adding = False


def record_message(event_type: str, data: dict, *, channel: str, webhook: Webhook | None = None,
                   is_test: bool = False, object_type: str = "", object_id: str = "", bare: bool = False,
                   target_url: str = "") -> Delivery:
    """Record an internal message (a test event, a processing request) with its one delivery on `channel`: it has
    exactly one target, so there is nothing to fan out.

    `bare` sends `data` itself as the body, without the event envelope (the processor protocol's bodies).
    """
    event = _new_event(event_type, data, tags=[], object_type=object_type, object_id=object_id, internal=True)
    if bare:
        event.body = dumps(data)
    with transaction.atomic(savepoint=False):
        event.save(force_insert=True)
        delivery = Delivery.objects.create(event=event, webhook=webhook, channel=channel, is_test=is_test,
                                           next_attempt_at=event.timestamp, target_url=target_url)
    wakeups.after_commit(events_only=False)  # its delivery is written with it
    return delivery


def redeliver(delivery: Delivery) -> Delivery:
    """A new attempt series for an already-recorded event: the same body and the same webhook-id."""
    fresh = Delivery.objects.create(event=delivery.event, webhook=delivery.webhook, channel=delivery.channel,
                                    hook=delivery.hook, is_test=delivery.is_test, target_url=delivery.target_url,
                                    next_attempt_at=timezone.now())
    wakeups.after_commit(events_only=False)
    return fresh


def replay(webhook: Webhook, event_ids: list[str]) -> int:
    """New deliveries of recorded events to one webhook (recovery after a subscriber lost data)."""
    now = timezone.now()
    Delivery.objects.bulk_create(
        Delivery(event_id=event_id, webhook=webhook, next_attempt_at=now, created_at=now) for event_id in event_ids
    )
    if event_ids:
        wakeups.after_commit(events_only=False)
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
