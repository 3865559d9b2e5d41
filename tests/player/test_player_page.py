"""GET /player/{id}/ and its embed variant: who may watch what, what the page carries, and framing rules."""

import json
import re

import pytest

from media_lifecycle import states
from media_lifecycle.models import ClientWebhook
from tests.player.conftest import make_video

pytestmark = pytest.mark.django_db


def page_config(response) -> dict:
    match = re.search(r'<script id="player-config" type="application/json">(.*?)</script>',
                      response.content.decode(), re.S)
    assert match, "the page embeds its configuration with json_script"
    return json.loads(match.group(1))


def assert_friendly_404(response):
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "This video is not available" in response.content.decode()


def test_published_ready_video_plays_for_anyone(client, video):
    response = client.get(f"/player/{video.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<video" in html
    assert "Sunset timelapse" in html
    assert "Clouds over the bay.<br>Shot in one take." in html
    assert 'poster="http://127.0.0.1:8000/media/thumbnails/sunset.jpg"' in html
    assert "Preview" not in html
    assert page_config(response)["videoId"] == video.pk


def test_page_plays_the_best_rendition_first(client, video):
    html = client.get(f"/player/{video.pk}/").content.decode()

    sources = re.findall(r'<source src="([^"]+)" type="([^"]+)"', html)
    assert sources[0] == ("http://127.0.0.1:8000/media/renditions/sunset-1080p.mp4", "video/mp4")
    assert [src for src, _ in sources[1:3]] == ["http://127.0.0.1:8000/media/renditions/sunset-720p.mp4",
                                                 "http://127.0.0.1:8000/media/renditions/sunset-480p.mp4"]


def test_uploaded_poster_wins_over_the_processed_thumbnail(client, video):
    video.poster.name = "posters/custom.jpg"
    video.save()

    html = client.get(f"/player/{video.pk}/").content.decode()

    assert 'poster="http://127.0.0.1:8000/media/posters/custom.jpg"' in html


def test_staff_previews_a_ready_unpublished_video(client, staff):
    draft = make_video(published=False)
    client.force_login(staff)

    response = client.get(f"/player/{draft.pk}/")

    assert response.status_code == 200
    assert "Preview" in response.content.decode()


def test_anonymous_viewer_gets_a_friendly_404_for_an_unpublished_video(client):
    draft = make_video(published=False)

    assert_friendly_404(client.get(f"/player/{draft.pk}/"))


def test_logged_in_non_staff_cannot_preview(client, viewer):
    draft = make_video(published=False)
    client.force_login(viewer)

    assert_friendly_404(client.get(f"/player/{draft.pk}/"))


def test_unknown_video_gets_a_friendly_404(client):
    assert_friendly_404(client.get("/player/vid_doesnotexist/"))


@pytest.mark.parametrize("status", [states.UPLOADED, states.PROCESSING, states.FAILED])
def test_video_that_is_not_ready_gets_a_friendly_404_even_for_staff(client, staff, status):
    unready = make_video(published=False, status=status)
    client.force_login(staff)

    assert_friendly_404(client.get(f"/player/{unready.pk}/"))


def test_archived_video_gets_a_friendly_404_even_for_staff(client, staff):
    archived = make_video(archived=True)

    assert_friendly_404(client.get(f"/player/{archived.pk}/"))
    client.force_login(staff)
    assert_friendly_404(client.get(f"/player/{archived.pk}/"))
    assert_friendly_404(client.get(f"/player/{archived.pk}/embed/"))


def test_normal_page_refuses_framing_and_embed_page_allows_it(client, video):
    page = client.get(f"/player/{video.pk}/")
    embed = client.get(f"/player/{video.pk}/embed/")

    assert page["X-Frame-Options"] == "DENY"
    assert embed.status_code == 200
    assert "X-Frame-Options" not in embed
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
    assert "<h1>" not in embed.content.decode()  # no page chrome inside someone else's page


def test_active_client_webhooks_are_embedded_and_inactive_ones_are_not(client, video, client_hook):
    ClientWebhook.objects.create(url="https://lms.example.com/off", request_field="u", response_field="user",
                                 rpm=5, is_active=False)

    config = page_config(client.get(f"/player/{video.pk}/?student=john_doe"))

    assert config["clientWebhooks"] == [{"url": "http://lms.intranet.example/track", "requestField": "student",
                                         "responseField": "student_id", "rpm": 60}]
    assert config["analyticsUrl"] == "/api/analytics/"


def test_client_webhook_values_cannot_break_out_of_the_script(client, video):
    ClientWebhook.objects.create(url="https://lms.example.com/</script><script>alert(1)</script>",
                                 request_field="u", response_field="user", rpm=5)

    response = client.get(f"/player/{video.pk}/")

    assert "<script>alert(1)" not in response.content.decode()
    assert page_config(response)["clientWebhooks"][0]["url"].endswith("</script><script>alert(1)</script>")


def test_other_missing_pages_get_a_generic_not_found_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
    assert "video" not in response.content.decode()
