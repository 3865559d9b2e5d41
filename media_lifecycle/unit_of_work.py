"""The lifecycle's unit of work: notes of what happened to each object, merged per object (a create with its
tags is one create; an update then a delete is a delete) and flushed at the end of the unit, inside its
transaction. It sits below the models, which open units for deletes, and knows nothing of events: the lifecycle
module registers the flush (`on_flush`) when the app starts."""

import contextvars
import dataclasses
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction

CREATED, UPDATED, DELETED = "created", "updated", "deleted"


@dataclass
class Change:
    """Everything that happened to one object in one unit of work, merged."""

    kind: str
    instance: object
    model_changes: dict = field(default_factory=dict)  # attname -> value before the first change
    extra_previous: dict = field(default_factory=dict)  # api field -> previous value (tags, videos)
    snapshot: dict | None = None  # for deletes: the last state, taken before the row went
    revision_bumped: bool = False
    transitions: list = field(default_factory=list)  # (attname, new value) of each status-like change, in order
    # True while `instance` holds exactly what is stored (it was just saved, and every later note came
    # through the same object): its snapshot needs no re-read of the row.
    current: bool = False
    # The API's own representation of the object, made for the response of the request that wrote it: the
    # snapshot, without serializing the object a second time (see UnitOfWork.offer_representation).
    representation: dict | None = None
    # The API fields of related rows (tags, a playlist's videos) changed in this unit, whatever the kind.
    related: set = field(default_factory=set)


_flush: list[Callable[[list[Change]], None]] = []

# Relation writes (model, pk, api field) whose update before-hooks already ran, within the scope that approved
# them: a unit of work (a save() that announced the relations it is about to write), or one relation write made of
# several (tags.set() removes, then adds; replace_videos() deletes items). None outside any scope: nothing is kept.
_approved: contextvars.ContextVar[frozenset | None] = contextvars.ContextVar("lifecycle_approved", default=None)


def on_flush(flush: Callable[[list[Change]], None]) -> None:
    """Set what a unit does with its merged changes when it ends (the lifecycle records events)."""
    _flush[:] = [flush]


class UnitOfWork:
    def __init__(self):
        self.changes: dict[tuple, Change] = {}

    def note(self, key: tuple, change: Change) -> None:
        existing = self.changes.get(key)
        if existing is None:
            self.changes[key] = change
            return
        if change.kind == DELETED:
            if existing.kind == CREATED:
                del self.changes[key]  # created and deleted in one unit: nothing happened
            else:
                self.changes[key] = change
            return
        if change.current:
            existing.instance, existing.current = change.instance, True
        elif change.instance is not existing.instance:
            existing.current = False
        existing.revision_bumped = existing.revision_bumped or change.revision_bumped
        existing.transitions.extend(change.transitions)
        existing.related |= change.related
        if existing.kind == UPDATED:
            for name, before in change.model_changes.items():
                existing.model_changes.setdefault(name, before)
            for name, before in change.extra_previous.items():
                existing.extra_previous.setdefault(name, before)

    def offer_representation(self, data) -> None:
        """An API write answers with the object as the API shows it; when that is the state the unit would
        snapshot (same object, same revision, nothing written after), its event reuses it."""
        if not isinstance(data, dict) or "id" not in data or "revision" not in data:
            return
        for (_model, pk), change in self.changes.items():
            if pk == data["id"] and change.kind != DELETED and change.current \
                    and getattr(change.instance, "revision", None) == data["revision"]:
                change.representation = dict(data)
                return

    def flush(self) -> None:
        """Hand the merged changes to the registered flush, until flushing notes no more (processing saves)."""
        while self.changes:
            if not _flush:
                raise RuntimeError("No lifecycle flush is registered; is media_lifecycle in INSTALLED_APPS?")
            pending_changes, self.changes = list(self.changes.values()), {}
            _flush[0](pending_changes)


_current: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar("lifecycle_unit", default=None)


@contextmanager
def unit_of_work():
    """Collect lifecycle notes and flush them when the block ends without error (joins an open unit)."""
    if _current.get() is not None:
        yield _current.get()
        return
    unit = UnitOfWork()
    # An error while recording fails the save that caused it; approvals of relation writes last for the unit.
    with transaction.atomic(savepoint=False), approvals():
        token = _current.set(unit)
        try:
            yield unit
            unit.flush()
        finally:
            _current.reset(token)  # before the commit: on-commit work must not join this finished unit


@contextmanager
def savepoint():
    """A savepoint that, when it rolls back, also forgets the notes made inside it (an admin retrying a form after
    a code hook refused the write must not fire events for rows that were rolled back)."""
    unit = _current.get()
    kept = None if unit is None else {key: dataclasses.replace(
        change, model_changes=dict(change.model_changes), extra_previous=dict(change.extra_previous),
        transitions=list(change.transitions), related=set(change.related)) for key, change in unit.changes.items()}
    approved_before = _approved.get()
    try:
        with transaction.atomic():
            yield
    except BaseException:
        if unit is not None:
            unit.changes = kept
        if approved_before is not None:
            _approved.set(approved_before)  # a rolled-back write approves nothing
        raise


def note(instance, change: Change) -> None:
    """Note a change in the open unit, or in a unit of its own (flushed at once) outside of one."""
    key = (type(instance).__name__, instance.pk)
    unit = _current.get()
    if unit is not None:
        unit.note(key, change)
        return
    with unit_of_work() as fresh:
        fresh.note(key, change)


def pending(instance) -> Change | None:
    """What the open unit has noted for this object so far."""
    unit = _current.get()
    return unit.changes.get((type(instance).__name__, instance.pk)) if unit else None


@contextmanager
def approvals(active: bool = True):
    """A scope for approved relation writes (see `approve`): what is approved inside it is forgotten when it ends;
    approvals of an enclosing scope stay visible. Inactive, it costs nothing (writes without before-hooks)."""
    if not active:
        yield
        return
    token = _approved.set(_approved.get() or frozenset())
    try:
        yield
    finally:
        _approved.reset(token)


def _approval_key(instance, api_field: str) -> tuple:
    return (type(instance).__name__, instance.pk, api_field)


def approve(instance, api_field: str) -> None:
    """The update before-hooks ran for this relation write of `instance` (tags, a playlist's videos): the writes
    that make it up, within the current scope, do not run them again."""
    current = _approved.get()
    if current is not None:
        _approved.set(current | {_approval_key(instance, api_field)})


def approved(instance, api_field: str) -> bool:
    current = _approved.get()
    return current is not None and _approval_key(instance, api_field) in current
