"""Input that no database can hold, and dates or timestamps out of every range: a clear 4xx wherever it comes in
(API bodies, JSON inside form fields, the admin, signed callbacks, query filters, URLs), and nothing written.
On PostgreSQL each of these used to be a 500 ("unsupported Unicode escape sequence", "time zone displacement
out of range", OverflowError)."""

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from media_lifecycle.models import ProcessingJob, Video
from tests.media.conftest import make_video, nothing_written
from tests.processing.conftest import PROCESSOR_SECRET, post_callback, processed_transcode, signed
from webhooks_app.models import Event, Webhook

pytestmark = pytest.mark.django_db

NUL_VALUE = {"k": "a\u0000"}
NUL_KEY = {"k\u0000": 1}
SURROGATE_VALUE = {"k": "\ud800"}
SURROGATE_KEY = {"\udfff": "x"}
UNSTORABLE = [NUL_VALUE, NUL_KEY, SURROGATE_VALUE, SURROGATE_KEY, {"deep": [[{"x": ["ok", "b\u0000"]}]]}]
IDS = ["nul-value", "nul-key", "surrogate-value", "surrogate-key", "nested"]


def raw_json(value) -> bytes:
    """JSON as a client library writes it: `\\u0000` and `\\ud800` escaped, which every decoder accepts."""
    return json.dumps(value).encode("ascii")


def detail_text(answer) -> str:
    return json.dumps(answer.json())


@pytest.fixture
def source_video(staff, settings) -> Video:
    """A video with a source (so it has processing jobs), and the processor secret the callbacks are signed with."""
    settings.PROCESSOR_SECRET = PROCESSOR_SECRET
    return Video.objects.create(title="Sourced", source_url="https://media.example.com/in.mp4", created_by=staff)


# --- JSON API bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize("metadata", UNSTORABLE, ids=IDS)
def test_video_metadata_that_cannot_be_stored_gets_400(staff_api, metadata):
    with nothing_written():
        answer = staff_api.post("/api/videos/", raw_json({"title": "M", "metadata": metadata}),
                                content_type="application/json")

    assert answer.status_code == 400
    assert "cannot be stored" in detail_text(answer)


@pytest.mark.parametrize(("field", "value", "named"), [
    ("title", "caf\u0000e", "NUL"), ("title", "\ud83d", "surrogate"), ("description", "x\udc00y", "surrogate"),
    ("tags", ["news", "a\u0000"], "NUL"), ("tags", ["\ud800"], "surrogate"),
])
def test_any_string_of_a_json_body_that_cannot_be_stored_gets_400_naming_the_character(staff_api, field, value,
                                                                                         named):
    video = make_video("Kept")

    with nothing_written():
        created = staff_api.post("/api/videos/", raw_json({"title": "T", field: value}),
                                 content_type="application/json")
        patched = staff_api.patch(f"/api/videos/{video.pk}/", raw_json({field: value}),
                                  content_type="application/json")

    for answer in (created, patched):
        assert answer.status_code == 400
        assert named in " ".join(answer.json()[field])
    assert Video.objects.get(pk=video.pk).title == "Kept"


@pytest.mark.parametrize("path", ["/api/playlists/", "/api/livestreams/", "/api/client-webhooks/"])
def test_other_resources_refuse_unstorable_json_strings_too(staff_api, path):
    with nothing_written():
        answer = staff_api.post(path, raw_json({"title": "a\u0000", "url": "http://x.test/\ud800"}),
                                content_type="application/json")

    assert answer.status_code == 400


@pytest.mark.parametrize(("field", "value"), [
    ("tags", ["a\u0000"]), ("tags", ["\ud800"]), ("events", ["video.ready\u0000"]),
    ("headers", {"X-Token\u0000": "v"}), ("headers", {"X-Key": "\ud800"}), ("description", "d\u0000"),
])
def test_webhook_fields_that_cannot_be_stored_get_400(staff_api, receiver, field, value):
    body = {"url": receiver.url, "events": ["video.ready"], field: value}

    answer = staff_api.post("/api/webhooks/", raw_json(body), content_type="application/json")

    assert answer.status_code == 400
    assert "cannot be stored" in detail_text(answer)
    assert not Webhook.objects.exists()


def test_analytics_with_an_unstorable_string_gets_400(api):
    answer = api.post("/api/analytics/", raw_json({"videoId": "vid_x", "sessionId": "s", "eventType": "play",
                                                   "position": 0, "viewerId": "\ud800"}),
                      content_type="application/json")

    assert answer.status_code == 400


# --- JSON inside form fields (multipart, the admin) ----------------------------------------------------


@pytest.mark.parametrize("metadata", UNSTORABLE, ids=IDS)
def test_multipart_metadata_that_cannot_be_stored_gets_400_naming_metadata(staff_api, metadata):
    video = make_video("Form")

    with nothing_written():
        created = staff_api.post("/api/videos/", {"title": "F", "metadata": json.dumps(metadata)}, format="multipart")
        patched = staff_api.patch(f"/api/videos/{video.pk}/", {"metadata": json.dumps(metadata)}, format="multipart")

    for answer in (created, patched):
        assert answer.status_code == 400
        assert "cannot be stored" in " ".join(answer.json()["metadata"])


def test_multipart_webhook_tags_that_cannot_be_stored_get_400(staff_api, receiver):
    answer = staff_api.post("/api/webhooks/", {"url": receiver.url, "events": json.dumps(["video.ready"]),
                                               "tags": json.dumps(["a\u0000"])}, format="multipart")

    assert answer.status_code == 400
    assert "tags" in answer.json()
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("metadata", UNSTORABLE, ids=IDS)
def test_the_admin_metadata_box_refuses_json_that_cannot_be_stored(admin_client, metadata):
    video = make_video("Admin")
    url = reverse("admin:media_lifecycle_video_change", args=[video.pk])

    with nothing_written():
        answer = admin_client.post(url, {"title": "Changed", "description": "", "tags": "",
                                         "source_url": "", "metadata": json.dumps(metadata)})

    assert answer.status_code == 200  # the form again, with the error
    assert "cannot be stored" in answer.content.decode()
    assert Video.objects.get(pk=video.pk).title == "Admin"


@pytest.mark.parametrize("headers", [{"X-A": "\ud800"}, {"X-A\u0000": "v"}, {"\udfff": "v"}, {"X-B": "a\u0000"}])
def test_the_admin_webhook_headers_box_refuses_json_that_cannot_be_stored(admin_client, receiver, headers):
    webhook = Webhook.objects.create(url=receiver.url, events=["*"], headers={"X-Kept": "1"})
    form = {"url": receiver.url, "description": "", "events": ["video.ready"], "tags": "", "tag_match": "any",
            "is_active": "on", "headers": json.dumps(headers)}

    changed = admin_client.post(reverse("admin:webhooks_app_webhook_change", args=[webhook.pk]), form)
    added = admin_client.post(reverse("admin:webhooks_app_webhook_add"), {**form, "secret": ""})

    for answer in (changed, added):
        assert answer.status_code == 200  # the form again, with the error
        assert "cannot be stored" in answer.content.decode()
    assert Webhook.objects.get().headers == {"X-Kept": "1"}


# --- numbers no JSON column takes, and JSON nested deeper than the decoder goes -------------------------

INFINITE_JSON = '{"x": 1e400}'  # valid JSON; Python reads it as infinity
NAN_JSON = '{"x": NaN}'  # not JSON, but Python's decoder (a form field's) reads it


def test_metadata_with_a_number_too_large_to_be_finite_gets_400_naming_metadata(staff_api):
    video = make_video("Numbers")

    with nothing_written():
        created = staff_api.generic("POST", "/api/videos/", '{"title": "F", "metadata": ' + INFINITE_JSON + "}",
                                    content_type="application/json")
        patched = staff_api.generic("PATCH", f"/api/videos/{video.pk}/", '{"metadata": ' + INFINITE_JSON + "}",
                                    content_type="application/json")
        multipart = staff_api.post("/api/videos/", {"title": "F", "metadata": INFINITE_JSON}, format="multipart")

    for answer in (created, patched, multipart):
        assert answer.status_code == 400
        assert "not a finite number" in " ".join(answer.json()["metadata"])


@pytest.mark.parametrize("typed", [INFINITE_JSON, NAN_JSON])
def test_the_admin_metadata_box_refuses_numbers_that_are_not_finite(admin_client, typed):
    video = make_video("Admin")

    with nothing_written():
        answer = admin_client.post(reverse("admin:media_lifecycle_video_change", args=[video.pk]), {
            "title": "Changed", "description": "", "tags": "", "source_url": "", "metadata": typed})

    assert answer.status_code == 200
    assert "not a finite number" in answer.content.decode()


@pytest.mark.parametrize("field", ["events", "tags", "headers"])
def test_a_webhook_field_nested_too_deeply_in_a_form_gets_400_naming_it(staff_api, receiver, field):
    form = {"url": receiver.url, "events": json.dumps(["video.ready"]), field: "[" * 5000 + "]" * 5000}

    with nothing_written():
        answer = staff_api.post("/api/webhooks/", form, format="multipart")

    assert answer.status_code == 400
    assert answer.json()[field] == ["The JSON value is nested too deeply."]


def test_the_admin_webhook_headers_box_refuses_json_nested_too_deeply(admin_client, receiver):
    form = {"url": receiver.url, "description": "", "events": ["video.ready"], "tags": "", "tag_match": "any",
            "is_active": "on", "headers": "[" * 100_000 + "]" * 100_000, "secret": ""}

    answer = admin_client.post(reverse("admin:webhooks_app_webhook_add"), form)

    assert answer.status_code == 200
    assert "nested too deeply" in answer.content.decode()
    assert not Webhook.objects.exists()


# --- raw bodies of signed callbacks ----------------------------------------------------------------------


@pytest.mark.parametrize("message", ["a\u0000", "\ud800"])
def test_a_signed_callback_with_an_unstorable_string_gets_400(source_video, message):
    answer = post_callback(ProcessingJob.objects.filter(video=source_video).first(), raw_json({"status": "failed",
                                                                          "errorMessage": message}))

    assert answer.status_code == 400
    assert "cannot be stored" in " ".join(answer.json()["errorMessage"])
    assert Video.objects.get(pk=source_video.pk).status == source_video.status


def test_the_built_in_processor_refuses_an_unstorable_request_with_400(settings):
    settings.PROCESSOR_SECRET = PROCESSOR_SECRET
    body = raw_json({"jobId": "job_x\u0000", "task": "transcode", "videoId": "vid_x", "videoUrl": "http://x.test/",
                     "callbackUrl": "http://x.test/cb/"})

    answer = APIClient().post(reverse("builtin-processor"), data=body, content_type="application/json",
                              **signed(body))

    assert answer.status_code == 400


# --- timestamps and dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("stamp", ["9" * 400, "99999999999999999999", "-1", "1e9", "١٧٠٠٠٠٠٠٠٠"])
def test_an_absurd_webhook_timestamp_gets_401_before_anything_else(source_video, stamp):
    job = ProcessingJob.objects.filter(video=source_video).first()
    body = raw_json(processed_transcode())
    headers = {**signed(body), "HTTP_WEBHOOK_TIMESTAMP": stamp}

    answer = post_callback(job, body, headers=headers)

    assert answer.status_code == 401
    assert "webhook-timestamp" in answer.json()["detail"]


@pytest.mark.parametrize(("since", "words"), [
    ("2020-01-01T00:00:00+20:00", "+20:00 is out of range"),
    ("2020-01-01T00:00:00-15:30", "-15:30 is out of range"),
    ("0001-01-01T00:00:00+01:00", "out of range once converted to UTC"),
    ("9999-12-31T23:59:59-01:00", "out of range once converted to UTC"),
    ("2020-13-01T00:00:00Z", "not a valid date"),
    ("2020-01-01T00:00:00+24:00", "not a valid date"),
    ("yesterday", "not an ISO 8601 date"),
])
def test_the_event_log_since_filter_refuses_impossible_times_with_400_naming_since(staff_api, since, words):
    answer = staff_api.get("/api/events/", {"since": since})

    assert answer.status_code == 400
    assert words in " ".join(answer.json()["since"])


def test_the_event_log_since_filter_reads_any_real_offset_in_utc(staff_api):
    from webhooks_app import events

    event = events.record("video.ready", {"object": "video", "id": "vid_z", "tags": []})
    moment = Event.objects.get(pk=event.pk).timestamp.replace(microsecond=0)

    def listed(since: datetime) -> bool:
        answer = staff_api.get("/api/events/", {"since": since.isoformat()})
        assert answer.status_code == 200
        return event.id in {item["id"] for item in answer.json()["results"]}

    assert listed(moment.astimezone(timezone(timedelta(hours=14))))
    assert listed(moment.astimezone(timezone(timedelta(hours=-12))))
    assert not listed((moment + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=14))))


@pytest.mark.parametrize(("field", "value"), [
    ("scheduled_start", "2030-01-01T10:00:00+20:00"), ("scheduled_end", "0001-01-01T00:00:00+05:00"),
])
def test_livestream_schedules_out_of_range_get_400_naming_the_field(staff_api, field, value):
    with nothing_written():
        answer = staff_api.post("/api/livestreams/", {"title": "L", field: value}, format="json")

    assert answer.status_code == 400
    assert field in answer.json()


def test_a_replay_window_with_an_impossible_offset_gets_400_naming_since(staff_api, receiver):
    webhook = Webhook.objects.create(url=receiver.url, events=["*"])

    answer = staff_api.post(f"/api/webhooks/{webhook.pk}/replay/", {"since": "2020-01-01T00:00:00-16:00"},
                            format="json")

    assert answer.status_code == 400
    assert "since" in answer.json()


# --- ids and parameters in URLs ---------------------------------------------------------------------------


def callback_to(job_id: str):
    """A correctly signed callback to a job id that no route would ever produce."""
    body = raw_json(processed_transcode())
    return APIClient().post(f"/api/callbacks/processing/{quote(job_id, safe='')}/", data=body,
                            content_type="application/json", **signed(body))


def test_a_correctly_signed_callback_to_a_nul_job_id_gets_400(source_video):
    answer = callback_to("\x00")

    assert answer.status_code == 400
    assert "NUL" in answer.json()["detail"]
    assert Video.objects.get(pk=source_video.pk).status == source_video.status


@pytest.mark.parametrize("job_id", ["job\x01x", "job\x7f", "job x", "job/x", "job\u00e9"])
def test_a_signed_callback_to_an_id_with_control_or_odd_characters_gets_404(source_video, job_id):
    answer = callback_to(job_id)

    assert answer.status_code == 404


@pytest.mark.parametrize("url", [
    "/api/videos/?search=%00", "/api/videos/?tag=a%00", "/api/events/?type=%00", "/player/%00/",
    "/api/videos/vid_%00/", "/admin/media_lifecycle/video/?q=%00", "/admin/webhooks_app/webhook/?q=x%00",
    "/admin/media_lifecycle/video/%00/change/", "/api/videos/?%00=1",
])
def test_a_nul_anywhere_in_the_url_gets_400(admin_client, url):
    answer = admin_client.get(url)

    assert answer.status_code == 400
    assert "NUL" in answer.json()["detail"]


@pytest.mark.parametrize("url", [
    "/admin/webhooks_app/event/?timestamp__gte=2020-01-01T00:00:00%2B20:00",
    "/admin/webhooks_app/delivery/?created_at__gte=2020-01-01+00:00:00%2B20:00",
    "/admin/media_lifecycle/video/?created_at__gte=2020-01-01T00:00:00-16:00",
    "/admin/media_lifecycle/video/?created_at__lt=0001-01-01T00:00:00%2B01:00",
])
def test_admin_date_filters_with_impossible_times_get_the_incorrect_lookup_notice(admin_client, url):
    make_video("Listed")

    answer = admin_client.get(url)

    assert answer.status_code == 302
    assert answer.url.endswith("?e=1")


def test_comparisons_with_datetime_columns_take_their_value_in_utc():
    from webhooks_app import events

    event = events.record("video.ready", {"object": "video", "id": "vid_q", "tags": []})
    moment = Event.objects.get(pk=event.pk).timestamp
    kiribati = moment.astimezone(timezone(timedelta(hours=14)))

    assert Event.objects.filter(pk=event.pk, timestamp__gte=kiribati).exists()
    assert Event.objects.filter(pk=event.pk, timestamp__range=(kiribati, kiribati + timedelta(seconds=1))).exists()
    assert Event.objects.filter(pk=event.pk, timestamp__in=[kiribati]).exists()
    assert not Event.objects.filter(pk=event.pk, timestamp__lt=kiribati).exists()
    with pytest.raises(ValidationError, match="out of range"):
        Event.objects.filter(timestamp__gte=moment.replace(tzinfo=timezone(timedelta(hours=20))))
