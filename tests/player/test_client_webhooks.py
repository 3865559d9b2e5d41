"""/api/client-webhooks/: staff-only CRUD, rpm bounds, and URL rules (http(s) only, intranet allowed)."""

import pytest

from media_lifecycle.models import ClientWebhook

pytestmark = pytest.mark.django_db

BODY = {"url": "https://lms.example.com/track", "request_field": "student", "response_field": "student_id",
        "rpm": 12, "description": "LMS"}


def test_staff_creates_reads_updates_and_deletes_a_client_webhook(staff_api):
    created = staff_api.post("/api/client-webhooks/", BODY, format="json")
    assert created.status_code == 201, created.json()
    hook = created.json()
    assert hook["id"].startswith("cwh_")
    assert {k: hook[k] for k in BODY} == BODY
    assert hook["is_active"] is True

    listed = staff_api.get("/api/client-webhooks/").json()
    items = listed["results"] if isinstance(listed, dict) else listed
    assert [item["id"] for item in items] == [hook["id"]]

    changed = staff_api.patch(f"/api/client-webhooks/{hook['id']}/", {"rpm": 60, "is_active": False},
                              format="json")
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["rpm"], changed.json()["is_active"]) == (60, False)

    assert staff_api.delete(f"/api/client-webhooks/{hook['id']}/").status_code == 204
    assert not ClientWebhook.objects.exists()


def test_non_staff_user_is_forbidden(viewer_api):
    assert viewer_api.get("/api/client-webhooks/").status_code == 403
    assert viewer_api.post("/api/client-webhooks/", BODY, format="json").status_code == 403
    assert not ClientWebhook.objects.exists()


def test_anonymous_user_must_authenticate(api, client_hook):
    answer = api.get("/api/client-webhooks/")

    assert answer.status_code == 401
    assert "WWW-Authenticate" in answer
    assert api.delete(f"/api/client-webhooks/{client_hook.pk}/").status_code == 401
    assert ClientWebhook.objects.count() == 1


@pytest.mark.parametrize("rpm", [0, 61, -5, "often"])
def test_rpm_outside_1_to_60_is_refused(staff_api, rpm):
    answer = staff_api.post("/api/client-webhooks/", {**BODY, "rpm": rpm}, format="json")

    assert answer.status_code == 400
    assert "rpm" in answer.json()
    assert not ClientWebhook.objects.exists()


@pytest.mark.parametrize("url", ["ftp://lms.example.com/track", "javascript:alert(1)", "file:///etc/passwd",
                                 "lms.example.com/track", "http://lms.example.com/a b", "http://lms\n.example.com/"])
def test_non_http_url_is_refused(staff_api, url):
    answer = staff_api.post("/api/client-webhooks/", {**BODY, "url": url}, format="json")

    assert answer.status_code == 400
    assert "url" in answer.json()
    assert not ClientWebhook.objects.exists()


@pytest.mark.parametrize("url", ["http://10.0.0.5/lms/track", "http://127.0.0.1:8080/hook",
                                 "http://lms.intranet/track", "http://moodle/track"])
def test_private_intranet_url_is_accepted(staff_api, url):
    answer = staff_api.post("/api/client-webhooks/", {**BODY, "url": url}, format="json")

    assert answer.status_code == 201, answer.json()


def test_field_names_must_be_plain(staff_api):
    answer = staff_api.post("/api/client-webhooks/", {**BODY, "response_field": "a b\"<"}, format="json")

    assert answer.status_code == 400
    assert "response_field" in answer.json()


def test_unknown_field_is_refused(staff_api):
    answer = staff_api.post("/api/client-webhooks/", {**BODY, "secret": "x"}, format="json")

    assert answer.status_code == 400
    assert "secret" in answer.json()


@pytest.mark.parametrize("field, value", [("id", "cwh_mine"), ("created_at", "2000-01-01T00:00:00Z"),
                                          ("updated_at", "2000-01-01T00:00:00Z")])
def test_server_owned_fields_are_refused_naming_them(staff_api, field, value):
    created = staff_api.post("/api/client-webhooks/", {**BODY, field: value}, format="json")
    assert created.status_code == 400
    assert created.json()[field] == [f"{field} is set by the server and cannot be written."]
    assert not ClientWebhook.objects.exists()

    hook = staff_api.post("/api/client-webhooks/", BODY, format="json").json()
    changed = staff_api.patch(f"/api/client-webhooks/{hook['id']}/", {field: value, "rpm": 30}, format="json")
    assert changed.status_code == 400 and field in changed.json()
    assert ClientWebhook.objects.get().rpm == BODY["rpm"]


def test_a_read_record_can_be_written_back_unchanged(staff_api):
    hook = staff_api.post("/api/client-webhooks/", BODY, format="json").json()

    answer = staff_api.put(f"/api/client-webhooks/{hook['id']}/", {**hook, "rpm": 30}, format="json")

    assert answer.status_code == 200, answer.json()
    assert answer.json()["rpm"] == 30


def test_admin_form_accepts_an_intranet_url_and_refuses_another_scheme(client, staff):
    client.force_login(staff)
    form = {"url": "http://10.1.2.3/track", "description": "", "request_field": "student",
            "response_field": "student_id", "rpm": "6", "is_active": "on"}

    added = client.post("/admin/media_lifecycle/clientwebhook/add/", form)
    refused = client.post("/admin/media_lifecycle/clientwebhook/add/", {**form, "url": "ftp://10.1.2.3/x"})

    assert added.status_code == 302
    assert refused.status_code == 200
    assert ClientWebhook.objects.get().url == "http://10.1.2.3/track"
