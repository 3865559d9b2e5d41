"""The admin as editors use it: the Editors group made by migrate, what an editor sees (media only), ids in admin
URLs as they are, times to the second, the live video page's panel and buttons, livestream buttons, plays per
day, and the playlist's sortable inline with thumbnails."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from media_lifecycle import roles
from media_lifecycle.models import ClientWebhook, Livestream, PlaybackEvent, Playlist, PlaylistItem, Video
from tests.conftest import fan_out, finished_upload
from tests.media.conftest import make_published, make_ready, make_video
from webhooks_app import events
from webhooks_app.models import Delivery, Event, Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor_client(django_user_model) -> Client:
    user = django_user_model.objects.create_user("ed", "ed@example.com", "pw-ed-12345", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.EDITORS))
    client = Client()
    client.force_login(user)
    client.user = user
    return client


# --- the Editors group ------------------------------------------------------------------------------


def test_migrate_made_the_editors_group_with_the_media_permissions_only():
    group = Group.objects.get(name="Editors")
    granted = set(group.permissions.values_list("content_type__app_label", "codename"))

    assert granted == {("media_lifecycle", codename) for codename in roles.codenames()}
    assert ("media_lifecycle", "view_clientwebhook") in granted and ("media_lifecycle", "add_clientwebhook") \
        not in granted
    assert ("media_lifecycle", "view_playbackevent") in granted


def test_migrating_again_keeps_the_group_and_restores_missing_permissions():
    group = Group.objects.get(name="Editors")
    group.permissions.remove(Permission.objects.get(codename="delete_video"))
    extra = Permission.objects.get(codename="view_webhook")
    group.permissions.add(extra)  # an administrator's own addition

    call_command("migrate", verbosity=0)

    group = Group.objects.get(name="Editors")
    assert Group.objects.filter(name="Editors").count() == 1
    assert group.permissions.filter(codename="delete_video").exists()
    assert group.permissions.filter(pk=extra.pk).exists()


def test_an_editor_sees_only_media_in_the_admin(editor_client):
    answer = editor_client.get(reverse("admin:index"))

    models = {(app["app_label"], model["object_name"]) for app in answer.context["app_list"]
              for model in app["models"]}
    assert models == {("media_lifecycle", name) for name in
                      ("ClientWebhook", "Livestream", "PlaybackEvent", "Playlist", "Tag", "Video")}


@pytest.mark.parametrize("name", ["admin:webhooks_app_webhook_changelist", "admin:webhooks_app_delivery_changelist",
                                  "admin:webhooks_app_event_changelist", "admin:auth_user_changelist",
                                  "admin:auth_group_changelist", "admin:authtoken_tokenproxy_changelist",
                                  "admin:django_q_failure_changelist", "admin:django_q_schedule_changelist"])
def test_an_editor_is_refused_tokens_the_task_queue_webhooks_deliveries_and_users(editor_client, name):
    assert editor_client.get(reverse(name)).status_code == 403


def test_an_editor_reads_client_webhooks_but_cannot_change_them_in_the_admin_or_the_api(editor_client):
    hook = ClientWebhook.objects.create(url="http://lms.local/track", request_field="s", response_field="s")
    page = editor_client.get(reverse("admin:media_lifecycle_clientwebhook_change", args=[hook.pk]))
    assert page.status_code == 200 and 'name="url"' not in page.content.decode()  # read-only

    assert editor_client.get("/api/client-webhooks/").status_code == 200
    assert editor_client.post("/api/client-webhooks/", {"url": "http://x.test/", "request_field": "a",
                                                        "response_field": "b"}).status_code == 403


def test_media_pages_hide_the_webhooks_panel_from_editors(editor_client, admin_client):
    Webhook.objects.create(url="http://127.0.0.1:9/secret-endpoint", events=["*"])
    video, playlist = make_video("Clip"), Playlist.objects.create(title="List")
    stream = Livestream.objects.create(title="Live")
    pages = [reverse(f"admin:media_lifecycle_{kind}_change", args=[obj.pk])
             for kind, obj in (("video", video), ("playlist", playlist), ("livestream", stream))]

    for url in pages:
        assert "secret-endpoint" not in editor_client.get(url).content.decode()
        assert "secret-endpoint" in admin_client.get(url).content.decode()


def test_an_editor_creates_a_video_from_their_upload_in_the_admin(editor_client, clip_bytes):
    sent = finished_upload(editor_client.user, clip_bytes)

    answer = editor_client.post(reverse("admin:media_lifecycle_video_add"), {
        "title": "Editor's clip", "upload": sent.pk, "source_url": "", "metadata": "{}"})

    assert answer.status_code == 302, answer.context["adminform"].form.errors if answer.context else answer
    assert Video.objects.get(title="Editor's clip").created_by == editor_client.user


# --- ids and times ----------------------------------------------------------------------------------


def test_admin_pages_carry_ids_as_they_are(admin_client, make_webhook_delivery):
    video = make_ready(make_video("Plain ids"))
    playlist = Playlist.objects.create(title="Plain list")
    stream = Livestream.objects.create(title="Plain stream")
    delivery = make_webhook_delivery
    pages = [
        reverse("admin:media_lifecycle_video_changelist"), reverse("admin:media_lifecycle_playlist_changelist"),
        reverse("admin:media_lifecycle_livestream_changelist"), reverse("admin:webhooks_app_webhook_changelist"),
        reverse("admin:webhooks_app_delivery_changelist"), reverse("admin:webhooks_app_event_changelist"),
        f"/admin/media_lifecycle/video/{video.pk}/change/", f"/admin/media_lifecycle/playlist/{playlist.pk}/change/",
        f"/admin/media_lifecycle/livestream/{stream.pk}/change/",
        f"/admin/webhooks_app/webhook/{delivery.webhook_id}/change/",
        f"/admin/webhooks_app/delivery/{delivery.pk}/change/", f"/admin/webhooks_app/event/{delivery.event_id}/change/",
    ]
    for url in pages:
        answer = admin_client.get(url)
        assert answer.status_code == 200, url
        text = answer.content.decode()
        assert "_5F" not in text, url
    listed = admin_client.get(reverse("admin:media_lifecycle_video_changelist")).content.decode()
    assert f'href="/admin/media_lifecycle/video/{video.pk}/change/"' in listed
    change = admin_client.get(f"/admin/media_lifecycle/video/{video.pk}/change/").content.decode()
    assert f'href="/admin/media_lifecycle/video/{video.pk}/history/"' in change
    assert f'href="/admin/media_lifecycle/video/{video.pk}/delete/"' in change
    assert f'href="/admin/webhooks_app/webhook/{delivery.webhook_id}/change/"' in admin_client.get(
        f"/admin/webhooks_app/delivery/{delivery.pk}/change/").content.decode()


def test_saving_a_new_object_redirects_and_links_to_its_plain_id(admin_client):
    answer = admin_client.post(reverse("admin:media_lifecycle_playlist_add"), {
        "title": "New list", "description": "", "items-TOTAL_FORMS": "0", "items-INITIAL_FORMS": "0",
        "_continue": "1"}, follow=True)

    playlist = Playlist.objects.get(title="New list")
    assert answer.redirect_chain[0][0] == f"/admin/media_lifecycle/playlist/{playlist.pk}/change/"
    assert f'href="/admin/media_lifecycle/playlist/{playlist.pk}/change/"' in answer.content.decode()
    assert "_5F" not in answer.content.decode()


def test_quoted_ids_from_old_links_still_open_the_page(admin_client):
    video = make_video("Old link")

    answer = admin_client.get(f"/admin/media_lifecycle/video/{video.pk.replace('_', '_5F')}/change/")

    assert answer.status_code == 200 and "Old link" in answer.content.decode()


def test_times_are_shown_to_the_second(admin_client):
    video = make_video("Timed")
    moment = timezone.localtime(video.updated_at).strftime("%Y-%m-%d %H:%M:%S")

    assert moment in admin_client.get(reverse("admin:media_lifecycle_video_changelist")).content.decode()
    assert moment in admin_client.get(reverse("admin:media_lifecycle_video_change", args=[video.pk])).content.decode()


# --- the live video page ----------------------------------------------------------------------------


def test_the_video_page_offers_the_actions_that_apply_now(admin_client):
    uploaded, ready = make_video("Uploaded"), make_ready(make_video("Ready", source_url="http://x.test/a.mp4"))
    published = make_published(make_video("Published"))

    def buttons(video) -> list[str]:
        text = admin_client.get(reverse("admin:media_lifecycle_video_change", args=[video.pk])).content.decode()
        return re.findall(r'class="object-action-button" name="(\w+)"', text)

    assert buttons(uploaded) == ["archive"]
    assert buttons(ready) == ["publish", "archive", "reprocess"]
    assert buttons(published) == ["unpublish", "archive"]


def test_a_page_button_publishes_through_the_model(admin_client):
    video = make_ready(make_video("Publish me"))

    answer = admin_client.post(reverse("admin:media_lifecycle_video_action", args=[video.pk, "publish"]), follow=True)

    assert Video.objects.get(pk=video.pk).published
    assert "Publish me: publish done." in answer.content.decode()
    assert re.findall(r'name="(\w+)" value="1">', answer.content.decode())[:1] == ["unpublish"]


def test_a_page_button_that_no_longer_applies_reports_why(admin_client):
    video = make_video("Not ready")

    answer = admin_client.post(reverse("admin:media_lifecycle_video_action", args=[video.pk, "publish"]), follow=True)

    assert not Video.objects.get(pk=video.pk).published
    assert "Only a ready video can be published" in answer.content.decode()


def reader_client(django_user_model, username: str, permission: str) -> Client:
    """A logged-in staff user who may only view (`permission`, such as view_video)."""
    reader = django_user_model.objects.create_user(username, password="pw-reader-123", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename=permission))
    client = Client()
    client.force_login(reader)
    return client


def test_page_buttons_need_post_and_the_change_permission(admin_client, django_user_model):
    video = make_ready(make_video("Guarded"))
    url = reverse("admin:media_lifecycle_video_action", args=[video.pk, "publish"])
    client = reader_client(django_user_model, "reader", "view_video")

    assert admin_client.get(url).status_code == 405
    assert client.post(url).status_code == 403
    assert admin_client.post(reverse("admin:media_lifecycle_video_action", args=[video.pk, "explode"])).status_code \
        == 404
    assert not Video.objects.get(pk=video.pk).published


def test_the_live_view_reports_status_panels_and_when_to_stop(admin_client, clip_bytes):
    video = Video.objects.create(title="Running", source_url="http://x.test/a.mp4")  # jobs pending: still live
    url = reverse("admin:media_lifecycle_video_live", args=[video.pk])

    running = admin_client.get(url).json()
    make_ready(Video.objects.get(pk=video.pk))
    video.jobs.update(status="succeeded")
    done = admin_client.get(url).json()

    assert (running["status"], running["final"]) == ("uploaded", False)
    assert 'class="job-row"' in running["panels"]["live-status"]
    assert (done["status"], done["final"]) == ("ready", True)
    assert 'name="publish"' in done["panels"]["object-actions"]


def test_a_ready_video_page_has_an_inline_preview_of_its_best_rendition(admin_client):
    video = make_ready(make_video("Preview", renditions=[
        {"quality": "480p", "format": "mp4", "url": "/media/out/480.mp4", "height": 480},
        {"quality": "720p", "format": "mp4", "url": "/media/out/720.mp4", "height": 720},
    ]))

    text = admin_client.get(reverse("admin:media_lifecycle_video_change", args=[video.pk])).content.decode()

    assert re.search(r'<video class="video-preview" controls preload="metadata" src="http://[^"]+/media/out/720.mp4"',
                     text)


def test_the_video_page_draws_plays_per_day(admin_client):
    video = make_published(make_video("Watched"))
    now = timezone.now()
    for days_ago, sessions in ((0, 3), (2, 1)):
        for n in range(sessions):
            PlaybackEvent.objects.create(video=video, session_id=f"s{days_ago}{n}", event_type="play", position=0,
                                         first_play=True, created_at=now - timedelta(days=days_ago))
    PlaybackEvent.objects.create(video=video, session_id="s00", event_type="play", position=3)  # same session

    answer = admin_client.get(reverse("admin:media_lifecycle_video_change", args=[video.pk]))

    text = answer.content.decode()
    data = re.search(r'<script id="plays-chart-data" type="application/json">(.*?)</script>', text).group(1)
    chart = json.loads(data)
    assert len(chart["labels"]) == 30 and chart["labels"][-1] == timezone.now().date().isoformat()
    assert chart["plays"][-1] == 3 and chart["plays"][-3] == 1 and sum(chart["plays"]) == 4
    assert "chart.js-4.6.2/chart.umd.min.js" in text


# --- livestreams and playlists ----------------------------------------------------------------------


def test_livestream_page_buttons_start_and_end_it(admin_client):
    stream = Livestream.objects.create(title="Show")
    page = reverse("admin:media_lifecycle_livestream_change", args=[stream.pk])
    assert re.findall(r'name="(\w+)" value="1">', admin_client.get(page).content.decode()) == ["start"]

    admin_client.post(reverse("admin:media_lifecycle_livestream_action", args=[stream.pk, "start"]))
    assert Livestream.objects.get(pk=stream.pk).status == "live"
    assert re.findall(r'name="(\w+)" value="1">', admin_client.get(page).content.decode()) == ["end"]

    admin_client.post(reverse("admin:media_lifecycle_livestream_action", args=[stream.pk, "end"]))
    assert Livestream.objects.get(pk=stream.pk).status == "ended"
    assert re.findall(r'name="(\w+)" value="1">', admin_client.get(page).content.decode()) == []


def test_livestream_page_buttons_need_post_and_the_change_permission(admin_client, django_user_model):
    stream = Livestream.objects.create(title="Guarded show")
    url = reverse("admin:media_lifecycle_livestream_action", args=[stream.pk, "start"])
    client = reader_client(django_user_model, "stream-reader", "view_livestream")

    assert admin_client.get(url).status_code == 405
    assert client.post(url).status_code == 403
    unknown = reverse("admin:media_lifecycle_livestream_action", args=[stream.pk, "explode"])
    assert admin_client.post(unknown).status_code == 404
    missing = reverse("admin:media_lifecycle_livestream_action", args=["ls_nothere", "start"])
    assert admin_client.post(missing).status_code == 404
    assert Livestream.objects.get(pk=stream.pk).status == "idle"


def test_the_playlist_page_is_sortable_and_shows_thumbnails(admin_client):
    playlist = Playlist.objects.create(title="Sorted")
    video = make_video("Thumbed", thumbnail_url="https://cdn.example.com/t.jpg")
    PlaylistItem.objects.create(playlist=playlist, video=video, position=0)

    text = admin_client.get(reverse("admin:media_lifecycle_playlist_change", args=[playlist.pk])).content.decode()

    assert "adminsortable2" in text and "_reorder_" in text
    assert '<img src="https://cdn.example.com/t.jpg"' in text


@pytest.fixture
def make_webhook_delivery(db):
    webhook = Webhook.objects.create(url="http://127.0.0.1:9/hook", events=["*"])
    events.record("video.ready", {"object": "video", "id": "vid_x"})
    fan_out()
    delivery = Delivery.objects.get(webhook=webhook)
    assert Event.objects.filter(pk=delivery.event_id).exists()
    return delivery
