"""Tags: free-form labels on media, matched by webhook tag conditions."""

from contextlib import contextmanager

from django.db import connection, connections, models, router
from django.db.models.fields.related_descriptors import ManyToManyDescriptor
from django.utils.functional import cached_property

from media_lifecycle import hooks
from media_lifecycle.models.tracking import LifecycleQuerySet
from media_lifecycle.unit_of_work import approvals, unit_of_work

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
    """Media's tags: a plain many-to-many field whose `set()` does not read the relation twice, and whose writes,
    from either side (`video.tags.add(…)`, `tag.videos.add(…)`), run the media's update before-hooks first.

    Django's `set()` reads the current tags, removes the stale ones and hands the others to `add()`; and `add()`,
    when anything listens to m2m_changed (the lifecycle does), reads the relation again to learn which ids are
    missing, one more query in every API or admin write that sets tags. Inside `set()` those ids are known: the
    ones its own read, a moment earlier in the same transaction, did not find."""

    def contribute_to_class(self, cls, name, **kwargs):
        super().contribute_to_class(cls, name, **kwargs)
        setattr(cls, self.name, _TagsDescriptor(self.remote_field, reverse=False))

    def contribute_to_related_class(self, cls, related):
        super().contribute_to_related_class(cls, related)
        if not self.remote_field.hidden and not related.related_model._meta.swapped:
            setattr(cls, related.accessor_name, _TagsDescriptor(self.remote_field, reverse=True))


class _TagsDescriptor(ManyToManyDescriptor):
    @cached_property
    def related_manager_cls(self):
        manager_cls = super().related_manager_cls
        return _checked_writes(manager_cls if self.reverse else _set_reads_once(manager_cls))


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


def _checked_writes(manager_cls):
    """Each write of a media object's tags runs its update before-hooks first (SPEC §12), once (set() removes
    and then adds), before anything is written: a Reject leaves the caller's transaction usable, as for saves.
    Without hooks registered for the media model, nothing is read or done."""

    class CheckedManager(manager_cls):
        def _media_model(self):
            return self.model if self.reverse else type(self.instance)

        def _ids(self, objs) -> set:
            return {obj.pk if isinstance(obj, self.model) else obj for obj in objs}

        @contextmanager
        def _checked(self, target):
            active = hooks.has_before(self._media_model()._meta.model_name, "update")
            with approvals(active):
                if active:
                    self._run_hooks(target)
                yield

        def _run_hooks(self, target) -> None:
            if not self.reverse and not self.instance.needs_related_hooks("tags"):
                return  # checked already in this write, or created in this unit
            linked = self.through._base_manager.using(router.db_for_write(self.through, instance=self.instance))
            current = set(linked.filter(**{self.source_field_name: self.instance.pk})
                          .values_list(self.target_field_name, flat=True))
            changed = current ^ target(current)
            if not changed:
                return
            owners = [self.instance] if not self.reverse else self.model._base_manager.filter(pk__in=changed)
            for owner in owners:
                if owner.needs_related_hooks("tags"):
                    owner.run_related_hooks("tags", names_of(owner))

        def set(self, objs, *, clear=False, through_defaults=None):
            objs = tuple(objs)
            with self._checked(lambda current: self._ids(objs)):
                super().set(objs, clear=clear, through_defaults=through_defaults)

        set.alters_data = True

        def add(self, *objs, through_defaults=None):
            with self._checked(lambda current: current | self._ids(objs)):
                super().add(*objs, through_defaults=through_defaults)

        add.alters_data = True

        def remove(self, *objs):
            with self._checked(lambda current: current - self._ids(objs)):
                super().remove(*objs)

        remove.alters_data = True

        def clear(self):
            with self._checked(lambda current: set()):
                super().clear()

        clear.alters_data = True

    CheckedManager.__name__ = CheckedManager.__qualname__ = manager_cls.__name__
    return CheckedManager


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
