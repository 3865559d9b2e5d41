"""The fan-out's statements on the path from a commit to the first delivery (claim, match, write) are prepared once
per connection on PostgreSQL, their text the same whatever the values; on SQLite they run on Django's own cursor.
Either way they go through Django's cursor wrapper: its errors and its query log."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.webhooks.conftest import video
from webhooks_app import events, fanout, prepared
from webhooks_app.models import Delivery

pytestmark = pytest.mark.django_db


def record(*tags: str) -> str:
    with transaction.atomic():
        return events.record("video.ready", video(tags), tags=tags).id


def fan_out_one() -> None:
    assert fanout.expand_due(limit=1) == 1


def prepared_statements() -> list[str]:
    """The statements prepared in this session (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_events_with_one_or_three_tags_share_one_prepared_statement_for_each_step(make_webhook):
    news = make_webhook("https://a.example.com/hook", tags=["news"], tag_match="any")
    everything = make_webhook("https://b.example.com/hook", tags=["news", "sport"], tag_match="all")
    first, second, third = record("news"), record("news", "sport", "music"), record("sport")
    for _ in range(3):
        fan_out_one()

    reached = sorted((d.event_id, d.webhook_id) for d in Delivery.objects.all())
    assert reached == sorted([(first, news.pk), (second, news.pk), (second, everything.pk)])
    assert third not in {event_id for event_id, _ in reached}
    if connection.vendor != "postgresql":
        return  # SQLite prepares nothing here: the deliveries above are the whole contract
    statements = prepared_statements()
    claims = [s for s in statements if s.startswith('UPDATE "webhooks_app_event" SET "lease_token"')]
    matches = [s for s in statements if s.startswith("SELECT w.id, w.activated_at")]
    writes = [s for s in statements if s.startswith("WITH ended AS")]
    assert (len(claims), len(matches), len(writes)) == (1, 1, 1)
    assert "= ANY($" in matches[0]  # the tags are one array parameter, whatever their number


def test_the_prepared_statements_are_in_django_query_log():
    record("news")
    with CaptureQueriesContext(connection) as captured:
        fan_out_one()
    logged = [query["sql"] for query in captured.captured_queries]
    assert any("lease_token" in sql and "RETURNING" in sql for sql in logged)  # the claim
    assert any("w.activated_at" in sql for sql in logged)  # the match


def test_an_error_is_django_database_error_and_the_connection_goes_on(make_webhook):
    make_webhook("https://a.example.com/hook")
    before = record()
    fan_out_one()
    with pytest.raises(DatabaseError, match="no_such_table"):
        with transaction.atomic():
            with prepared.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table WHERE id = %s", [1])
    after = record()
    fan_out_one()  # the same statements again, after the rollback (psycopg drops what it had prepared)
    assert set(Delivery.objects.values_list("event_id", flat=True)) == {before, after}


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_them_again(receiver, make_webhook):
    make_webhook(receiver.url)
    first = record()  # its commit drains inline (the test task queue): fan-out and delivery, on this connection
    receiver.wait_for(1)
    connection.close()
    second = record()
    receiver.wait_for(2)
    assert [request.header("webhook-id") for request in receiver.requests] == [first, second]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}
    if connection.vendor == "postgresql":
        assert any(s.startswith("WITH ended AS") for s in prepared_statements())
