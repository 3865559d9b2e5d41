"""After-hooks in real `runworker` processes that load them through HOOK_MODULES (SPEC §12): they run after the
commit, once per matching event, never for a rolled-back change; a hook that never returns is stopped after
HOOK_TIMEOUT and retried while webhooks keep flowing; a failing hook's attempts hold the exception and the end of
its traceback, and the admins hear when it fails for good."""

import json
import os
import signal
import time

import pytest
from django.db import transaction

from media_lifecycle.models import Tag, Video
from tests.conftest import forked_by, running, wait_until
from tests.media.conftest import make_ready
from tests.webhooks.conftest import broker_wakeups  # noqa: F401  (a fixture: wake-ups go to the workers)
from webhooks_app.models import Delivery, Event, Webhook

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True)]

MODULE = "tests.hooks.modules.worker_hooks"
ANNOUNCE = f"{MODULE}.announce"
MISBEHAVE = f"{MODULE}.misbehave"


def start(start_worker, receiver, *args, **env):
    """A runworker with the test hook module, posting to `receiver`; returns once its relay runs."""
    worker = start_worker(*args, HOOK_MODULES=MODULE, HOOK_TEST_URL=receiver.url, **env)
    wait_until(lambda: "delivery relay started" in worker.output(), timeout=30)
    return worker


def published_news_video(title: str, tags=("news",)) -> Video:
    video = Video.objects.create(title=title)
    video.tags.set([Tag.objects.get_or_create(name=name)[0] for name in tags])
    video = make_ready(video)
    video.publish()
    return video


def hook_deliveries(name: str, **filters) -> list[Delivery]:
    return list(Delivery.objects.filter(channel="hook", hook=name, **filters).order_by("id"))


def test_an_after_hook_runs_in_the_worker_once_per_matching_event(receiver, start_worker, broker_wakeups):  # noqa: F811
    start(start_worker, receiver)

    news = published_news_video("Election night")
    published_news_video("Cat video", tags=("pets",))  # the tag condition fails: no run

    (post,) = receiver.wait_for(1, timeout=20)
    event = Event.objects.get(type="video.published", object_id=news.pk)
    body = json.loads(post.body)
    assert body["hook"] == "announce" and body["id"] == event.id and body["type"] == "video.published"
    assert body["title"] == "Election night"
    wait_until(lambda: [d.status for d in hook_deliveries(ANNOUNCE)] == ["succeeded"], timeout=20)
    (delivery,) = hook_deliveries(ANNOUNCE)
    assert delivery.event_id == event.id and delivery.webhook_id is None
    assert [(a.number, a.success, a.url) for a in delivery.attempts.all()] == [(1, True, f"hook:{ANNOUNCE}")]


def test_a_rolled_back_change_runs_no_hook(receiver, start_worker, broker_wakeups):  # noqa: F811
    start(start_worker, receiver)

    with pytest.raises(RuntimeError), transaction.atomic():
        published_news_video("Never happened")
        raise RuntimeError("roll it all back")
    published_news_video("Did happen")  # a marker: once its run is in, the rolled-back one would be too

    receiver.wait_for(1, timeout=20)
    wait_until(lambda: [d.status for d in hook_deliveries(ANNOUNCE)] == ["succeeded"], timeout=20)
    assert [json.loads(r.body)["title"] for r in receiver.requests] == ["Did happen"]
    assert not Video.objects.filter(title="Never happened").exists()


def test_a_hook_that_never_returns_is_timed_out_and_retried_while_webhooks_keep_flowing(
        receiver, start_worker, broker_wakeups):  # noqa: F811
    Webhook.objects.create(url=receiver.url, events=["video.updated"])
    start(start_worker, receiver, HOOK_TIMEOUT="2", WEBHOOK_RETRY_SCHEDULE="1,1", WEBHOOK_RETRY_JITTER="0")
    video = Video.objects.create(title="Calm")

    video.title = "Please hang"
    video.save()
    hung_at = time.time()

    (webhook_post,) = receiver.wait_for(1, timeout=20)
    assert webhook_post.header("webhook-id") == Event.objects.get(type="video.updated", object_id=video.pk).id
    assert webhook_post.at - hung_at < 2  # the webhook did not wait for the stuck hook
    wait_until(lambda: [d.status for d in hook_deliveries(MISBEHAVE)] == ["failed"], timeout=40)
    (delivery,) = hook_deliveries(MISBEHAVE)
    attempts = list(delivery.attempts.order_by("number"))
    assert [a.number for a in attempts] == [1, 2, 3]
    assert all("timed out after 2 s" in a.error and not a.success for a in attempts)
    assert all(1.9 <= a.duration_ms / 1000 < 10 for a in attempts)
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in zip(attempts, attempts[1:], strict=False)]
    assert all(gap >= 2 + 1 for gap in gaps), gaps  # the timeout, then the scheduled delay

    video.title = "Calm again"  # the runner replaced its stuck child: later runs still work
    video.save()
    wait_until(lambda: len(hook_deliveries(MISBEHAVE, status="succeeded")) == 1, timeout=20)


def test_a_failing_hook_keeps_its_error_and_traceback_and_tells_the_admins(
        receiver, start_worker, broker_wakeups):  # noqa: F811
    worker = start(start_worker, receiver, WEBHOOK_RETRY_SCHEDULE="1", WEBHOOK_RETRY_JITTER="0",
                   ADMINS="ops@example.com")
    video = Video.objects.create(title="Calm")

    video.title = "Big boom"
    video.save()

    wait_until(lambda: [d.status for d in hook_deliveries(MISBEHAVE)] == ["failed"], timeout=30)
    (delivery,) = hook_deliveries(MISBEHAVE)
    attempts = list(delivery.attempts.order_by("number"))
    assert len(attempts) == 2
    for attempt in attempts:
        assert attempt.error == f"RuntimeError: boom on {video.pk}"
        assert "worker_hooks.py" in attempt.response_body  # the end of the traceback, down to the raise
        assert "raise RuntimeError(f\"boom on {event.data['id']}\")" in attempt.response_body
    assert delivery.last_error == f"RuntimeError: boom on {video.pk}"
    wait_until(lambda: MISBEHAVE in worker.output() and "ops@example.com" in worker.output(), timeout=10)


def test_the_hook_runners_children_end_with_a_worker_killed_alone(receiver, start_worker, broker_wakeups):  # noqa: F811
    # Given a worker whose hook runner has run a hook (so it has forked a child for hooks, besides its sender)
    worker = start(start_worker, receiver, "--no-cluster")
    published_news_video("Election night")
    receiver.wait_for(1, timeout=20)
    forked = wait_until(lambda: len(forked_by(worker.process.pid)) >= 2 and forked_by(worker.process.pid))

    # When only the worker's own process is SIGKILLed
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait(10)

    # Then none of its children lives on: each held a copy of the others' pipes, which kept them open
    wait_until(lambda: not any(running(pid) for pid in forked), timeout=15)
