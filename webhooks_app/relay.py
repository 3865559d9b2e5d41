"""The outbox relay: claim due deliveries in batches under a lease, sign and send them concurrently over
keep-alive sessions, then record every attempt and outcome in bulk. The Delivery row and its lease carry the
"never lost" guarantee: a claim that is never settled (a killed worker) becomes due again when it expires."""

import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from webhooks_app import catalog, channels, events, retry, sending, signing
from webhooks_app.channels import Outcome, Target
from webhooks_app.models import Delivery, DeliveryAttempt
from webhooks_app.sending import SendResult

logger = logging.getLogger(__name__)

BATCH_SIZE = 64
SENDER_THREADS = 4
IDLE_POLL_SECONDS = 0.25  # with a push broker (Redis), polling is only the safety net
ORM_POLL_SECONDS = 0.05  # with the ORM broker, polling is the wake-up (as often as django-q2 polls its queue)
LEASE_MARGIN_SECONDS = 2.0
SETTLED_FIELDS = ["status", "attempt_count", "next_attempt_at", "lease_token", "lease_expires_at",
                  "last_status_code", "last_error", "completed_at"]

_pool: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        _pool = (os.getpid(), ThreadPoolExecutor(SENDER_THREADS, thread_name_prefix="webhook-sender"))
    return _pool[1]


def _due(now) -> Q:
    return Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now) & (
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    )


def claim(limit: int = BATCH_SIZE, *, only: list[str] | None = None) -> tuple[list[Delivery], float]:
    """Lease up to `limit` due deliveries for this worker; returns them and the monotonic lease deadline.

    PostgreSQL skips rows other workers hold (FOR UPDATE SKIP LOCKED); SQLite serialises claimers with
    BEGIN IMMEDIATE. Either way the UPDATE re-checks the due condition, so no delivery is claimed twice.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    lease = settings.WEBHOOK_LEASE_SECONDS
    deadline = time.monotonic() + lease
    with transaction.atomic():
        candidates = Delivery.objects.filter(_due(now))
        if only is not None:
            candidates = candidates.filter(pk__in=only)
        candidates = candidates.order_by("next_attempt_at")
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        picked = list(candidates.values_list("pk", flat=True)[:limit])
        if not picked:
            return [], deadline
        Delivery.objects.filter(_due(now), pk__in=picked).update(
            lease_token=token, lease_expires_at=now + timedelta(seconds=lease)
        )
    claimed = list(Delivery.objects.filter(pk__in=picked, lease_token=token).select_related("event", "webhook"))
    return claimed, deadline


def _send(delivery: Delivery, target: Target) -> SendResult:
    body = bytes(delivery.event.body)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": settings.WEBHOOK_USER_AGENT,
        **target.headers,
        **signing.signature_headers(target.secrets, delivery.event_id, body),
    }
    return sending.post(target.url, body, headers, timeout=settings.WEBHOOK_TIMEOUT, guarded=target.guarded)


def send_batch(deliveries: list[Delivery], lease_deadline: float) -> list[SendResult | str | None]:
    """Send each delivery; a str result cancels it (its reason), None releases it unsent.

    An attempt starts only while the lease has room for a whole attempt, so a slow batch can never
    outlive its lease and be sent twice by another worker. The safety margin shrinks for short leases
    (which need only exceed the timeout), so a fresh claim always has room to start.
    """
    margin = min(LEASE_MARGIN_SECONDS, (settings.WEBHOOK_LEASE_SECONDS - settings.WEBHOOK_TIMEOUT) / 2)
    latest_start = lease_deadline - settings.WEBHOOK_TIMEOUT - margin

    def one(delivery: Delivery):
        target = channels.get(delivery.channel).target(delivery)
        if isinstance(target, str):
            return target
        if time.monotonic() > latest_start:
            return None
        return _send(delivery, target)

    if len(deliveries) == 1:
        return [one(deliveries[0])]
    return list(_executor().map(one, deliveries))


def _still_held(deliveries: list[Delivery]) -> set[str]:
    """The deliveries whose lease is still ours, locked until the outcome is written (PostgreSQL row locks;
    SQLite's BEGIN IMMEDIATE already serialises writers). A worker that overran its lease must not
    overwrite the newer outcome of the worker that took the delivery over."""
    token = deliveries[0].lease_token
    rows = Delivery.objects.filter(pk__in=[d.pk for d in deliveries], lease_token=token)
    if connection.features.has_select_for_update:
        rows = rows.select_for_update()
    return set(rows.values_list("pk", flat=True))


def _judge(delivery: Delivery, result: SendResult | str | None, now) -> tuple[DeliveryAttempt | None,
                                                                               Outcome | None]:
    """Apply one attempt's result to its delivery (in memory): the attempt row and the outcome, if any."""
    delivery.lease_token = None
    delivery.lease_expires_at = None
    if result is None:
        return None, None
    if isinstance(result, str):
        delivery.status = Delivery.Status.CANCELLED
        delivery.last_error = f"cancelled: {result}"
        delivery.completed_at = now
        delivery.next_attempt_at = None
        return None, None
    delivery.attempt_count += 1
    delivery.last_status_code = result.status_code
    attempt = DeliveryAttempt(
        delivery=delivery, number=delivery.attempt_count, url=result.url,
        started_at=result.started_at, duration_ms=result.duration_ms, status_code=result.status_code,
        success=result.ok, error=result.error, request_headers=result.request_headers,
        response_headers=result.response_headers, response_body=result.response_body,
    )
    gone = result.status_code == 410 and not channels.get(delivery.channel).retry_on_gone
    if result.ok:
        delivery.status = Delivery.Status.SUCCEEDED
        delivery.last_error = ""
        delivery.completed_at = now
        delivery.next_attempt_at = None
        return attempt, Outcome(delivery, result, final=True)
    delivery.last_error = result.error
    delay = None if gone else retry.next_delay(
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


def _write_outcomes(deliveries: list[Delivery]) -> None:
    """One executemany UPDATE for the batch (Django's bulk_update builds a CASE per field and row, which costs
    more than the HTTP requests themselves)."""
    if not deliveries:
        return
    fields = [Delivery._meta.get_field(name) for name in SETTLED_FIELDS]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(Delivery._meta.db_table), ", ".join(f"{quote(f.column)} = %s" for f in fields), quote("id"))
    rows = [[f.get_db_prep_save(getattr(d, f.attname), connection) for f in fields] + [d.pk] for d in deliveries]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def settle(deliveries: list[Delivery], results: list[SendResult | str | None]) -> None:
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
        DeliveryAttempt.objects.bulk_create(attempts)
        _write_outcomes(kept)
        for name, channel_outcomes in outcomes.items():
            channels.get(name).settle(channel_outcomes)


def process(deliveries: list[Delivery], lease_deadline: float) -> None:
    if deliveries:
        settle(deliveries, send_batch(deliveries, lease_deadline))


def drain(max_batches: int | None = None) -> int:
    """Deliver everything due now, batch after batch; returns how many deliveries were handled."""
    handled = batches = 0
    while max_batches is None or batches < max_batches:
        deliveries, deadline = claim()
        if not deliveries:
            break
        process(deliveries, deadline)
        handled += len(deliveries)
        batches += 1
    return handled


def send_test(webhook, event_type: str | None = None) -> Delivery:
    """"Send test event": `webhook.test`, or a realistic example of a catalog event, to this webhook only,
    whatever its subscriptions or switch; the first attempt is made before this returns."""
    if event_type and event_type != "webhook.test":
        data = catalog.get(event_type).example()
    else:
        event_type = "webhook.test"
        data = {"object": "webhook", "webhook": {"id": webhook.pk, "url": webhook.url},
                "message": "This is a test event from MediaHooks."}
    with transaction.atomic():  # leased before it commits, so no awake worker can take the first attempt
        delivery = events.record_message(event_type, data, channel="webhook", webhook=webhook, is_test=True,
                                         object_type="webhook", object_id=webhook.pk)
        deliveries, deadline = claim(1, only=[delivery.pk])
    process(deliveries, deadline)
    return Delivery.objects.get(pk=delivery.pk)


def due_now() -> bool:
    """A read-only look for due work, so an idle worker never takes the database's write lock."""
    return Delivery.objects.filter(_due(timezone.now())).exists()


def poll_interval() -> float:
    from webhooks_app.tasks import uses_orm_broker

    return ORM_POLL_SECONDS if uses_orm_broker() else IDLE_POLL_SECONDS


def run_forever(stop: threading.Event) -> None:
    """The worker loop: drain whatever is due (new events, retries, expired leases), then nap briefly."""
    interval = poll_interval()
    logger.info("Delivery relay running (polls every %.2f s).", interval)
    while not stop.is_set():
        try:
            handled = drain() if due_now() else 0
        except DatabaseError:
            logger.exception("Delivery relay: database error; retrying in a second.")
            close_old_connections()
            stop.wait(1.0)
            continue
        if not handled:
            stop.wait(interval)
