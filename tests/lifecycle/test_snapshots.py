"""An event's `data` is the resource exactly as the REST API shows it (SPEC §6): the snapshot's fast path gives,
key for key and in the same order, what the API serializer's own to_representation gives, for every kind of
media with every field filled in and with every field empty; tags read the same with and without a prefetch;
and tags known without reading them (a new row, an object saved again at the revision its last event saw) never
hide a change."""

import json

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from cms.exceptions import ConflictError
from media_lifecycle import snapshots
from media_lifecycle.models import Livestream, Playlist, PlaylistItem, Tag, Video
from media_lifecycle.unit_of_work import unit_of_work
from tests.lifecycle.conftest import recorded

pytestmark = pytest.mark.django_db


def as_api(instance) -> dict:
    spec = snapshots.spec_for(type(instance))
    return {"object": spec.name, **spec.serializer.to_representation(instance)}


def same(instance) -> None:
    fast = snapshots.spec_for(type(instance)).snapshot(instance)
    assert json.dumps(fast) == json.dumps(as_api(instance))  # equal values, and the keys in the same order


def test_a_bare_video_snapshot_is_the_api_representation():
    same(Video.objects.create(title="Bare"))


def test_a_video_with_every_field_set_snapshot_is_the_api_representation(django_user_model):
    editor = django_user_model.objects.create_user("editor", "editor@example.com", "pw-editor-123")
    video = Video(title="Full", description="All of it", created_by=editor, auto_publish=True, mime_type="video/mp4",
                  format="mp4", size_bytes=1234, duration_seconds=12.5, width=1280, height=720,
                  processed_url="/media/processed/x/720p.mp4", hls_url="/media/processed/x/master.m3u8",
                  renditions=[{"quality": "720p", "format": "mp4", "url": "/media/x.mp4", "size_bytes": 9,
                               "width": 1280, "height": 720, "bitrate_kbps": 2400}],
                  thumbnail_url="/media/thumbnails/x.jpg", metadata={"series": "S", "n": [1, 2.5, None]},
                  status="ready", published=True, published_at=timezone.now())
    video.file.save("clip.mp4", ContentFile(b"\x00\x00\x00\x18ftypmp42"), save=False)
    video.poster.save("poster.jpg", ContentFile(b"\xff\xd8\xff"), save=False)
    video.save()
    video.tags.set([Tag.objects.create(name="b-news"), Tag.objects.create(name="a-first")])

    same(Video.objects.get(pk=video.pk))
    same(Video.objects.select_related("created_by").prefetch_related("tags").get(pk=video.pk))


def test_an_archived_video_snapshot_is_the_api_representation():
    video = Video.objects.create(title="Gone", archived=True, archived_at=timezone.now(), source_url="https://a.b/c")
    same(video)


def test_a_playlist_snapshot_is_the_api_representation():
    first, second = Video.objects.create(title="1"), Video.objects.create(title="2")
    playlist = Playlist.objects.create(title="List", description="Two")
    PlaylistItem.objects.create(playlist=playlist, video=second, position=0)
    PlaylistItem.objects.create(playlist=playlist, video=first, position=1)
    playlist.tags.set([Tag.objects.create(name="mix")])

    same(Playlist.objects.get(pk=playlist.pk))
    same(Playlist.objects.create(title="Empty"))


def test_a_livestream_snapshot_is_the_api_representation(django_user_model):
    owner = django_user_model.objects.create_user("host", "host@example.com", "pw-host-123")
    recording = Video.objects.create(title="Recording")
    stream = Livestream.objects.create(title="Live", created_by=owner, scheduled_start=timezone.now(), record=False)
    same(stream)
    stream.start()
    stream.end(recording=recording)

    same(Livestream.objects.get(pk=stream.pk))


def test_tags_read_the_same_with_and_without_a_prefetch():
    video = Video.objects.create(title="Tagged")
    video.tags.set([Tag.objects.create(name=name) for name in ("zeta", "alpha", "mid")])

    plain = snapshots.spec_for(Video).snapshot(Video.objects.get(pk=video.pk))["tags"]
    prefetched = snapshots.spec_for(Video).snapshot(Video.objects.prefetch_related("tags").get(pk=video.pk))["tags"]

    assert plain == prefetched == ["alpha", "mid", "zeta"]


# --- tags known without reading them: every path that changes tags still shows in the next event ---------------


def last_tags(video) -> list[str]:
    return recorded(video.pk)[-1].data["tags"]


def test_an_object_saved_again_carries_its_tags_without_reading_them(django_assert_num_queries):
    video = Video.objects.create(title="Once")
    video.tags.set([Tag.objects.create(name="news")])
    video.title = "Twice"
    video.save()  # its event read the tags
    assert last_tags(video) == ["news"]

    video.title = "Thrice"
    with django_assert_num_queries(2):  # the UPDATE and the event's INSERT (inside the test's transaction): no
        video.save()                    # query for the tags

    assert last_tags(video) == ["news"]


def test_a_new_row_has_no_tags_to_read(django_assert_num_queries):
    with django_assert_num_queries(2):  # the row and the event (inside the test's transaction)
        video = Video.objects.create(title="Fresh")

    assert last_tags(video) == []


def test_tags_added_through_the_object_show_in_its_next_events():
    video = Video.objects.create(title="A")
    video.title = "B"
    video.save()
    video.tags.add(Tag.objects.create(name="sport"))  # its own event, and a new revision
    assert last_tags(video) == ["sport"]

    video.title = "C"
    video.save()

    assert last_tags(video) == ["sport"]


def test_tags_changed_in_the_same_unit_as_a_save_are_read_again():
    video = Video.objects.create(title="A")
    video.title = "B"
    video.save()
    with unit_of_work():
        video.title = "C"
        video.save()
        video.tags.add(Tag.objects.create(name="late"))

    assert last_tags(video) == ["late"]


@pytest.mark.parametrize("change", ["reverse add", "rename", "delete"])
def test_tags_changed_through_another_path_make_a_stale_object_conflict_instead_of_lying(change):
    news = Tag.objects.create(name="news")
    video = Video.objects.create(title="A")
    video.tags.add(news)
    video.title = "B"
    video.save()  # the object's event saw ["news"]
    if change == "reverse add":
        Tag.objects.create(name="extra").videos.add(video.pk)
    elif change == "rename":
        news.name = "headlines"
        news.save()
    else:
        news.delete()

    video.title = "C"
    with pytest.raises(ConflictError), transaction.atomic():
        video.save()  # the row moved on: this object's tags (and the rest) are stale
    fresh = Video.objects.get(pk=video.pk)
    fresh.title = "C"
    fresh.save()
    assert last_tags(fresh) == {"reverse add": ["extra", "news"], "rename": ["headlines"], "delete": []}[change]
