"""Model instances built from hand-written SQL rows (rows.Reader and rows.Builder) are what the ORM would have read:
every column, the instance's state, the fields left out deferred; and post_init's receivers still hear of them."""

import pytest
from django.db import connection
from django.db.models.signals import post_init

from media_lifecycle.models import Video
from tests.webhooks.conftest import video
from webhooks_app import events, rows
from webhooks_app.models import Event, Webhook

pytestmark = pytest.mark.django_db


def read(model, fields, pk):
    """One row of `model` through rows.Reader, as the relay reads its claims."""
    reader = rows.Reader(fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(reader.columns(table))} FROM {table} WHERE {table}.id = %s", [pk])
        return reader.values(cursor.fetchone())


def columns(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields
            if f.attname in instance.__dict__}


def test_an_instance_built_from_a_row_is_the_one_the_orm_reads_with_the_fields_left_out_deferred():
    event = events.record("video.ready", video(["news"]), tags=["news"])
    fields = [f for f in Event._meta.concrete_fields if f.name != "tags"][::-1]  # any order, one left out
    built = rows.builder(Event, tuple(fields))(read(Event, fields, event.pk))
    stored = Event.objects.defer("tags").get(pk=event.pk)
    assert columns(built) == columns(stored)
    assert built.get_deferred_fields() == stored.get_deferred_fields() == {"tags"}
    assert (built._state.adding, built._state.db) == (stored._state.adding, stored._state.db) == (False, "default")
    assert built.tags == ["news"]  # a deferred field loads when read, as on any instance the ORM read
    built.save(update_fields=["type"])  # and it saves as an existing row
    assert Event.objects.count() == 1


def test_post_init_receivers_still_hear_of_built_instances(make_webhook):
    webhook = make_webhook("https://a.example.com/hook")
    heard = []

    def receiver(sender, instance, **kwargs):
        heard.append(instance.pk)

    post_init.connect(receiver, sender=Webhook)
    try:
        built = rows.build(Webhook, Webhook._meta.concrete_fields,
                           read(Webhook, Webhook._meta.concrete_fields, webhook.pk))
    finally:
        post_init.disconnect(receiver, sender=Webhook)
    assert heard == [webhook.pk] and built.url == "https://a.example.com/hook"


def test_a_model_with_a_file_field_is_built_through_its_descriptors():
    fields = Video._meta.concrete_fields
    builder = rows.builder(Video, tuple(fields))
    assert not builder.plain  # its file field's descriptor does more than store the value
    made = Video.objects.create(title="Built")
    built = builder(read(Video, fields, made.pk))
    assert columns(built) == columns(Video.objects.get(pk=made.pk))
    assert built.title == "Built" and not built.file
