"""`python manage.py create_api_token USER`: print the user's API token (created if needed) as the last line."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Prints USER's API token, creating it if needed. Send it as 'Authorization: Bearer <token>'."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}. Create one with `python manage.py createsuperuser`.")
        token, created = Token.objects.get_or_create(user=user)
        self.stdout.write(f"{'Created' if created else 'Existing'} API token for {username}:")
        self.stdout.write(token.key)
