"""user.* events: account changes fire with the public account fields only; a login alone fires nothing."""

import pytest
from django.contrib.auth import get_user_model

from tests.lifecycle.conftest import only, types

pytestmark = pytest.mark.django_db

USER_FIELDS = {"object", "id", "username", "email", "first_name", "last_name", "is_staff", "is_active",
               "date_joined"}


@pytest.fixture
def editor():
    return get_user_model().objects.create_user("editor", "editor@example.com", "pw-editor-123",
                                                first_name="Ada", is_staff=True)


def test_creating_a_user_fires_created_without_any_secret(editor):
    event = only("user.created", editor.pk)
    data = event.payload["data"]

    assert set(data) == USER_FIELDS
    assert data["username"] == "editor" and data["email"] == "editor@example.com" and data["first_name"] == "Ada"
    assert data["id"] == editor.pk and data["is_staff"] is True
    assert editor.password.encode() not in bytes(event.body)
    assert b"pw-editor-123" not in bytes(event.body)
    assert b"password" not in bytes(event.body)


def test_changing_the_email_fires_updated_with_the_old_email(editor):
    editor.email = "ada@example.com"
    editor.save()

    assert types(editor.pk) == ["user.created", "user.updated"]
    data = only("user.updated", editor.pk).payload["data"]
    assert data["changes"] == ["email"]
    assert data["previous"] == {"email": "editor@example.com"}
    assert data["email"] == "ada@example.com"


def test_a_password_change_or_a_no_op_save_fires_nothing(editor):
    editor.set_password("pw-changed-456")
    editor.save()
    editor.save()

    assert types(editor.pk) == ["user.created"]


def test_logging_in_through_the_admin_form_fires_nothing(client, editor):
    answer = client.post("/admin/login/", {"username": "editor", "password": "pw-editor-123",
                                           "next": "/admin/"})

    assert answer.status_code == 302, answer.content
    editor.refresh_from_db()
    assert editor.last_login is not None
    assert types(editor.pk) == ["user.created"]


def test_deleting_a_user_fires_deleted_with_the_last_snapshot(editor):
    user_id = editor.pk
    editor.first_name = "Grace"
    editor.save()

    editor.delete()

    assert types(user_id) == ["user.created", "user.updated", "user.deleted"]
    data = only("user.deleted", user_id).payload["data"]
    assert set(data) == USER_FIELDS
    assert data["id"] == user_id and data["first_name"] == "Grace"
