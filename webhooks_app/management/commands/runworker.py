"""`python manage.py runworker`: all background work in one process group, stopped by Ctrl-C or SIGTERM. The
delivery relay starts at once and needs only the database; the task-queue cluster starts beside it as soon as its
broker answers, so a worker started during a Redis outage delivers by polling and picks the broker up later."""

import faulthandler
import logging
import multiprocessing.util
import os
import signal
import sys
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django_q.cluster import Cluster

from webhooks_app import hook_runner, relay, sender, wakeups
from webhooks_app.sender_process import SenderProcess

logger = logging.getLogger("webhooks_app.runworker")

SENTINEL_EXIT_GRACE_SECONDS = 0.5
BROKER_RETRY_SECONDS = 2.0
SWITCH_INTERVAL_SECONDS = 0.001
ORPHAN_CHECK_SECONDS = 0.5


class Command(BaseCommand):
    help = ("Runs the delivery relay (fan-out, deliveries, retries and expired leases, on time) and the task-queue "
            "cluster (django-q2). Run as many as you like, on one machine or many.")

    def add_arguments(self, parser):
        parser.add_argument("--no-cluster", action="store_true",
                            help="Run only the delivery relay, without the django-q2 cluster.")

    def handle(self, *args, **options):
        # SIGUSR1 prints every thread's stack (rundev sends it before it kills a worker that does not stop).
        faulthandler.register(signal.SIGUSR1, all_threads=True)
        # The relay's threads share the GIL: a shorter switch interval lets a finished query resume at once instead
        # of waiting up to 5 ms for a busy thread to yield.
        sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
        # The HTTP event loop gets a process (and a CPU) of its own, forked before any thread starts.
        http = SenderProcess()
        sender.use(http)
        stop = threading.Event()

        def request_stop(signum, frame):
            stop.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        worker = relay.Relay()
        listener = None
        if wakeups.mode() != "poll":
            listener = wakeups.Listener(worker.wake, stop)
            listener.start()
        thread = threading.Thread(target=worker.run_forever, args=(stop, listener), name="delivery-relay")
        thread.start()
        self.stdout.write(f"runworker: delivery relay started (wake-ups: {wakeups.mode()}); Ctrl-C stops it.")
        self.stdout.flush()
        cluster = None
        try:
            if not options["no_cluster"]:
                cluster = self._supervise_cluster(stop, request_stop)
            else:
                stop.wait()
        finally:
            stop.set()
            thread.join()
            hook_runner.close()
            http.close()
            if cluster is not None:
                stop_cluster(cluster)
        self.stdout.write("runworker: stopped.")

    def _supervise_cluster(self, stop: threading.Event, on_signal):
        """Start the django-q2 cluster once its broker answers, and again if it dies; until then the relay works
        alone (it needs only the database)."""
        cluster = None
        waiting_logged = False
        while not stop.is_set():
            if cluster is None or not cluster.sentinel.is_alive():
                if broker_reachable():
                    cluster = WorkerCluster(on_signal)
                    try:
                        cluster.start()
                    except RuntimeError as exc:
                        logger.warning("The task cluster did not start (%s); retrying.", exc)
                        cluster = None
                    else:
                        self.stdout.write("runworker: task cluster started.")
                        self.stdout.flush()
                        waiting_logged = False
                elif not waiting_logged:
                    logger.warning("The task broker is unreachable: the delivery relay works by polling the "
                                   "outbox, and the task cluster starts when the broker is back.")
                    waiting_logged = True
            stop.wait(BROKER_RETRY_SECONDS)
        return cluster


class WorkerCluster(Cluster):
    """django-q2's cluster, whose constructor installs its own SIGINT and SIGTERM handlers: here they stop the
    whole worker (which then stops the cluster). Django-q2's own handler stops the cluster alone, and raised
    AttributeError on a signal that came before the cluster started."""

    def __init__(self, on_signal) -> None:
        self.on_signal = on_signal  # before Cluster.__init__ installs the handlers that call it
        super().__init__()

    def sig_handler(self, signum, frame) -> None:
        self.on_signal(signum, frame)

    def start(self) -> int:
        # The sentinel is forked by start(): it learns there to stop the cluster should the worker die without
        # stopping it (SIGKILL, the OOM killer), instead of going on taking tasks alone.
        multiprocessing.util.register_after_fork(self, WorkerCluster._in_forked_process)
        return super().start()

    @staticmethod
    def _in_forked_process(cluster: "WorkerCluster") -> None:
        """Run in each process multiprocessing forks from now on: in the sentinel, watch the worker."""
        if cluster.sentinel is None or multiprocessing.current_process().name != cluster.sentinel.name:
            return  # the sentinel's own workers, or a process the worker forked for something else
        worker_pid = multiprocessing.parent_process().pid  # recorded before the fork: right even if it died since
        threading.Thread(target=_stop_when_orphaned, args=(worker_pid, cluster.stop_event), daemon=True,
                         name="worker-watch").start()


def _stop_when_orphaned(worker_pid: int, stop_event) -> None:
    """In the sentinel: once the worker that started it is gone, stop the cluster as the worker would have (the
    sentinel's guard loop sees the event, and its workers finish the task in hand)."""
    while os.getppid() == worker_pid:
        time.sleep(ORPHAN_CHECK_SECONDS)
    logger.warning("The worker (pid %d) that started this task cluster is gone; stopping the cluster.", worker_pid)
    stop_event.set()


def broker_reachable() -> bool:
    """The ORM broker is the database (always there for us); Redis must answer a PING."""
    if not settings.REDIS_URL:
        return True
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def stop_cluster(cluster) -> None:
    """Stop the django-q2 cluster, unless a SIGTERM sent to the whole process group already ended its sentinel:
    setting the stop event would then wait forever for the dead sentinel to wake (a multiprocessing Condition)."""
    if cluster.sentinel is None:
        return
    cluster.sentinel.join(SENTINEL_EXIT_GRACE_SECONDS)
    if cluster.sentinel.is_alive():
        cluster.stop()
