"""Playlist membership and order are playlist updates: one `playlist.updated` per request, with the previous
order; deleting a member video updates its playlists, deleting a playlist fires only its delete."""

import pytest

from media_lifecycle.models import Playlist, PlaylistItem, Video
from tests.lifecycle.conftest import recorded, types

pytestmark = pytest.mark.django_db


@pytest.fixture
def videos():
    return [Video.objects.create(title=f"Video {n}") for n in range(3)]


@pytest.fixture
def playlist(videos):
    playlist = Playlist.objects.create(title="Evening")
    for position, video in enumerate(videos[:2]):
        PlaylistItem.objects.create(playlist=playlist, video=video, position=position)
    playlist.refresh_from_db()
    return playlist


def _new_updates(playlist, since: int) -> list:
    return [event for event in recorded(playlist.pk)[since:] if event.type == "playlist.updated"]


def _patch_videos(staff_api, playlist, ids: list[str]):
    answer = staff_api.patch(f"/api/playlists/{playlist.pk}/", {"videos": ids}, format="json")
    assert answer.status_code == 200, answer.json()
    return answer.json()


@pytest.mark.parametrize("change", ["add", "remove", "reorder"])
def test_membership_changes_through_the_api_fire_one_update_with_the_previous_order(staff_api, playlist, videos,
                                                                                   change):
    one, two, three = (video.pk for video in videos)
    target = {"add": [one, two, three], "remove": [two], "reorder": [two, one]}[change]
    since = len(recorded(playlist.pk))

    shown = _patch_videos(staff_api, playlist, target)

    assert types(playlist.pk)[since:] == ["playlist.updated"]
    data = recorded(playlist.pk)[-1].payload["data"]
    assert data["changes"] == ["videos"]
    assert data["previous"] == {"videos": [one, two]}
    assert data["videos"] == target
    assert data["revision"] == playlist.revision + 1
    assert shown["revision"] == data["revision"]
    assert data == {"object": "playlist", "changes": ["videos"], "previous": {"videos": [one, two]},
                    **staff_api.get(f"/api/playlists/{playlist.pk}/").json()}


def test_sending_the_same_membership_again_fires_nothing(staff_api, playlist, videos):
    since = len(recorded())

    shown = _patch_videos(staff_api, playlist, [videos[0].pk, videos[1].pk])

    assert recorded()[since:] == []
    assert shown["revision"] == playlist.revision


def test_admin_inline_edits_fire_one_update_per_request(admin_client, playlist, videos):
    one, two, three = videos
    items = list(playlist.items.order_by("position"))
    since = len(recorded(playlist.pk))

    # Given the playlist [one, two], when the editor swaps their positions and appends three in one save
    answer = admin_client.post(f"/admin/media_lifecycle/playlist/{playlist.pk}/change/", {
        "title": "Evening", "description": "",
        "items-TOTAL_FORMS": "3", "items-INITIAL_FORMS": "2", "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-id": items[0].pk, "items-0-playlist": playlist.pk, "items-0-position": "1",
        "items-0-video": one.pk,
        "items-1-id": items[1].pk, "items-1-playlist": playlist.pk, "items-1-position": "0",
        "items-1-video": two.pk,
        "items-2-id": "", "items-2-playlist": playlist.pk, "items-2-position": "2", "items-2-video": three.pk,
    })

    # then one playlist.updated carries the new order and the order before the request
    assert answer.status_code == 302, answer.context["adminform"].form.errors if answer.context else answer
    assert types(playlist.pk)[since:] == ["playlist.updated"]
    data = recorded(playlist.pk)[-1].payload["data"]
    assert data["changes"] == ["videos"]
    assert data["videos"] == [two.pk, one.pk, three.pk]
    assert data["previous"] == {"videos": [one.pk, two.pk]}
    assert data["revision"] == Playlist.objects.get(pk=playlist.pk).revision == playlist.revision + 1


def test_admin_inline_delete_fires_one_update(admin_client, playlist, videos):
    items = list(playlist.items.order_by("position"))
    since = len(recorded(playlist.pk))

    answer = admin_client.post(f"/admin/media_lifecycle/playlist/{playlist.pk}/change/", {
        "title": "Evening", "description": "",
        "items-TOTAL_FORMS": "2", "items-INITIAL_FORMS": "2", "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-id": items[0].pk, "items-0-playlist": playlist.pk, "items-0-position": "0",
        "items-0-video": videos[0].pk, "items-0-DELETE": "on",
        "items-1-id": items[1].pk, "items-1-playlist": playlist.pk, "items-1-position": "1",
        "items-1-video": videos[1].pk,
    })

    assert answer.status_code == 302, answer.context["adminform"].form.errors if answer.context else answer
    assert types(playlist.pk)[since:] == ["playlist.updated"]
    data = recorded(playlist.pk)[-1].payload["data"]
    assert data["videos"] == [videos[1].pk]
    assert data["previous"] == {"videos": [videos[0].pk, videos[1].pk]}


def test_deleting_a_member_video_fires_its_delete_and_a_playlist_update(staff_api, playlist, videos):
    one, two = videos[0], videos[1]
    since = len(recorded(playlist.pk))

    answer = staff_api.delete(f"/api/videos/{one.pk}/")

    assert answer.status_code == 204
    assert types(one.pk)[-1] == "video.deleted"
    assert types(playlist.pk)[since:] == ["playlist.updated"]
    data = recorded(playlist.pk)[-1].payload["data"]
    assert data["changes"] == ["videos"]
    assert data["videos"] == [two.pk]
    assert data["previous"] == {"videos": [one.pk, two.pk]}
    assert data["revision"] == Playlist.objects.get(pk=playlist.pk).revision


@pytest.mark.parametrize("how", ["api", "instance", "queryset"])
def test_deleting_a_playlist_fires_only_its_delete(staff_api, playlist, videos, how):
    since = len(recorded())
    last = staff_api.get(f"/api/playlists/{playlist.pk}/").json()

    if how == "api":
        assert staff_api.delete(f"/api/playlists/{playlist.pk}/").status_code == 204
    elif how == "instance":
        Playlist.objects.get(pk=playlist.pk).delete()
    else:
        Playlist.objects.filter(pk=playlist.pk).delete()

    assert [event.type for event in recorded()[since:]] == ["playlist.deleted"]
    assert recorded(playlist.pk)[-1].payload["data"] == {"object": "playlist", **last}
    assert all(Video.objects.filter(pk=video.pk).exists() for video in videos)


def test_membership_revision_grows_once_per_request_even_with_a_title_change(staff_api, playlist, videos):
    since = len(recorded(playlist.pk))

    answer = staff_api.patch(f"/api/playlists/{playlist.pk}/", {"title": "Late", "tags": ["news"],
                                                                "videos": [videos[2].pk]}, format="json")

    assert answer.status_code == 200, answer.json()
    assert types(playlist.pk)[since:] == ["playlist.updated"]
    data = recorded(playlist.pk)[-1].payload["data"]
    assert sorted(data["changes"]) == ["tags", "title", "videos"]
    assert data["revision"] == answer.json()["revision"] == playlist.revision + 1


def test_clearing_a_playlist_with_a_queryset_fires_one_update(playlist, videos):
    since, revision = len(recorded(playlist.pk)), playlist.revision

    playlist.items.all().delete()

    assert types(playlist.pk)[since:] == ["playlist.updated"]
    data = recorded(playlist.pk)[-1].payload["data"]
    assert data["videos"] == []
    assert data["previous"] == {"videos": [videos[0].pk, videos[1].pk]}
    assert data["revision"] == revision + 1 == playlist.revision


def test_an_item_added_by_plain_code_fires_its_own_update(playlist, videos):
    since = len(recorded(playlist.pk))

    PlaylistItem.objects.create(playlist=playlist, video=videos[2], position=5)

    assert types(playlist.pk)[since:] == ["playlist.updated"]
    assert recorded(playlist.pk)[-1].payload["data"]["videos"] == [video.pk for video in videos]


def test_plain_code_can_fill_a_playlist_and_then_rename_it():
    video = Video.objects.create(title="Member")
    playlist = Playlist.objects.create(title="Draft")

    PlaylistItem.objects.create(playlist=playlist, video=video, position=0)
    playlist.title = "Final"
    playlist.save()

    assert types(playlist.pk) == ["playlist.created", "playlist.updated", "playlist.updated"]
    assert [event.payload["data"]["revision"] for event in recorded(playlist.pk)] == [1, 2, 3]
    assert recorded(playlist.pk)[-1].payload["data"]["previous"] == {"title": "Draft"}
