"""Who may do what on the media API: tokens, 401 vs 403, Django model permissions, and the public video view."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from media_lifecycle.models import Video
from tests.conftest import token_client
from tests.media.conftest import grant, make_published, make_ready, make_video

pytestmark = pytest.mark.django_db

PROTECTED = [
    ("post", "/api/videos/"),
    ("get", "/api/playlists/"),
    ("post", "/api/playlists/"),
    ("get", "/api/livestreams/"),
    ("post", "/api/livestreams/"),
]


@pytest.fixture
def catalogue() -> dict[str, Video]:
    """One video in each visibility situation an anonymous viewer must tell apart."""
    published = make_published(make_video("Published"))
    reprocessing = make_published(make_video("Published, back in processing"))
    reprocessing.status = "processing"
    reprocessing.save()
    archived = make_ready(make_video("Archived"))
    archived.archive()
    return {
        "published": published,
        "ready": make_ready(make_video("Ready, not published")),
        "uploaded": make_video("Uploaded"),
        "reprocessing": reprocessing,
        "archived": archived,
    }


def _listed_ids(client) -> set[str]:
    answer = client.get("/api/videos/")
    assert answer.status_code == 200
    return {video["id"] for video in answer.json()["results"]}


def test_bearer_token_authenticates(staff):
    token, _ = Token.objects.get_or_create(user=staff)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")

    answer = client.post("/api/videos/", {"title": "By bearer"}, format="json")

    assert answer.status_code == 201
    assert answer.json()["created_by"] == "staff"


def test_token_keyword_authenticates(staff):
    token, _ = Token.objects.get_or_create(user=staff)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    answer = client.get("/api/playlists/")

    assert answer.status_code == 200


def test_session_login_authenticates(client, staff):
    client.force_login(staff)

    assert client.get("/api/playlists/").status_code == 200


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_missing_credentials_on_a_protected_route_get_401_with_www_authenticate(api, method, path):
    answer = getattr(api, method)(path, {"title": "x"} if method == "post" else None, format="json")

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer not-a-real-token", "Token not-a-real-token", "Bearer", "Bearer a b",
                                    "Bearer ab\x00cd", "Token caf\xe9"])
def test_invalid_credentials_get_401_with_www_authenticate(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    answer = client.get("/api/playlists/")

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.json()["detail"]


def test_invalid_token_on_the_public_video_list_still_gets_401(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer wrong")

    answer = api.get("/api/videos/")

    assert answer.status_code == 401
    assert "WWW-Authenticate" in answer.headers


def test_token_of_an_inactive_user_gets_401(staff):
    client = token_client(staff)
    staff.is_active = False
    staff.save()

    assert client.get("/api/playlists/").status_code == 401


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_user_without_model_permission_gets_403(viewer_api, method, path):
    answer = getattr(viewer_api, method)(path, {"title": "x"} if method == "post" else None, format="json")

    assert answer.status_code == 403


def test_user_without_change_permission_cannot_publish(viewer, viewer_api):
    grant(viewer, "view_video")
    video = make_ready(make_video("Ready"))

    answer = viewer_api.post(f"/api/videos/{video.pk}/publish/")

    assert answer.status_code == 403
    assert not Video.objects.get(pk=video.pk).published


def test_anonymous_writes_to_a_video_get_401(api):
    video = make_published(make_video("Public"))

    assert api.patch(f"/api/videos/{video.pk}/", {"title": "Defaced"}, format="json").status_code == 401
    assert api.delete(f"/api/videos/{video.pk}/").status_code == 401
    assert api.post(f"/api/videos/{video.pk}/unpublish/").status_code == 401
    assert Video.objects.get(pk=video.pk).title == "Public"


def test_anonymous_video_list_shows_only_published_ready_unarchived_videos(api, catalogue):
    assert _listed_ids(api) == {catalogue["published"].pk}


@pytest.mark.parametrize("hidden", ["ready", "uploaded", "reprocessing", "archived"])
def test_anonymous_gets_404_for_a_video_that_is_not_public(api, catalogue, hidden):
    assert api.get(f"/api/videos/{catalogue['published'].pk}/").status_code == 200
    assert api.get(f"/api/videos/{catalogue[hidden].pk}/").status_code == 404


def test_anonymous_cannot_read_video_stats(api, catalogue):
    assert api.get(f"/api/videos/{catalogue['published'].pk}/stats/").status_code == 401


def test_logged_in_user_without_view_permission_sees_the_public_videos_only(viewer_api, catalogue):
    assert _listed_ids(viewer_api) == {catalogue["published"].pk}
    assert viewer_api.get(f"/api/videos/{catalogue['uploaded'].pk}/").status_code == 404


def test_user_with_only_the_view_permission_sees_every_video(viewer, viewer_api, catalogue):
    grant(viewer, "view_video")

    assert _listed_ids(viewer_api) == {video.pk for video in catalogue.values()}
    assert viewer_api.get(f"/api/videos/{catalogue['archived'].pk}/").status_code == 200
    assert viewer_api.patch(f"/api/videos/{catalogue['uploaded'].pk}/", {"title": "No"},
                            format="json").status_code == 403
    assert viewer_api.get(f"/api/videos/{catalogue['published'].pk}/stats/").status_code == 200


def test_permissions_are_per_action(viewer, viewer_api):
    grant(viewer, "view_video", "add_video")
    video = make_video("Keep me")

    created = viewer_api.post("/api/videos/", {"title": "Mine"}, format="json")
    changed = viewer_api.patch(f"/api/videos/{video.pk}/", {"title": "Changed"}, format="json")
    deleted = viewer_api.delete(f"/api/videos/{video.pk}/")

    assert created.status_code == 201
    assert (changed.status_code, deleted.status_code) == (403, 403)
    assert Video.objects.get(pk=video.pk).title == "Keep me"


def test_non_staff_editor_with_model_permissions_manages_videos(editor):
    client = token_client(editor)

    created = client.post("/api/videos/", {"title": "From an editor"}, format="json")
    deleted = client.delete(f"/api/videos/{created.json()['id']}/")

    assert created.status_code == 201 and created.json()["created_by"] == "editor"
    assert deleted.status_code == 204


def test_playlist_view_permission_allows_reading_but_not_writing(viewer, viewer_api):
    grant(viewer, "view_playlist")

    assert viewer_api.get("/api/playlists/").status_code == 200
    assert viewer_api.post("/api/playlists/", {"title": "No"}, format="json").status_code == 403


def test_livestream_change_permission_allows_start(viewer, viewer_api, staff_api):
    stream = staff_api.post("/api/livestreams/", {"title": "Go"}, format="json").json()
    grant(viewer, "view_livestream")
    assert viewer_api.post(f"/api/livestreams/{stream['id']}/start/").status_code == 403

    grant(viewer, "change_livestream")

    assert viewer_api.post(f"/api/livestreams/{stream['id']}/start/").status_code == 200


def test_change_permission_includes_viewing_as_in_the_admin(viewer, viewer_api, catalogue):
    grant(viewer, "change_video", "change_playlist")
    hidden = catalogue["uploaded"]

    assert _listed_ids(viewer_api) == {video.pk for video in catalogue.values()}
    answer = viewer_api.patch(f"/api/videos/{hidden.pk}/", {"title": "Edited by an editor"}, format="json")
    assert answer.status_code == 200, answer.json()
    assert viewer_api.get("/api/playlists/").status_code == 200


def test_delete_permission_alone_does_not_reveal_unpublished_videos(viewer, viewer_api, catalogue):
    grant(viewer, "delete_video")

    assert _listed_ids(viewer_api) == {catalogue["published"].pk}
    assert viewer_api.delete(f"/api/videos/{catalogue['uploaded'].pk}/").status_code == 404
    assert Video.objects.filter(pk=catalogue["uploaded"].pk).exists()


@pytest.mark.parametrize("header", ["{token}", "Basic c3RhZmY6cHctc3RhZmYtMTIz", "Key {token}", "bearer: {token}",
                                    "Bearer{token}"])
def test_an_authorization_header_without_an_accepted_scheme_gets_401_naming_the_schemes(staff, header):
    token, _ = Token.objects.get_or_create(user=staff)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.format(token=token.key))

    listing = client.get("/api/videos/")  # public: a silent fallback to anonymous would answer 200
    write = client.post("/api/videos/", {"title": "x"}, format="json")

    for answer in (listing, write):
        assert answer.status_code == 401
        assert "Bearer" in answer.headers["WWW-Authenticate"]
        assert "Token" in answer.headers["WWW-Authenticate"]
        assert "'Bearer <token>' or 'Token <token>'" in answer.json()["detail"]
    assert not Video.objects.exists()


def test_an_empty_authorization_header_is_anonymous(api):
    api.credentials(HTTP_AUTHORIZATION="")

    assert api.get("/api/videos/").status_code == 200
