"""Tags: free-form labels on media, matched by webhook tag conditions."""

from django.db import connection, models

from media_lifecycle.models.tracking import LifecycleQuerySet
from media_lifecycle.unit_of_work import unit_of_work

TAG_MAX_LENGTH = 64


class Tag(models.Model):
    name = models.CharField(max_length=TAG_MAX_LENGTH, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LifecycleQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def delete(self, *args, **kwargs):
        with unit_of_work():  # the tagged media fire their updates with the tag already gone
            return super().delete(*args, **kwargs)


_NAMES_SQL: dict[type, str] = {}


def names_of(owner) -> list[str]:
    """The names of an object's tags as stored now, in API order (by name). One plain statement over the
    many-to-many table: this runs in every save's event, where the ORM's query building costs more than the query."""
    model = type(owner)
    sql = _NAMES_SQL.get(model)
    if sql is None:
        through = model._meta.get_field("tags").remote_field.through._meta
        owner_column = next(f.column for f in through.local_fields if f.related_model is model)
        tag_column = next(f.column for f in through.local_fields if f.related_model is Tag)
        quote = connection.ops.quote_name
        sql = _NAMES_SQL[model] = (
            f"SELECT t.{quote('name')} FROM {quote(Tag._meta.db_table)} t "
            f"JOIN {quote(through.db_table)} o ON o.{quote(tag_column)} = t.{quote('id')} "
            f"WHERE o.{quote(owner_column)} = %s ORDER BY t.{quote('name')}"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [owner.pk])
        return [row[0] for row in cursor.fetchall()]
