"""Plain ORM code outside a unit of work (the shell, a command) fires correct events, each recorded in the
transaction of the write that caused it; nothing is recorded for a transaction that rolls back."""

import pytest
from django.db import transaction

from media_lifecycle import lifecycle
from media_lifecycle.models import Livestream, Playlist, PlaylistItem, Tag, Video
from tests.conftest import fan_out
from tests.lifecycle.conftest import only, recorded, types
from webhooks_app.models import Delivery, Event

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def test_a_create_rolled_back_with_its_transaction_records_nothing():
    with pytest.raises(Boom), transaction.atomic():
        video = Video.objects.create(title="Never")
        video.tags.add(Tag.objects.create(name="news"))
        Playlist.objects.create(title="Never either")
        raise Boom

    assert not Video.objects.exists()
    assert Event.objects.count() == 0
    fan_out()
    assert Delivery.objects.count() == 0


def test_an_update_rolled_back_with_its_transaction_records_nothing():
    video = Video.objects.create(title="Kept")
    count = Event.objects.count()

    with pytest.raises(Boom), transaction.atomic():
        video.title = "Changed"
        video.save()
        raise Boom

    assert Event.objects.count() == count
    assert Video.objects.get(pk=video.pk).title == "Kept"


@pytest.mark.django_db(transaction=True)
def test_a_top_level_transaction_that_rolls_back_records_nothing():
    with pytest.raises(Boom), transaction.atomic():
        Video.objects.create(title="Never", source_url="http://example.com/never.mp4")
        raise Boom

    assert Event.objects.count() == 0
    fan_out()
    assert Delivery.objects.count() == 0


def test_an_api_write_answered_with_a_4xx_records_nothing(staff_api):
    video = Video.objects.create(title="Kept")
    count = Event.objects.count()

    refused = [
        staff_api.post("/api/videos/", {"title": "", "tags": ["news"]}, format="json"),
        staff_api.patch(f"/api/videos/{video.pk}/", {"title": "Changed", "status": "ready"}, format="json"),
        staff_api.post(f"/api/videos/{video.pk}/publish/"),
        staff_api.post("/api/playlists/", {"title": "Bad", "videos": [video.pk, "vid_unknown"]}, format="json"),
    ]

    assert [answer.status_code for answer in refused] == [400, 400, 409, 400]
    assert Event.objects.count() == count
    stored = Video.objects.get(pk=video.pk)
    assert (stored.title, stored.revision, stored.published) == ("Kept", 1, False)
    assert not Playlist.objects.exists()


def test_orm_create_then_tag_fires_a_create_without_tags_and_then_an_update():
    video = Video.objects.create(title="Shell")
    video.tags.add(Tag.objects.create(name="news"))

    assert types(video.pk) == ["video.created", "video.updated"]
    created, updated = recorded(video.pk)
    assert created.payload["data"]["tags"] == []
    assert created.payload["data"]["revision"] == 1
    assert updated.payload["data"]["tags"] == ["news"]
    assert updated.payload["data"]["changes"] == ["tags"]
    assert updated.payload["data"]["previous"] == {"tags": []}
    assert updated.payload["data"]["revision"] == 2 == Video.objects.get(pk=video.pk).revision


def test_orm_save_without_a_change_fires_nothing():
    video = Video.objects.create(title="Same")
    count = Event.objects.count()

    video.save()
    Video.objects.get(pk=video.pk).save()
    video.title = "Same"
    video.save()

    assert Event.objects.count() == count
    assert Video.objects.get(pk=video.pk).revision == 1


def test_orm_delete_fires_a_delete_with_the_last_snapshot_including_tags():
    video = Video.objects.create(title="Going")
    video.tags.add(Tag.objects.create(name="news"))
    video.title = "Gone"
    video.save()
    last = {"object": "video", **_api_view(video)}
    video_id = video.pk

    video.delete()

    assert types(video_id)[-1] == "video.deleted"
    deleted = only("video.deleted", video_id)
    assert deleted.payload["data"] == last
    assert deleted.payload["data"]["tags"] == ["news"]
    assert deleted.payload["data"]["revision"] == 3
    assert deleted.tags == ["news"]


def test_the_delete_snapshot_is_read_from_the_database_not_from_a_stale_instance():
    video = Video.objects.create(title="Loaded early")
    stale = Video.objects.get(pk=video.pk)
    Tag.objects.create(name="news").videos.add(video)  # changes the row behind `stale`'s back
    last = {"object": "video", **_api_view(Video.objects.get(pk=video.pk))}

    stale.delete()

    assert only("video.deleted", video.pk).payload["data"] == last
    assert last["revision"] == 2 and last["tags"] == ["news"]


def test_a_deleted_video_matches_tag_conditions_by_its_last_tags(make_webhook):
    news = make_webhook(events=["video.deleted"], tags=["news"])
    sport = make_webhook(events=["video.deleted"], tags=["sport"])
    video = Video.objects.create(title="Tagged")
    video.tags.add(Tag.objects.create(name="news"))
    video_id = video.pk

    video.delete()

    deleted = only("video.deleted", video_id)
    fan_out()
    assert list(Delivery.objects.filter(webhook=news).values_list("event_id", flat=True)) == [deleted.pk]
    assert not Delivery.objects.filter(webhook=sport).exists()


def test_videos_deleted_with_a_queryset_fire_one_delete_each_and_update_their_playlists():
    videos = [Video.objects.create(title=f"Bulk {n}") for n in range(3)]
    playlist = Playlist.objects.create(title="Holder")
    for position, video in enumerate(videos):
        PlaylistItem.objects.create(playlist=playlist, video=video, position=position)
    since = len(recorded())

    Video.objects.filter(pk__in=[videos[0].pk, videos[1].pk]).delete()

    assert sorted(event.type for event in recorded()[since:]) == [
        "playlist.updated", "video.deleted", "video.deleted"]
    update = recorded(playlist.pk)[-1].payload["data"]
    assert update["videos"] == [videos[2].pk]
    assert update["previous"] == {"videos": [video.pk for video in videos]}
    assert update["revision"] == Playlist.objects.get(pk=playlist.pk).revision


def test_created_and_deleted_in_one_transaction_by_plain_code_records_each_step():
    with transaction.atomic():
        stream = Livestream.objects.create(title="Short")
        stream_id = stream.pk
        stream.delete()

    assert types(stream_id) == ["livestream.created", "livestream.deleted"]


def _api_view(video: Video) -> dict:
    from media_lifecycle.api.serializers import VideoSerializer

    return dict(VideoSerializer(Video.objects.get(pk=video.pk)).data)


def test_deleting_a_recorded_video_updates_the_livestream_that_links_it():
    video = Video.objects.create(title="Recording")
    stream = Livestream.objects.create(title="Show", status="ended", recording=video)
    since = len(recorded(stream.pk))
    video_id = video.pk

    video.delete()

    assert types(stream.pk)[since:] == ["livestream.updated"]
    data = recorded(stream.pk)[-1].payload["data"]
    assert data["recording"] is None
    assert data["previous"] == {"recording": video_id}
    assert data["revision"] == Livestream.objects.get(pk=stream.pk).revision == 2


def test_deleting_a_user_updates_the_videos_they_created(django_user_model):
    editor = django_user_model.objects.create_user("leaving", "leaving@example.com", "pw-leaving-123")
    video = Video.objects.create(title="Theirs", created_by=editor)
    since = len(recorded(video.pk))

    editor.delete()

    assert types(video.pk)[since:] == ["video.updated"]
    data = recorded(video.pk)[-1].payload["data"]
    assert data["created_by"] is None
    assert data["previous"] == {"created_by": "leaving"}
    assert data["revision"] == Video.objects.get(pk=video.pk).revision == 2


def test_created_and_deleted_in_one_unit_records_nothing():
    with lifecycle.unit_of_work():
        video = Video.objects.create(title="Blink", source_url="http://example.com/blink.mp4")
        video_id = video.pk
        video.tags.add(Tag.objects.create(name="news"))
        video.delete()

    assert recorded(video_id) == []
    assert Event.objects.filter(object_id=video_id).count() == 0


def test_a_delete_rolled_back_to_a_savepoint_inside_a_unit_fires_nothing():
    video = Video.objects.create(title="Survivor")
    since = len(recorded(video.pk))

    with lifecycle.unit_of_work(), pytest.raises(Boom), transaction.atomic():
        Video.objects.get(pk=video.pk).delete()
        raise Boom

    assert Video.objects.filter(pk=video.pk).exists()
    assert types(video.pk)[since:] == []


def test_admin_bulk_delete_fires_one_delete_per_video(admin_client):
    videos = [Video.objects.create(title=f"Bulk {n}") for n in range(2)]
    ids = [video.pk for video in videos]
    since = len(recorded())

    answer = admin_client.post("/admin/media_lifecycle/video/", {
        "action": "delete_selected", "_selected_action": ids, "post": "yes",
    })

    assert answer.status_code == 302
    assert not Video.objects.filter(pk__in=ids).exists()
    assert sorted((event.type, event.object_id) for event in recorded()[since:]) == sorted(
        ("video.deleted", video_id) for video_id in ids)
