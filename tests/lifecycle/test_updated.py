"""afterUpdate: one `*.updated` per changed object and request, naming the changed API fields and their
previous values; a save that changes nothing fires nothing and keeps the revision."""

import pytest

from media_lifecycle.models import Tag, Video
from tests.conftest import fan_out
from tests.lifecycle.conftest import recorded, types
from webhooks_app.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def video():
    video = Video.objects.create(title="Old title", description="Kept")
    video.tags.set([Tag.objects.create(name="news")])
    return video


def only_updates(object_id) -> list:
    return [event for event in recorded(object_id) if event.type.endswith(".updated")]


def test_patching_the_title_fires_one_update_with_the_old_title(staff_api, video):
    before = only_updates(video.pk)

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {"title": "New title"}, format="json")

    assert answer.status_code == 200, answer.json()
    new = only_updates(video.pk)[len(before):]
    assert len(new) == 1
    data = new[0].payload["data"]
    assert data["changes"] == ["title"]
    assert data["previous"] == {"title": "Old title"}
    assert data["title"] == "New title"
    assert data["revision"] == answer.json()["revision"] == video.revision + 1


def test_patching_with_identical_values_fires_nothing_and_keeps_the_revision(staff_api, video):
    count = len(types())

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {"title": "Old title", "description": "Kept",
                                                          "tags": ["news"]}, format="json")

    assert answer.status_code == 200, answer.json()
    assert len(types()) == count
    assert answer.json()["revision"] == video.revision
    video.refresh_from_db()
    assert video.revision == answer.json()["revision"]


def test_putting_back_what_get_returned_fires_nothing(staff_api, video):
    count = len(types())
    shown = staff_api.get(f"/api/videos/{video.pk}/").json()

    answer = staff_api.put(f"/api/videos/{video.pk}/", shown, format="json")

    assert answer.status_code == 200, answer.json()
    assert len(types()) == count
    assert answer.json() == shown


def test_patching_tags_fires_an_update_with_the_previous_tags(staff_api, video):
    before = only_updates(video.pk)

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {"tags": ["sport", "live"]}, format="json")

    assert answer.status_code == 200, answer.json()
    new = only_updates(video.pk)[len(before):]
    assert len(new) == 1
    data = new[0].payload["data"]
    assert data["changes"] == ["tags"]
    assert data["previous"] == {"tags": ["news"]}
    assert data["tags"] == ["live", "sport"]
    assert new[0].tags == ["live", "sport"]
    assert data["revision"] == answer.json()["revision"] == video.revision + 1


def test_patching_title_and_tags_together_fires_one_update_and_one_revision(staff_api, video):
    before = only_updates(video.pk)

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {"title": "Both", "tags": ["sport"]}, format="json")

    assert answer.status_code == 200, answer.json()
    new = only_updates(video.pk)[len(before):]
    assert len(new) == 1
    data = new[0].payload["data"]
    assert sorted(data["changes"]) == ["tags", "title"]
    assert data["previous"] == {"title": "Old title", "tags": ["news"]}
    video_after = Video.objects.get(pk=video.pk)
    assert video_after.revision == video.revision + 1
    assert data["revision"] == answer.json()["revision"] == video_after.revision


def test_deleting_a_tag_fires_an_update_for_every_video_that_had_it(video):
    other = Video.objects.create(title="Other")
    other.tags.set([Tag.objects.get(name="news"), Tag.objects.create(name="keep")])
    untagged = Video.objects.create(title="Untagged")
    counts = {obj.pk: len(types(obj.pk)) for obj in (video, other, untagged)}

    Tag.objects.get(name="news").delete()

    for obj, left in ((video, []), (other, ["keep"])):
        new = types(obj.pk)[counts[obj.pk]:]
        assert new == ["video.updated"]
        data = only_updates(obj.pk)[-1].payload["data"]
        assert data["changes"] == ["tags"]
        assert data["tags"] == left
        assert "news" in data["previous"]["tags"]
        assert data["revision"] == Video.objects.get(pk=obj.pk).revision
    assert len(types(untagged.pk)) == counts[untagged.pk]


def test_deleting_tags_with_a_queryset_fires_updates_too(video):
    count = len(types(video.pk))

    Tag.objects.filter(name="news").delete()

    assert types(video.pk)[count:] == ["video.updated"]
    data = only_updates(video.pk)[-1].payload["data"]
    assert data["tags"] == []
    assert data["previous"] == {"tags": ["news"]}


def test_adding_a_video_to_a_tag_from_the_tag_side_fires_an_update(video):
    count = len(types(video.pk))
    sport = Tag.objects.create(name="sport")

    sport.videos.add(video)

    assert types(video.pk)[count:] == ["video.updated"]
    data = only_updates(video.pk)[-1].payload["data"]
    assert data["tags"] == ["news", "sport"]
    assert data["previous"] == {"tags": ["news"]}


def test_an_admin_edit_of_title_and_tags_fires_one_update(admin_client, video):
    sport = Tag.objects.create(name="sport")
    before = only_updates(video.pk)

    answer = admin_client.post(f"/admin/media_lifecycle/video/{video.pk}/change/", {
        "title": "Edited", "description": "Kept", "tags": [sport.pk], "source_url": "", "metadata": "{}",
        "jobs-TOTAL_FORMS": "0", "jobs-INITIAL_FORMS": "0",
    })

    assert answer.status_code == 302, answer.context["adminform"].form.errors if answer.context else answer
    new = only_updates(video.pk)[len(before):]
    assert len(new) == 1
    data = new[0].payload["data"]
    assert sorted(data["changes"]) == ["tags", "title"]
    assert data["previous"] == {"title": "Old title", "tags": ["news"]}
    assert data["revision"] == Video.objects.get(pk=video.pk).revision == video.revision + 1


def test_renaming_a_tag_fires_an_update_for_every_video_that_has_it(video, make_webhook):
    subscriber = make_webhook(events=["video.updated"], tags=["news"])
    count = len(types(video.pk))
    tag = Tag.objects.get(name="news")

    tag.name = "breaking"
    tag.save()

    assert types(video.pk)[count:] == ["video.updated"]
    event = only_updates(video.pk)[-1]
    assert event.payload["data"]["tags"] == ["breaking"]
    assert event.payload["data"]["previous"] == {"tags": ["news"]}
    assert event.payload["data"]["revision"] == Video.objects.get(pk=video.pk).revision == video.revision + 1
    fan_out()
    assert not subscriber.deliveries.exists()  # the video no longer has the tag the condition names


def test_saving_a_tag_without_renaming_it_fires_nothing(video):
    count = len(types())

    Tag.objects.get(name="news").save()

    assert len(types()) == count


def test_patching_the_source_reports_it_and_starts_processing(staff_api, video):
    before = only_updates(video.pk)

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {"source_url": "http://example.com/new.mp4"},
                             format="json")

    assert answer.status_code == 200, answer.json()
    new = only_updates(video.pk)[len(before):]
    assert len(new) == 1
    assert new[0].payload["data"]["changes"] == ["source_url"]
    assert new[0].payload["data"]["previous"] == {"source_url": ""}
    assert Video.objects.get(pk=video.pk).jobs.count() == 2
    assert new[0].payload["data"]["revision"] == Video.objects.get(pk=video.pk).revision


def test_an_admin_save_that_changes_nothing_fires_nothing(admin_client, video):
    count = len(types())

    answer = admin_client.post(f"/admin/media_lifecycle/video/{video.pk}/change/", {
        "title": "Old title", "description": "Kept", "tags": [Tag.objects.get(name="news").pk], "source_url": "",
        "metadata": "{}", "jobs-TOTAL_FORMS": "0", "jobs-INITIAL_FORMS": "0",
    })

    assert answer.status_code == 302, answer.context["adminform"].form.errors if answer.context else answer
    assert len(types()) == count
    assert Video.objects.get(pk=video.pk).revision == video.revision


@pytest.mark.django_db
def test_tag_writes_that_change_nothing_fire_nothing_and_keep_the_revision():
    news = Tag.objects.create(name="news")
    video = Video.objects.create(title="Steady")
    video.tags.add(news)
    revision = Video.objects.get(pk=video.pk).revision
    updates = Event.objects.filter(type="video.updated", object_id=video.pk)
    before = updates.count()

    video.tags.add(news)  # already there
    video.tags.remove(Tag.objects.create(name="sport"))  # never there
    assert (updates.count(), Video.objects.get(pk=video.pk).revision) == (before, revision)

    Video.objects.get(pk=video.pk).tags.clear()  # a real change, for contrast
    assert (updates.count(), Video.objects.get(pk=video.pk).revision) == (before + 1, revision + 1)

    untagged = Video.objects.create(title="Bare")
    untagged.tags.clear()
    assert not Event.objects.filter(type="video.updated", object_id=untagged.pk).exists()
    assert Video.objects.get(pk=untagged.pk).revision == 1
