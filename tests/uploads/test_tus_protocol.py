"""tus 1.0.0 at /api/uploads/, over HTTP: discovery, creation, HEAD, PATCH, termination and expiration, and each
refusal with its own status (412, 413, 409, 415, 404, 403, 401, 410, 423)."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.http import parse_http_date

from media_lifecycle.models import Upload
from media_lifecycle.uploads import receiving
from media_lifecycle.uploads.receiving import LEASE
from tests.conftest import token_client
from tests.media.conftest import grant
from tests.uploads.conftest import TUS, Tus

pytestmark = pytest.mark.django_db


def _upload(path: str) -> Upload:
    return Upload.objects.get(pk=path.rstrip("/").rsplit("/", 1)[-1])


def test_options_describes_the_server_without_authentication(api):
    answer = api.options("/api/uploads/")

    assert answer.status_code == 204
    assert answer["Tus-Version"] == "1.0.0"
    assert answer["Tus-Resumable"] == "1.0.0"
    assert set(answer["Tus-Extension"].split(",")) == {"creation", "termination", "expiration"}
    assert int(answer["Tus-Max-Size"]) > 0


def test_creation_answers_201_with_location_and_expiry(tus, staff, settings):
    settings.UPLOAD_EXPIRY_HOURS = 6

    answer = tus.create(1000, {"filename": "holiday clip.mp4", "filetype": "video/mp4"})

    assert answer.status_code == 201
    assert answer["Tus-Resumable"] == "1.0.0"
    assert answer["Location"].startswith("http://testserver/api/uploads/upl_")
    upload = _upload(answer["Location"])
    assert (upload.length, upload.offset, upload.created_by, upload.filename) == (1000, 0, staff, "holiday clip.mp4")
    expires = parse_http_date(answer["Upload-Expires"])
    assert abs(expires - (timezone.now() + timedelta(hours=6)).timestamp()) < 5


def test_head_reports_offset_length_and_metadata_and_is_never_cached(tus):
    path = tus.new(10, filename="a.mp4")
    tus.patch(path, 0, b"12345")

    answer = tus.head(path)

    assert answer.status_code == 200
    assert (answer["Upload-Offset"], answer["Upload-Length"]) == ("5", "10")
    assert answer["Cache-Control"] == "no-store"
    assert "filename YS5tcDQ=" in answer["Upload-Metadata"]
    assert answer["Upload-Expires"]


def test_patches_append_at_the_reported_offset_and_the_last_completes_the_upload(tus, clip_bytes):
    path = tus.new(len(clip_bytes))
    half = len(clip_bytes) // 2

    first = tus.patch(path, 0, clip_bytes[:half])
    second = tus.patch(path, half, clip_bytes[half:])

    assert (first.status_code, first["Upload-Offset"]) == (204, str(half))
    assert (second.status_code, second["Upload-Offset"]) == (204, str(len(clip_bytes)))
    upload = _upload(path)
    assert upload.is_complete and upload.layout == "file"
    assert default_storage.open(upload.storage_name).read() == clip_bytes


def test_a_chunk_larger_than_the_json_body_limit_goes_through(tus, settings):
    content = bytes(range(256)) * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 256 + 4096)
    path = tus.new(len(content))

    answer = tus.patch(path, 0, content)

    assert answer.status_code == 204
    assert default_storage.open(_upload(path).storage_name).read() == content


def test_x_http_method_override_lets_a_post_patch(tus):
    path = tus.new(3)

    answer = tus.client.generic("POST", path, data=b"abc", content_type="application/offset+octet-stream",
                                HTTP_X_HTTP_METHOD_OVERRIDE="PATCH", HTTP_UPLOAD_OFFSET="0", **TUS)

    assert answer.status_code == 204
    assert answer["Upload-Offset"] == "3"


def test_a_body_cut_short_keeps_what_arrived_and_the_client_resumes_from_there(staff, clip_bytes):
    # Given an upload, and a request whose connection drops after a third of its announced bytes
    upload = receiving.create(staff, length=len(clip_bytes), metadata={})
    third = len(clip_bytes) // 3

    receiving.write(upload.pk, staff, offset=0, stream=io.BytesIO(clip_bytes[:third]), length=len(clip_bytes))

    # Then the server reports what it stored, and the rest completes the upload from that offset
    upload.refresh_from_db()
    assert (upload.offset, upload.is_complete) == (third, False)
    receiving.write(upload.pk, staff, offset=third, stream=io.BytesIO(clip_bytes[third:]),
                    length=len(clip_bytes) - third)
    upload.refresh_from_db()
    assert upload.is_complete
    assert default_storage.open(upload.storage_name).read() == clip_bytes


def test_delete_terminates_the_upload_and_frees_its_bytes(tus):
    path = tus.new(10)
    tus.patch(path, 0, b"12345")
    name = _upload(path).storage_name

    answer = tus.delete(path)

    assert answer.status_code == 204
    assert not Upload.objects.exists()
    assert not default_storage.exists(name)
    assert tus.head(path).status_code == 404


# --- refusals, each with its own status --------------------------------------------------------------


def test_upload_length_over_max_upload_bytes_gets_413_at_creation(tus, settings):
    settings.MAX_UPLOAD_BYTES = 1000

    answer = tus.create(1001)

    assert answer.status_code == 413
    assert "MAX_UPLOAD_BYTES" in answer.json()["detail"]
    assert not Upload.objects.exists()


def test_patch_at_a_wrong_offset_gets_409_and_changes_nothing(tus):
    path = tus.new(10)
    tus.patch(path, 0, b"12345")

    answer = tus.patch(path, 3, b"45678")

    assert answer.status_code == 409
    assert "stands at 5" in answer.json()["detail"]
    assert _upload(path).offset == 5
    assert default_storage.open(_upload(path).storage_name).read() == b"12345"


@pytest.mark.parametrize("header", [None, "0.2.2"])
def test_request_without_tus_resumable_1_0_0_gets_412(staff_api, header):
    extra = {"HTTP_UPLOAD_LENGTH": "10"}
    if header:
        extra["HTTP_TUS_RESUMABLE"] = header

    answer = staff_api.generic("POST", "/api/uploads/", **extra)

    assert answer.status_code == 412
    assert answer["Tus-Version"] == "1.0.0"
    assert not Upload.objects.exists()


def test_patch_without_tus_resumable_gets_412_and_writes_nothing(tus):
    path = tus.new(10)

    answer = tus.client.generic("PATCH", path, data=b"12345", content_type="application/offset+octet-stream",
                                HTTP_UPLOAD_OFFSET="0")

    assert answer.status_code == 412
    assert _upload(path).offset == 0


def test_upload_of_another_user_is_not_found_for_head_patch_and_delete(tus, django_user_model):
    path = tus.new(10)
    other = django_user_model.objects.create_user("other", password="pw-other-123")
    grant(other, "add_video")
    intruder = Tus(token_client(other))

    assert intruder.head(path).status_code == 404
    assert intruder.patch(path, 0, b"12345").status_code == 404
    assert intruder.delete(path).status_code == 404
    assert _upload(path).offset == 0


def test_uploading_without_the_add_video_permission_gets_403(viewer_api):
    answer = Tus(viewer_api).create(10)

    assert answer.status_code == 403
    assert not Upload.objects.exists()


def test_uploading_without_credentials_gets_401(api):
    answer = Tus(api).create(10)

    assert answer.status_code == 401
    assert "WWW-Authenticate" in answer


def test_patch_with_another_content_type_gets_415(tus):
    path = tus.new(10)

    answer = tus.patch(path, 0, b"12345", content_type="application/octet-stream")

    assert answer.status_code == 415
    assert _upload(path).offset == 0


def test_patch_past_the_announced_length_gets_413(tus):
    path = tus.new(4)

    answer = tus.patch(path, 0, b"12345")

    assert answer.status_code == 413
    assert _upload(path).offset == 0


@pytest.mark.parametrize("headers", [{}, {"HTTP_UPLOAD_LENGTH": "-1"}, {"HTTP_UPLOAD_LENGTH": "ten"},
                                     {"HTTP_UPLOAD_DEFER_LENGTH": "1"}])
def test_creation_without_a_valid_upload_length_gets_400(staff_api, headers):
    answer = staff_api.generic("POST", "/api/uploads/", **{**TUS, **headers})

    assert answer.status_code == 400
    assert "Upload-" in answer.json()["detail"]


def test_a_metadata_key_without_a_value_is_accepted(tus):
    answer = tus.create(10, HTTP_UPLOAD_METADATA="is_confidential,filename YS5tcDQ=")

    assert answer.status_code == 201
    assert _upload(answer["Location"]).metadata == {"is_confidential": "", "filename": "a.mp4"}


@pytest.mark.parametrize("filename", ["Screen Recording 2026-12-07 at 10.15.32\u202fAM.mov",
                                      "caf\u00e9\u00a0menu.mp4", "\u05e1\u05e8\u05d8\u200f.mp4",
                                      "family \U0001f468\u200d\U0001f469\u200d\U0001f467.mp4"])
def test_real_file_names_with_unusual_spaces_and_marks_are_accepted(tus, filename):
    answer = tus.create(10, {"filename": filename, "filetype": "video/quicktime"})

    assert answer.status_code == 201, answer.content
    assert _upload(answer["Location"]).filename == filename


@pytest.mark.parametrize("filename", ["a\x00b.mp4", "two\nlines.mp4", "tab\there.mp4", "c1\x85.mp4",
                                      "line\u2028break.mp4", "para\u2029break.mp4", "gpj.\u202eexe.mp4"])
def test_metadata_with_control_characters_gets_400(tus, filename):
    answer = tus.create(10, {"filename": filename})

    assert answer.status_code == 400
    assert "control characters" in answer.json()["detail"]


@pytest.mark.parametrize("length", ["abc", "-1", "1.5"])
def test_creation_with_a_malformed_content_length_gets_400(staff_api, length):
    answer = staff_api.generic("POST", "/api/uploads/", **{**TUS, "HTTP_UPLOAD_LENGTH": "10",
                                                           "CONTENT_LENGTH": length})

    assert answer.status_code == 400
    assert "Content-Length" in answer.json()["detail"]


@pytest.mark.parametrize("metadata", ["filename !!!notbase64", "a b c", "dup YQ==,dup Yg==", "bad key YQ==",
                                      "filename " + "AA==", "filename /w=="])
def test_malformed_upload_metadata_gets_400(tus, metadata):
    answer = tus.create(10, HTTP_UPLOAD_METADATA=metadata)

    assert answer.status_code == 400
    assert "Upload-Metadata" in answer.json()["detail"]


def test_patch_without_upload_offset_gets_400(tus):
    path = tus.new(10)

    answer = tus.client.generic("PATCH", path, data=b"12", content_type="application/offset+octet-stream", **TUS)

    assert answer.status_code == 400
    assert "Upload-Offset" in answer.json()["detail"]


def test_patch_while_another_request_writes_gets_423(tus):
    path = tus.new(10)
    Upload.objects.filter(pk=_upload(path).pk).update(lease_token="someone", lease_expires_at=timezone.now() + LEASE)

    answer = tus.patch(path, 0, b"12345")

    assert answer.status_code == 423
    assert _upload(path).offset == 0


def test_a_stale_lease_does_not_block_the_next_request(tus):
    path = tus.new(10)
    Upload.objects.filter(pk=_upload(path).pk).update(lease_token="crashed", lease_expires_at=timezone.now())

    assert tus.patch(path, 0, b"12345").status_code == 204


def test_expired_upload_gets_410(tus, settings):
    settings.UPLOAD_EXPIRY_HOURS = 1
    path = tus.new(10)

    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        assert tus.head(path).status_code == 410
        assert tus.patch(path, 0, b"12345").status_code == 410


def test_each_patch_extends_the_expiry(tus, settings):
    settings.UPLOAD_EXPIRY_HOURS = 1
    path = tus.new(10)
    later = timezone.now() + timedelta(minutes=50)

    with time_machine.travel(later):
        answer = tus.patch(path, 0, b"12345")

    assert abs(parse_http_date(answer["Upload-Expires"]) - (later + timedelta(hours=1)).timestamp()) < 5
