"""A webhook's deliveries are read through two indexes: `delivery_webhook_history` (tried or ended) and
`delivery_due` (pending, never tried). Every save inserts untried rows, so they stay out of the first one."""

import pytest
from django.db import connection, transaction
from django.urls import reverse

from tests.receiver import Answer
from tests.webhooks.conftest import video
from webhooks_app import events, fanout, relay
from webhooks_app.admin import FAILED_COUNT, SUCCEEDED_COUNT
from webhooks_app.api.views import _with_last_delivery
from webhooks_app.models import HISTORY, Delivery, Webhook, untried


@pytest.fixture
def two_webhooks(make_webhook):
    return make_webhook("http://127.0.0.1:9/a"), make_webhook("http://127.0.0.1:9/b")


def recorded(count: int) -> list[Delivery]:
    """`count` events for every webhook, left unsent: their deliveries are all untried."""
    made = [events.record("video.ready", video()).pk for _ in range(count)]
    fanout.expand_due()
    return list(Delivery.objects.filter(event__in=made).order_by("id"))


STATES = [  # every way a delivery can stand, as the relay leaves it
    {"status": "pending", "attempt_count": 0},  # untried
    {"status": "pending", "attempt_count": 2, "last_status_code": 500},  # retrying
    {"status": "succeeded", "attempt_count": 1, "last_status_code": 200},
    {"status": "failed", "attempt_count": 3, "last_status_code": 500},
    {"status": "cancelled", "attempt_count": 0},  # cancelled before its first attempt
]


def test_a_recorded_delivery_is_untried_and_leaves_that_state_with_its_first_attempt(
        make_webhook, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [3600.0]
    receiver.answer(Answer(500, b"down"))
    webhook = make_webhook(receiver.url)
    with transaction.atomic():
        event = events.record("video.ready", video())
    fanout.expand_due()  # the worker's fan-out, after the commit
    delivery = Delivery.objects.get(event=event, webhook=webhook)
    assert Delivery.objects.filter(untried(), pk=delivery.pk).exists()
    assert not Delivery.objects.filter(HISTORY, pk=delivery.pk).exists()
    relay.drain()  # the real relay: one attempt, answered 500, a retry an hour away
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count) == ("pending", 1) and len(receiver.requests) == 1
    assert Delivery.objects.filter(HISTORY, pk=delivery.pk).exists()
    assert list(Delivery.objects.of_webhook(webhook).filter(event=event)) == [delivery]


def test_a_webhooks_deliveries_are_all_found_whatever_their_state(two_webhooks, staff_api, admin_client):
    mine, other = two_webhooks
    fanout.expand_due()
    Delivery.objects.all().delete()  # the user.created events of the signed-in accounts
    rows = recorded(len(STATES))
    for delivery, state in zip([d for d in rows if d.webhook_id == mine.pk], STATES, strict=True):
        Delivery.objects.filter(pk=delivery.pk).update(**state)
    expected = sorted((d.pk for d in rows if d.webhook_id == mine.pk), reverse=True)

    assert list(Delivery.objects.of_webhook(mine).values_list("pk", flat=True)) == expected
    assert Delivery.objects.of_webhook(mine).filter(status="pending").count() == 2
    listed = staff_api.get(f"/api/webhooks/{mine.pk}/deliveries/").json()
    assert [item["id"] for item in listed["results"]] == expected and listed["count"] == len(STATES)
    text = admin_client.get(reverse("admin:webhooks_app_webhook_change", args=[mine.pk])).content.decode()
    assert all(pk in text for pk in expected)
    assert not any(d.pk in text for d in rows if d.webhook_id == other.pk)
    counted = Webhook.objects.annotate(ok=SUCCEEDED_COUNT, failed=FAILED_COUNT).get(pk=mine.pk)
    assert (counted.ok, counted.failed) == (1, 1)


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # tiny test tables: make the planner show its index
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


@pytest.mark.parametrize("query", ["deliveries", "last delivery", "success counts"])
def test_webhook_reads_use_the_history_index(two_webhooks, query):
    mine, _ = two_webhooks
    recorded(2)
    queryset = {
        "deliveries": lambda: Delivery.objects.of_webhook(mine).order_by("-id")[:20],
        "last delivery": lambda: _with_last_delivery(Webhook.objects.all()),
        "success counts": lambda: Webhook.objects.annotate(ok=SUCCEEDED_COUNT, failed=FAILED_COUNT),
    }[query]()
    assert "delivery_webhook_history" in _plan(queryset)


def test_the_delivery_admin_filters_by_webhook_tried_or_not(two_webhooks, admin_client):
    mine, other = two_webhooks
    fanout.expand_due()
    Delivery.objects.all().delete()  # the user.created events of the signed-in account
    rows = recorded(2)
    tried = next(d for d in rows if d.webhook_id == mine.pk)
    Delivery.objects.filter(pk=tried.pk).update(status="succeeded", attempt_count=1)
    url = reverse("admin:webhooks_app_delivery_changelist")
    text = admin_client.get(url, {"webhook": mine.pk}).content.decode()
    assert all(d.pk in text for d in rows if d.webhook_id == mine.pk)
    assert not any(d.pk in text for d in rows if d.webhook_id == other.pk)
    assert "2 deliveries" in text
    assert other.url in admin_client.get(url).content.decode()  # each webhook is offered as a choice


def test_the_delivery_admin_filter_with_an_unknown_webhook_lists_nothing(two_webhooks, admin_client):
    recorded(1)
    answer = admin_client.get(reverse("admin:webhooks_app_delivery_changelist"), {"webhook": "whk_nonexistent"})
    assert answer.status_code == 200 and "0 deliveries" in answer.content.decode()
