"""TagsField: `tags.set()` reads the relation once, and still tells m2m_changed receivers exactly what changed."""

import pytest
from django.db import connection
from django.db.models.signals import m2m_changed
from django.test.utils import CaptureQueriesContext

from media_lifecycle.models import Livestream, Playlist, Tag, Video
from tests.lifecycle.conftest import only

pytestmark = pytest.mark.django_db


@pytest.fixture
def heard():
    """Every m2m_changed a media tag relation sends, as (action, sorted tag names)."""
    calls = []

    def listen(sender, action, pk_set, **kwargs):
        names = sorted(Tag.objects.filter(pk__in=pk_set).values_list("name", flat=True)) if pk_set else None
        calls.append((action, names))

    for model in (Video, Playlist, Livestream):
        m2m_changed.connect(listen, sender=model.tags.through, dispatch_uid=f"test-heard-{model.__name__}")
    yield calls
    for model in (Video, Playlist, Livestream):
        m2m_changed.disconnect(sender=model.tags.through, dispatch_uid=f"test-heard-{model.__name__}")


def _missing_id_reads(queries, model) -> list[str]:
    """Django's read of which ids `add()` would insert: a SELECT from the many-to-many table itself (the current
    tags are read through a join from the tag table, and the lifecycle reads names the same way)."""
    table = connection.ops.quote_name(model.tags.through._meta.db_table)
    return [q["sql"] for q in queries if q["sql"].startswith("SELECT") and f" FROM {table} " in q["sql"]]


@pytest.mark.parametrize("model", [Video, Playlist, Livestream])
def test_set_reads_the_relation_once_and_adds_what_it_did_not_find(model, heard):
    news, demo, old = (Tag.objects.create(name=name) for name in ("news", "demo", "old"))
    owner = model.objects.create(title="tagged")
    owner.tags.add(old, demo)
    heard.clear()
    with CaptureQueriesContext(connection) as captured:
        owner.tags.set([news, demo])
    assert _missing_id_reads(captured.captured_queries, model) == []
    assert sorted(owner.tags.values_list("name", flat=True)) == ["demo", "news"]
    assert heard == [("pre_remove", ["old"]), ("post_remove", ["old"]), ("pre_add", ["news"]), ("post_add", ["news"])]


def test_add_outside_set_still_learns_which_tags_are_missing(heard):
    news, demo = Tag.objects.create(name="news"), Tag.objects.create(name="demo")
    video = Video.objects.create(title="tagged")
    video.tags.add(news)
    heard.clear()
    with CaptureQueriesContext(connection) as captured:
        video.tags.add(news, demo)  # news is there already: the signal names demo alone
    assert len(_missing_id_reads(captured.captured_queries, Video)) == 1
    assert heard == [("pre_add", ["demo"]), ("post_add", ["demo"])]
    assert sorted(video.tags.values_list("name", flat=True)) == ["demo", "news"]


def test_set_with_clear_removes_all_and_adds_all(heard):
    news, demo = Tag.objects.create(name="news"), Tag.objects.create(name="demo")
    video = Video.objects.create(title="tagged")
    video.tags.add(news)
    heard.clear()
    video.tags.set([news, demo], clear=True)
    assert heard == [("pre_clear", None), ("post_clear", None), ("pre_add", ["demo", "news"]),
                     ("post_add", ["demo", "news"])]
    assert sorted(video.tags.values_list("name", flat=True)) == ["demo", "news"]


def test_a_tag_added_by_a_receiver_during_set_is_not_inserted_twice():
    news, demo, old = (Tag.objects.create(name=name) for name in ("news", "demo", "old"))
    video = Video.objects.create(title="tagged")
    video.tags.add(old)

    def add_news_meanwhile(sender, action, instance, **kwargs):
        if action == "pre_remove":
            Video.objects.get(pk=instance.pk).tags.add(news)  # through another manager, before set() adds it

    m2m_changed.connect(add_news_meanwhile, sender=Video.tags.through, dispatch_uid="test-add-meanwhile")
    try:
        video.tags.set([news, demo])
    finally:
        m2m_changed.disconnect(sender=Video.tags.through, dispatch_uid="test-add-meanwhile")
    assert sorted(video.tags.values_list("name", flat=True)) == ["demo", "news"]
    assert Video.tags.through.objects.filter(video=video, tag=news).count() == 1


def test_setting_tags_on_a_new_video_fires_one_create_with_them(staff_api):
    response = staff_api.post("/api/videos/", {"title": "tagged", "tags": ["news", "demo"]}, format="json")
    assert response.status_code == 201, response.content
    created = only("video.created", response.json()["id"])
    assert created.data["tags"] == ["demo", "news"]
    assert created.tags == ["demo", "news"]


def test_setting_tags_through_the_api_reports_the_tags_before(staff_api):
    video = staff_api.post("/api/videos/", {"title": "tagged", "tags": ["news"]}, format="json").json()
    response = staff_api.patch(f"/api/videos/{video['id']}/", {"tags": ["demo", "news"]}, format="json")
    assert response.status_code == 200, response.content
    updated = only("video.updated", video["id"])
    assert updated.data["tags"] == ["demo", "news"]
    assert updated.data["previous"] == {"tags": ["news"]}
