"""The videos REST API: CRUD with prefixed ids, pagination, filters, revisions, uploads and editorial actions."""

import io

import pytest
from django.conf import settings
from PIL import Image

from media_lifecycle.models import ProcessingJob, Video
from tests.media.conftest import image_bytes, make_published, make_ready, make_video, upload
from webhooks_app.models import Event

pytestmark = pytest.mark.django_db


def _stored_bytes(api, url: str) -> bytes:
    """Fetch a media URL through the app itself (the path after PUBLIC_BASE_URL)."""
    answer = api.get(url.removeprefix(settings.PUBLIC_BASE_URL))
    assert answer.status_code == 200
    return b"".join(answer.streaming_content)


# --- CRUD -------------------------------------------------------------------------------------------


def test_created_video_has_a_vid_prefixed_id_revision_one_and_its_creator(staff_api):
    answer = staff_api.post("/api/videos/", {"title": "Hello", "description": "First", "tags": ["news", "sport"]},
                            format="json")

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["id"].startswith("vid_") and len(body["id"]) > len("vid_")
    assert body["revision"] == 1
    assert body["status"] == "uploaded"
    assert body["tags"] == ["news", "sport"]
    assert body["created_by"] == "staff"
    assert body["published"] is False and body["archived"] is False
    assert Video.objects.get(pk=body["id"]).title == "Hello"


def test_video_is_read_by_its_prefixed_id(staff_api):
    video = make_video("Readable", tags=("a",))

    answer = staff_api.get(f"/api/videos/{video.pk}/")

    assert answer.status_code == 200
    assert answer.json()["id"] == video.pk
    assert answer.json()["title"] == "Readable"
    assert answer.json()["tags"] == ["a"]


def test_unknown_video_id_gets_404(staff_api):
    assert staff_api.get("/api/videos/vid_doesnotexist/").status_code == 404


@pytest.mark.parametrize("path", ["/api/videos/not-an-id/", "/api/videos/vid_x/nope/", "/api/nothing/"])
def test_unrouted_api_paths_get_a_json_404(staff_api, path):
    answer = staff_api.get(path)

    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/json"
    assert path in answer.json()["detail"]


def test_deleting_a_video_removes_it_and_records_video_deleted(staff_api):
    video = make_video("Doomed")

    answer = staff_api.delete(f"/api/videos/{video.pk}/")

    assert answer.status_code == 204
    assert not Video.objects.filter(pk=video.pk).exists()
    assert Event.objects.filter(type="video.deleted", object_id=video.pk).count() == 1
    assert staff_api.get(f"/api/videos/{video.pk}/").status_code == 404


def test_video_list_pages_follow_page_and_page_size(staff_api):
    ids = {make_video(f"Video {n}").pk for n in range(5)}

    first = staff_api.get("/api/videos/", {"page_size": 2}).json()
    second = staff_api.get("/api/videos/", {"page_size": 2, "page": 2}).json()
    third = staff_api.get("/api/videos/", {"page_size": 2, "page": 3}).json()

    assert first["count"] == 5
    assert [len(page["results"]) for page in (first, second, third)] == [2, 2, 1]
    assert first["next"] and "page=2" in first["next"] and first["previous"] is None
    assert third["next"] is None
    seen = [video["id"] for page in (first, second, third) for video in page["results"]]
    assert len(seen) == len(set(seen)) and set(seen) == ids


def test_page_size_is_capped_at_one_hundred(staff_api):
    Video.objects.bulk_create(Video(title=f"Bulk {n}") for n in range(101))  # hooks skipped: only the list matters

    page = staff_api.get("/api/videos/", {"page_size": 1000}).json()

    assert page["count"] == 101
    assert len(page["results"]) == 100


def test_a_page_past_the_end_gets_404(staff_api):
    make_video()
    assert staff_api.get("/api/videos/", {"page": 9}).status_code == 404


# --- filters ----------------------------------------------------------------------------------------


def test_status_filter_lists_only_videos_in_that_status(staff_api):
    ready = make_ready(make_video("Ready one"))
    make_video("Uploaded one")

    answer = staff_api.get("/api/videos/", {"status": "ready"})

    assert answer.status_code == 200
    assert [video["id"] for video in answer.json()["results"]] == [ready.pk]


def test_tag_filter_lists_only_videos_with_that_tag(staff_api):
    news = make_video("Tagged", tags=("news", "sport"))
    make_video("Other", tags=("sport",))
    make_video("Untagged")

    answer = staff_api.get("/api/videos/", {"tag": "news"})

    assert [video["id"] for video in answer.json()["results"]] == [news.pk]


def test_published_filter_accepts_true_and_false(staff_api):
    published = make_published(make_video("Out there"))
    draft = make_ready(make_video("Draft"))

    on = staff_api.get("/api/videos/", {"published": "true"}).json()["results"]
    off = staff_api.get("/api/videos/", {"published": "false"}).json()["results"]

    assert [video["id"] for video in on] == [published.pk]
    assert [video["id"] for video in off] == [draft.pk]


def test_search_matches_every_word_in_title_or_description_ignoring_case(staff_api):
    both = make_video("Mountain bikes", description="A ride in the ALPS")
    make_video("Mountain lakes", description="Swimming")
    make_video("City bikes")

    answer = staff_api.get("/api/videos/", {"search": "mountain alps"})

    assert [video["id"] for video in answer.json()["results"]] == [both.pk]


def test_bad_status_filter_gets_400_naming_the_parameter(staff_api):
    answer = staff_api.get("/api/videos/", {"status": "sideways"})

    assert answer.status_code == 400
    assert "status" in answer.json()


def test_bad_published_filter_gets_400_naming_the_parameter(staff_api):
    answer = staff_api.get("/api/videos/", {"published": "maybe"})

    assert answer.status_code == 400
    assert "published" in answer.json()


# --- revisions and writes ---------------------------------------------------------------------------


def test_patch_that_changes_the_title_grows_revision_by_one(staff_api):
    video = make_video("Before")

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {"title": "After"}, format="json")

    assert answer.status_code == 200
    assert answer.json()["revision"] == 2
    assert answer.json()["updated_at"] > staff_api.get(f"/api/videos/{video.pk}/").json()["created_at"]
    assert Video.objects.get(pk=video.pk).revision == 2


def test_patch_changing_fields_and_tags_together_grows_revision_by_exactly_one(staff_api):
    video = make_video("Before", tags=("old",))

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {"title": "After", "tags": ["new"]}, format="json")

    assert answer.status_code == 200
    assert answer.json()["revision"] == video.revision + 1
    assert answer.json()["tags"] == ["new"]
    assert Video.objects.get(pk=video.pk).revision == video.revision + 1


def test_patch_changing_only_tags_grows_revision_by_one(staff_api):
    video = make_video("Tagged", tags=("old",))

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {"tags": ["old", "extra"]}, format="json")

    assert answer.json()["revision"] == video.revision + 1
    assert Video.objects.get(pk=video.pk).revision == video.revision + 1


def test_patch_with_identical_values_leaves_revision_and_updated_at_unchanged(staff_api):
    video = make_video("Same", tags=("a", "b"), description="Text", metadata={"k": 1})
    before = staff_api.get(f"/api/videos/{video.pk}/").json()
    events_before = Event.objects.count()

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {
        "title": "Same", "description": "Text", "tags": ["b", "a"], "metadata": {"k": 1}, "auto_publish": False,
    }, format="json")

    assert answer.status_code == 200
    assert answer.json()["revision"] == before["revision"] == video.revision
    assert answer.json()["updated_at"] == before["updated_at"]
    assert Event.objects.count() == events_before
    stored = Video.objects.get(pk=video.pk)
    assert stored.revision == video.revision and stored.updated_at == video.updated_at


def test_get_edit_put_with_server_owned_fields_echoed_saves_the_edit(staff_api):
    video = make_published(make_video("Original", tags=("news",), source_url="http://example.com/a.mp4"))
    body = staff_api.get(f"/api/videos/{video.pk}/").json()
    revision = body["revision"]

    body["title"] = "Edited"
    body["tags"] = ["news", "world"]
    answer = staff_api.put(f"/api/videos/{video.pk}/", body, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["title"] == "Edited"
    assert answer.json()["tags"] == ["news", "world"]
    assert answer.json()["revision"] == revision + 1
    assert answer.json()["published"] is True and answer.json()["status"] == "ready"


def test_put_echoing_whole_number_floats_as_integers_is_accepted(staff_api):
    video = make_ready(make_video("From a browser"))
    video.duration_seconds = 2.0  # as processing stores a two-second clip
    video.save()
    body = staff_api.get(f"/api/videos/{video.pk}/").json()
    assert body["duration_seconds"] == 2.0

    # A JavaScript client re-serialises 2.0 as 2.
    answer = staff_api.put(f"/api/videos/{video.pk}/", {**body, "duration_seconds": 2, "title": "Edited"},
                           format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["title"] == "Edited"
    assert answer.json()["duration_seconds"] == 2.0


def test_put_of_an_unchanged_get_is_a_no_op(staff_api):
    video = make_ready(make_video("Still", tags=("x",)))
    body = staff_api.get(f"/api/videos/{video.pk}/").json()

    answer = staff_api.put(f"/api/videos/{video.pk}/", body, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json() == body


# --- sources: uploads and URLs ----------------------------------------------------------------------


def test_multipart_upload_sets_mime_type_format_size_and_an_absolute_file_url(staff_api, clip_bytes):
    answer = staff_api.post("/api/videos/", {"title": "Clip", "file": upload("clip.mp4", clip_bytes, "video/mp4")},
                            format="multipart")

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert body["mime_type"] == "video/mp4"
    assert body["format"] == "mp4"
    assert body["size_bytes"] == len(clip_bytes)
    assert body["file_url"].startswith(settings.PUBLIC_BASE_URL + "/")
    assert body["source_url"] == ""
    assert _stored_bytes(staff_api, body["file_url"]) == clip_bytes


def test_upload_is_recognised_by_its_content_not_its_name(staff_api, clip_bytes):
    answer = staff_api.post("/api/videos/", {"title": "Odd name", "file": upload("movie.bin", clip_bytes)},
                            format="multipart")

    assert answer.status_code == 201, answer.json()
    assert answer.json()["mime_type"] == "video/mp4"


def test_multipart_upload_with_tags_keeps_every_tag(staff_api, clip_bytes):
    answer = staff_api.post("/api/videos/", {"title": "Clip", "tags": ["a", "b"],
                                             "file": upload("clip.mp4", clip_bytes, "video/mp4")},
                            format="multipart")

    assert answer.status_code == 201, answer.json()
    assert answer.json()["tags"] == ["a", "b"]


def test_json_source_url_is_stored_without_a_file(staff_api):
    answer = staff_api.post("/api/videos/", {"title": "Remote", "source_url": "https://example.com/v/a.mp4"},
                            format="json")

    assert answer.status_code == 201, answer.json()
    assert answer.json()["source_url"] == "https://example.com/v/a.mp4"
    assert answer.json()["file_url"] is None


def test_video_created_with_a_source_gets_a_transcode_and_a_thumbnail_job(staff_api, clip_bytes):
    by_url = staff_api.post("/api/videos/", {"title": "Remote", "source_url": "http://example.com/a.mp4"},
                            format="json").json()
    by_file = staff_api.post("/api/videos/", {"title": "Clip", "file": upload("clip.mp4", clip_bytes)},
                             format="multipart").json()

    for body in (by_url, by_file):
        jobs = ProcessingJob.objects.filter(video_id=body["id"])
        assert sorted(jobs.values_list("task", flat=True)) == ["thumbnail", "transcode"]
        assert set(jobs.values_list("run", flat=True)) == {1}
        assert body["revision"] == 1


def test_video_created_without_a_source_stays_uploaded_with_no_jobs(staff_api):
    answer = staff_api.post("/api/videos/", {"title": "Later"}, format="json")

    assert answer.json()["status"] == "uploaded"
    assert not ProcessingJob.objects.filter(video_id=answer.json()["id"]).exists()


def test_adding_a_source_later_starts_processing(staff_api):
    video = make_video("Later")

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {"source_url": "http://example.com/late.mp4"},
                             format="json")

    assert answer.status_code == 200
    assert ProcessingJob.objects.filter(video=video).count() == 2


def test_valid_poster_is_reencoded_to_jpeg_without_exif_and_becomes_thumbnail_url(staff_api):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam Inc."  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to display
    original = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(original, format="JPEG", exif=exif.tobytes())
    assert b"SecretCam" in original.getvalue()
    video = make_video("Poster")

    answer = staff_api.patch(f"/api/videos/{video.pk}/",
                             {"poster": upload("me.jpg", original.getvalue(), "image/jpeg")}, format="multipart")

    assert answer.status_code == 200, answer.json()
    url = answer.json()["thumbnail_url"]
    assert url.startswith(settings.PUBLIC_BASE_URL + "/") and url.endswith(".jpg")
    stored = _stored_bytes(staff_api, url)
    assert b"SecretCam" not in stored
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG"
    assert not image.getexif()
    assert image.size == (48, 64)  # the orientation was applied before the EXIF went
    assert answer.json()["revision"] == 2


def test_multipart_patch_without_tags_keeps_the_tags(staff_api):
    video = make_video("Tagged", tags=("keep", "these"))

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {"poster": upload("p.png", image_bytes())},
                             format="multipart")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["tags"] == ["keep", "these"]


def test_get_edit_put_of_an_uploaded_video_with_a_poster_works(staff_api, clip_bytes):
    created = staff_api.post("/api/videos/", {"title": "Clip", "file": upload("clip.mp4", clip_bytes),
                                              "poster": upload("p.png", image_bytes())}, format="multipart").json()
    body = staff_api.get(f"/api/videos/{created['id']}/").json()
    assert body["file_url"] and body["thumbnail_url"]

    body["description"] = "Now described"
    answer = staff_api.put(f"/api/videos/{created['id']}/", body, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["description"] == "Now described"
    assert answer.json()["file_url"] == body["file_url"]
    assert answer.json()["thumbnail_url"] == body["thumbnail_url"]
    assert answer.json()["revision"] == body["revision"] + 1


def test_png_poster_on_create_becomes_a_jpeg_thumbnail(staff_api):
    png = io.BytesIO()
    Image.new("RGBA", (40, 40), (0, 0, 0, 0)).save(png, format="PNG")

    answer = staff_api.post("/api/videos/", {"title": "With poster", "poster": upload("p.png", png.getvalue())},
                            format="multipart")

    assert answer.status_code == 201, answer.json()
    assert Image.open(io.BytesIO(_stored_bytes(staff_api, answer.json()["thumbnail_url"]))).format == "JPEG"


def test_camera_jpeg_with_extra_frames_is_accepted_as_a_poster(staff_api):
    mpo = io.BytesIO()
    Image.new("RGB", (32, 24), (1, 2, 3)).save(mpo, format="MPO", save_all=True,
                                                append_images=[Image.new("RGB", (32, 24))])
    assert Image.open(io.BytesIO(mpo.getvalue())).format == "MPO"  # how Pillow sees many phone photos

    answer = staff_api.post("/api/videos/", {"title": "Phone", "poster": upload("IMG_0001.JPG", mpo.getvalue())},
                            format="multipart")

    assert answer.status_code == 201, answer.json()
    assert Image.open(io.BytesIO(_stored_bytes(staff_api, answer.json()["thumbnail_url"]))).format == "JPEG"


# --- editorial actions ------------------------------------------------------------------------------


def test_publishing_a_ready_video_publishes_it(staff_api, api):
    video = make_ready(make_video("Ready"))

    answer = staff_api.post(f"/api/videos/{video.pk}/publish/")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["published"] is True
    assert answer.json()["published_at"]
    assert answer.json()["revision"] == video.revision + 1
    assert api.get(f"/api/videos/{video.pk}/").status_code == 200


def test_publishing_a_published_video_changes_nothing(staff_api):
    video = make_published(make_video("Twice"))

    answer = staff_api.post(f"/api/videos/{video.pk}/publish/")

    assert answer.status_code == 200
    assert answer.json()["revision"] == video.revision
    assert answer.json()["published_at"] == staff_api.get(f"/api/videos/{video.pk}/").json()["published_at"]


def test_publishing_a_video_that_is_not_ready_gets_409_with_its_status(staff_api):
    video = make_video("Not yet", source_url="http://example.com/a.mp4")

    answer = staff_api.post(f"/api/videos/{video.pk}/publish/")

    assert answer.status_code == 409
    assert answer.json()["status"] == "uploaded"
    assert not Video.objects.get(pk=video.pk).published


def test_unpublishing_a_video_unpublishes_it(staff_api, api):
    video = make_published(make_video("Out"))

    answer = staff_api.post(f"/api/videos/{video.pk}/unpublish/")

    assert answer.status_code == 200
    assert answer.json()["published"] is False and answer.json()["published_at"] is None
    assert api.get(f"/api/videos/{video.pk}/").status_code == 404


def test_archiving_a_published_video_unpublishes_and_hides_it(staff_api, api):
    video = make_published(make_video("Old"))

    answer = staff_api.post(f"/api/videos/{video.pk}/archive/")

    assert answer.status_code == 200
    body = answer.json()
    assert body["archived"] is True and body["archived_at"]
    assert body["published"] is False
    assert body["revision"] == video.revision + 1
    assert api.get(f"/api/videos/{video.pk}/").status_code == 404
    assert staff_api.get(f"/api/videos/{video.pk}/").status_code == 200  # kept, with its history


def test_unarchiving_restores_the_video_unpublished(staff_api):
    video = make_published(make_video("Back"))
    video.archive()

    answer = staff_api.post(f"/api/videos/{video.pk}/unarchive/")

    assert answer.status_code == 200
    assert answer.json()["archived"] is False and answer.json()["archived_at"] is None
    assert answer.json()["published"] is False
    assert answer.json()["status"] == "ready"


def test_publishing_an_archived_video_gets_409(staff_api):
    video = make_ready(make_video("Archived"))
    video.archive()

    answer = staff_api.post(f"/api/videos/{video.pk}/publish/")

    assert answer.status_code == 409
    assert answer.json()["status"] == "ready"
    assert "unarchive" in answer.json()["detail"]


def test_reprocessing_a_ready_video_starts_a_new_run_of_two_jobs(staff_api):
    video = make_ready(make_video("Again", source_url="http://example.com/a.mp4"))
    assert set(ProcessingJob.objects.filter(video=video).values_list("run", flat=True)) == {1}

    answer = staff_api.post(f"/api/videos/{video.pk}/reprocess/")

    assert answer.status_code == 200, answer.json()
    jobs = ProcessingJob.objects.filter(video=video, run=2)
    assert sorted(jobs.values_list("task", flat=True)) == ["thumbnail", "transcode"]


def test_reprocessing_a_video_without_a_source_gets_409(staff_api):
    video = make_video("Empty")

    answer = staff_api.post(f"/api/videos/{video.pk}/reprocess/")

    assert answer.status_code == 409
    assert answer.json()["status"] == "uploaded"
    assert not ProcessingJob.objects.filter(video=video).exists()


def test_paths_outside_the_api_keep_the_html_404_page(api):
    answer = api.get("/no-such-page/")

    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("text/html")
