"""The admin as editors use it, in a real Chromium: a clip uploaded through the tus field (progress to 100%, a
dropped connection resumed), processed by a real worker and the built-in processor (ffmpeg) while the page
watches without a reload, published with the page's button; errors shown next to the field with the typed title
kept; a delivery redelivered from its page; a playlist reordered by dragging; an editor who sees only media; and
changelists that fit a 1366 px screen."""

from io import BytesIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django_q.conf import Conf
from PIL import Image

from media_lifecycle import roles
from media_lifecycle.admin import widgets
from media_lifecycle.models import Livestream, Playlist, PlaylistItem, Upload, Video
from webhooks_app import events, relay
from webhooks_app.models import Delivery, Webhook

pytestmark = pytest.mark.e2e

CHUNK = 48 * 1024  # several PATCH requests for a small clip, so one can be dropped halfway
WIDE = {"width": 1366, "height": 900}
STATUS = "() => document.querySelector('#live-status .live-line span')?.textContent.trim()"
# The changelist scrolls its table sideways inside `.results` when it is too wide: both must fit.
OVERFLOW = """() => {
  const results = document.querySelector('#changelist .results');
  return {page: document.documentElement.scrollWidth, table: results ? results.scrollWidth : 0,
          room: results ? results.clientWidth : 0};
}"""


def fits(page) -> bool:
    measured = page.evaluate(OVERFLOW)
    return measured["page"] <= WIDE["width"] and measured["table"] <= measured["room"]


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("chief", "chief@example.com", "pw-chief-123")


def log_in(page, site: str, username: str, password: str) -> None:
    page.goto(f"{site}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def pick_file(page, path) -> None:
    page.set_input_files(".tus-upload-file", str(path))


def test_an_upload_resumes_after_a_dropped_connection_and_the_video_turns_ready_live(
        page, site, superuser, browser_clip, start_worker, monkeypatch, tmp_path, artifacts):
    # Given a real worker (the relay and the built-in processor's ffmpeg) and an admin on the add page
    monkeypatch.setattr(Conf, "SYNC", False)  # the web process queues work for the worker, as in production
    monkeypatch.setattr(widgets, "UPLOAD_CHUNK_BYTES", CHUNK)
    content, fmt = browser_clip
    clip = tmp_path / f"holiday.{fmt}"
    clip.write_bytes(content)
    start_worker(PUBLIC_BASE_URL=site, WEBHOOK_ALLOW_PRIVATE_TARGETS="true")
    log_in(page, site, "chief", "pw-chief-123")
    offsets, dropped = [], []

    def cut_the_connection_halfway(route, request):
        if request.method == "PATCH":
            offset = int(request.headers["upload-offset"])
            offsets.append(offset)
            if not dropped and offset >= len(content) // 2:
                dropped.append(offset)
                route.abort("connectionreset")
                return
        route.continue_()

    page.route("**/api/uploads/**", cut_the_connection_halfway)
    page.goto(f"{site}/admin/media_lifecycle/video/add/")
    page.fill("#id_title", "Uploaded in the browser")

    # When a clip is picked: sent in chunks, one of them cut off halfway through the file
    pick_file(page, clip)
    page.wait_for_function("document.querySelector('input[name=upload]').value !== ''", timeout=30_000)

    # Then it resumed from the server's offset (not from 0), and the bar reached 100%
    assert dropped, offsets
    after = offsets[offsets.index(dropped[0]) + 1:]
    assert after and after[0] == dropped[0] and 0 not in after, offsets
    assert page.eval_on_selector(".tus-upload-bar", "bar => bar.value") == 100
    assert page.inner_text(".tus-upload-percent") == "100%"
    upload = Upload.objects.get()
    assert upload.is_complete and default_storage.open(upload.storage_name).read() == content

    # When the form is saved, the page shows processing live, without a reload, until the video is ready
    page.click("input[name=_continue]")
    page.wait_for_selector("#video-live")
    video = Video.objects.get(title="Uploaded in the browser")
    page.evaluate("() => { window.sameDocument = true; }")
    page.wait_for_function(f"({STATUS})() === 'ready'", timeout=120_000, polling=200)
    assert page.evaluate("() => window.sameDocument") is True  # no reload happened
    video.refresh_from_db()
    assert video.status == "ready", video.error_message
    page.wait_for_selector("video.video-preview")
    page.wait_for_selector("#object-actions button[name=publish]")
    page.set_viewport_size(WIDE)
    page.screenshot(path=str(artifacts / "video-page.png"), full_page=True)

    # And the page's Publish button publishes it
    page.click("#object-actions button[name=publish]")
    page.wait_for_selector(".messagelist .success:has-text('publish done')")
    assert Video.objects.get(pk=video.pk).published
    assert page.locator("#object-actions button[name=unpublish]").count() == 1


def test_a_non_video_gets_an_error_next_to_the_field_and_the_form_keeps_what_was_typed(page, site, superuser,
                                                                                      tmp_path):
    text = tmp_path / "notes.mp4"
    text.write_bytes(b"Meeting notes, not a film.\n" * 200)
    log_in(page, site, "chief", "pw-chief-123")
    page.goto(f"{site}/admin/media_lifecycle/video/add/")
    page.fill("#id_title", "My typed title")
    page.fill("#id_description", "And a description")

    pick_file(page, text)
    page.wait_for_function("document.querySelector('input[name=upload]').value !== ''")
    page.click("input[name=_save]")

    error = page.locator(".field-upload .errorlist")
    error.wait_for()
    assert "not a video file" in error.inner_text()
    assert page.input_value("#id_title") == "My typed title"
    assert page.input_value("#id_description") == "And a description"
    assert not Video.objects.exists()


def test_an_oversized_file_gets_an_error_next_to_the_field_before_anything_is_sent(page, site, superuser,
                                                                                  browser_clip, tmp_path, settings):
    content, fmt = browser_clip
    clip = tmp_path / f"big.{fmt}"
    clip.write_bytes(content)
    settings.MAX_UPLOAD_BYTES = len(content) - 1
    log_in(page, site, "chief", "pw-chief-123")
    page.goto(f"{site}/admin/media_lifecycle/video/add/")

    pick_file(page, clip)

    error = page.locator(".field-upload .tus-upload-error")
    error.wait_for()
    assert "largest upload accepted (MAX_UPLOAD_BYTES)" in error.inner_text()
    assert not Upload.objects.exists()


def test_a_server_refusal_is_shown_next_to_the_field(page, site, django_user_model, browser_clip, tmp_path):
    # Given a staff user who may change videos but not add them (so the upload endpoint refuses: 403)
    content, fmt = browser_clip
    clip = tmp_path / f"clip.{fmt}"
    clip.write_bytes(content)
    user = django_user_model.objects.create_user("changer", password="pw-changer-123", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_video", "change_video"]))
    video = Video.objects.create(title="Existing")
    log_in(page, site, "changer", "pw-changer-123")
    page.goto(f"{site}/admin/media_lifecycle/video/{video.pk}/change/")

    pick_file(page, clip)

    error = page.locator(".field-upload .tus-upload-error")
    error.wait_for()
    assert "permission" in error.inner_text().lower()


def test_a_delivery_is_redelivered_from_its_page(page, site, superuser, receiver, artifacts):
    webhook = Webhook.objects.create(url=receiver.url, events=["*"], description="Newsroom")
    events.record("video.ready", {"object": "video", "id": "vid_demo", "title": "Demo"})
    relay.drain()
    delivery = Delivery.objects.get(webhook=webhook)
    assert delivery.status == Delivery.Status.SUCCEEDED
    log_in(page, site, "chief", "pw-chief-123")
    page.goto(f"{site}/admin/webhooks_app/delivery/{delivery.pk}/change/")

    page.click("button[name=redeliver]")

    page.wait_for_selector(".messagelist .success:has-text('Redelivery queued')")
    fresh = Delivery.objects.exclude(pk=delivery.pk).get()
    assert page.url.rstrip("/").endswith(f"/admin/webhooks_app/delivery/{fresh.pk}/change")
    first, second = receiver.wait_for(2)
    assert second.body == first.body and second.header("webhook-id") == first.header("webhook-id")

    # The delivery list fits a 1366 px screen: status, code, error, event, target and times in view
    page.set_viewport_size(WIDE)
    page.goto(f"{site}/admin/webhooks_app/delivery/")
    for column in ("status_badge", "last_code", "short_error", "event_type", "target", "times"):
        assert page.locator(f"#result_list th.column-{column}").count() == 1, column
    assert fits(page), page.evaluate(OVERFLOW)
    page.screenshot(path=str(artifacts / "delivery-list-1366.png"), full_page=True)


def test_changelists_fit_a_1366_px_screen(page, site, superuser):
    video = Video.objects.create(title="A rather long video title that editors like to write in full")
    Playlist.objects.create(title="Morning news")
    Livestream.objects.create(title="Evening show")
    Webhook.objects.create(url="https://hooks.example.com/a/very/long/webhook/endpoint/path/for/testing",
                           events=["video.ready", "video.published", "video.updated", "video.created"],
                           tags=["news", "sport", "weather"])
    assert video.pk
    page.set_viewport_size(WIDE)
    log_in(page, site, "chief", "pw-chief-123")
    for path in ("media_lifecycle/video", "media_lifecycle/playlist", "media_lifecycle/livestream",
                 "media_lifecycle/tag", "media_lifecycle/clientwebhook", "media_lifecycle/playbackevent",
                 "webhooks_app/webhook", "webhooks_app/delivery", "webhooks_app/event"):
        page.goto(f"{site}/admin/{path}/")
        assert fits(page), (path, page.evaluate(OVERFLOW))


def test_a_playlist_is_reordered_by_dragging(page, site, superuser):
    playlist = Playlist.objects.create(title="Drag me")
    poster = default_storage.save("e2e/playlist-thumbnail.png", ContentFile(_png()))
    videos = [Video.objects.create(title=f"Clip {n}", thumbnail_url=default_storage.url(poster)) for n in range(3)]
    for position, video in enumerate(videos):
        PlaylistItem.objects.create(playlist=playlist, video=video, position=position)
    log_in(page, site, "chief", "pw-chief-123")
    page.goto(f"{site}/admin/media_lifecycle/playlist/{playlist.pk}/change/")
    assert page.locator("#items-group td.field-preview img").count() == 3  # each row shows its thumbnail

    page.locator("#items-2 td.original p").drag_to(page.locator("#items-0 td.original p"))
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")

    assert Playlist.objects.get(pk=playlist.pk).video_ids() == [videos[2].pk, videos[0].pk, videos[1].pk]


def test_an_editor_sees_only_media(page, site, django_user_model, artifacts):
    user = django_user_model.objects.create_user("ed", "ed@example.com", "pw-ed-123456", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.EDITORS))
    log_in(page, site, "ed", "pw-ed-123456")

    apps = page.eval_on_selector_all("#content-main .module caption a", "links => links.map(a => a.textContent)")
    models = page.eval_on_selector_all("#content-main .module th[scope=row] a",
                                       "links => links.map(a => a.textContent.trim())")
    assert apps == ["Media"]
    assert sorted(models) == ["Client webhooks", "Livestreams", "Playback events", "Playlists", "Tags", "Videos"]
    page.set_viewport_size(WIDE)
    page.screenshot(path=str(artifacts / "editor-admin-index.png"), full_page=True)
    for refused in ("webhooks_app/webhook/", "webhooks_app/delivery/", "auth/user/", "authtoken/tokenproxy/",
                    "django_q/schedule/", "django_q/failure/"):
        assert page.goto(f"{site}/admin/{refused}").status == 403, refused


def test_the_webhook_form_selects_a_whole_event_group(page, site, superuser):
    log_in(page, site, "chief", "pw-chief-123")
    page.goto(f"{site}/admin/webhooks_app/webhook/add/")

    page.check("input[data-group=video]")

    video_boxes = page.locator("#id_events input[name=events][value^='video.']")
    assert video_boxes.count() > 5
    assert all(video_boxes.nth(n).is_checked() for n in range(video_boxes.count()))
    assert not page.is_checked("input[name=events][value='playlist.created']")
    page.uncheck("input[name=events][value='video.ready']")
    assert page.evaluate("() => document.querySelector('input[data-group=video]').indeterminate") is True
    assert page.is_checked("input[data-group=video]") is False


def _png() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (160, 90), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()
