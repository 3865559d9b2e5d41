"""The lock a settle holds on the deliveries it records (PostgreSQL) excludes other writers of those rows, and
nothing else: rows that point at a delivery (a processing job's `request`, an attempt) are checked against it
by their foreign key at commit, and a FOR UPDATE lock made those commits wait for the settle, which could itself
be waiting for their locks: a deadlock (a processing callback and the settle of its job's request)."""

import threading

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.utils import timezone

from webhooks_app import relay
from webhooks_app.models import Delivery, DeliveryAttempt

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's (SQLite serialises writers with BEGIN IMMEDIATE)")


def settling(delivery: Delivery, held: threading.Event, release: threading.Event, errors: list) -> None:
    """A settle in another connection: takes the deliveries it records, and holds them until `release`."""
    try:
        with transaction.atomic():
            assert relay._still_held([delivery]) == {delivery.pk}
            held.set()
            release.wait(10)
    except Exception as exc:  # noqa: BLE001  (reported to the test)
        errors.append(exc)
    finally:
        connections.close_all()


def test_a_row_pointing_at_a_delivery_being_settled_commits_without_waiting_for_the_settle(make_webhook,
                                                                                           publish):
    make_webhook("https://a.example.com/hook")
    event = publish("video.ready")
    delivery = Delivery.objects.get(event=event)
    Delivery.objects.filter(pk=delivery.pk).update(lease_token="mine")
    delivery.lease_token = "mine"
    held, release, errors = threading.Event(), threading.Event(), []
    settle = threading.Thread(target=settling, args=(delivery, held, release, errors))
    settle.start()
    try:
        assert held.wait(10)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")  # a wait for the settle fails here
            DeliveryAttempt.objects.create(delivery=delivery, number=9, url="hook:x", started_at=timezone.now(),
                                           duration_ms=1)
    except OperationalError as exc:
        pytest.fail(f"the commit waited for the settle's lock: {exc}")
    finally:
        release.set()
        settle.join(10)
    assert errors == []
    assert DeliveryAttempt.objects.filter(delivery=delivery, number=9).exists()
