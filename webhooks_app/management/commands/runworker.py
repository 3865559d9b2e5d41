"""`python manage.py runworker`: all background work in one process group, stopped by Ctrl-C or SIGTERM."""

import signal
import threading

from django.core.management.base import BaseCommand

from webhooks_app import relay

SENTINEL_EXIT_GRACE_SECONDS = 0.5


class Command(BaseCommand):
    help = ("Runs the task-queue cluster (django-q2) and the delivery relay that sends due retries and takes "
            "over expired leases on time. Run as many as you like, on one machine or many.")

    def add_arguments(self, parser):
        parser.add_argument("--no-cluster", action="store_true",
                            help="Run only the delivery relay, without the django-q2 cluster.")

    def handle(self, *args, **options):
        from django_q.cluster import Cluster

        cluster = None
        if not options["no_cluster"]:
            cluster = Cluster()
            cluster.start()
        stop = threading.Event()

        def request_stop(signum, frame):
            stop.set()

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        self.stdout.write("runworker: task cluster and delivery relay started; Ctrl-C stops them.")
        self.stdout.flush()
        try:
            relay.run_forever(stop)
        finally:
            if cluster is not None:
                stop_cluster(cluster)
        self.stdout.write("runworker: stopped.")


def stop_cluster(cluster) -> None:
    """Stop the django-q2 cluster, unless a SIGTERM sent to the whole process group already ended its sentinel:
    setting the stop event would then wait forever for the dead sentinel to wake (a multiprocessing Condition)."""
    cluster.sentinel.join(SENTINEL_EXIT_GRACE_SECONDS)
    if cluster.sentinel.is_alive():
        cluster.stop()
