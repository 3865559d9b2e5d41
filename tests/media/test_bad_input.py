"""Bad input on the media API: each gets the right 4xx, names the field, and writes nothing at all."""

import json

import pytest
from django.conf import settings

from media_lifecycle.models import Livestream, Playlist, Video
from tests.media.conftest import image_bytes, make_ready, make_video, nothing_written, upload

pytestmark = pytest.mark.django_db


def _errors(answer) -> str:
    """The whole error body as text, to check which field and which action it names."""
    return json.dumps(answer.json())


# --- unknown fields and wrong types -----------------------------------------------------------------


def test_unknown_field_on_video_create_gets_400_naming_it(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "X", "tags": ["t"], "colour": "red"}, format="json")

    assert answer.status_code == 400
    assert answer.json()["colour"] == ["Unknown field."]


def test_unknown_field_on_video_patch_gets_400_and_leaves_the_video_alone(staff_api):
    video = make_video("Untouched")

    with nothing_written():
        answer = staff_api.patch(f"/api/videos/{video.pk}/", {"title": "Changed", "titel": "typo"}, format="json")

    assert answer.status_code == 400
    assert "titel" in answer.json()
    stored = Video.objects.get(pk=video.pk)
    assert (stored.title, stored.revision) == ("Untouched", video.revision)


def test_unknown_multipart_field_on_video_create_gets_400_naming_it(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "X", "thumbnail": upload("a.png", image_bytes())},
                                format="multipart")

    assert answer.status_code == 400
    assert "thumbnail" in answer.json()


def test_unknown_field_on_playlist_create_gets_400_naming_it(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/playlists/", {"title": "P", "items": []}, format="json")

    assert answer.status_code == 400
    assert "items" in answer.json()


def test_unknown_field_on_livestream_create_gets_400_naming_it(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/livestreams/", {"title": "L", "rtmp": "x"}, format="json")

    assert answer.status_code == 400
    assert "rtmp" in answer.json()


@pytest.mark.parametrize(("field", "value"), [
    ("title", ["a", "list"]),
    ("auto_publish", "sometimes"),
    ("tags", "news"),
    ("tags", [{"name": "news"}]),
    ("metadata", ["not", "an", "object"]),
    ("description", {"a": 1}),
])
def test_wrong_type_on_video_create_gets_400_naming_the_field(staff_api, field, value):
    body = {"title": "Typed", "tags": ["kept-out"], field: value}

    with nothing_written():
        answer = staff_api.post("/api/videos/", body, format="json")

    assert answer.status_code == 400
    assert field in answer.json()


def test_wrong_type_for_playlist_videos_gets_400_naming_videos(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/playlists/", {"title": "P", "videos": "vid_x"}, format="json")

    assert answer.status_code == 400
    assert "videos" in answer.json()


def test_wrong_type_for_livestream_schedule_gets_400_naming_the_field(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/livestreams/", {"title": "L", "scheduled_start": "next tuesday"},
                                format="json")

    assert answer.status_code == 400
    assert "scheduled_start" in answer.json()


def test_json_body_that_is_not_an_object_gets_400(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/videos/", ["title", "X"], format="json")

    assert answer.status_code == 400
    assert answer.json()


def test_missing_title_gets_400_naming_title(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/videos/", {"description": "No title"}, format="json")

    assert answer.status_code == 400
    assert "title" in answer.json()


# --- illegal transitions ----------------------------------------------------------------------------


def test_publishing_an_uploaded_video_gets_409_with_the_current_status(staff_api):
    video = make_video("Fresh")

    with nothing_written():
        answer = staff_api.post(f"/api/videos/{video.pk}/publish/")

    assert answer.status_code == 409
    assert answer.json()["status"] == "uploaded"
    assert "ready" in answer.json()["detail"]
    assert Video.objects.get(pk=video.pk).revision == video.revision


def test_publishing_a_processing_video_gets_409_with_the_current_status(staff_api):
    video = make_video("Busy")
    video.status = "processing"
    video.save()

    with nothing_written():
        answer = staff_api.post(f"/api/videos/{video.pk}/publish/")

    assert answer.status_code == 409
    assert answer.json()["status"] == "processing"


def test_starting_an_ended_livestream_gets_409_with_the_current_status(staff_api):
    stream = Livestream.objects.create(title="Over")
    stream.start()
    stream.end()

    with nothing_written():
        answer = staff_api.post(f"/api/livestreams/{stream.pk}/start/")

    assert answer.status_code == 409
    assert answer.json()["status"] == "ended"


def test_ending_an_ended_livestream_gets_409_with_the_current_status(staff_api):
    stream = Livestream.objects.create(title="Over")
    stream.start()
    stream.end()

    with nothing_written():
        answer = staff_api.post(f"/api/livestreams/{stream.pk}/end/")

    assert answer.status_code == 409
    assert answer.json()["status"] == "ended"


# --- uploads ----------------------------------------------------------------------------------------


def test_upload_over_max_upload_bytes_gets_413_naming_file(staff_api, clip_bytes, settings):
    settings.MAX_UPLOAD_BYTES = len(clip_bytes) - 1

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Big", "tags": ["t"],
                                                 "file": upload("clip.mp4", clip_bytes, "video/mp4")},
                                format="multipart")

    assert answer.status_code == 413
    assert "file" in answer.json()
    assert str(settings.MAX_UPLOAD_BYTES) in _errors(answer)


def test_upload_far_over_max_upload_bytes_is_refused_before_it_is_read(staff_api, settings):
    settings.MAX_UPLOAD_BYTES = 1000
    payload = b"\x00" * (2 * 1024 * 1024)

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Huge", "file": upload("huge.mp4", payload)},
                                format="multipart")

    assert answer.status_code == 413
    assert "limit" in answer.json()["detail"]


def test_upload_on_patch_over_max_upload_bytes_gets_413_and_keeps_the_video(staff_api, clip_bytes, settings):
    video = make_video("Small")
    settings.MAX_UPLOAD_BYTES = 100

    with nothing_written():
        answer = staff_api.patch(f"/api/videos/{video.pk}/", {"title": "Renamed",
                                                               "file": upload("clip.mp4", clip_bytes)},
                                 format="multipart")

    assert answer.status_code == 413
    stored = Video.objects.get(pk=video.pk)
    assert (stored.title, bool(stored.file), stored.revision) == ("Small", False, video.revision)


def test_text_file_renamed_mp4_gets_400_naming_file(staff_api):
    text = b"This is just text pretending to be a movie.\n" * 200

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Fake", "tags": ["t"],
                                                 "file": upload("movie.mp4", text, "video/mp4")},
                                format="multipart")

    assert answer.status_code == 400
    assert "file" in answer.json()
    assert "not a video" in _errors(answer)


def test_image_uploaded_as_a_video_gets_400_naming_file(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Still", "file": upload("still.mp4", image_bytes())},
                                format="multipart")

    assert answer.status_code == 400
    assert "file" in answer.json()


def test_empty_upload_gets_400_naming_file(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Empty", "file": upload("empty.mp4", b"")},
                                format="multipart")

    assert answer.status_code == 400
    assert "file" in answer.json()


def test_file_and_source_url_together_get_400(staff_api, clip_bytes):
    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Both", "source_url": "http://example.com/a.mp4",
                                                 "file": upload("clip.mp4", clip_bytes)}, format="multipart")

    assert answer.status_code == 400
    assert "file" in answer.json()


# --- bodies -----------------------------------------------------------------------------------------


def test_malformed_json_gets_400(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/videos/", b'{"title": "half', content_type="application/json")

    assert answer.status_code == 400
    assert "JSON" in answer.json()["detail"]


def test_malformed_json_on_patch_gets_400_and_changes_nothing(staff_api):
    video = make_video("Kept")

    with nothing_written():
        answer = staff_api.patch(f"/api/videos/{video.pk}/", b"{title: Kept}", content_type="application/json")

    assert answer.status_code == 400
    assert "JSON" in answer.json()["detail"]


@pytest.mark.parametrize("path", ["/api/videos/", "/api/playlists/", "/api/livestreams/"])
def test_json_nested_too_deeply_for_the_decoder_gets_400(staff_api, path):
    body = b'{"title": "Deep", "description": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    with nothing_written():
        answer = staff_api.post(path, body, content_type="application/json")

    assert answer.status_code == 400
    assert "nested too deeply" in answer.json()["detail"]


@pytest.mark.parametrize("depth", [33, 600])
def test_metadata_nested_too_deeply_gets_400_naming_metadata(staff_api, depth):
    body = '{"title": "Deep", "tags": ["t"], "metadata": {"a": ' + "[" * depth + "]" * depth + "}}"

    with nothing_written():
        answer = staff_api.post("/api/videos/", body, content_type="application/json")

    assert answer.status_code == 400
    assert "32 levels" in " ".join(answer.json()["metadata"])


def test_metadata_nested_too_deeply_in_a_multipart_form_gets_400_naming_metadata(staff_api):
    video = make_video("Deep")

    with nothing_written():
        answer = staff_api.patch(f"/api/videos/{video.pk}/", {"metadata": "[" * 5000 + "]" * 5000},
                                 format="multipart")

    assert answer.status_code == 400
    assert "metadata" in answer.json()


def test_metadata_nested_within_the_limit_is_stored(staff_api):
    nested = {"a": [[[{"b": [1, 2, {"c": None}]}]]]}

    answer = staff_api.post("/api/videos/", {"title": "Nested", "metadata": nested}, format="json")

    assert answer.status_code == 201, answer.json()
    assert answer.json()["metadata"] == nested
    assert Video.objects.get(pk=answer.json()["id"]).metadata == nested


def test_unsupported_content_type_gets_415(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/videos/", b"title=X", content_type="text/plain")

    assert answer.status_code == 415
    assert "text/plain" in answer.json()["detail"]


def test_json_body_over_two_and_a_half_megabytes_gets_413(staff_api):
    body = json.dumps({"title": "Long", "description": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})

    with nothing_written():
        answer = staff_api.post("/api/videos/", body, content_type="application/json")

    assert answer.status_code == 413
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in answer.json()["detail"]


def test_a_video_twice_in_a_playlist_gets_400_naming_each_duplicate_once(staff_api):
    first, second = make_video("One"), make_video("Two")
    ids = [first.pk, second.pk, first.pk, second.pk, first.pk]

    with nothing_written():
        answer = staff_api.post("/api/playlists/", {"title": "Twice", "videos": ids}, format="json")

    assert answer.status_code == 400
    assert answer.json()["videos"] == [
        f"A video can appear once per playlist: {', '.join(sorted([first.pk, second.pk]))}."]


def test_a_long_playlist_with_a_duplicate_gets_400(staff_api):
    ids = [f"vid_{n:026d}" for n in range(20_000)] + ["vid_00000000000000000000000007"]

    answer = staff_api.post("/api/playlists/", {"title": "Long", "videos": ids}, format="json")

    assert answer.status_code == 400
    assert answer.json()["videos"] == ["A video can appear once per playlist: vid_00000000000000000000000007."]


def test_json_body_over_the_limit_on_a_playlist_gets_413(staff_api):
    body = json.dumps({"title": "Long", "description": "y" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})

    with nothing_written():
        answer = staff_api.post("/api/playlists/", body, content_type="application/json")

    assert answer.status_code == 413


def test_multipart_text_fields_over_two_and_a_half_megabytes_get_413(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Long",
                                                 "description": "z" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)},
                                format="multipart")

    assert answer.status_code == 413
    assert answer.json()["detail"]


def test_multipart_form_with_too_many_fields_gets_400_with_a_clear_message(staff_api):
    tags = [f"t{n}" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)]

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Many", "tags": tags}, format="multipart")

    assert answer.status_code == 400
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in answer.json()["detail"]


# --- source URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["ftp://example.com/a.mp4", "file:///etc/passwd", "javascript:alert(1)",
                                 "example.com/a.mp4"])
def test_source_url_that_is_not_http_gets_400_naming_source_url(staff_api, url):
    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Bad URL", "source_url": url}, format="json")

    assert answer.status_code == 400
    assert "source_url" in answer.json()


@pytest.mark.parametrize("url", ["http://127.0.0.1/x.mp4", "http://localhost/x.mp4", "http://10.1.2.3/x.mp4",
                                 "http://169.254.169.254/latest/meta-data", "http://[::1]:8000/x.mp4",
                                 "http://0.0.0.0/x.mp4"])
def test_source_url_on_a_private_address_gets_400_while_the_guard_is_on(staff_api, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "SSRF", "tags": ["t"], "source_url": url}, format="json")

    assert answer.status_code == 400
    assert "source_url" in answer.json()
    assert "WEBHOOK_ALLOW_PRIVATE_TARGETS" in _errors(answer)


def test_private_source_url_on_patch_gets_400_while_the_guard_is_on(staff_api, settings):
    video = make_video("Guarded")
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    with nothing_written():
        answer = staff_api.patch(f"/api/videos/{video.pk}/", {"source_url": "http://localhost:6379/"},
                                 format="json")

    assert answer.status_code == 400
    assert "source_url" in answer.json()
    assert Video.objects.get(pk=video.pk).source_url == ""


def test_private_source_url_is_accepted_when_private_targets_are_allowed(staff_api, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True

    answer = staff_api.post("/api/videos/", {"title": "Dev", "source_url": "http://127.0.0.1/x.mp4"},
                            format="json")

    assert answer.status_code == 201


# --- posters ----------------------------------------------------------------------------------------


def test_poster_that_is_not_an_image_gets_400_naming_poster(staff_api):
    video = make_video("Posterless")

    with nothing_written():
        answer = staff_api.patch(f"/api/videos/{video.pk}/",
                                 {"poster": upload("poster.jpg", b"<html>not an image</html>", "image/jpeg")},
                                 format="multipart")

    assert answer.status_code == 400
    assert "poster" in answer.json()
    assert not Video.objects.get(pk=video.pk).poster


def test_poster_that_is_a_video_gets_400_naming_poster(staff_api, clip_bytes):
    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "P", "poster": upload("poster.png", clip_bytes)},
                                format="multipart")

    assert answer.status_code == 400
    assert "poster" in answer.json()


def test_truncated_poster_image_gets_400_naming_poster(staff_api):
    broken = image_bytes((300, 300), "JPEG")[:400]

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "P", "poster": upload("poster.jpg", broken)},
                                format="multipart")

    assert answer.status_code == 400
    assert "poster" in answer.json()


def test_poster_decompression_bomb_gets_400_naming_poster(staff_api, bomb_bytes):
    assert len(bomb_bytes) < 200_000  # 20000×20000 pixels in a small file

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Bomb", "poster": upload("bomb.png", bomb_bytes)},
                                format="multipart")

    assert answer.status_code == 400
    assert "poster" in answer.json()
    assert "decompression bomb" in _errors(answer)


def test_poster_over_poster_max_pixels_gets_400_naming_poster(staff_api, settings):
    settings.POSTER_MAX_PIXELS = 50 * 50

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Big", "poster": upload("big.png", image_bytes((60, 60)))},
                                format="multipart")

    assert answer.status_code == 400
    assert "poster" in answer.json()
    assert "2500" in _errors(answer)


# --- server-owned fields ----------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "action"), [
    ("status", "ready", "reprocess/"),
    ("published", True, "publish/"),
    ("published_at", "2030-01-01T00:00:00Z", "publish/"),
    ("archived", True, "archive/"),
    ("archived_at", "2030-01-01T00:00:00Z", "archive/"),
    ("file_url", "http://example.com/f.mp4", "file"),
    ("thumbnail_url", "http://example.com/t.jpg", "poster"),
])
def test_server_owned_video_field_in_a_write_gets_400_naming_it_and_the_action(staff_api, field, value, action):
    video = make_video("Owned")

    with nothing_written():
        answer = staff_api.patch(f"/api/videos/{video.pk}/", {"title": "Changed", field: value}, format="json")

    assert answer.status_code == 400
    assert field in answer.json()
    assert action in " ".join(answer.json()[field])
    assert Video.objects.get(pk=video.pk).title == "Owned"


@pytest.mark.parametrize(("field", "value"), [
    ("id", "vid_mine"), ("revision", 41), ("created_at", "2020-01-01T00:00:00Z"), ("created_by", "someone"),
    ("mime_type", "video/webm"), ("size_bytes", 10), ("format", "webm"), ("processed_url", "http://e.com/p"),
    ("renditions", [{"quality": "720p"}]), ("duration_seconds", 12.0), ("width", 640), ("height", 480),
    ("error_message", "oops"), ("updated_at", "2020-01-01T00:00:00Z"),
])
def test_server_owned_video_field_on_create_gets_400_naming_it(staff_api, field, value):
    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "New", field: value}, format="json")

    assert answer.status_code == 400
    assert field in answer.json()
    assert "set by the server" in " ".join(answer.json()[field])


def test_server_owned_field_in_multipart_write_gets_400_naming_it(staff_api):
    video = make_ready(make_video("Owned"))

    with nothing_written():
        answer = staff_api.patch(f"/api/videos/{video.pk}/", {"published": "true"}, format="multipart")

    assert answer.status_code == 400
    assert "publish/" in " ".join(answer.json()["published"])
    assert not Video.objects.get(pk=video.pk).published


def test_server_owned_video_field_on_put_gets_400_naming_it(staff_api):
    video = make_ready(make_video("Owned"))
    body = staff_api.get(f"/api/videos/{video.pk}/").json()
    body["status"] = "failed"

    with nothing_written():
        answer = staff_api.put(f"/api/videos/{video.pk}/", body, format="json")

    assert answer.status_code == 400
    assert list(answer.json()) == ["status"]


@pytest.mark.parametrize(("field", "value", "action"), [
    ("status", "live", "start/"),
    ("started_at", "2030-01-01T00:00:00Z", "start/"),
    ("ended_at", "2030-01-01T00:00:00Z", "end/"),
    ("recording", "vid_x", "end/"),
    ("ingest_url", "rtmp://evil/live", ""),
    ("playback_url", "http://evil/x.m3u8", ""),
    ("revision", 9, ""),
])
def test_server_owned_livestream_field_in_a_write_gets_400_naming_it_and_the_action(staff_api, field, value,
                                                                                    action):
    stream = Livestream.objects.create(title="Stream")

    with nothing_written():
        answer = staff_api.patch(f"/api/livestreams/{stream.pk}/", {field: value}, format="json")

    assert answer.status_code == 400
    assert field in answer.json()
    assert action in " ".join(answer.json()[field])
    assert Livestream.objects.get(pk=stream.pk).status == "idle"


@pytest.mark.parametrize(("field", "value"), [("revision", 5), ("id", "pl_mine"),
                                              ("updated_at", "2020-01-01T00:00:00Z")])
def test_server_owned_playlist_field_in_a_write_gets_400_naming_it(staff_api, field, value):
    playlist = Playlist.objects.create(title="List")

    with nothing_written():
        answer = staff_api.patch(f"/api/playlists/{playlist.pk}/", {field: value}, format="json")

    assert answer.status_code == 400
    assert field in answer.json()
