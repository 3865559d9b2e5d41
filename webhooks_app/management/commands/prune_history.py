"""`python manage.py prune_history [--days N]`: delete finished deliveries and events older than the retention."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from webhooks_app import ids
from webhooks_app.models import Delivery, Event
from webhooks_app.signals import history_pruned


class Command(BaseCommand):
    help = ("Deletes finished deliveries (with their attempts) older than WEBHOOK_HISTORY_DAYS (default 30), and "
            "events older than that with no delivery left. Successful history is kept until then. Apps add their "
            "own expired data (media: resumable uploads past UPLOAD_EXPIRY_HOURS).")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Override WEBHOOK_HISTORY_DAYS.")

    def handle(self, *args, days=None, **options):
        days = settings.WEBHOOK_HISTORY_DAYS if days is None else days
        if days < 1:
            raise CommandError("--days must be at least 1.")
        now = timezone.now()
        cutoff = now - timedelta(days=days)
        _, deleted = Delivery.objects.filter(pk__lt=ids.first_id_at("dlv", cutoff)).exclude(
            status=Delivery.Status.PENDING).delete()
        # An old event keeps its pending deliveries and any newer redelivery or replay (deleting it would cascade).
        # An event not fanned out yet has no deliveries only because no worker took it yet: it is kept too.
        _, deleted_events = Event.objects.filter(pk__lt=ids.first_id_at("evt", cutoff), deliveries__isnull=True,
                                                 fanout_pending=False).delete()
        deliveries = deleted.get(Delivery._meta.label, 0)
        events = deleted_events.get(Event._meta.label, 0)
        self.stdout.write(f"Deleted {deliveries} deliveries and {events} events older than {days} days.")
        for _receiver, line in history_pruned.send(sender=self.__class__, now=now):
            if line:
                self.stdout.write(line)
