"""Tags: free-form labels on media, matched by webhook tag conditions."""

from django.db import connection, connections, models
from django.db.models.fields.related_descriptors import ManyToManyDescriptor
from django.utils.functional import cached_property

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


class TagsField(models.ManyToManyField):
    """Media's tags: a plain many-to-many field whose `set()` does not read the relation twice.

    Django's `set()` reads the current tags, removes the stale ones and hands the others to `add()`; and `add()`,
    when anything listens to m2m_changed (the lifecycle does), reads the relation again to learn which ids are
    missing, one more query in every API or admin write that sets tags. Inside `set()` those ids are known: the
    ones its own read, a moment earlier in the same transaction, did not find."""

    def contribute_to_class(self, cls, name, **kwargs):
        super().contribute_to_class(cls, name, **kwargs)
        setattr(cls, self.name, _TagsDescriptor(self.remote_field, reverse=False))


class _TagsDescriptor(ManyToManyDescriptor):
    @cached_property
    def related_manager_cls(self):
        return _set_reads_once(super().related_manager_cls)


def _set_reads_once(manager_cls):
    class TagsManager(manager_cls):
        _in_set = False

        def set(self, objs, *, clear=False, through_defaults=None):
            self._in_set = True
            try:
                super().set(objs, clear=clear, through_defaults=through_defaults)
            finally:
                self._in_set = False

        set.alters_data = True

        def _get_missing_target_ids(self, source_field_name, target_field_name, db, target_ids):
            # Only where a row that is there after all is skipped by the insert (ON CONFLICT DO NOTHING), not an
            # error: a receiver of set()'s pre_remove may have added one through another manager.
            if self._in_set and self.through._meta.auto_created and connections[db].features.supports_ignore_conflicts:
                return set(target_ids)
            return super()._get_missing_target_ids(source_field_name, target_field_name, db, target_ids)

    TagsManager.__name__ = TagsManager.__qualname__ = manager_cls.__name__
    return TagsManager


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
