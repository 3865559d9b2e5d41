"""Change tracking for media rows: what a save changes, a revision that moves only when something does,
and optimistic concurrency so two writers never silently overwrite each other."""

import copy

from django.db import models, transaction
from django.db.models import F
from django.db.models.fields.files import FieldFile
from django.db.models.signals import post_save
from django.utils import timezone

from cms.exceptions import ConflictError
from media_lifecycle import hooks
from media_lifecycle.unit_of_work import CREATED, approve, approved, pending, unit_of_work

BOOKKEEPING_FIELDS = {"revision", "created_at", "updated_at"}


def _plain(value):
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, (dict, list)):
        return copy.deepcopy(value)
    return value


class LifecycleQuerySet(models.QuerySet):
    """A bulk `delete()` is one lifecycle unit of work, like `Model.delete()`: without it each cascaded row
    (a playlist's items, a tag's media) would flush its own event before the rest of the delete had happened."""

    def delete(self):
        if hooks.has_before(self.model._meta.model_name, "delete"):
            for instance in self:  # before anything is written: a Reject leaves the caller's transaction usable
                hooks.run_before(hooks.Change(action="delete", instance=instance))
        with unit_of_work():
            return super().delete()

    delete.alters_data = True
    delete.queryset_only = True


class TrackedModel(models.Model):
    """Base for media: `save()` writes only changed fields, bumps `revision`, and skips no-op saves."""

    # Saved when they change, but neither reported as changes nor worth a new revision.
    SILENT_FIELDS: frozenset[str] = frozenset()

    revision = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = LifecycleQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded = instance.tracked_values()
        return instance

    def refresh_from_db(self, using=None, fields=None, from_queryset=None) -> None:
        """Reloaded values become the baseline that changes are measured against (a later save is not a change)."""
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        reloaded = self.tracked_values()
        if fields is not None:
            names = {self._meta.get_field(name).attname for name in fields}
            reloaded = {name: value for name, value in reloaded.items() if name in names}
        self._loaded = {**getattr(self, "_loaded", {}), **reloaded}

    def tracked_values(self) -> dict:
        deferred = self.get_deferred_fields()
        return {
            f.attname: _plain(getattr(self, f.attname))
            for f in self._meta.concrete_fields
            if f.attname not in deferred and f.name not in BOOKKEEPING_FIELDS and not f.primary_key
        }

    def changed_fields(self) -> dict:
        """{attname: value before} for every tracked field that differs from what was loaded."""
        loaded = getattr(self, "_loaded", None)
        if loaded is None:
            return {}
        current = self.tracked_values()
        unread = [name for name in current if name not in loaded]  # deferred when loaded, assigned since
        if unread:
            stored = type(self)._base_manager.filter(pk=self.pk).values(*unread).first() or {}
            loaded = {**loaded, **{name: _plain(value) for name, value in stored.items()}}
        return {name: old for name, old in loaded.items() if name in current and current[name] != old}

    def validate_change(self, changes: dict) -> None:
        """Hook for invariants (the status machine); raise ConflictError to refuse the save."""

    def _field_names(self, attnames) -> list[str]:
        """Model field names (`created_by`, not `created_by_id`) for before-hooks."""
        by_attname = {f.attname: f.name for f in self._meta.concrete_fields}
        return [by_attname.get(name, name) for name in attnames]

    def _before_hooks(self, action: str, changes: dict, announced: dict | None = None) -> bool:
        """Run the code before-hooks for this write (SPEC §12); True if any ran (it may have changed fields).
        An update also names the announced relations that change, with their values before."""
        model = self._meta.model_name
        if getattr(self, "_before_hooks_ran", False) or not hooks.has_before(model, action):
            return False
        names = self._field_names(changes)
        previous = dict(zip(names, changes.values(), strict=True)) if action == "update" else {}
        related = self._related_changes(announced) if announced else {}
        if action == "update" and not names and not related:
            return False
        hooks.run_before(hooks.Change(action=action, instance=self, changes=[*names, *related],
                                      previous={**previous, **related}))
        for api_field in related:
            approve(self, api_field)
        return True

    # --- relations (tags, a playlist's videos): written after the row, checked by the same update hooks ---------

    def announce_related(self, **values) -> None:
        """A write path (API, admin) names the relations it will write after save() (tags: names; videos: ids in
        order), so that save() runs the update hooks once for the row and those relations together."""
        self._announced = {**getattr(self, "_announced", {}), **values}

    def stored_related(self, api_field: str) -> list:
        """A relation's stored value as events show it (tags: names in API order); Playlist adds its videos."""
        if api_field == "tags":
            return list(self.tags.order_by("name").values_list("name", flat=True))
        raise ValueError(f"{type(self).__name__} has no relation {api_field!r} for before-hooks.")

    def _related_before(self, api_field: str, stored: list) -> list:
        """The value before, as the event will show it: the one before the unit's first change of it."""
        noted = pending(self)
        known = noted.extra_previous.get(api_field) if noted is not None else None
        return stored if known is None else known

    def _related_changes(self, announced: dict) -> dict:
        """{api field: value before} for the announced relations whose new value differs from the stored one."""
        changed = {}
        for api_field, value in announced.items():
            stored = self.stored_related(api_field)
            same = set(value) == set(stored) if api_field == "tags" else list(value) == list(stored)
            if not same and not approved(self, api_field):
                changed[api_field] = self._related_before(api_field, stored)
        return changed

    def needs_related_hooks(self, api_field: str) -> bool:
        """Whether a relation write that no save() announced must run the update hooks (cheap, no query): some
        are registered, none ran for this write yet, and the object is not being created in this unit (its
        tags and videos are part of its create)."""
        if not hooks.has_before(self._meta.model_name, "update") or approved(self, api_field):
            return False
        noted = pending(self)
        return noted is None or noted.kind != CREATED

    def run_related_hooks(self, api_field: str, before: list) -> None:
        """Run the update hooks for a relation write of ORM code (tags.add(), tag.videos.add(), replace_videos()),
        before it is written; fields a hook changes are saved at once, without running the hooks again."""
        loaded = self.tracked_values()
        hooks.run_before(hooks.Change(action="update", instance=self, changes=[api_field],
                                      previous={api_field: self._related_before(api_field, before)}))
        approve(self, api_field)
        if self.tracked_values() != loaded:
            self._before_hooks_ran = True
            try:
                self.save()
            finally:
                del self._before_hooks_ran

    def _set_fields(self) -> dict:
        """A new row's fields that differ from their defaults: what a create "changes"."""
        values = self.tracked_values()
        return {f.attname: None for f in self._meta.concrete_fields
                if f.attname in values and values[f.attname] != _plain(f.get_default())}

    def save(self, *args, **kwargs):
        # Before-hooks and invariants run before anything is written, so a refused save leaves the
        # surrounding transaction usable (an admin action can go on with the next object).
        announced = self.__dict__.pop("_announced", None)  # a create's relations are part of it
        if self._state.adding:
            if hooks.has_before(self._meta.model_name, "create"):
                self._before_hooks("create", self._set_fields())
            self.validate_change({})
            changes = None
        else:
            changes = self.changed_fields()
            reported = {k: v for k, v in changes.items() if k not in self.SILENT_FIELDS}
            if (reported or announced) and self._before_hooks("update", reported, announced):
                changes = self.changed_fields()  # the hooks may have changed (or reverted) fields
            if not changes:
                self._changes = {}
                return
            self.validate_change(changes)
        with transaction.atomic(savepoint=False):
            if changes is None:
                self._changes = {}
                self._expected_revision = None
                super().save(*args, **kwargs)
            else:
                reported = {k: v for k, v in changes.items() if k not in self.SILENT_FIELDS}
                fields = list(changes)
                self._expected_revision = self.revision
                if reported:
                    self.revision += 1
                    self.updated_at = timezone.now()
                    fields += ["revision", "updated_at"]
                self._changes = reported
                kwargs["update_fields"] = fields
                try:
                    super().save(*args, **kwargs)
                except ConflictError:
                    self.revision = self._expected_revision
                    raise

    def _do_update(self, base_qs, using, pk_val, values, update_fields, forced_update):
        expected = getattr(self, "_expected_revision", None)
        if expected is None:
            return super()._do_update(base_qs, using, pk_val, values, update_fields, forced_update)
        updated = super()._do_update(base_qs.filter(revision=expected), using, pk_val, values, update_fields,
                                     forced_update)
        if not updated:
            current = type(self)._base_manager.using(using).filter(pk=pk_val).values_list("revision", flat=True)
            current = list(current)
            if current:
                raise ConflictError(
                    f"This {self._meta.verbose_name} was changed by someone else (it is now at revision "
                    f"{current[0]}, you edited revision {expected}); reload it and try again.",
                    revision=current[0],
                )
        return updated

    def delete(self, *args, **kwargs):
        self._before_hooks("delete", {})  # before anything is written, as for saves
        with unit_of_work():  # cascades (playlist items) merge into the one delete event
            return super().delete(*args, **kwargs)

    def bump_revision(self) -> None:
        """A change outside the row itself (tags, playlist membership) is a new revision too."""
        rows = type(self)._base_manager.filter(pk=self.pk)
        self.updated_at = timezone.now()
        rows.update(revision=F("revision") + 1, updated_at=self.updated_at)
        self.revision = rows.values_list("revision", flat=True).get()


def remember_saved_state(sender, instance, raw=False, **kwargs):
    """After the row is written and before other post_save receivers run (connected first, at import),
    so code reacting to the save compares against what is now stored."""
    if isinstance(instance, TrackedModel):
        instance._loaded = instance.tracked_values()


post_save.connect(remember_saved_state, dispatch_uid="tracking-remember-saved-state")
