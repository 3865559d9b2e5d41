"""Revisions and concurrency: +1 per changing save, none for a no-op, and a stale copy never overwrites a newer
one; recording costs the same number of queries however many webhooks match."""

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.db.models.signals import pre_save
from django.test.utils import CaptureQueriesContext

from cms.exceptions import ConflictError
from media_lifecycle.models import Tag, Video
from tests.conftest import fan_out
from tests.lifecycle.conftest import recorded
from webhooks_app.models import Delivery

pytestmark = pytest.mark.django_db


def test_revision_grows_by_exactly_one_per_changing_save():
    video = Video.objects.create(title="v1")
    seen = [video.revision]

    for title in ("v2", "v2", "v3", "v3", "v4"):
        video.title = title
        video.save()
        seen.append(Video.objects.get(pk=video.pk).revision)

    assert seen == [1, 2, 2, 3, 3, 4]
    assert [event.payload["data"]["revision"] for event in recorded(video.pk)] == [1, 2, 3, 4]


def test_a_stale_copy_cannot_overwrite_a_newer_save():
    video = Video.objects.create(title="Original", description="Original")
    first = Video.objects.get(pk=video.pk)
    second = Video.objects.get(pk=video.pk)
    first.title = "First writer"
    first.save()
    count = len(recorded(video.pk))

    second.description = "Second writer"
    with pytest.raises(ConflictError), transaction.atomic():
        second.save()

    stored = Video.objects.get(pk=video.pk)
    assert (stored.title, stored.description, stored.revision) == ("First writer", "Original", 2)
    assert len(recorded(video.pk)) == count
    assert second.revision == 1  # the refused copy still says what it was loaded at


def test_a_stale_copy_is_refused_after_a_tag_change_too():
    video = Video.objects.create(title="Original")
    stale = Video.objects.get(pk=video.pk)
    video.tags.add(Tag.objects.create(name="news"))

    stale.title = "Late"
    with pytest.raises(ConflictError), transaction.atomic():
        stale.save()

    assert Video.objects.get(pk=video.pk).title == "Original"


def test_an_api_write_that_lost_a_race_answers_409_and_records_nothing(staff_api):
    video = Video.objects.create(title="Original")
    count = len(recorded(video.pk))

    def concurrent_writer(sender, instance, **kwargs):
        """Another writer commits a new revision between this request's read and its write."""
        pre_save.disconnect(concurrent_writer, sender=Video)
        Video.objects.filter(pk=instance.pk).update(revision=F("revision") + 1)

    pre_save.connect(concurrent_writer, sender=Video, weak=False)
    try:
        answer = staff_api.patch(f"/api/videos/{video.pk}/", {"title": "Lost"}, format="json")
    finally:
        pre_save.disconnect(concurrent_writer, sender=Video)

    assert answer.status_code == 409, answer.json()
    assert answer.json()["revision"] == 2
    assert Video.objects.get(pk=video.pk).title == "Original"
    assert len(recorded(video.pk)) == count


def test_recording_costs_the_same_queries_for_1_and_100_matching_webhooks(make_webhook):
    video = Video.objects.create(title="Counted")
    make_webhook(events=["video.updated"])

    def save_counted(title: str) -> int:
        video.title = title
        with CaptureQueriesContext(connection) as queries:
            video.save()
        return len(queries)

    with_one = save_counted("one")
    for _ in range(99):
        make_webhook(events=["*"])
    with_hundred = save_counted("hundred")

    updates = [event for event in recorded(video.pk) if event.type == "video.updated"]
    fan_out()  # after the commit, in a worker: each event reaches the webhooks that existed when it happened
    assert [Delivery.objects.filter(event=event).count() for event in updates] == [1, 100]
    assert with_hundred == with_one


def test_a_save_after_refresh_from_db_changes_nothing():
    video = Video.objects.create(title="Before")
    other = Video.objects.get(pk=video.pk)
    other.title = "After"
    other.save()
    count = len(recorded(video.pk))

    video.refresh_from_db()
    video.save()

    assert len(recorded(video.pk)) == count
    assert Video.objects.get(pk=video.pk).revision == 2


def test_a_change_to_a_field_deferred_at_load_is_saved_and_reported():
    video = Video.objects.create(title="Partial", description="Old")
    partial = Video.objects.only("title").get(pk=video.pk)

    partial.description = "New"
    partial.save()

    stored = Video.objects.get(pk=video.pk)
    assert (stored.description, stored.revision) == ("New", 2)
    update = recorded(video.pk)[-1].payload["data"]
    assert update["changes"] == ["description"]
    assert update["previous"] == {"description": "Old"}


def test_an_admin_action_goes_on_after_one_video_lost_a_race(admin_client):
    lost, won = Video.objects.create(title="Lost", status="ready"), Video.objects.create(title="Won", status="ready")

    def concurrent_writer(sender, instance, **kwargs):
        """Another writer commits a new revision of `lost` between the action's read and its write."""
        if instance.pk == lost.pk:
            pre_save.disconnect(concurrent_writer, sender=Video)
            Video.objects.filter(pk=lost.pk).update(revision=F("revision") + 1)

    pre_save.connect(concurrent_writer, sender=Video, weak=False)
    try:
        answer = admin_client.post("/admin/media_lifecycle/video/", {
            "action": "publish_videos", "_selected_action": [lost.pk, won.pk]}, follow=True)
    finally:
        pre_save.disconnect(concurrent_writer, sender=Video)

    assert answer.status_code == 200
    assert "changed by someone else" in answer.content.decode()
    assert [event.type for event in recorded(won.pk)][-2:] == ["video.updated", "video.published"]
    assert (Video.objects.get(pk=lost.pk).published, Video.objects.get(pk=won.pk).published) == (False, True)
