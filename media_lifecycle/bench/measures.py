"""The engine's measurements for `make bench`, each run in its own process on a throwaway database: the save path,
fan-out, commit-to-receipt latency, throughput against a bare requests loop, and latency beside a hung subscriber."""

import itertools
import json
import statistics
import subprocess
import sys
import time
import urllib.request

import requests
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from media_lifecycle import lifecycle, snapshots
from media_lifecycle.models import Tag, Video
from webhooks_app import events, fanout, relay
from webhooks_app.models import ConditionTag, Delivery, DeliveryAttempt, Event, SubscribedEvent, Webhook


def receiver_stats(url: str) -> dict:
    base = url.rsplit("/", 1)[0]
    with urllib.request.urlopen(f"{base}/stats", timeout=10) as answer:  # noqa: S310 (the local receiver)
        return json.loads(answer.read())


def receiver_reset(url: str) -> None:
    base = url.rsplit("/", 1)[0]
    urllib.request.urlopen(f"{base}/reset", timeout=10).close()  # noqa: S310


BLOCK = 20
SETTLE = 5
_indexes = itertools.count(1)  # every save gets its own: an update with the same values would be a no-op


def _sample_us(action, runs: int, samples: dict[bool, list[float]]) -> None:
    """Add `runs` µs timings with the lifecycle receivers off and as many on to `samples`, taken in alternating
    blocks so that drift (the database file growing, checkpoints, a busy neighbour) weighs on both sides alike.
    Each block starts with SETTLE saves that are not timed: the first saves after switching the receivers run with
    cold caches (the first hooks-on update of a block measured 840 µs against 490 from its fourth on), a cost of
    switching that a process saving with hooks on never pays."""
    taken = 0
    while taken < runs:
        for hooks in (False, True):
            if not hooks:
                lifecycle.disconnect()
            try:
                for _ in range(SETTLE):
                    action(next(_indexes))
                for _ in range(BLOCK):
                    index = next(_indexes)
                    start = time.perf_counter_ns()
                    action(index)
                    samples[hooks].append((time.perf_counter_ns() - start) / 1000)
            finally:
                if not hooks:
                    lifecycle.connect()
        taken += BLOCK


def _queries(action) -> int:
    """The statements of one save, counted after one uncounted save in the same setting, as the timings are."""
    action(next(_indexes))
    with CaptureQueriesContext(connection) as captured:
        action(next(_indexes))
    return len(captured.captured_queries)


def _webhooks(count: int, url: str, *, others: int = 0) -> None:
    """`count` webhooks that all match the measured events, and `others` that match none of them (subscribed to
    user.deleted only)."""
    Webhook.objects.all().delete()
    made = [Webhook(url=url, events=["*"]) for _ in range(count)]
    made += [Webhook(url=url, events=["user.deleted"]) for _ in range(others)]
    for start in range(0, len(made), 2000):
        Webhook.objects.bulk_create(made[start:start + 2000])
    _settled()


def _clear_outbox() -> None:
    DeliveryAttempt.objects.all().delete()
    Delivery.objects.all().delete()
    Event.objects.all().delete()
    _settled()


def _settled() -> None:
    """On PostgreSQL, what the database does soon after a mass insert or delete in production, done before the
    next figures are taken rather than while they are: autovacuum's VACUUM ANALYZE (the figures taken right after a
    set-up that deleted tens of thousands of rows would measure their dead tuples) and a CHECKPOINT (else the
    checkpointer writes the set-up's pages out while the next saves are timed). SQLite is left alone: truncating
    its WAL here was tried, and the hooks-on updates that followed measured 1.77-1.87x the hooks-off ones, against
    1.72-1.76x without it."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in (Webhook, SubscribedEvent, ConditionTag, Event, Delivery, DeliveryAttempt):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        try:
            cursor.execute("CHECKPOINT")
        except DatabaseError as exc:  # a role without the right to: the checkpointer will do it when it does
            print(f"(no CHECKPOINT after the set-up: {exc})", file=sys.stderr)


SAVE_COUNTS = (0, 100, 1000, 10000)
SWEEPS = 16


def savepath(url: str, *, quick: bool = False) -> dict:
    """Median cost of a create and an update (ORM and API), hooks off versus on, at 0 to 10,000 matching webhooks
    (of 10,000). No worker runs: the save records its event, and the fan-out to the webhooks happens later, in a
    worker.

    The counts are swept SWEEPS times, up and down in turn, one block a side each time, and each median pools
    every sweep: drift and the machine's slower spells over the minutes this takes then weigh on every count alike,
    instead of on whichever was measured during them. A warm-up round first runs every operation until the database
    files and caches have grown to their working size."""
    sweep_count = 2 if quick else SWEEPS  # one block a side per count and sweep
    news, _ = Tag.objects.get_or_create(name="news")
    staff = _staff()
    client = APIClient()
    client.force_authenticate(staff)
    video = Video.objects.create(title="bench")
    video.tags.add(news)
    api_video = client.post("/api/videos/", {"title": "bench api", "tags": ["news"]}, format="json").json()["id"]

    operations = {
        "ORM create": lambda i: Video.objects.create(title=f"created {i}"),
        "ORM update": lambda i: _update(video, i),
        "API create (POST)": lambda i: client.post("/api/videos/", {"title": f"api {i}", "tags": ["news"]},
                                                  format="json"),
        "API update (PATCH)": lambda i: client.patch(f"/api/videos/{api_video}/", {"title": f"api {i}"},
                                                    format="json"),
    }
    for action in operations.values():
        _sample_us(action, 2 * BLOCK, {False: [], True: []})  # the warm-up round, not counted
    _clear_outbox()
    samples = {(name, count): {False: [], True: []} for count in SAVE_COUNTS for name in operations}
    queries = {}
    sweeps = [SAVE_COUNTS if sweep % 2 == 0 else SAVE_COUNTS[::-1] for sweep in range(sweep_count)]
    for count in (count for sweep in sweeps for count in sweep):
        # Always 10,000 webhooks, `count` of them matching: every count's set-up writes as much, and the tables are
        # as large, so only the number of subscribers differs between the rows. Where a sweep turns (the same count
        # twice) the set-up runs again all the same, so that every window of every count follows one.
        _webhooks(count, url, others=SAVE_COUNTS[-1] - count)
        for name, action in operations.items():
            _sample_us(action, BLOCK, samples[name, count])
            if (name, count) not in queries:
                lifecycle.disconnect()
                try:
                    queries_off = _queries(action)
                finally:
                    lifecycle.connect()
                queries[name, count] = (queries_off, _queries(action))
        _clear_outbox()
    rows = [{"operation": name, "webhooks": count, "off_us": statistics.median(samples[name, count][False]),
             "on_us": statistics.median(samples[name, count][True]), "queries_off": queries[name, count][0],
             "queries_on": queries[name, count][1]}
            for count in SAVE_COUNTS for name in operations]
    return {"vendor": connection.vendor, "rows": rows}


def _update(video: Video, index: int) -> None:
    video.title = f"updated {index}"
    video.save()


def _staff():
    from django.contrib.auth import get_user_model

    users = get_user_model()
    return users.objects.filter(username="bench").first() or users.objects.create_superuser("bench", "", "bench")


def fanout_time(url: str, *, quick: bool = False) -> dict:
    """Seconds from the commit of one event to its last delivery row, 10,000 matching webhooks, fanned out as an
    idle worker does (claim, match through the subscription index, bulk insert with the first CAPACITY rows
    leased to the worker, end of claim)."""
    count = 2000 if quick else 10000
    _webhooks(count, url)
    _clear_outbox()
    samples = []
    for _ in range(3):
        with transaction.atomic():
            event = events.record("video.updated", {"object": "video", "id": "vid_bench", "tags": ["news"]},
                                  tags=["news"])
        committed = time.perf_counter()
        done = fanout.expand_due(taker=_IdleWorker())
        samples.append(time.perf_counter() - committed)
        assert done == 1 and Delivery.objects.filter(event=event).count() == count
        _clear_outbox()
    return {"vendor": connection.vendor, "webhooks": count, "seconds": samples}


class _IdleWorker:
    """An idle worker's room, as its relay offers it to its own fan-out: CAPACITY deliveries (one event gives each
    webhook one). What is handed over is only kept: this measures the fan-out, not the sending."""

    def __init__(self) -> None:
        self.free = relay.CAPACITY
        self.taken: list = []

    def wants(self, webhook_id: str) -> bool:
        self.free -= 1
        return self.free >= 0

    def take(self, deliveries, lease_deadline) -> None:
        self.taken += deliveries


def _sample_body() -> tuple[str, dict, list[str]]:
    video = Video.objects.create(title="Throughput sample", description="x" * 200, metadata={"series": "bench"})
    video.tags.add(Tag.objects.get_or_create(name="news")[0])
    return "video.updated", snapshots.spec_for(Video).snapshot(video), ["news"]


def _queued(n: int, event_type: str, data: dict, tags: list[str]) -> None:
    """`n` events recorded and fanned out: `n` deliveries waiting in the outbox."""
    for start in range(0, n, 500):
        with transaction.atomic():
            for _ in range(min(500, n - start)):
                events.record(event_type, data, tags=tags)
    while fanout.expand_due(500):
        pass


def _worker(*args: str, **env) -> subprocess.Popen:
    import os

    return subprocess.Popen([sys.executable, "manage.py", "runworker", *args], cwd=settings.BASE_DIR,
                            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_count(url: str, n: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = receiver_stats(url)
        if len(stats["arrivals"]) >= n:
            return stats
        time.sleep(0.2)
    raise RuntimeError(f"only {len(receiver_stats(url)['arrivals'])} of {n} deliveries arrived in {timeout} s")


def throughput(url: str, *, quick: bool = False) -> dict:
    """Deliveries per second for 1 and 2 relay-only worker processes draining `n` queued deliveries, and a bare
    requests.Session loop posting the same body to the same receiver, measured in the same run."""
    n = 2000 if quick else 10000
    event_type, data, tags = _sample_body()
    _webhooks(1, url)
    sample = events.encode_body("evt_sample", event_type, timezone.now(), data)

    rates = {}
    for workers in (1, 2):
        _clear_outbox()
        _queued(n, event_type, data, tags)
        receiver_reset(url)
        processes = [_worker("--no-cluster") for _ in range(workers)]
        try:
            stats = _wait_count(url, n, timeout=600)
        finally:
            _stop(processes)
        times = sorted(stats["arrivals"].values())
        rates[workers] = (n - 1) / (times[-1] - times[0])

    receiver_reset(url)
    session = requests.Session()
    bare_n = n // 4
    start = time.perf_counter()
    for _ in range(bare_n):
        session.post(url, data=sample, headers={"Content-Type": "application/json"}, timeout=10)
    bare = bare_n / (time.perf_counter() - start)
    return {"vendor": connection.vendor, "n": n, "bare_n": bare_n, "body_bytes": len(sample), "bare_per_s": bare,
            "workers": rates}


def _commit_to_receipt(url: str, n: int, event_type: str, data: dict, tags: list[str]) -> list[float]:
    """Record `n` events one by one (20 ms apart); milliseconds from each commit to its arrival."""
    committed = {}
    for _ in range(n):
        marks = []
        with transaction.atomic():
            transaction.on_commit(lambda marks=marks: marks.append(time.time()))
            event = events.record(event_type, data, tags=tags)
        committed[event.id] = marks[0]
        time.sleep(0.02)
    arrivals = _wait_count(url, len(committed), timeout=120)["arrivals"]
    return [(arrivals[eid] - at) * 1000 for eid, at in committed.items()]


def latency(url: str, *, quick: bool = False) -> dict:
    """Commit-to-receipt milliseconds for events committed one at a time, with one full runworker."""
    n = 60 if quick else 300
    event_type, data, tags = _sample_body()
    _webhooks(1, url)
    _clear_outbox()
    receiver_reset(url)
    worker = _worker()
    try:
        _warm_up(url, event_type, data, tags)
        receiver_reset(url)
        values = _commit_to_receipt(url, n, event_type, data, tags)
    finally:
        _stop([worker])
    return {"vendor": connection.vendor, "redis": bool(settings.REDIS_URL), "latencies_ms": values}


def slow_subscriber(url: str, *, quick: bool = False) -> dict:
    """Commit-to-receipt milliseconds at a healthy subscriber, alone and then while another subscriber of the same
    events hangs until WEBHOOK_TIMEOUT on every attempt (and a due retry of its own keeps coming back)."""
    n = 60 if quick else 200
    event_type, data, tags = _sample_body()
    base = url.rsplit("/", 1)[0]
    results = {}
    for case in ("alone", "beside a hung subscriber"):
        _webhooks(1, url)
        if case != "alone":
            Webhook.objects.create(url=f"{base}/hang", events=["*"])
        _clear_outbox()
        receiver_reset(url)
        worker = _worker(WEBHOOK_TIMEOUT="5", WEBHOOK_LEASE_SECONDS="10", WEBHOOK_RETRY_SCHEDULE="0.5,0.5,0.5,0.5")
        try:
            _warm_up(url, event_type, data, tags)
            receiver_reset(url)
            results[case] = _commit_to_receipt(url, n, event_type, data, tags)
        finally:
            _stop([worker])
    return {"vendor": connection.vendor, "latencies_ms": results}


def _warm_up(url: str, event_type: str, data: dict, tags: list[str]) -> None:
    """Wait until the worker delivers one event, so start-up time is not counted."""
    with transaction.atomic():
        events.record(event_type, data, tags=tags)
    _wait_count(url, 1, timeout=60)
