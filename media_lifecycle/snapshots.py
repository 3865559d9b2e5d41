"""Snapshots: the JSON `data` of an event is the resource exactly as the REST API shows it, plus `object`."""

import copy
import threading
from dataclasses import dataclass, field

from media_lifecycle.api import serializers
from media_lifecycle.models import Livestream, Playlist, Video

_local = threading.local()


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

    def snapshot(self, instance) -> dict:
        return {"object": self.name, **self.serializer.to_representation(instance)}

    def previous(self, instance, model_changes: dict) -> dict:
        """API-shaped values of the changed fields before the change."""
        before = copy.copy(instance)
        for attname, value in model_changes.items():
            setattr(before, attname, value)
        fields = self.serializer.fields
        result = {}
        for attname in model_changes:
            for api_name in self.field_map.get(attname, [attname]):
                api_field = fields.get(api_name)
                if api_field is None or api_field.write_only:
                    continue
                attribute = api_field.get_attribute(before)
                result[api_name] = None if attribute is None else api_field.to_representation(attribute)
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
    return list(instance.tags.order_by("name").values_list("name", flat=True))


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
