from django.db import migrations

# The outbox trigger's wake-up says what it is about: events were recorded ("events"). Any other payload (an
# explicit NOTIFY, an earlier version's empty one) means there may be deliveries to claim too.
EVENTS_PAYLOAD = """
CREATE OR REPLACE FUNCTION webhooks_app_wake() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('webhooks_app_wake', 'events');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""
EMPTY_PAYLOAD = EVENTS_PAYLOAD.replace("'events'", "''")


def notifying(body: str):
    """A migration step that (re)defines the trigger's function, on PostgreSQL only."""
    def step(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(body)

    return step


class Migration(migrations.Migration):

    dependencies = [
        ('webhooks_app', '0005_event_indexes_for_the_insert_path'),
    ]

    operations = [
        migrations.RunPython(notifying(EVENTS_PAYLOAD), notifying(EMPTY_PAYLOAD)),
    ]
