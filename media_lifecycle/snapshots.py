"""Snapshots: the JSON `data` of an event is the resource exactly as the REST API shows it, plus `object`."""

import copy
import operator
import threading
from dataclasses import dataclass, field

from rest_framework import fields as drf_fields
from rest_framework import relations as drf_relations
from rest_framework import serializers as drf_serializers

from media_lifecycle.api import serializers
from media_lifecycle.models import Livestream, Playlist, Video
from media_lifecycle.models.tag import names_of

_local = threading.local()


class _Attribute:
    """Reads one plain attribute (operator.attrgetter, which does not say which)."""

    __slots__ = ("name", "get")

    def __init__(self, name: str) -> None:
        self.name = name
        self.get = operator.attrgetter(name)

    def __call__(self, instance):
        return self.get(instance)


@dataclass(frozen=True)
class SnapshotSpec:
    name: str
    model: type
    serializer_path: str
    related: tuple = ()
    prefetch: tuple = ("tags",)
    # model attname -> API field names it shows up as (default: the same name, when the API shows it)
    field_map: dict = field(default_factory=dict)

    @property
    def serializer(self):
        """One serializer per thread, reused: building a ModelSerializer's fields costs milliseconds, and
        to_representation() keeps no per-object state."""
        cache = _local.__dict__.setdefault("serializers", {})
        if self.name not in cache:
            cache[self.name] = getattr(serializers, self.serializer_path)()
        return cache[self.name]

    def is_representation(self, data: dict) -> bool:
        """Whether `data` has exactly the fields this snapshot shows (an answer may show more, such as a
        livestream's stream key once on create, which must never reach an event)."""
        cache = _local.__dict__.setdefault("readable", {})
        if self.name not in cache:
            cache[self.name] = frozenset(f.field_name for f in self.serializer._readable_fields)
        return data.keys() == cache[self.name]

    @property
    def plan(self) -> list[tuple]:
        """The serializer's readable fields as (name, how to read the attribute, how to show it): the same calls
        DRF's Serializer.to_representation makes, minus its per-field dispatch, which in a save's event costs
        more than the values themselves. Fields that read their attribute their own way keep doing so."""
        cache = _local.__dict__.setdefault("plans", {})
        if self.name not in cache:
            plan = []
            for api_field in self.serializer._readable_fields:
                if api_field.source == "*":
                    read = None
                elif (type(api_field).get_attribute is drf_fields.Field.get_attribute
                      and not isinstance(api_field, drf_relations.RelatedField) and len(api_field.source_attrs) == 1):
                    read = _Attribute(api_field.source_attrs[0])
                else:
                    read = api_field.get_attribute
                plan.append((api_field.field_name, read, api_field.to_representation))
            cache[self.name] = plan
        return cache[self.name]

    def snapshot(self, instance, known: dict | None = None) -> dict:
        """The object as the API shows it (what `serializer.to_representation` gives), plus `object`; `known`
        holds API values already known (a new row's empty tags), which are not read again."""
        if type(self.serializer).to_representation is not drf_serializers.Serializer.to_representation:
            return {"object": self.name, **self.serializer.to_representation(instance), **(known or {})}
        data = {"object": self.name}
        for name, read, show in self.plan:
            if known and name in known:
                data[name] = known[name]
                continue
            value = instance if read is None else read(instance)
            empty = value.pk is None if isinstance(value, drf_relations.PKOnlyObject) else value is None
            data[name] = None if empty else show(value)
        return data

    def previous(self, instance, model_changes: dict) -> dict:
        """API-shaped values of the changed fields before the change. A field the API reads straight from its
        attribute is shown from the old value; others (URLs made from files, related names) are read from a copy
        of the object with the old values put back."""
        plan = {name: (read, show) for name, read, show in self.plan}
        result, before = {}, None
        for attname, old in model_changes.items():
            for api_name in self.field_map.get(attname, [attname]):
                if api_name not in plan:
                    continue  # not shown by the API (write-only or internal)
                read, show = plan[api_name]
                if isinstance(read, _Attribute) and read.name == attname:
                    value = old
                else:
                    if before is None:
                        before = copy.copy(instance)
                        for name, value in model_changes.items():
                            setattr(before, name, value)
                    value = before if read is None else read(before)
                empty = value.pk is None if isinstance(value, drf_relations.PKOnlyObject) else value is None
                result[api_name] = None if empty else show(value)
        return result

SPECS = {
    Video: SnapshotSpec(
        "video", Video, "VideoSerializer", related=("created_by",),
        field_map={"file": ["file_url"], "poster": ["thumbnail_url"], "created_by_id": ["created_by"]},
    ),
    Playlist: SnapshotSpec("playlist", Playlist, "PlaylistSerializer", prefetch=("tags", "items")),
    Livestream: SnapshotSpec("livestream", Livestream, "LivestreamSerializer", field_map={
        "recording_id": ["recording"],
    }),
}


def spec_for(model) -> SnapshotSpec:
    return SPECS[model]


def fresh(instance):
    """The object re-read with what its snapshot needs, or None if it is gone."""
    spec = SPECS[type(instance)]
    return (spec.model._base_manager.select_related(*spec.related).prefetch_related(*spec.prefetch)
            .filter(pk=instance.pk).first())


def reload_relations(instance):
    """The just-saved object itself, with its many-to-many caches dropped so the snapshot reads them anew
    (cheaper than re-reading the row, which `fresh` does when the object may be stale)."""
    cache = getattr(instance, "_prefetched_objects_cache", None)
    if cache:
        for name in SPECS[type(instance)].prefetch:
            cache.pop(name, None)
    return instance


def tag_names(instance) -> list[str]:
    """Current tag names, read from the database (not a prefetch cache), in API order."""
    return names_of(instance)


def user(account) -> dict:
    """A CMS account as user.* events show it: never a password hash, token or secret."""
    return {
        "object": "user",
        "id": account.pk,
        "username": account.get_username(),
        "email": account.email,
        "first_name": account.first_name,
        "last_name": account.last_name,
        "is_staff": account.is_staff,
        "is_active": account.is_active,
        "date_joined": account.date_joined.isoformat().replace("+00:00", "Z") if account.date_joined else None,
    }
