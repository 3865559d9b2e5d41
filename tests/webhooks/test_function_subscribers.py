"""Function subscribers (code after-hooks) on the `hook` channel: registered in this process, fanned out like
webhooks, run by the real relay in the real hook runner's child processes, with the attempt log, retries, the
timeout and redelivery of any delivery."""

import json
import time
from pathlib import Path

import pytest
from django.core import mail
from django.db import transaction

from tests.conftest import fan_out
from tests.webhooks.conftest import video
from webhooks_app import events, functions, hook_runner, relay
from webhooks_app.models import Delivery

pytestmark = pytest.mark.django_db

CALLS = Path()  # set per test; the children (other processes, forked later) write their calls there


def announce(event: dict) -> None:
    with CALLS.open("a") as out:
        out.write(json.dumps({"hook": "announce", "id": event["id"], "type": event["type"],
                              "tags": event["data"]["tags"], "keys": sorted(event)}) + "\n")


def explode(event: dict) -> None:
    raise ValueError(f"no thumbnail for {event['data']['id']}")


def garble(event: dict) -> None:
    raise ValueError("bytes \x00 and half a pair \ud83d from a hook")


def hang(event: dict) -> None:
    with CALLS.open("a") as out:
        out.write(json.dumps({"hook": "hang", "id": event["id"], "at": time.time()}) + "\n")
    time.sleep(60)


def calls() -> list[dict]:
    return [json.loads(line) for line in CALLS.read_text().splitlines()] if CALLS.exists() else []


@pytest.fixture(autouse=True)
def clean_registry(tmp_path):
    global CALLS
    CALLS = tmp_path / "hook-calls.log"
    yield
    for subscriber in functions.registered():
        if subscriber.name.startswith("tests."):
            functions.unregister(subscriber.name)
    hook_runner.close()  # the children forked for this test's registry


def register(func, **options) -> str:
    name = f"tests.webhooks.test_function_subscribers.{func.__name__}"
    functions.register(name, func, **{"events": ["*"], **options})
    return name


def record(event_type: str = "video.ready", tags=()) -> str:
    with transaction.atomic():
        return events.record(event_type, video(tags), tags=tags).id


def test_a_hook_receives_the_decoded_event_once_and_its_run_is_a_delivery_with_an_attempt():
    name = register(announce, events=["video.ready"])
    event_id = record()
    record("video.created")  # not subscribed
    relay.drain()
    assert calls() == [{"hook": "announce", "id": event_id, "type": "video.ready", "tags": [],
                        "keys": ["data", "id", "timestamp", "type"]}]
    delivery = Delivery.objects.get(channel="hook")
    assert (delivery.hook, delivery.webhook_id, delivery.event_id) == (name, None, event_id)
    assert (delivery.status, delivery.attempt_count, delivery.last_error) == ("succeeded", 1, "")
    attempt = delivery.attempts.get()
    assert attempt.url == f"hook:{name}" and attempt.status_code is None and attempt.success


def test_an_exception_is_a_failed_attempt_with_its_type_message_and_the_end_of_the_traceback(
        settings, admins, django_capture_on_commit_callbacks):
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0]
    name = register(explode)
    event_id = record()
    with django_capture_on_commit_callbacks(execute=True):
        relay.drain()  # the first attempt, then its retry (due at once)
    delivery = Delivery.objects.get(channel="hook")
    assert delivery.status == Delivery.Status.FAILED and delivery.attempt_count == 2
    assert delivery.last_error == "ValueError: no thumbnail for vid_test"
    attempt = delivery.attempts.order_by("number").last()
    assert not attempt.success and attempt.error == delivery.last_error
    assert attempt.response_body.rstrip().endswith("ValueError: no thumbnail for vid_test")
    assert 'in explode' in attempt.response_body and len(attempt.response_body) <= 4096
    # failed for good: the admins hear about it, naming the hook, the event, the delivery and the error
    (notice,) = mail.outbox
    for part in (name, event_id, "video.ready", delivery.id, "ValueError: no thumbnail for vid_test"):
        assert part in notice.body


def test_an_exception_message_no_column_can_hold_is_recorded_with_replacement_characters(settings):
    # A NUL (refused by PostgreSQL's text) or a lone surrogate (no UTF-8 for it) in what a hook raised.
    settings.WEBHOOK_RETRY_SCHEDULE = []
    register(garble)
    record()
    relay.drain()
    delivery = Delivery.objects.get(channel="hook")
    expected = "ValueError: bytes \ufffd and half a pair \ufffd from a hook"
    assert (delivery.status, delivery.attempt_count, delivery.last_error) == ("failed", 1, expected)
    attempt = delivery.attempts.get()
    assert attempt.error == expected and attempt.response_body.rstrip().endswith(expected)


def test_a_hook_that_never_returns_is_stopped_after_hook_timeout_and_retried_while_webhooks_flow(
        settings, receiver, make_webhook):
    settings.HOOK_TIMEOUT = 1.0
    settings.WEBHOOK_RETRY_SCHEDULE = [0.0]
    register(hang)
    make_webhook(receiver.url)
    event_id = record()
    started = time.time()
    relay.drain()
    delivery = Delivery.objects.get(channel="hook")
    assert delivery.status == Delivery.Status.FAILED and delivery.attempt_count == 2  # retried, timed out again
    assert delivery.last_error.startswith("timed out after 1 s")
    assert [c["id"] for c in calls()] == [event_id, event_id]  # each attempt ran, in a fresh process
    (request,) = receiver.requests  # the webhook got the same event meanwhile, not after the hook's timeout
    assert request.header("webhook-id") == event_id and request.at - started < 1.0
    for attempt in delivery.attempts.all():
        assert 1000 <= attempt.duration_ms < 5000


@pytest.mark.parametrize(("condition", "tags", "called"), [
    ({"tags": ["news", "sport"], "tag_match": "any"}, ["sport"], True),
    ({"tags": ["news", "sport"], "tag_match": "any"}, ["music"], False),
    ({"tags": ["news", "sport"], "tag_match": "all"}, ["news"], False),
    ({"tags": ["news", "sport"], "tag_match": "all"}, ["sport", "news", "extra"], True),
    ({}, [], True),
])
def test_a_hook_has_the_tag_conditions_of_a_webhook(condition, tags, called):
    register(announce, **condition)
    record(tags=tags)
    relay.drain()
    assert Delivery.objects.filter(channel="hook").exists() is called
    assert [c["tags"] for c in calls()] == ([tags] if called else [])


def test_test_events_and_internal_messages_never_go_to_hooks(staff_api, make_webhook, receiver):
    register(announce)  # every catalog event
    webhook = make_webhook(receiver.url)
    assert staff_api.post(f"/api/webhooks/{webhook.pk}/test/", {}, format="json").status_code == 200
    with transaction.atomic():
        events.record_message("processing.request", {"jobId": "job_x"}, channel="processing", bare=True)
    fan_out()
    hooked = set(Delivery.objects.filter(channel="hook").values_list("event__type", flat=True))
    assert hooked == {"user.created"}  # the signed-in staff account; not webhook.test nor processing.request


def test_a_delivery_whose_hook_is_no_longer_registered_is_cancelled_saying_so():
    name = register(announce)
    record()
    fan_out()
    functions.unregister(name)
    relay.drain()
    delivery = Delivery.objects.get(channel="hook")
    assert delivery.status == Delivery.Status.CANCELLED
    assert delivery.last_error == f"cancelled: the hook {name} is no longer registered"
    assert calls() == []


def test_a_hook_run_is_listed_by_the_api_and_redelivered_like_any_delivery(staff_api):
    name = register(announce, events=["video.ready"])
    event_id = record()
    relay.drain()
    delivery = Delivery.objects.get(channel="hook")
    listed = staff_api.get("/api/deliveries/", {"channel": "hook"}).json()["results"]
    (item,) = listed
    assert (item["channel"], item["hook"], item["webhook"], item["status"]) == ("hook", name, None, "succeeded")
    detail = staff_api.get(f"/api/deliveries/{delivery.pk}/").json()
    assert [(a["number"], a["url"], a["success"]) for a in detail["attempts"]] == [(1, f"hook:{name}", True)]
    again = staff_api.post(f"/api/deliveries/{delivery.pk}/redeliver/")
    assert again.status_code == 201 and again.json()["hook"] == name
    relay.drain()
    assert [c["id"] for c in calls()] == [event_id, event_id]  # the same event, run again
    assert Delivery.objects.get(pk=again.json()["id"]).status == Delivery.Status.SUCCEEDED


def test_the_delivery_admin_lists_hook_runs_with_their_attempts(admin_client):
    name = register(explode, events=["video.ready"])
    record()
    relay.drain()
    delivery = Delivery.objects.get(channel="hook")
    listing = admin_client.get("/admin/webhooks_app/delivery/", {"channel__exact": "hook"}).content.decode()
    assert delivery.pk in listing and f"hook {name}" in listing
    page = admin_client.get(f"/admin/webhooks_app/delivery/{delivery.pk}/change/").content.decode()
    assert "ValueError: no thumbnail for vid_test" in page and "Traceback" in page


@pytest.mark.parametrize(("name", "func", "options", "message"), [
    ("", announce, {"events": ["*"]}, "non-empty name"),
    ("tests.hooks.not_callable", "announce", {"events": ["*"]}, "tests.hooks.not_callable"),
    ("tests.hooks.unknown", announce, {"events": ["video.exploded"]}, "video.exploded"),
    ("tests.hooks.none", announce, {"events": []}, "tests.hooks.none"),
    ("tests.hooks.tags", announce, {"events": ["*"], "tags": [""]}, "tests.hooks.tags"),
    ("tests.hooks.match", announce, {"events": ["*"], "tag_match": "most"}, "tag_match"),
])
def test_a_bad_registration_is_refused_naming_the_hook(name, func, options, message):
    with pytest.raises(functions.RegistrationError, match=message) as raised:
        functions.register(name, func, **options)
    if name:
        assert name in str(raised.value)
    assert functions.get(name) is None


def test_registering_the_same_name_again_is_a_no_op_with_the_same_function_and_an_error_with_another():
    first = functions.register("tests.hooks.once", announce, events=["*"])
    assert functions.register("tests.hooks.once", announce, events=["*"]) is first
    with pytest.raises(functions.RegistrationError, match="tests.hooks.once"):
        functions.register("tests.hooks.once", explode, events=["*"])
    assert functions.get("tests.hooks.once").func is announce
    assert [s.name for s in functions.registered()].count("tests.hooks.once") == 1


def run_until_announced(worker: relay.Relay, within: float) -> float:
    """Step the relay until the `announce` hook has run (or `within` seconds passed); returns when it ran."""
    started = time.time()
    while time.time() - started < within and not any(c["hook"] == "announce" for c in calls()):
        worker.step()
        worker.kick.wait(0.02)
        worker.kick.clear()
    return time.time()


def test_many_runs_of_a_slow_hook_do_not_take_every_child_from_the_others(settings):
    settings.HOOK_TIMEOUT = 2.0
    settings.WEBHOOK_RETRY_SCHEDULE = []
    register(hang, events=["video.updated"])
    register(announce, events=["video.ready"])
    for _ in range(relay.PER_HOOK + 4):  # more stuck runs than one hook may hold, and than the old pool had
        record("video.updated")
    event_id = record("video.ready")
    worker = relay.Relay()
    started = time.time()
    announced_at = run_until_announced(worker, within=10)
    hung = [c for c in calls() if c["hook"] == "hang"]
    worker.run_until_idle()
    assert any(c["hook"] == "announce" and c["id"] == event_id for c in calls())
    assert announced_at - started < 2.0  # before any stuck run timed out to free its child
    assert len(hung) <= relay.PER_HOOK  # the slow hook had its share of children, no more


def test_a_slow_hook_does_not_hold_back_another_hook(settings):
    settings.HOOK_TIMEOUT = 1.0
    settings.WEBHOOK_RETRY_SCHEDULE = []
    register(hang)
    register(announce)
    event_id = record()
    worker = relay.Relay()
    started = time.time()
    announced_at = run_until_announced(worker, within=5)
    worker.run_until_idle()
    assert any(c["hook"] == "announce" and c["id"] == event_id for c in calls())
    assert announced_at - started < 1.0  # before the slow hook's timeout
    assert Delivery.objects.get(hook__endswith=".hang").last_error.startswith("timed out")


def test_runs_one_after_another_reuse_one_child():
    register(announce)
    runner = hook_runner.HookRunner(size=4)
    try:
        for _ in range(6):
            attempt = runner.submit("tests.webhooks.test_function_subscribers.announce",
                                    json.dumps({"id": "evt_x", "type": "video.ready", "timestamp": "",
                                                "data": {"tags": []}}).encode(), timeout=10).result(timeout=20)
            assert attempt.error == ""
        assert len(runner._children) == 1  # forked as runs need them, not one per slot
    finally:
        runner.close()
