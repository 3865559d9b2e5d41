"""The livestreams REST API: CRUD with ls_ ids, the write-only stream key, and the start / end actions."""

import pytest

from media_lifecycle.models import Livestream
from tests.media.conftest import make_video, nothing_written
from webhooks_app.models import Event

pytestmark = pytest.mark.django_db


def _create(client, **fields) -> dict:
    answer = client.post("/api/livestreams/", {"title": "Launch", **fields}, format="json")
    assert answer.status_code == 201, answer.json()
    return answer.json()


def test_created_livestream_has_an_ls_prefixed_id_and_is_idle(staff_api):
    body = _create(staff_api, description="Keynote", tags=["event"])

    assert body["id"].startswith("ls_") and len(body["id"]) > len("ls_")
    assert body["status"] == "idle"
    assert body["revision"] == 1
    assert body["tags"] == ["event"]
    assert body["ingest_url"]
    assert body["id"] in body["playback_url"]
    assert body["started_at"] is None and body["ended_at"] is None and body["recording"] is None


def test_stream_key_is_shown_in_the_create_response_only(staff_api):
    body = _create(staff_api)
    key = body["stream_key"]

    detail = staff_api.get(f"/api/livestreams/{body['id']}/")
    listed = staff_api.get("/api/livestreams/")

    assert key and key == Livestream.objects.get(pk=body["id"]).stream_key
    assert detail.status_code == 200 and "stream_key" not in detail.json()
    assert all("stream_key" not in stream for stream in listed.json()["results"])
    assert key not in detail.content.decode() and key not in listed.content.decode()


def test_stream_key_given_on_create_is_stored_and_shown_once(staff_api):
    body = _create(staff_api, stream_key="my-own-stream-key-123")

    assert body["stream_key"] == "my-own-stream-key-123"
    assert Livestream.objects.get(pk=body["id"]).stream_key == "my-own-stream-key-123"


def test_stream_key_is_write_only_on_update(staff_api):
    body = _create(staff_api)

    answer = staff_api.patch(f"/api/livestreams/{body['id']}/", {"stream_key": "rotated-stream-key-456"},
                             format="json")

    assert answer.status_code == 200, answer.json()
    assert "stream_key" not in answer.json()
    assert Livestream.objects.get(pk=body["id"]).stream_key == "rotated-stream-key-456"


def test_stream_key_never_appears_in_event_payloads(staff_api):
    body = _create(staff_api)

    events = Event.objects.filter(object_id=body["id"])

    assert events.filter(type="livestream.created").count() == 1
    assert all(body["stream_key"].encode() not in bytes(event.body) for event in events)


def test_livestream_list_pages_and_filters_by_status(staff_api):
    idle = [_create(staff_api, title=f"Idle {n}")["id"] for n in range(3)]
    live = _create(staff_api, title="Live")["id"]
    staff_api.post(f"/api/livestreams/{live}/start/")

    page = staff_api.get("/api/livestreams/", {"page_size": 2}).json()
    lives = staff_api.get("/api/livestreams/", {"status": "live"}).json()

    assert page["count"] == 4 and len(page["results"]) == 2
    assert [stream["id"] for stream in lives["results"]] == [live]
    assert {stream["id"] for stream in staff_api.get("/api/livestreams/", {"status": "idle"}).json()["results"]} \
        == set(idle)


def test_bad_livestream_status_filter_gets_400_naming_the_parameter(staff_api):
    answer = staff_api.get("/api/livestreams/", {"status": "paused"})

    assert answer.status_code == 400
    assert "status" in answer.json()


def test_patch_with_identical_values_leaves_the_livestream_revision_unchanged(staff_api):
    body = _create(staff_api, description="Same", tags=["a"])

    answer = staff_api.patch(f"/api/livestreams/{body['id']}/", {"title": "Launch", "description": "Same",
                                                                  "tags": ["a"]}, format="json")

    assert answer.json()["revision"] == body["revision"]
    assert answer.json()["updated_at"] == body["updated_at"]


def test_get_edit_put_of_a_livestream_with_server_owned_fields_echoed_works(staff_api):
    created = _create(staff_api)
    staff_api.post(f"/api/livestreams/{created['id']}/start/")
    body = staff_api.get(f"/api/livestreams/{created['id']}/").json()

    body["title"] = "Renamed"
    answer = staff_api.put(f"/api/livestreams/{created['id']}/", body, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["title"] == "Renamed"
    assert answer.json()["status"] == "live"
    assert answer.json()["revision"] == body["revision"] + 1


def test_deleting_a_livestream_removes_it(staff_api):
    body = _create(staff_api)

    assert staff_api.delete(f"/api/livestreams/{body['id']}/").status_code == 204
    assert not Livestream.objects.filter(pk=body["id"]).exists()


def test_starting_an_idle_livestream_makes_it_live(staff_api):
    body = _create(staff_api)

    answer = staff_api.post(f"/api/livestreams/{body['id']}/start/")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "live"
    assert answer.json()["started_at"]
    assert answer.json()["revision"] == 2
    assert "stream_key" not in answer.json()
    assert Event.objects.filter(type="livestream.started", object_id=body["id"]).count() == 1


def test_ending_a_live_livestream_without_a_recording(staff_api):
    body = _create(staff_api)
    staff_api.post(f"/api/livestreams/{body['id']}/start/")

    answer = staff_api.post(f"/api/livestreams/{body['id']}/end/", {}, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "ended"
    assert answer.json()["ended_at"]
    assert answer.json()["recording"] is None


def test_ending_a_live_livestream_links_its_recording(staff_api):
    body = _create(staff_api)
    staff_api.post(f"/api/livestreams/{body['id']}/start/")
    recording = make_video("The recording")

    answer = staff_api.post(f"/api/livestreams/{body['id']}/end/", {"recording": recording.pk}, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["recording"] == recording.pk
    assert Livestream.objects.get(pk=body["id"]).recording_id == recording.pk


def test_ending_with_an_unknown_recording_gets_400_and_the_stream_stays_live(staff_api):
    body = _create(staff_api)
    staff_api.post(f"/api/livestreams/{body['id']}/start/")

    with nothing_written():
        answer = staff_api.post(f"/api/livestreams/{body['id']}/end/", {"recording": "vid_nope"}, format="json")

    assert answer.status_code == 400
    assert "recording" in answer.json()
    assert Livestream.objects.get(pk=body["id"]).status == "live"


def test_unknown_field_in_the_end_body_gets_400_and_the_stream_stays_live(staff_api):
    body = _create(staff_api)
    staff_api.post(f"/api/livestreams/{body['id']}/start/")

    with nothing_written():
        answer = staff_api.post(f"/api/livestreams/{body['id']}/end/", {"recordng": "vid_x"}, format="json")

    assert answer.status_code == 400
    assert answer.json() == {"recordng": ["Unknown field."]}
    assert Livestream.objects.get(pk=body["id"]).status == "live"


def test_recording_id_with_a_nul_byte_gets_400_naming_recording(staff_api):
    body = _create(staff_api)
    staff_api.post(f"/api/livestreams/{body['id']}/start/")

    with nothing_written():
        answer = staff_api.post(f"/api/livestreams/{body['id']}/end/", {"recording": "vid_\x00"}, format="json")

    assert answer.status_code == 400
    assert "recording" in answer.json()


def test_starting_an_ended_livestream_gets_409_with_its_status(staff_api):
    body = _create(staff_api)
    staff_api.post(f"/api/livestreams/{body['id']}/start/")
    staff_api.post(f"/api/livestreams/{body['id']}/end/")
    revision = Livestream.objects.get(pk=body["id"]).revision

    with nothing_written():
        answer = staff_api.post(f"/api/livestreams/{body['id']}/start/")

    assert answer.status_code == 409
    assert answer.json()["status"] == "ended"
    stored = Livestream.objects.get(pk=body["id"])
    assert stored.status == "ended" and stored.revision == revision


def test_ending_an_idle_livestream_gets_409_with_its_status(staff_api):
    body = _create(staff_api)

    with nothing_written():
        answer = staff_api.post(f"/api/livestreams/{body['id']}/end/")

    assert answer.status_code == 409
    assert answer.json()["status"] == "idle"


def test_scheduled_end_before_start_gets_400_naming_scheduled_end(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/livestreams/", {"title": "Backwards", "scheduled_start": "2030-01-02T10:00:00Z",
                                                      "scheduled_end": "2030-01-02T09:00:00Z"}, format="json")

    assert answer.status_code == 400
    assert "scheduled_end" in answer.json()


def test_a_livestream_records_by_default_and_knows_who_created_it(staff_api, staff):
    body = _create(staff_api)

    assert body["record"] is True
    assert body["created_by"] == staff.username
    assert Livestream.objects.get(pk=body["id"]).created_by == staff
    assert _create(staff_api, record=False)["record"] is False


def test_created_by_cannot_be_written(staff_api):
    answer = staff_api.post("/api/livestreams/", {"title": "Launch", "created_by": "someone"}, format="json")

    assert answer.status_code == 400
    assert "created_by" in answer.json()


@pytest.mark.parametrize("key", ["has/slash-in-it-123", "has?query=in-it-123", "has space in it 123",
                                 "has\u00e9accent-in-it-12"])
def test_a_stream_key_that_cannot_go_into_an_rtmp_url_gets_400(staff_api, key):
    with nothing_written():
        answer = staff_api.post("/api/livestreams/", {"title": "Launch", "stream_key": key}, format="json")

    assert answer.status_code == 400
    assert "stream_key" in answer.json()


def test_a_stream_key_used_by_another_livestream_gets_400(staff_api):
    _create(staff_api, stream_key="shared-stream-key-123")
    other = _create(staff_api)

    with nothing_written():
        created = staff_api.post("/api/livestreams/", {"title": "Again", "stream_key": "shared-stream-key-123"},
                                 format="json")
        updated = staff_api.patch(f"/api/livestreams/{other['id']}/", {"stream_key": "shared-stream-key-123"},
                                  format="json")

    assert created.status_code == 400 and "stream_key" in created.json()
    assert updated.status_code == 400 and "stream_key" in updated.json()


def test_a_stream_key_with_a_nul_byte_gets_400(staff_api):
    with nothing_written():
        answer = staff_api.post("/api/livestreams/", {"title": "Launch", "stream_key": "nul\u0000byte-key-12345"},
                                format="json")

    assert answer.status_code == 400
    assert "stream_key" in answer.json()
