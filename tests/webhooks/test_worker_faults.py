"""Faults with real `runworker` processes: a worker killed between an event's commit and its fan-out, a worker
started while its Redis is down, one subscriber that hangs while the others keep flowing, and a database
connection lost while attempts are in flight."""

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, transaction

from tests.conftest import forked_by, running, wait_until
from tests.receiver import Answer, Receiver
from tests.webhooks.conftest import video
from webhooks_app import events, relay
from webhooks_app.management.commands.runworker import WorkerCluster
from webhooks_app.models import Delivery, Event, Webhook

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True)]

STALLED_FANOUT = str(Path(__file__).with_name("stalled_fanout.py"))


def record(event_type: str = "video.ready") -> str:
    with transaction.atomic():
        return events.record(event_type, video()).id


def wait_for_start(worker, timeout: float = 20.0) -> None:
    wait_until(lambda: "delivery relay started" in worker.output(), timeout=timeout)


def test_a_worker_killed_between_commit_and_fan_out_leaves_the_event_to_another_worker_after_its_lease(
        receiver, other_receiver, start_worker, broker_wakeups):
    first = Webhook.objects.create(url=receiver.url, events=["*"])
    second = Webhook.objects.create(url=other_receiver.url, events=["video.ready"])
    lease = {"WEBHOOK_TIMEOUT": "1", "WEBHOOK_LEASE_SECONDS": "3"}
    # Given: a worker that claims the event for fan-out, and is SIGKILLed before writing any delivery
    doomed = start_worker(entry=STALLED_FANOUT, **lease)
    wait_for_start(doomed)
    event_id = record()
    wait_until(lambda: f"fan-out claimed {event_id}" in doomed.output(), timeout=20)
    doomed.kill()
    claimed = Event.objects.get(pk=event_id)
    assert claimed.fanout_pending and claimed.lease_token
    assert not Delivery.objects.filter(event_id=event_id).exists()
    # When: another worker runs
    start_worker(**lease)
    # Then: it fans the event out once its lease ran out, and each webhook gets it exactly once
    (a,) = receiver.wait_for(1, timeout=20)
    (b,) = other_receiver.wait_for(1, timeout=20)
    assert a.header("webhook-id") == b.header("webhook-id") == event_id
    assert min(a.at, b.at) >= claimed.lease_expires_at.timestamp()
    wait_until(lambda: Delivery.objects.filter(event_id=event_id, status="succeeded").count() == 2)
    time.sleep(1.0)
    assert len(receiver.requests) == len(other_receiver.requests) == 1
    assert sorted(Delivery.objects.filter(event_id=event_id).values_list("webhook_id", flat=True)) == sorted(
        [first.pk, second.pk])
    assert not Event.objects.get(pk=event_id).fanout_pending


def test_a_worker_started_while_redis_is_down_delivers_by_polling_and_picks_the_broker_up_when_it_returns(
        receiver, start_worker, redis_port, settings):
    from django_q.brokers.redis_broker import Redis as RedisBroker
    from django_q.models import Task
    from django_q.tasks import async_task

    port, start_redis = redis_port
    url = f"redis://127.0.0.1:{port}/0"  # a Redis of this test's own, so the queue name can stay the same
    name = settings.Q_CLUSTER["name"]
    Webhook.objects.create(url=receiver.url, events=["*"])
    # Given: a worker started while its Redis is down
    worker = start_worker(REDIS_URL=url)
    wait_for_start(worker)
    # Then: it runs, and delivers committed events by polling the outbox
    event_id = record()
    (request,) = receiver.wait_for(1, timeout=20)
    assert request.header("webhook-id") == event_id
    wait_until(lambda: "task broker is unreachable" in worker.output(), timeout=10)
    assert worker.process.poll() is None and "task cluster started" not in worker.output()
    # When: Redis comes back, the worker starts its task cluster, which runs queued tasks
    start_redis()
    wait_until(lambda: "task cluster started" in worker.output(), timeout=30)
    broker = RedisBroker(list_key=name)
    import redis

    broker.connection = redis.Redis.from_url(url)
    task_id = async_task("math.floor", 2.5, broker=broker, sync=False)
    wait_until(lambda: Task.objects.filter(id=task_id, success=True).exists(), timeout=30)
    assert Task.objects.get(id=task_id).result == 2


def test_one_hanging_subscriber_holds_back_neither_new_events_nor_due_retries_of_the_others(
        receiver, start_worker, broker_wakeups):
    hang = threading.Event()
    hung_url = receiver.url.replace("/hook", "/hang")  # the same host and port as the healthy subscriber
    receiver.route("/hang", Answer(200, hang=hang))
    with Receiver() as flaky:
        flaky.answer(Answer(500, b"once"))  # its first attempt fails; the retry is due a second later
        Webhook.objects.create(url=hung_url, events=["video.ready", "video.updated"])
        Webhook.objects.create(url=flaky.url, events=["video.ready"])
        Webhook.objects.create(url=receiver.url, events=["video.updated"])
        try:
            wait_for_start(start_worker(WEBHOOK_TIMEOUT="8", WEBHOOK_LEASE_SECONDS="12",
                                        WEBHOOK_RETRY_SCHEDULE="1", WEBHOOK_RETRY_JITTER="0"))
            stuck = record("video.ready")
            wait_until(lambda: any(r.path == "/hang" for r in receiver.requests), timeout=20)
            healthy = []
            for _ in range(20):  # more hung attempts pile up than one webhook may hold at once
                healthy.append(record("video.updated"))
                time.sleep(0.05)
            wait_until(lambda: len([r for r in receiver.requests if r.path == "/hook"]) == 20, timeout=5)
            retried = flaky.wait_for(2, timeout=5)
            # all of that happened while the hung attempts were still in flight: none of them recorded yet
            held = Delivery.objects.get(event_id=stuck, webhook__url=hung_url)
            assert held.attempt_count == 0 and held.lease_token
            assert [r.header("webhook-id") for r in receiver.requests if r.path == "/hook"] == healthy
            assert retried[1].header("webhook-id") == stuck
        finally:
            hang.set()
    wait_until(lambda: Delivery.objects.get(event_id=stuck, webhook__url=hung_url).attempt_count == 1, timeout=20)


def test_an_attempt_sent_before_the_database_connection_dies_is_recorded_once_it_is_back(receiver, make_webhook,
                                                                                          broker_wakeups):
    hang = threading.Event()
    receiver.answer(Answer(200, hang=hang))
    make_webhook(receiver.url)
    event_id = record()
    worker = relay.Relay()  # this thread's relay, driven turn by turn
    worker.step()  # fan-out, claim, and the attempt goes out
    receiver.wait_for(1)
    connection.connection.close()  # the database connection dies while the attempt is in flight
    hang.set()
    worker.run_until_idle()  # the first write fails; the relay reconnects and records the attempt
    delivery = Delivery.objects.get(event_id=event_id)
    assert (delivery.status, delivery.attempt_count) == ("succeeded", 1), delivery.last_error
    assert [a.status_code for a in delivery.attempts.all()] == [200]
    assert len(receiver.requests) == 1
    assert json.loads(receiver.requests[0].body)["id"] == event_id


def test_the_processes_of_a_worker_killed_alone_end_with_it(start_worker):
    # Given a running worker and the process it forked for sending
    worker = start_worker("--no-cluster")
    wait_for_start(worker)
    forked = wait_until(lambda: forked_by(worker.process.pid))

    # When only the worker's own process is SIGKILLed (as the kernel's OOM killer picks one process)
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait(10)

    # Then none of them lives on without it
    wait_until(lambda: not any(running(pid) for pid in forked), timeout=15)


def test_the_task_cluster_of_a_worker_killed_alone_stops_instead_of_taking_tasks_without_it(start_worker):
    # Given a running worker with its task cluster (a sentinel, which forks the cluster's own processes)
    worker = start_worker()
    wait_until(lambda: "task cluster started" in worker.output(), timeout=30)
    forked = wait_until(lambda: descendants(worker.process.pid) if len(descendants(worker.process.pid)) > 3 else [])

    # When only the worker's own process is SIGKILLed
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait(10)

    # Then the sentinel notices, stops the cluster, and none of its processes lives on
    wait_until(lambda: not any(running(pid) for pid in forked), timeout=30)
    assert "is gone; stopping the cluster" in worker.output()


def descendants(pid: int) -> list[int]:
    children = forked_by(pid)
    return children + [grandchild for child in children for grandchild in descendants(child)]


@pytest.mark.django_db
def test_a_signal_that_comes_while_the_task_cluster_starts_stops_the_worker():
    # Given: the worker's task cluster, built but not started (django-q2's constructor installs signal handlers)
    received = []
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        cluster = WorkerCluster(lambda signum, frame: received.append(signum))
        # When: Ctrl-C and SIGTERM arrive before it started
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGTERM)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    # Then: both went to the worker's own stop, and the cluster was left alone (django-q2's handler raised
    # AttributeError here: it stops a sentinel that does not exist yet)
    assert received == [signal.SIGINT, signal.SIGTERM]
    assert cluster.sentinel is None
