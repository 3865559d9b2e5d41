"""Searches are limited to what anyone types (cms/search.py): a longer one is a 400 on the API and an error
message in the admin. Each word is one more condition of the query: about 1,000 words used to make SQLite
refuse the query ("Expression tree is too large"), a 500, on the anonymous video list too."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from cms import search
from tests.media.conftest import make_ready, make_video

pytestmark = pytest.mark.django_db

MANY_WORDS = " ".join(f"w{n}" for n in range(1000))


def test_a_search_within_the_limit_finds_what_it_names(staff_api):
    make_video("Election night", description="the count goes on")
    make_video("Cat video")
    words = ["election", "night", "count", *(["goes"] * 30)]  # repeated words count once

    answer = staff_api.get("/api/videos/", {"search": " ".join(words)})

    assert answer.status_code == 200
    assert [video["title"] for video in answer.json()["results"]] == ["Election night"]


@pytest.mark.parametrize("text, message", [
    (" ".join(f"w{n}" for n in range(search.MAX_WORDS + 1)), f"at most {search.MAX_WORDS} words"),
    (MANY_WORDS, f"at most {search.MAX_WORDS} words; this one has 1000"),
    ("x" * (search.MAX_WORD_LENGTH + 1), f"at most {search.MAX_WORD_LENGTH} characters"),
    ("y" * 60_000, f"at most {search.MAX_WORD_LENGTH} characters"),
])
def test_a_search_over_the_limit_gets_400_naming_search(staff_api, api, text, message):
    make_ready(make_video("Public")).publish()

    for client in (staff_api, api):  # the anonymous list too
        answer = client.get("/api/videos/", {"search": text})
        assert answer.status_code == 400
        assert message in answer.json()["search"][0]


def searchable_admins() -> list[str]:
    """Every changelist of the admin site with a search box: the project's, Django's and django-q's."""
    return sorted(f"{model._meta.app_label}_{model._meta.model_name}" for model in apps.get_models()
                  if admin.site.is_registered(model) and admin.site.get_model_admin(model).search_fields)


def test_the_admin_has_search_boxes_of_every_origin():
    assert {"auth_user", "media_lifecycle_video", "webhooks_app_delivery", "django_q_failure"} \
        <= set(searchable_admins())


@pytest.mark.parametrize("model", searchable_admins())
def test_an_admin_search_over_the_limit_shows_an_error_and_finds_nothing(admin_client, model):
    make_video("Election night")

    answer = admin_client.get(reverse(f"admin:{model}_changelist"), {"q": MANY_WORDS})

    assert answer.status_code == 200
    assert f"A search may have at most {search.MAX_WORDS} words" in answer.content.decode()
    assert answer.context["cl"].result_count == 0


def test_an_admin_search_within_the_limit_still_finds(admin_client):
    make_video("Election night")
    make_video("Cat video")

    answer = admin_client.get(reverse("admin:media_lifecycle_video_changelist"), {"q": '"election night"'})

    assert answer.status_code == 200
    assert [video.title for video in answer.context["cl"].result_list] == ["Election night"]
