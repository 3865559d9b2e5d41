"""One validation path: the same bad and odd inputs, written through the admin's forms and through the API, end
the same way: the same stored value, or an error naming the same field. Runs on whichever backends the suite
runs on (SQLite + ORM broker, PostgreSQL + Redis)."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import reverse

from media_lifecycle.models import ClientWebhook, Video
from media_lifecycle.uploads import receiving
from tests.conftest import finished_upload, token_client
from tests.media.conftest import upload
from webhooks_app.models import Webhook

pytestmark = pytest.mark.django_db


def _deep(levels: int):
    value: Any = "deep"
    for _ in range(levels):
        value = [value]
    return {"a": value}


DEEP = _deep(40)  # deeper than METADATA_MAX_DEPTH (32)


@dataclass
class Case:
    """`api` and `admin` make the two requests' fields (given the user); `stored` reads the written value back."""

    name: str
    resource: str
    api: Callable[[Any], dict]
    admin: Callable[[Any], dict]
    error: str | None = None  # the field both must name
    stored: Callable[[Any], Any] | None = None
    expected: Any = None
    multipart: bool = False
    extra: dict = field(default_factory=dict)


def same(value) -> Callable[[Any], dict]:
    return lambda user: dict(value)


WEBHOOK_API = {"url": "https://hooks.example.com/in", "events": ["video.ready"]}
WEBHOOK_ADMIN = {"url": "https://hooks.example.com/in", "description": "", "events": ["video.ready"], "tags": "",
                 "tag_match": "any", "is_active": "on", "headers": "{}", "secret": ""}
VIDEO_ADMIN = {"title": "Clip", "description": "", "upload": "", "source_url": "", "metadata": "{}"}
CLIENT_API = {"url": "http://lms.example.com/track", "request_field": "student", "response_field": "student_id",
              "rpm": 6}
CLIENT_ADMIN = {**CLIENT_API, "description": "", "is_active": "on"}


def webhook(api: dict, admin: dict) -> tuple[Callable, Callable]:
    return same({**WEBHOOK_API, **api}), same({**WEBHOOK_ADMIN, **admin})


def _last_webhook(user):
    return Webhook.objects.order_by("-created_at").first()


def _with_upload(content: bytes | None, *, finished: bool = True, owner=None, **fields):
    """Fields with a fresh upload of `content` made for this request (an upload is used once)."""

    def make(user, admin: bool):
        if content is None:
            return fields
        by = owner(user) if owner else user
        if finished:
            made = finished_upload(by, content)
        else:
            made = receiving.create(by, length=len(content) + 10, metadata={})
        return {**fields, "upload": made.pk}

    return make


NOT_VIDEO = b"This is a text file, not a film.\n" * 40


def _other_user(user):
    return type(user).objects.get_or_create(username="someone-else")[0]


def video_case(name: str, fields_for, **kwargs) -> Case:
    return Case(name, "video", api=lambda user: {"title": "Clip", **fields_for(user, False)},
                admin=lambda user: {**VIDEO_ADMIN, **fields_for(user, True)}, **kwargs)


def _fields(**fields):
    return lambda user, admin: dict(fields)


CASES = [
    # webhooks: the model's rules, called by the admin's form and by the API's serializer
    Case("events named twice are stored once", "webhook",
         *webhook({"events": ["video.created", "video.created"]}, {"events": ["video.created", "video.created"]}),
         stored=lambda user: _last_webhook(user).events, expected=["video.created"]),
    Case("tags are stripped and stored once", "webhook",
         *webhook({"tags": [" news ", "news", "sport"]}, {"tags": " news , news, sport"}),
         stored=lambda user: _last_webhook(user).tags, expected=["news", "sport"]),
    Case("an unknown event", "webhook", *webhook({"events": ["video.nope"]}, {"events": ["video.nope"]}),
         error="events"),
    Case("* beside other events", "webhook",
         *webhook({"events": ["*", "video.ready"]}, {"events": ["*", "video.ready"]}), error="events"),
    Case("an ftp URL", "webhook", *webhook({"url": "ftp://hooks.example.com/in"}, {"url": "ftp://hooks.example.com/in"}),
         error="url"),
    Case("a URL with credentials", "webhook", *webhook({"url": "https://user:pw@hooks.example.com/"},
                                                       {"url": "https://user:pw@hooks.example.com/"}), error="url"),
    Case("a private URL while the guard is on", "webhook",
         *webhook({"url": "http://127.0.0.1:9/in"}, {"url": "http://127.0.0.1:9/in"}), error="url",
         extra={"WEBHOOK_ALLOW_PRIVATE_TARGETS": False}),
    Case("a secret too short", "webhook", *webhook({"secret": "short"}, {"secret": "short"}), error="secret"),
    Case("a whsec_ secret that is not base64", "webhook",
         *webhook({"secret": "whsec_!!!!not-base64!!!!"}, {"secret": "whsec_!!!!not-base64!!!!"}), error="secret"),
    Case("a chosen secret is kept", "webhook",
         *webhook({"secret": "a-chosen-secret-1234"}, {"secret": "a-chosen-secret-1234"}),
         stored=lambda user: _last_webhook(user).secret, expected="a-chosen-secret-1234"),
    Case("a signing header overridden", "webhook",
         *webhook({"headers": {"Content-Type": "text/plain"}}, {"headers": '{"Content-Type": "text/plain"}'}),
         error="headers"),
    Case("a header value with a line break", "webhook",
         *webhook({"headers": {"X-Team": "a\nb"}}, {"headers": json.dumps({"X-Team": "a\nb"})}), error="headers"),
    Case("a tag longer than 64 characters", "webhook", *webhook({"tags": ["x" * 65]}, {"tags": "x" * 65}),
         error="tags"),
    # videos: sources, content checks, the address guard, metadata
    video_case("a non-video upload", _with_upload(NOT_VIDEO), error="upload"),
    video_case("an unfinished upload", _with_upload(NOT_VIDEO, finished=False), error="upload"),
    video_case("another user's upload", _with_upload(b"", owner=_other_user), error="upload"),
    video_case("an upload and a source URL together",
               lambda user, admin: {**_with_upload(b"x")(user, admin), "source_url": "https://example.com/a.mp4"},
               error="upload"),
    video_case("an ftp source URL", _fields(source_url="ftp://example.com/a.mp4"), error="source_url"),
    video_case("a private source URL while the guard is on", _fields(source_url="http://10.0.0.7/a.mp4"),
               error="source_url", extra={"WEBHOOK_ALLOW_PRIVATE_TARGETS": False}),
    video_case("metadata that is not an object", lambda user, admin: {"metadata": "[1, 2]" if admin else [1, 2]},
               error="metadata"),
    video_case("metadata nested too deeply",
               lambda user, admin: {"metadata": json.dumps(DEEP) if admin else DEEP}, error="metadata"),
    video_case("nested metadata is kept",
               lambda user, admin: {"metadata": '{"k": [1, {"x": null}]}' if admin else {"k": [1, {"x": None}]}},
               stored=lambda user: Video.objects.order_by("-created_at").first().metadata,
               expected={"k": [1, {"x": None}]}),
    video_case("a blank title", lambda user, admin: {"title": ""}, error="title"),
    video_case("a poster that is not an image", lambda user, admin: {"poster": upload("p.png", b"GIF89a not really")},
               error="poster", multipart=True),
    # client-side webhooks: browsers call them, so intranet hosts are fine, other schemes are not
    Case("a javascript: URL", "client", same({**CLIENT_API, "url": "javascript:alert(1)"}),
         same({**CLIENT_ADMIN, "url": "javascript:alert(1)"}), error="url"),
    Case("an intranet URL is kept", "client", same({**CLIENT_API, "url": "http://moodle/track"}),
         same({**CLIENT_ADMIN, "url": "http://moodle/track"}),
         stored=lambda user: ClientWebhook.objects.get().url, expected="http://moodle/track"),
    Case("a field name with a space", "client", same({**CLIENT_API, "request_field": "student id"}),
         same({**CLIENT_ADMIN, "request_field": "student id"}), error="request_field"),
    Case("61 requests per minute", "client", same({**CLIENT_API, "rpm": 61}), same({**CLIENT_ADMIN, "rpm": 61}),
         error="rpm"),
]

ENDPOINTS = {
    "webhook": ("/api/webhooks/", "admin:webhooks_app_webhook_add", Webhook),
    "video": ("/api/videos/", "admin:media_lifecycle_video_add", Video),
    "client": ("/api/client-webhooks/", "admin:media_lifecycle_clientwebhook_add", ClientWebhook),
}


def _through_api(case: Case, user) -> tuple[str, Any]:
    endpoint, _admin, model = ENDPOINTS[case.resource]
    answer = token_client(user).post(endpoint, case.api(user), format="multipart" if case.multipart else "json")
    if answer.status_code in (200, 201):
        return "stored", case.stored(user) if case.stored else None
    assert answer.status_code in (400, 413), (answer.status_code, answer.content)
    return "error", sorted(answer.json())


def _through_admin(case: Case, client, user) -> tuple[str, Any]:
    _endpoint, admin_url, model = ENDPOINTS[case.resource]
    answer = client.post(reverse(admin_url), case.admin(user))
    if answer.status_code == 302:
        return "stored", case.stored(user) if case.stored else None
    assert answer.status_code == 200, answer.status_code
    return "error", sorted(answer.context["adminform"].form.errors)


def _delete_written(resource: str) -> None:
    ENDPOINTS[resource][2].objects.all().delete()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_admin_and_the_api_end_the_same_way(case, admin_client, admin_user, settings):
    for name, value in case.extra.items():
        setattr(settings, name, value)

    by_api = _through_api(case, admin_user)
    _delete_written(case.resource)
    by_admin = _through_admin(case, admin_client, admin_user)

    assert by_api == by_admin
    if case.error:
        assert by_api == ("error", [case.error])
    else:
        assert by_api == ("stored", case.expected)
