"""afterCreate: one `*.created` per new object, whose data is what the API shows once the request is done
(tags and playlist members included), and which matches webhooks by those tags."""

import pytest

from media_lifecycle.models import Playlist, Tag, Video
from tests.conftest import fan_out
from tests.lifecycle.conftest import only, recorded, types
from webhooks_app.models import Delivery

pytestmark = pytest.mark.django_db


def _deliveries_for(webhook) -> list[str]:
    fan_out()
    return list(Delivery.objects.filter(webhook=webhook).values_list("event__type", flat=True))


def test_api_create_of_a_video_with_tags_fires_one_created_with_the_tags(staff_api, make_webhook):
    news = make_webhook(events=["video.created"], tags=["news"])
    sport = make_webhook(events=["video.created"], tags=["sport"])

    answer = staff_api.post("/api/videos/", {"title": "Budget", "source_url": "http://example.com/budget.mp4",
                                             "tags": ["news", "politics"]}, format="json")

    assert answer.status_code == 201, answer.json()
    video_id = answer.json()["id"]
    assert types(video_id) == ["video.created"]
    event = only("video.created", video_id)
    assert event.payload["data"]["tags"] == ["news", "politics"]
    assert event.payload["data"] == {"object": "video", **staff_api.get(f"/api/videos/{video_id}/").json()}
    assert event.tags == ["news", "politics"]
    assert _deliveries_for(news) == ["video.created"]
    assert _deliveries_for(sport) == []


def test_api_create_of_a_playlist_with_videos_and_tags_fires_one_created_with_both(staff_api, make_webhook):
    first = Video.objects.create(title="One")
    second = Video.objects.create(title="Two")
    news = make_webhook(events=["playlist.created"], tags=["news"])
    sport = make_webhook(events=["playlist.created"], tags=["sport"])

    answer = staff_api.post("/api/playlists/", {"title": "Evening", "tags": ["news"],
                                                "videos": [second.pk, first.pk]}, format="json")

    assert answer.status_code == 201, answer.json()
    playlist_id = answer.json()["id"]
    assert types(playlist_id) == ["playlist.created"]
    data = only("playlist.created", playlist_id).payload["data"]
    assert data["tags"] == ["news"]
    assert data["videos"] == [second.pk, first.pk]
    assert data["revision"] == 1
    assert data == {"object": "playlist", **staff_api.get(f"/api/playlists/{playlist_id}/").json()}
    assert _deliveries_for(news) == ["playlist.created"]
    assert _deliveries_for(sport) == []
    assert types(first.pk) == types(second.pk) == ["video.created"]


def test_api_create_of_a_livestream_with_tags_fires_one_created_with_the_tags(staff_api, make_webhook):
    news = make_webhook(events=["livestream.created"], tags=["news"])
    sport = make_webhook(events=["livestream.created"], tags=["sport"])

    answer = staff_api.post("/api/livestreams/", {"title": "Live desk", "tags": ["news"]}, format="json")

    assert answer.status_code == 201, answer.json()
    stream_id = answer.json()["id"]
    assert types(stream_id) == ["livestream.created"]
    data = only("livestream.created", stream_id).payload["data"]
    assert data["tags"] == ["news"]
    assert "stream_key" not in data
    assert data == {"object": "livestream", **staff_api.get(f"/api/livestreams/{stream_id}/").json()}
    assert _deliveries_for(news) == ["livestream.created"]
    assert _deliveries_for(sport) == []


def test_admin_create_of_a_video_with_tags_fires_one_created_with_the_tags(admin_client, make_webhook):
    news, sport = Tag.objects.create(name="news"), Tag.objects.create(name="sport")
    subscriber = make_webhook(events=["video.created"], tags=["sport"])

    answer = admin_client.post("/admin/media_lifecycle/video/add/", {
        "title": "From the admin", "description": "", "tags": [news.pk, sport.pk], "source_url": "",
        "metadata": "{}", "jobs-TOTAL_FORMS": "0", "jobs-INITIAL_FORMS": "0",
    })

    assert answer.status_code == 302, answer.context["adminform"].form.errors if answer.context else answer
    video = Video.objects.get(title="From the admin")
    assert types(video.pk) == ["video.created"]
    data = only("video.created", video.pk).payload["data"]
    assert data["tags"] == ["news", "sport"]
    assert data["created_by"] == "admin"
    assert data["revision"] == video.revision == 1
    assert _deliveries_for(subscriber) == ["video.created"]


def test_a_create_records_no_update_even_when_tags_are_set_in_the_same_request(staff_api):
    answer = staff_api.post("/api/videos/", {"title": "Tagged", "tags": ["a", "b"]}, format="json")

    assert answer.status_code == 201
    assert [event.type for event in recorded(prefix="video.")] == ["video.created"]
    assert answer.json()["revision"] == 1


def test_admin_create_of_a_playlist_with_items_fires_one_created_with_its_videos(admin_client):
    first, second = Video.objects.create(title="One"), Video.objects.create(title="Two")
    news = Tag.objects.create(name="news")

    answer = admin_client.post("/admin/media_lifecycle/playlist/add/", {
        "title": "From the admin", "description": "", "tags": [news.pk],
        "items-TOTAL_FORMS": "2", "items-INITIAL_FORMS": "0", "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "1000",
        "items-0-position": "0", "items-0-video": second.pk,
        "items-1-position": "1", "items-1-video": first.pk,
    })

    assert answer.status_code == 302, answer.context["adminform"].form.errors if answer.context else answer
    playlist = Playlist.objects.get(title="From the admin")
    assert types(playlist.pk) == ["playlist.created"]
    data = only("playlist.created", playlist.pk).payload["data"]
    assert data["videos"] == [second.pk, first.pk]
    assert data["tags"] == ["news"]
    assert data["revision"] == playlist.revision == 1
