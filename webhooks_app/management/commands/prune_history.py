"""`python manage.py prune_history [--days N]`: delete finished deliveries and events older than the retention."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from webhooks_app.models import Delivery, Event


class Command(BaseCommand):
    help = ("Deletes finished deliveries (with their attempts) and events without pending deliveries that are "
            "older than WEBHOOK_HISTORY_DAYS (default 30). Successful history is kept until then.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="Override WEBHOOK_HISTORY_DAYS.")

    def handle(self, *args, days=None, **options):
        days = settings.WEBHOOK_HISTORY_DAYS if days is None else days
        if days < 1:
            self.stderr.write("--days must be at least 1.")
            return
        cutoff = timezone.now() - timedelta(days=days)
        deliveries, _ = Delivery.objects.filter(created_at__lt=cutoff).exclude(
            status=Delivery.Status.PENDING).delete()
        old_events = Event.objects.filter(timestamp__lt=cutoff).exclude(deliveries__status=Delivery.Status.PENDING)
        events, _ = old_events.delete()
        self.stdout.write(f"Deleted {deliveries} delivery rows and {events} event rows older than {days} days.")
