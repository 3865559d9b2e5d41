"""Model instances from the rows of hand-written SQL, each value converted exactly as the ORM's own reads convert
it. Django's raw() does the same, but looks up every field's column again in its result's columns at each query:
in a profile of a worker on the path from a commit to the first delivery, about 0.2 ms a call."""

import functools
from collections.abc import Sequence
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

_PLAIN = (DeferredAttribute, ForeignKeyDeferredAttribute)  # descriptors that only read and write __dict__


def _read_time(value: str | None, _expression, _connection) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class Reader:
    """Reads rows whose columns are `fields`, in order (of one model, or of several side by side). With
    `times_as_text`, date-times are selected as ISO text (`columns` casts them) and parsed by
    datetime.fromisoformat: Django's loader of PostgreSQL's timestamptz is Python code, about 5 µs a value."""

    def __init__(self, fields: Sequence, *, times_as_text: bool = False) -> None:
        self.fields = list(fields)
        self.text_times = {i for i, f in enumerate(self.fields)
                           if times_as_text and f.get_internal_type() == "DateTimeField"}
        found = [(i, [_read_time] if i in self.text_times else
                  connection.ops.get_db_converters(f.cached_col) + f.get_db_converters(connection))
                 for i, f in enumerate(self.fields)]  # as the ORM's reads apply them
        self.converters = [(i, functions) for i, functions in found if functions]

    def columns(self, *tables: str) -> list[str]:
        """The SELECT list, each field's column qualified by its table alias (one alias per field, or one for
        all)."""
        quote = connection.ops.quote_name
        aliases = tables if len(tables) == len(self.fields) else tables * len(self.fields)
        return [f"{alias}.{quote(f.column)}" + ("::text" if i in self.text_times else "")
                for i, (alias, f) in enumerate(zip(aliases, self.fields, strict=True))]

    def values(self, row: Sequence) -> list:
        values = list(row)
        for i, functions in self.converters:
            for function in functions:
                values[i] = function(values[i], None, connection)
        return values


class Builder:
    """Instances of `model` as the ORM would have read them, from the converted values of `fields`, in that order
    (any order: Model.from_db takes a subset of the fields in the model's own order, so they are put in it). The
    order is worked out once: per row it cost more than the instance itself."""

    def __init__(self, model, fields: Sequence) -> None:
        given = [f.attname for f in fields]
        self.model = model
        self.names = [f.attname for f in model._meta.concrete_fields if f.attname in given]
        self.order = None if self.names == given else [given.index(name) for name in self.names]
        self.count = len(given)
        # Model.__init__ only stores each value in the instance's __dict__ when every field is a plain attribute
        # (no FileField's descriptor, say); the instance is then made as from_db makes it, without __init__'s walk
        # over every field and its two signals, as long as nobody listens to them (half of the instance's cost).
        self.plain = all(type(vars(model).get(name)) in _PLAIN for name in self.names)

    def __call__(self, values: Sequence):
        if len(values) != self.count:
            raise ValueError(f"{len(values)} values for {self.count} fields of {self.model.__name__}")
        if self.order is not None:
            values = [values[i] for i in self.order]
        if not self.plain or pre_init.receivers or post_init.receivers:
            return self.model.from_db(DEFAULT_DB_ALIAS, self.names, values)
        instance = self.model.__new__(self.model)
        instance.__dict__.update(zip(self.names, values, strict=True))  # a field left out stays deferred
        state = instance._state = ModelState()
        state.adding, state.db = False, DEFAULT_DB_ALIAS  # `connection` is the default database's
        return instance


@functools.cache
def builder(model, fields: tuple) -> Builder:
    return Builder(model, fields)


def build(model, fields: Sequence, values: Sequence):
    """An instance of `model` from its `fields`' converted values (see Builder)."""
    return builder(model, tuple(fields))(values)
