"""Lifecycle hooks (afterCreate / afterUpdate / afterDelete): receivers note what happened to each object,
a unit of work merges the notes per object, and the flush records the events inside the same transaction.

Outside a unit of work (the shell, a management command) every note is flushed at once, in the transaction
of the save that caused it, so plain ORM code fires correct events too.
"""

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from media_lifecycle import processing, snapshots
from media_lifecycle.models import Livestream, Playlist, PlaylistItem, Tag, Video
from media_lifecycle.models.playlist import videos_replaced
from media_lifecycle.unit_of_work import (
    CREATED,
    DELETED,
    UPDATED,
    Change,
    note,
    on_flush,
    pending,
    unit_of_work,  # noqa: F401  (re-exported: code outside this package opens units from here)
)
from webhooks_app import events

# Extra events an update implies, by changed model field and new value.
DERIVED_EVENTS = {
    Video: {
        "status": {"processing": "video.processing", "ready": "video.ready", "failed": "video.failed"},
        "published": {True: "video.published", False: "video.unpublished"},
        "archived": {True: "video.archived", False: "video.unarchived"},
    },
    Livestream: {"status": {"live": "livestream.started", "ended": "livestream.ended"}},
}


def flush(changes: list[Change]) -> None:
    """The unit of work's flush (registered in `connect`): record the merged events, then start processing for
    videos whose source appeared or changed."""
    for change in changes:
        _record(change)
    for change in changes:
        if isinstance(change.instance, Video) and change.kind != DELETED:
            processing.after_video_change(change.instance, created=change.kind == CREATED,
                                          changed=set(change.model_changes))


def _record(change: Change) -> None:
    instance = change.instance
    spec = snapshots.spec_for(type(instance))
    if change.kind == DELETED:
        data = change.snapshot
        if spec.model._base_manager.filter(pk=data["id"]).exists():
            return  # the delete was rolled back to a savepoint: the row is still there
        events.record(f"{spec.name}.deleted", data, tags=data.get("tags", []), object_type=spec.name,
                      object_id=str(data["id"]))
        return
    if change.representation is not None and change.current and spec.is_representation(change.representation):
        current, data = instance, {"object": spec.name, **change.representation}
    else:
        current = snapshots.reload_relations(instance) if change.current else snapshots.fresh(instance)
        if current is None:  # deleted later in this transaction by code that skipped the signals
            return
        data = spec.snapshot(current, known=_known_tags(change))
        if change.current:
            current._tags_seen = (current.revision, data["tags"])
    if change.kind == CREATED:
        events.record(f"{spec.name}.created", data, tags=data.get("tags", []), object_type=spec.name,
                      object_id=str(current.pk))
        return
    previous = spec.previous(current, change.model_changes)
    previous.update(change.extra_previous)
    previous = {name: value for name, value in previous.items() if value != data.get(name)}
    if not previous:
        return  # changed and changed back within the unit
    payload = {**data, "changes": list(previous), "previous": previous}
    types = [f"{spec.name}.updated"]
    outcomes = DERIVED_EVENTS.get(type(current), {})
    for attname, value in change.transitions:  # uploaded → processing → ready in one unit fires both
        derived = outcomes.get(attname, {}).get(value)
        if derived and derived != types[-1]:
            types.append(derived)
    for event_type in types:
        events.record(event_type, payload, tags=data.get("tags", []), object_type=spec.name,
                      object_id=str(current.pk))


def _known_tags(change: Change) -> dict:
    """The object's tags when they are known without reading them: none for a row created in this unit that no
    tag change touched; and, for an object saved again, the tags its last event saw, if that event's revision is
    the one this save checked against (every tag change moves the revision, so the row's tags are unchanged)."""
    if "tags" in change.related:
        return {}
    if change.kind == CREATED:
        return {"tags": []}
    seen = getattr(change.instance, "_tags_seen", None)
    if change.current and seen is not None and seen[0] == getattr(change.instance, "_expected_revision", None):
        return {"tags": seen[1]}
    return {}


# --- receivers: thin, they only say what happened --------------------------------------------------


def media_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    if created:
        note(instance, Change(CREATED, instance, revision_bumped=True, current=True))
    elif getattr(instance, "_changes", None):
        changes = instance._changes
        transitions = [(name, getattr(instance, name)) for name in DERIVED_EVENTS.get(type(instance), {})
                       if name in changes]
        note(instance, Change(UPDATED, instance, model_changes=dict(changes), revision_bumped=True,
                               transitions=transitions, current=True))


def media_deleting(sender, instance, **kwargs):
    current = snapshots.fresh(instance) or instance  # the stored row: the instance being deleted may be stale
    instance._last_snapshot = snapshots.spec_for(type(instance)).snapshot(current)
    instance._unlinked = _set_null_links(instance)


def media_deleted(sender, instance, **kwargs):
    snapshot = getattr(instance, "_last_snapshot", None)
    if snapshot is not None:
        note(instance, Change(DELETED, instance, snapshot=snapshot))
    _links_cleared(instance)


def _set_null_links(instance) -> list[tuple[object, dict]]:
    """Media whose on_delete=SET_NULL key points at `instance`, with that field as the API shows it now:
    Django clears such keys with an UPDATE that sends no signal, so the delete reports those updates."""
    links = []
    for relation in instance._meta.related_objects:
        if relation.related_model not in snapshots.SPECS or relation.on_delete is not models.SET_NULL:
            continue
        spec = snapshots.spec_for(relation.related_model)
        attname = relation.field.attname
        for owner in relation.related_model._base_manager.filter(**{attname: instance.pk}):
            links.append((owner, spec.previous(owner, {attname: getattr(owner, attname)})))
    return links


def _links_cleared(instance) -> None:
    for owner, before in getattr(instance, "_unlinked", []):
        for api_field, value in before.items():
            related_changed(owner, api_field, value)


def related_changed(instance, api_field: str, before) -> None:
    """Tags or playlist membership changed: an update with `api_field` in changes, one revision per unit."""
    noted = pending(instance)
    if noted is not None and noted.kind == DELETED:
        return
    bumped = noted is not None and noted.revision_bumped
    if not bumped:
        instance.bump_revision()
    note(instance, Change(UPDATED, instance, extra_previous={api_field: before}, revision_bumped=True,
                          related={api_field}))


REVERSE_ACCESSORS = {Video: "videos", Playlist: "playlists", Livestream: "livestreams"}


def tags_changing(sender, instance, action, reverse, model, pk_set, **kwargs):
    if reverse:  # tag.videos.add(...): every affected object changes
        if action.startswith("pre_"):
            owners = (model._base_manager.filter(pk__in=pk_set) if pk_set is not None
                      else getattr(instance, REVERSE_ACCESSORS[model]).all())
            instance._owners_before = [(owner, snapshots.tag_names(owner)) for owner in owners]
        elif action.startswith("post_"):
            for owner, before in getattr(instance, "_owners_before", []):
                if snapshots.tag_names(owner) != before:
                    related_changed(owner, "tags", before)
        return
    if action not in ("pre_clear", "post_clear") and not pk_set:
        return  # adding tags it already has, or removing ones it lacks: nothing changes
    if action.startswith("pre_"):
        noted = pending(instance)
        known = noted.extra_previous.get("tags") if noted is not None else None
        if known is None and noted is not None and noted.kind == CREATED:
            known = []  # a row created in this unit had no tags before its first tag change
        # The tags before the unit's first tag change are all the event needs (tags.set() is remove + add).
        instance._tags_before = known if known is not None else snapshots.tag_names(instance)
        if action == "pre_clear" and not instance._tags_before:
            instance._tags_before = None  # clearing no tags changes nothing
    elif action.startswith("post_"):
        before = getattr(instance, "_tags_before", None)
        # add() reports only the tags it inserted; remove() reports what it was asked to remove, present or not.
        if before is not None and (action != "post_remove" or snapshots.tag_names(instance) != before):
            related_changed(instance, "tags", before)


def _tagged(tag: Tag) -> list:
    return [*tag.videos.all(), *tag.playlists.all(), *tag.livestreams.all()]


def tag_deleting(sender, instance, **kwargs):
    """Deleting a tag removes it from media without m2m signals: note those updates ourselves."""
    for owner in _tagged(instance):
        related_changed(owner, "tags", snapshots.tag_names(owner))


def tag_renaming(sender, instance, raw=False, **kwargs):
    """Renaming a tag changes the tags of every object that has it: remember their tags before the rename."""
    instance._renamed_owners = []
    if raw or instance._state.adding:
        return
    stored = sender._base_manager.filter(pk=instance.pk).values_list("name", flat=True).first()
    if stored is not None and stored != instance.name:
        instance._renamed_owners = [(owner, snapshots.tag_names(owner)) for owner in _tagged(instance)]


def tag_renamed(sender, instance, raw=False, **kwargs):
    for owner, before in getattr(instance, "_renamed_owners", []):
        related_changed(owner, "tags", before)


def item_changing(sender, instance, raw=False, **kwargs):
    if not raw:
        instance._videos_before = _member_ids(instance.playlist_id)


def item_changed(sender, instance, raw=False, **kwargs):
    before = getattr(instance, "_videos_before", None)
    if raw or before is None or _member_ids(instance.playlist_id) == before:
        return
    if PlaylistItem.playlist.is_cached(instance):  # the caller's own playlist: its revision stays current
        playlist = instance.playlist
    else:
        playlist = Playlist.objects.filter(pk=instance.playlist_id).first()
    if playlist is not None:
        related_changed(playlist, "videos", before)


def _member_ids(playlist_id) -> list[str]:
    return list(PlaylistItem.objects.filter(playlist_id=playlist_id).order_by("position", "id")
                .values_list("video_id", flat=True))


def members_changed(playlist: Playlist, before: list[str]) -> None:
    """Code that rewrote a playlist's items in bulk (which sends no item signals) reports it here."""
    if _member_ids(playlist.pk) != before:
        related_changed(playlist, "videos", before)


def videos_were_replaced(sender, playlist: Playlist, before: list[str], **kwargs) -> None:
    """`Playlist.replace_videos` rewrote the items in bulk."""
    members_changed(playlist, before)


# --- CMS users ------------------------------------------------------------------------------------


def user_saving(sender, instance, raw=False, **kwargs):
    if raw or instance._state.adding or instance.pk is None:
        instance._user_before = None
        return
    before = sender._base_manager.filter(pk=instance.pk).first()
    instance._user_before = snapshots.user(before) if before else None


def user_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    data = snapshots.user(instance)
    if created:
        events.record("user.created", data, object_type="user", object_id=str(instance.pk))
        return
    before = getattr(instance, "_user_before", None) or {}
    previous = {name: value for name, value in before.items() if data.get(name) != value}
    if previous:
        events.record("user.updated", {**data, "changes": list(previous), "previous": previous},
                      object_type="user", object_id=str(instance.pk))


def user_deleting(sender, instance, **kwargs):
    instance._user_snapshot = snapshots.user(instance)
    instance._unlinked = _set_null_links(instance)  # the videos they created lose their created_by


def user_deleted(sender, instance, **kwargs):
    data = getattr(instance, "_user_snapshot", None) or snapshots.user(instance)
    events.record("user.deleted", data, object_type="user", object_id=str(data["id"]))
    _links_cleared(instance)


def connect() -> None:
    """Wire the receivers explicitly (called from AppConfig.ready), each with a dispatch_uid, and the flush."""
    on_flush(flush)
    videos_replaced.connect(videos_were_replaced, sender=Playlist, dispatch_uid="lifecycle-videos-replaced")
    for model in (Video, Playlist, Livestream):
        name = model.__name__.lower()
        post_save.connect(media_saved, sender=model, dispatch_uid=f"lifecycle-saved-{name}")
        pre_delete.connect(media_deleting, sender=model, dispatch_uid=f"lifecycle-deleting-{name}")
        post_delete.connect(media_deleted, sender=model, dispatch_uid=f"lifecycle-deleted-{name}")
        m2m_changed.connect(tags_changing, sender=model.tags.through, dispatch_uid=f"lifecycle-tags-{name}")
    pre_delete.connect(tag_deleting, sender=Tag, dispatch_uid="lifecycle-tag-deleting")
    pre_save.connect(tag_renaming, sender=Tag, dispatch_uid="lifecycle-tag-renaming")
    post_save.connect(tag_renamed, sender=Tag, dispatch_uid="lifecycle-tag-renamed")
    pre_save.connect(item_changing, sender=PlaylistItem, dispatch_uid="lifecycle-item-saving")
    pre_delete.connect(item_changing, sender=PlaylistItem, dispatch_uid="lifecycle-item-deleting")
    post_save.connect(item_changed, sender=PlaylistItem, dispatch_uid="lifecycle-item-saved")
    post_delete.connect(item_changed, sender=PlaylistItem, dispatch_uid="lifecycle-item-deleted")
    user = get_user_model()
    pre_save.connect(user_saving, sender=user, dispatch_uid="lifecycle-user-saving")
    post_save.connect(user_saved, sender=user, dispatch_uid="lifecycle-user-saved")
    pre_delete.connect(user_deleting, sender=user, dispatch_uid="lifecycle-user-deleting")
    post_delete.connect(user_deleted, sender=user, dispatch_uid="lifecycle-user-deleted")


def disconnect() -> None:
    """Detach every receiver (the benchmark's baseline: the same save without lifecycle hooks)."""
    videos_replaced.disconnect(sender=Playlist, dispatch_uid="lifecycle-videos-replaced")
    for model in (Video, Playlist, Livestream):
        name = model.__name__.lower()
        post_save.disconnect(sender=model, dispatch_uid=f"lifecycle-saved-{name}")
        pre_delete.disconnect(sender=model, dispatch_uid=f"lifecycle-deleting-{name}")
        post_delete.disconnect(sender=model, dispatch_uid=f"lifecycle-deleted-{name}")
        m2m_changed.disconnect(sender=model.tags.through, dispatch_uid=f"lifecycle-tags-{name}")
    pre_delete.disconnect(sender=Tag, dispatch_uid="lifecycle-tag-deleting")
    pre_save.disconnect(sender=Tag, dispatch_uid="lifecycle-tag-renaming")
    post_save.disconnect(sender=Tag, dispatch_uid="lifecycle-tag-renamed")
    pre_save.disconnect(sender=PlaylistItem, dispatch_uid="lifecycle-item-saving")
    pre_delete.disconnect(sender=PlaylistItem, dispatch_uid="lifecycle-item-deleting")
    post_save.disconnect(sender=PlaylistItem, dispatch_uid="lifecycle-item-saved")
    post_delete.disconnect(sender=PlaylistItem, dispatch_uid="lifecycle-item-deleted")
    user = get_user_model()
    pre_save.disconnect(sender=user, dispatch_uid="lifecycle-user-saving")
    post_save.disconnect(sender=user, dispatch_uid="lifecycle-user-saved")
    pre_delete.disconnect(sender=user, dispatch_uid="lifecycle-user-deleting")
    post_delete.disconnect(sender=user, dispatch_uid="lifecycle-user-deleted")
