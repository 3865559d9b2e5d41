from django.db import migrations

import media_lifecycle.models.tag


def _tags(model_name: str, related_name: str) -> migrations.AlterField:
    return migrations.AlterField(
        model_name=model_name,
        name="tags",
        field=media_lifecycle.models.tag.TagsField(blank=True, related_name=related_name, to="media_lifecycle.tag"),
    )


class Migration(migrations.Migration):
    """The tags fields become TagsField, which changes how `set()` runs, not the tables: state only (on SQLite
    an AlterField would copy every tag table for nothing)."""

    dependencies = [
        ("media_lifecycle", "0004_uploads_and_editors"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[_tags("livestream", "livestreams"), _tags("playlist", "playlists"),
                              _tags("video", "videos")],
        ),
    ]
