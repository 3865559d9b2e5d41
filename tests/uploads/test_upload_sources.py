"""A finished upload becomes a video's source once, through POST /api/videos/ {"upload": id} or a PATCH; it is
checked by its content then. The object-storage layout (S3) and pruning of expired uploads."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from media_lifecycle.models import ProcessingJob, Upload, Video
from media_lifecycle.uploads import chunks, pruning, receiving
from tests.conftest import finished_upload, token_client
from tests.media.conftest import grant, make_video, nothing_written

pytestmark = pytest.mark.django_db


def test_video_created_from_a_finished_upload_uses_its_bytes_without_copying(staff_api, tus, clip_bytes):
    upload_id = tus.send(clip_bytes)

    answer = staff_api.post("/api/videos/", {"title": "Resumed", "upload": upload_id}, format="json")

    assert answer.status_code == 201, answer.json()
    body = answer.json()
    assert (body["mime_type"], body["format"], body["size_bytes"]) == ("video/mp4", "mp4", len(clip_bytes))
    assert "upload" not in body  # write-only
    video = Video.objects.get(pk=body["id"])
    upload = Upload.objects.get(pk=upload_id)
    assert video.file.name == upload.storage_name
    assert video.file.read() == clip_bytes
    assert (upload.used_at is not None, upload.video_id) == (True, video.pk)
    assert ProcessingJob.objects.filter(video=video).count() == 2


def test_patch_with_an_upload_replaces_the_source_and_starts_processing(staff_api, staff, clip_bytes):
    video = make_video("Remote", source_url="https://example.com/old.mp4")
    sent = finished_upload(staff, clip_bytes)

    answer = staff_api.patch(f"/api/videos/{video.pk}/", {"upload": sent.pk}, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["source_url"] == ""
    assert answer.json()["file_url"].endswith(sent.storage_name)
    assert ProcessingJob.objects.filter(video=video, run=video.processing_run + 1).count() == 2


def test_an_upload_used_twice_gets_400_naming_upload(staff_api, tus, clip_bytes):
    upload_id = tus.send(clip_bytes)
    first = staff_api.post("/api/videos/", {"title": "First", "upload": upload_id}, format="json")
    assert first.status_code == 201

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Second", "upload": upload_id}, format="json")

    assert answer.status_code == 400
    assert "already used" in answer.json()["upload"][0]
    assert first.json()["id"] in answer.json()["upload"][0]


def test_an_unfinished_upload_gets_400_naming_upload(staff_api, tus, clip_bytes):
    path = tus.new(len(clip_bytes))
    tus.patch(path, 0, clip_bytes[:1000])
    upload_id = path.rsplit("/", 1)[-1]

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Too soon", "upload": upload_id}, format="json")

    assert answer.status_code == 400
    assert "unfinished: 1000 of" in answer.json()["upload"][0]
    assert Upload.objects.get(pk=upload_id).used_at is None


def test_a_non_video_upload_gets_400_and_nothing_is_created(staff_api, tus):
    upload_id = tus.send(b"Just some text, not a film.\n" * 100, filename="notes.mp4")

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Text", "upload": upload_id}, format="json")

    assert answer.status_code == 400
    assert "not a video file" in answer.json()["upload"][0]
    assert Upload.objects.get(pk=upload_id).used_at is None


def test_an_empty_upload_gets_400(staff_api, tus):
    upload_id = tus.client.generic("POST", "/api/uploads/", HTTP_TUS_RESUMABLE="1.0.0",
                                   HTTP_UPLOAD_LENGTH="0")["Location"].rsplit("/", 1)[-1]

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Empty", "upload": upload_id}, format="json")

    assert answer.status_code == 400
    assert "empty" in answer.json()["upload"][0]


def test_another_users_upload_gets_400(staff_api, django_user_model, clip_bytes):
    other = django_user_model.objects.create_user("other", password="pw-other-123")
    grant(other, "add_video")
    theirs = finished_upload(other, clip_bytes)

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Not mine", "upload": theirs.pk}, format="json")

    assert answer.status_code == 400
    assert "of yours" in answer.json()["upload"][0]


def test_an_unknown_upload_id_gets_400(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Ghost", "upload": "upl_nothing"}, format="json")

    assert answer.status_code == 400
    assert "upload" in answer.json()


def test_an_expired_upload_gets_400(staff_api, staff, clip_bytes, settings):
    settings.UPLOAD_EXPIRY_HOURS = 1
    sent = finished_upload(staff, clip_bytes)

    with time_machine.travel(timezone.now() + timedelta(hours=2)), nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Late", "upload": sent.pk}, format="json")

    assert answer.status_code == 400
    assert "expired" in answer.json()["upload"][0]


def test_an_upload_and_a_source_url_together_get_400_naming_upload(staff_api, staff, clip_bytes):
    sent = finished_upload(staff, clip_bytes)

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Both", "upload": sent.pk,
                                                 "source_url": "https://example.com/a.mp4"}, format="json")

    assert answer.status_code == 400
    assert "not upload and source_url together" in answer.json()["upload"][0]


def test_a_video_made_from_an_upload_over_max_upload_bytes_gets_413(staff_api, staff, clip_bytes, settings):
    sent = finished_upload(staff, clip_bytes)
    settings.MAX_UPLOAD_BYTES = len(clip_bytes) - 1  # lowered after the upload finished

    with nothing_written():
        answer = staff_api.post("/api/videos/", {"title": "Big", "upload": sent.pk}, format="json")

    assert answer.status_code == 413
    assert "upload" in answer.json()


def test_an_editor_without_add_video_cannot_use_uploads_either(django_user_model, clip_bytes):
    user = django_user_model.objects.create_user("reader", password="pw-reader-123")
    grant(user, "view_video")

    answer = token_client(user).post("/api/videos/", {"title": "No", "upload": "upl_x"}, format="json")

    assert answer.status_code == 403


# --- object storage (S3): one object per request, joined when complete --------------------------------


def test_object_storage_keeps_one_part_per_request_and_joins_them_at_the_end(staff, clip_bytes, object_storage):
    store = chunks.Chunks(object_storage)
    upload = receiving.create(staff, length=len(clip_bytes), metadata={"filename": "clip.mp4"}, chunks=store)
    assert upload.layout == "parts"
    third = len(clip_bytes) // 3

    receiving.write(upload.pk, staff, offset=0, stream=io.BytesIO(clip_bytes[:third]), length=third, chunks=store)
    receiving.write(upload.pk, staff, offset=third, stream=io.BytesIO(clip_bytes[third:2 * third]), length=third,
                    chunks=store)
    upload.refresh_from_db()
    assert [part[0] for part in upload.parts] == [0, third]
    parts = [part[1] for part in upload.parts]
    receiving.write(upload.pk, staff, offset=2 * third, stream=io.BytesIO(clip_bytes[2 * third:]),
                    length=len(clip_bytes) - 2 * third, chunks=store)

    upload.refresh_from_db()
    assert upload.is_complete and upload.parts == []
    assert object_storage.open(upload.storage_name).read() == clip_bytes
    assert not any(object_storage.exists(name) for name in parts)


def test_object_storage_keeps_the_bytes_of_a_cut_request_and_resumes_after_them(staff, clip_bytes, object_storage):
    store = chunks.Chunks(object_storage)
    upload = receiving.create(staff, length=len(clip_bytes), metadata={}, chunks=store)
    half = len(clip_bytes) // 2
    receiving.write(upload.pk, staff, offset=0, stream=io.BytesIO(clip_bytes[:half]), length=len(clip_bytes),
                    chunks=store)  # the connection drops after half of the announced bytes

    upload.refresh_from_db()
    assert upload.offset == half
    receiving.write(upload.pk, staff, offset=half, stream=io.BytesIO(clip_bytes[half:]),
                    length=len(clip_bytes) - half, chunks=store)
    upload.refresh_from_db()
    assert object_storage.open(upload.storage_name).read() == clip_bytes


def test_an_empty_request_at_the_end_of_a_finished_upload_leaves_its_content_alone(staff, clip_bytes,
                                                                                    object_storage):
    store = chunks.Chunks(object_storage)
    upload = receiving.create(staff, length=len(clip_bytes), metadata={"filename": "clip.mp4"}, chunks=store)
    receiving.write(upload.pk, staff, offset=0, stream=io.BytesIO(clip_bytes), length=len(clip_bytes), chunks=store)
    upload.refresh_from_db()
    finished = (upload.storage_name, upload.completed_at)

    again = receiving.write(upload.pk, staff, offset=len(clip_bytes), stream=io.BytesIO(b""), length=0,
                            chunks=store)  # a retried last PATCH, with nothing left to send

    assert (again.storage_name, again.completed_at, again.offset) == (*finished, len(clip_bytes))
    assert object_storage.open(upload.storage_name).read() == clip_bytes


# --- pruning ----------------------------------------------------------------------------------------


def test_prune_history_deletes_expired_uploads_and_their_bytes_but_not_a_videos_source(staff, staff_api,
                                                                                    clip_bytes, settings):
    settings.UPLOAD_EXPIRY_HOURS = 1
    unfinished = receiving.create(staff, length=100, metadata={})
    receiving.write(unfinished.pk, staff, offset=0, stream=io.BytesIO(b"x" * 40), length=40)
    unused = finished_upload(staff, clip_bytes)
    used = finished_upload(staff, clip_bytes)
    assert staff_api.post("/api/videos/", {"title": "Kept", "upload": used.pk}, format="json").status_code == 201
    fresh = receiving.create(staff, length=100, metadata={})
    Upload.objects.filter(pk=fresh.pk).update(expires_at=timezone.now() + timedelta(hours=5))

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        out = io.StringIO()
        call_command("prune_history", stdout=out)

    assert "Deleted 3 expired uploads (2 unfinished or unused, with their bytes)." in out.getvalue()
    assert list(Upload.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert not default_storage.exists(unfinished.storage_name)
    assert not default_storage.exists(unused.storage_name)
    assert default_storage.open(Video.objects.get(title="Kept").file.name).read() == clip_bytes


def test_pruning_skips_an_upload_being_written(staff, settings):
    settings.UPLOAD_EXPIRY_HOURS = 1
    upload = receiving.create(staff, length=100, metadata={})
    later = timezone.now() + timedelta(hours=2)
    Upload.objects.filter(pk=upload.pk).update(lease_token="busy", lease_expires_at=later + timedelta(seconds=10))

    assert pruning.prune_expired(later) == (0, 0)
    assert Upload.objects.filter(pk=upload.pk).exists()
