"""The playlists REST API: CRUD with pl_ ids, ordered video membership and revisions."""

import pytest

from media_lifecycle.models import Playlist, PlaylistItem
from tests.media.conftest import make_video, nothing_written
from webhooks_app.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_videos() -> list[str]:
    return [make_video(f"Video {n}").pk for n in range(3)]


def _create(client, **fields) -> dict:
    answer = client.post("/api/playlists/", {"title": "Best of", **fields}, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def test_created_playlist_has_a_pl_prefixed_id_and_keeps_the_video_order(staff_api, three_videos):
    order = [three_videos[2], three_videos[0], three_videos[1]]

    body = _create(staff_api, videos=order, tags=["mix"])

    assert body["id"].startswith("pl_") and len(body["id"]) > len("pl_")
    assert body["videos"] == order
    assert body["tags"] == ["mix"]
    assert body["revision"] == 1
    assert staff_api.get(f"/api/playlists/{body['id']}/").json()["videos"] == order
    assert Event.objects.filter(type="playlist.created", object_id=body["id"]).count() == 1


def test_reordering_videos_is_one_new_revision(staff_api, three_videos):
    body = _create(staff_api, videos=three_videos)
    reordered = list(reversed(three_videos))

    answer = staff_api.patch(f"/api/playlists/{body['id']}/", {"videos": reordered}, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["videos"] == reordered
    assert answer.json()["revision"] == 2
    assert Playlist.objects.get(pk=body["id"]).video_ids() == reordered


def test_changing_title_and_videos_together_is_one_new_revision(staff_api, three_videos):
    body = _create(staff_api, videos=three_videos[:1])

    answer = staff_api.patch(f"/api/playlists/{body['id']}/", {"title": "Renamed", "videos": three_videos},
                             format="json")

    assert answer.json()["revision"] == 2
    assert Playlist.objects.get(pk=body["id"]).revision == 2


def test_patch_with_identical_values_leaves_the_playlist_revision_unchanged(staff_api, three_videos):
    body = _create(staff_api, videos=three_videos, tags=["x"], description="Same")
    events = Event.objects.count()

    answer = staff_api.patch(f"/api/playlists/{body['id']}/", {"title": "Best of", "description": "Same",
                                                                "tags": ["x"], "videos": three_videos},
                             format="json")

    assert answer.status_code == 200
    assert answer.json()["revision"] == 1
    assert answer.json()["updated_at"] == body["updated_at"]
    assert Event.objects.count() == events


def test_get_edit_put_of_a_playlist_with_server_owned_fields_echoed_works(staff_api, three_videos):
    created = _create(staff_api, videos=three_videos)
    body = staff_api.get(f"/api/playlists/{created['id']}/").json()

    body["title"] = "Edited"
    body["videos"] = three_videos[1:]
    answer = staff_api.put(f"/api/playlists/{created['id']}/", body, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["title"] == "Edited"
    assert answer.json()["videos"] == three_videos[1:]
    assert answer.json()["revision"] == 2


def test_emptying_a_playlist_removes_its_items(staff_api, three_videos):
    body = _create(staff_api, videos=three_videos)

    answer = staff_api.patch(f"/api/playlists/{body['id']}/", {"videos": []}, format="json")

    assert answer.json()["videos"] == []
    assert not PlaylistItem.objects.filter(playlist_id=body["id"]).exists()


def test_playlist_list_is_paginated(staff_api):
    ids = {_create(staff_api, title=f"List {n}")["id"] for n in range(3)}

    first = staff_api.get("/api/playlists/", {"page_size": 2}).json()
    second = staff_api.get("/api/playlists/", {"page_size": 2, "page": 2}).json()

    assert first["count"] == 3
    assert {playlist["id"] for playlist in first["results"] + second["results"]} == ids
    assert len(first["results"]) == 2 and len(second["results"]) == 1


def test_deleting_a_playlist_keeps_its_videos(staff_api, three_videos):
    body = _create(staff_api, videos=three_videos)

    answer = staff_api.delete(f"/api/playlists/{body['id']}/")

    assert answer.status_code == 204
    assert not Playlist.objects.filter(pk=body["id"]).exists()
    assert staff_api.get("/api/videos/").json()["count"] == 3
    assert Event.objects.filter(type="playlist.deleted", object_id=body["id"]).count() == 1


def test_unknown_video_in_a_playlist_gets_400_naming_videos(staff_api, three_videos):
    with nothing_written():
        answer = staff_api.post("/api/playlists/", {"title": "Broken", "videos": [three_videos[0], "vid_ghost"],
                                                    "tags": ["new-tag"]}, format="json")

    assert answer.status_code == 400
    assert "videos" in answer.json()
    assert "vid_ghost" in str(answer.json()["videos"])


def test_a_video_twice_in_a_playlist_gets_400_naming_videos(staff_api, three_videos):
    body = _create(staff_api, videos=three_videos[:1])

    with nothing_written():
        answer = staff_api.patch(f"/api/playlists/{body['id']}/", {"videos": [three_videos[1], three_videos[1]]},
                                 format="json")

    assert answer.status_code == 400
    assert "videos" in answer.json()
    assert Playlist.objects.get(pk=body["id"]).video_ids() == three_videos[:1]


def test_deleting_a_video_removes_it_from_its_playlists(staff_api, three_videos):
    body = _create(staff_api, videos=three_videos)

    assert staff_api.delete(f"/api/videos/{three_videos[1]}/").status_code == 204

    after = staff_api.get(f"/api/playlists/{body['id']}/").json()
    assert after["videos"] == [three_videos[0], three_videos[2]]
    assert after["revision"] == body["revision"] + 1
