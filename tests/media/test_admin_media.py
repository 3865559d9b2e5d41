"""The media admin: pages render with badges and the webhooks panel, actions go through the model layer, and a
refused object in an action gets an error message without stopping the others."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from media_lifecycle.models import Livestream, Playlist, PlaylistItem, ProcessingJob, Video
from tests.conftest import finished_upload
from tests.media.conftest import image_bytes, make_published, make_ready, make_video, nothing_written, upload
from webhooks_app.models import Event, Webhook

pytestmark = pytest.mark.django_db

VIDEOS = reverse("admin:media_lifecycle_video_changelist")
STREAMS = reverse("admin:media_lifecycle_livestream_changelist")
NO_INLINE_FORMS = {"jobs-TOTAL_FORMS": "0", "jobs-INITIAL_FORMS": "0"}


def _badge(status: str) -> str:
    return f'font-weight:600;white-space:nowrap">{status}</span>'


def _run(client, changelist: str, action: str, objects) -> list[tuple[str, str]]:
    """Run an admin action on `objects`; return the (level, text) of the messages it left."""
    answer = client.post(changelist, {"action": action, "_selected_action": [obj.pk for obj in objects]},
                         follow=True)
    assert answer.status_code == 200
    return [(message.level_tag, message.message) for message in get_messages(answer.wsgi_request)]


def test_video_changelist_renders_with_status_badges(admin_client):
    make_ready(make_video("Ready video"))
    make_video("Uploaded video")

    answer = admin_client.get(VIDEOS)

    assert answer.status_code == 200
    page = answer.content.decode()
    assert "Ready video" in page and "Uploaded video" in page
    assert _badge("ready") in page and _badge("uploaded") in page


def test_video_changelist_filters_by_status(admin_client):
    make_ready(make_video("Ready video"))
    make_video("Uploaded video")

    page = admin_client.get(VIDEOS, {"status__exact": "ready"}).content.decode()

    assert "Ready video" in page and "Uploaded video" not in page


def test_video_change_page_renders_badge_and_webhooks_panel(admin_client):
    video = make_ready(make_video("Panel video", tags=("news",)))
    Webhook.objects.create(url="http://127.0.0.1:9/all", description="Everything", events=["*"])
    Webhook.objects.create(url="http://127.0.0.1:9/sport", description="Sport desk", events=["video.updated"],
                           tags=["sport"])
    Webhook.objects.create(url="http://127.0.0.1:9/off", description="Switched off", events=["*"], is_active=False)

    answer = admin_client.get(reverse("admin:media_lifecycle_video_change", args=[video.pk]))

    assert answer.status_code == 200
    page = answer.content.decode()
    assert _badge("ready") in page
    assert "The next <code>video.updated</code> event (tags: news) would go to:" in page
    assert "Everything</a></td><td style=\"color:#198754;font-weight:600\">✔ receives it" in page
    assert "Sport desk" in page and "tag condition fails: needs any of sport" in page
    assert "Switched off" in page and "inactive" in page


def test_video_change_page_without_webhooks_offers_to_add_one(admin_client):
    video = make_video("Lonely")

    page = admin_client.get(reverse("admin:media_lifecycle_video_change", args=[video.pk])).content.decode()

    assert "No webhooks yet." in page
    assert reverse("admin:webhooks_app_webhook_add") in page


def test_video_add_page_renders(admin_client):
    assert admin_client.get(reverse("admin:media_lifecycle_video_add")).status_code == 200


def test_publish_action_publishes_ready_videos_and_reports_the_refused_ones(admin_client):
    ready = make_ready(make_video("Ready one"))
    other_ready = make_ready(make_video("Ready two"))
    uploaded = make_video("Not ready")

    messages = _run(admin_client, VIDEOS, "publish_videos", [ready, uploaded, other_ready])

    assert Video.objects.get(pk=ready.pk).published
    assert Video.objects.get(pk=other_ready.pk).published
    assert not Video.objects.get(pk=uploaded.pk).published
    assert ("success", "Published: 2 video(s).") in messages
    assert ("error", "Not ready: Only a ready video can be published; this one is uploaded.") in messages


def test_unpublish_action_unpublishes(admin_client):
    video = make_published(make_video("Out"))

    messages = _run(admin_client, VIDEOS, "unpublish_videos", [video])

    assert not Video.objects.get(pk=video.pk).published
    assert ("success", "Unpublished: 1 video(s).") in messages


def test_archive_action_archives_and_unpublishes(admin_client):
    published = make_published(make_video("Published"))
    draft = make_video("Draft")

    messages = _run(admin_client, VIDEOS, "archive_videos", [published, draft])

    for video in (published, draft):
        stored = Video.objects.get(pk=video.pk)
        assert stored.archived and not stored.published
    assert ("success", "Archived: 2 video(s).") in messages


def test_unarchive_action_restores_videos_unpublished(admin_client):
    video = make_published(make_video("Back"))
    video.archive()

    _run(admin_client, VIDEOS, "unarchive_videos", [video])

    stored = Video.objects.get(pk=video.pk)
    assert not stored.archived and not stored.published


def test_reprocess_action_starts_runs_and_reports_videos_without_a_source(admin_client):
    with_source = make_ready(make_video("Has source", source_url="http://example.com/a.mp4"))
    without = make_video("No source")

    messages = _run(admin_client, VIDEOS, "reprocess_videos", [without, with_source])

    assert sorted(ProcessingJob.objects.filter(video=with_source, run=2).values_list("task", flat=True)) \
        == ["thumbnail", "transcode"]
    assert not ProcessingJob.objects.filter(video=without).exists()
    assert ("success", "Reprocessing: 1 video(s).") in messages
    assert any(level == "error" and text.startswith("No source: This video has no source")
               for level, text in messages)


def test_video_created_in_the_admin_with_a_real_clip_is_inspected_and_processed(admin_client, admin_user,
                                                                                clip_bytes):
    sent = finished_upload(admin_user, clip_bytes)

    answer = admin_client.post(reverse("admin:media_lifecycle_video_add"), {
        "title": "Admin upload", "description": "", "upload": sent.pk, "source_url": "", "metadata": "{}",
    })

    assert answer.status_code == 302, answer.context["adminform"].form.errors if answer.context else answer
    video = Video.objects.get(title="Admin upload")
    assert (video.mime_type, video.format, video.size_bytes) == ("video/mp4", "mp4", len(clip_bytes))
    assert video.file.read() == clip_bytes
    assert video.created_by == admin_user
    assert ProcessingJob.objects.filter(video=video).count() == 2


def test_video_created_in_the_admin_with_a_non_video_file_shows_a_form_error(admin_client, admin_user):
    sent = finished_upload(admin_user, b"plain text, not a movie\n" * 50, "fake.mp4")

    with nothing_written():
        answer = admin_client.post(reverse("admin:media_lifecycle_video_add"), {
            "title": "Fake", "upload": sent.pk, "source_url": "", "metadata": "{}",
        })

    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert "upload" in errors and "not a video file" in errors["upload"][0]
    assert "This is not a video file" in answer.content.decode()


def test_video_poster_that_is_not_an_image_shows_a_form_error_in_the_admin(admin_client):
    video = make_video("Poster")

    with nothing_written():
        answer = admin_client.post(reverse("admin:media_lifecycle_video_change", args=[video.pk]), {
            "title": "Poster", "source_url": "", "metadata": "{}", **NO_INLINE_FORMS,
            "poster": upload("poster.png", b"GIF89a but not really"),
        })

    assert answer.status_code == 200
    assert "poster" in answer.context["adminform"].form.errors


def test_valid_poster_in_the_admin_is_stored_as_jpeg(admin_client):
    video = make_video("Poster")

    answer = admin_client.post(reverse("admin:media_lifecycle_video_change", args=[video.pk]), {
        "title": "Poster", "source_url": "", "metadata": "{}", **NO_INLINE_FORMS,
        "poster": upload("poster.png", image_bytes()),
    })

    assert answer.status_code == 302
    stored = Video.objects.get(pk=video.pk)
    assert stored.poster.name.endswith(".jpg")
    assert stored.poster.read(3) == b"\xff\xd8\xff"


def test_private_source_url_in_the_admin_shows_a_form_error_while_the_guard_is_on(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    with nothing_written():
        answer = admin_client.post(reverse("admin:media_lifecycle_video_add"), {
            "title": "SSRF", "source_url": "http://127.0.0.1/x.mp4", "metadata": "{}", **NO_INLINE_FORMS,
        })

    assert answer.status_code == 200
    assert "source_url" in answer.context["adminform"].form.errors


def test_livestream_start_action_starts_idle_streams_and_reports_the_others(admin_client):
    idle = Livestream.objects.create(title="Idle stream")
    ended = Livestream.objects.create(title="Ended stream")
    ended.start()
    ended.end()

    messages = _run(admin_client, STREAMS, "start_streams", [ended, idle])

    assert Livestream.objects.get(pk=idle.pk).status == "live"
    assert Livestream.objects.get(pk=ended.pk).status == "ended"
    assert ("success", "Idle stream: live.") in messages
    assert ("error", "Ended stream: Only an idle livestream can start; this one is ended.") in messages


def test_livestream_end_action_ends_live_streams(admin_client):
    live = Livestream.objects.create(title="Live stream")
    live.start()
    idle = Livestream.objects.create(title="Idle stream")

    messages = _run(admin_client, STREAMS, "end_streams", [live, idle])

    assert Livestream.objects.get(pk=live.pk).status == "ended"
    assert Livestream.objects.get(pk=idle.pk).status == "idle"
    assert ("success", "Live stream: ended.") in messages
    assert ("error", "Idle stream: Only a live livestream can end; this one is idle.") in messages


def test_livestream_pages_render_with_badge_and_never_show_the_stream_key(admin_client):
    stream = Livestream.objects.create(title="Secret stream")
    stream.start()
    Webhook.objects.create(url="http://127.0.0.1:9/starts", description="Starts only", events=["livestream.started"])

    changelist = admin_client.get(STREAMS)
    change = admin_client.get(reverse("admin:media_lifecycle_livestream_change", args=[stream.pk]))

    assert changelist.status_code == 200 and change.status_code == 200
    assert _badge("live") in changelist.content.decode()
    page = change.content.decode()
    assert _badge("live") in page
    assert stream.stream_key not in page and stream.stream_key not in changelist.content.decode()
    assert f"••••••••{stream.stream_key[-4:]}" in page
    assert "The next <code>livestream.updated</code> event" in page
    assert "Starts only" in page and "not subscribed to livestream.updated" in page


def test_playlist_change_page_shows_its_videos_in_order(admin_client):
    first, second, third = (make_video(title) for title in ("Alpha clip", "Bravo clip", "Charlie clip"))
    playlist = Playlist.objects.create(title="Ordered")
    # Stored out of order: the inline must follow `position`, not insertion order.
    PlaylistItem.objects.create(playlist=playlist, video=third, position=2)
    PlaylistItem.objects.create(playlist=playlist, video=first, position=0)
    PlaylistItem.objects.create(playlist=playlist, video=second, position=1)
    Webhook.objects.create(url="http://127.0.0.1:9/lists", description="Lists", events=["playlist.updated"])

    answer = admin_client.get(reverse("admin:media_lifecycle_playlist_change", args=[playlist.pk]))

    assert answer.status_code == 200
    page = answer.content.decode()
    positions = [page.index(title) for title in ("Alpha clip", "Bravo clip", "Charlie clip")]
    assert positions == sorted(positions)
    assert "The next <code>playlist.updated</code> event" in page and "✔ receives it" in page
    formset = answer.context["inline_admin_formsets"][0].formset
    assert [form.instance.video_id for form in formset.forms if form.instance.pk] == [first.pk, second.pk, third.pk]


def test_playlist_changelist_renders_video_counts(admin_client):
    playlist = Playlist.objects.create(title="Counted")
    PlaylistItem.objects.create(playlist=playlist, video=make_video("One"), position=0)

    answer = admin_client.get(reverse("admin:media_lifecycle_playlist_changelist"))

    assert answer.status_code == 200
    assert "Counted" in answer.content.decode()


def _playlist_form(playlist: Playlist, order: list[PlaylistItem]) -> dict:
    """The playlist change form as the browser posts it, with `order` giving each item's new position."""
    data = {"title": playlist.title, "description": playlist.description,
            "items-TOTAL_FORMS": str(len(order)), "items-INITIAL_FORMS": str(len(order)),
            "items-MIN_NUM_FORMS": "0", "items-MAX_NUM_FORMS": "1000"}
    for index, item in enumerate(order):
        data.update({f"items-{index}-id": str(item.pk), f"items-{index}-playlist": playlist.pk,
                     f"items-{index}-position": str(index), f"items-{index}-video": item.video_id})
    return data


def test_reordering_a_playlist_in_the_admin_is_one_new_revision(admin_client):
    playlist = Playlist.objects.create(title="Reorder")
    items = [PlaylistItem.objects.create(playlist=playlist, video=make_video(f"Clip {n}"), position=n)
             for n in range(3)]
    revision = Playlist.objects.get(pk=playlist.pk).revision

    answer = admin_client.post(reverse("admin:media_lifecycle_playlist_change", args=[playlist.pk]),
                               _playlist_form(playlist, list(reversed(items))))

    assert answer.status_code == 302
    stored = Playlist.objects.get(pk=playlist.pk)
    assert stored.video_ids() == [item.video_id for item in reversed(items)]
    assert stored.revision == revision + 1


def test_saving_an_unchanged_playlist_in_the_admin_keeps_its_revision(admin_client):
    playlist = Playlist.objects.create(title="Still")
    items = [PlaylistItem.objects.create(playlist=playlist, video=make_video(f"Clip {n}"), position=n)
             for n in range(2)]
    stored = Playlist.objects.get(pk=playlist.pk)

    with nothing_written():
        answer = admin_client.post(reverse("admin:media_lifecycle_playlist_change", args=[playlist.pk]),
                                   _playlist_form(playlist, items))

    assert answer.status_code == 302
    after = Playlist.objects.get(pk=playlist.pk)
    assert (after.revision, after.updated_at) == (stored.revision, stored.updated_at)


def test_saving_an_unchanged_video_in_the_admin_keeps_its_revision(admin_client):
    video = make_ready(make_video("Same", tags=("news",), description="Words", metadata={"k": [1, 2]}))

    with nothing_written():
        answer = admin_client.post(reverse("admin:media_lifecycle_video_change", args=[video.pk]), {
            "title": "Same", "description": "Words", "tags": [tag.pk for tag in video.tags.all()],
            "source_url": "", "metadata": '{"k": [1, 2]}', **NO_INLINE_FORMS,
        })

    assert answer.status_code == 302
    after = Video.objects.get(pk=video.pk)
    assert (after.revision, after.updated_at) == (video.revision, video.updated_at)


def test_ended_livestream_change_page_renders_with_its_recording(admin_client):
    recording = make_video("Recorded show")
    stream = Livestream.objects.create(title="Show")
    stream.start()
    stream.end(recording=recording)

    answer = admin_client.get(reverse("admin:media_lifecycle_livestream_change", args=[stream.pk]))

    assert answer.status_code == 200
    assert _badge("ended") in answer.content.decode()
    assert "Recorded show" in answer.content.decode()


@pytest.mark.parametrize("model", ["video", "playlist", "livestream", "tag"])
def test_media_changelist_and_add_pages_render(admin_client, model):
    make_video("Listed", tags=("listed",))

    assert admin_client.get(reverse(f"admin:media_lifecycle_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:media_lifecycle_{model}_add")).status_code == 200


def test_livestream_created_in_the_admin_gets_a_masked_stream_key(admin_client, admin_user):
    answer = admin_client.post(reverse("admin:media_lifecycle_livestream_add"), {"title": "From the admin"},
                               follow=True)

    stream = Livestream.objects.get(title="From the admin")
    assert stream.status == "idle" and stream.stream_key
    assert stream.created_by == admin_user
    # The key is shown once, right after saving (as in the API's create answer), with where to publish it
    assert f"{stream.ingest_url}/{stream.stream_key}" in answer.content.decode()
    page = admin_client.get(reverse("admin:media_lifecycle_livestream_change", args=[stream.pk])).content.decode()
    assert stream.stream_key not in page


def test_deleting_videos_in_bulk_from_the_admin_records_their_deletions(admin_client):
    videos = [make_video(f"Old {n}") for n in range(2)]

    answer = admin_client.post(VIDEOS, {"action": "delete_selected", "post": "yes",
                                        "_selected_action": [video.pk for video in videos]})

    assert answer.status_code == 302
    assert not Video.objects.filter(pk__in=[video.pk for video in videos]).exists()
    assert set(Event.objects.filter(type="video.deleted").values_list("object_id", flat=True)) \
        == {video.pk for video in videos}


@pytest.mark.parametrize("depth", [33, 600, 100_000])
def test_metadata_nested_too_deeply_shows_a_form_error_in_the_admin(admin_client, depth):
    video = make_video("Deep")
    typed = '{"a": ' + "[" * depth + "]" * depth + "}"

    with nothing_written():
        answer = admin_client.post(reverse("admin:media_lifecycle_video_change", args=[video.pk]), {
            "title": "Deep", "source_url": "", "metadata": typed, **NO_INLINE_FORMS,
        })

    assert answer.status_code == 200
    assert answer.context["adminform"].form.errors["metadata"] == ["Nested more than 32 levels deep."]
    assert Video.objects.get(pk=video.pk).metadata == {}
