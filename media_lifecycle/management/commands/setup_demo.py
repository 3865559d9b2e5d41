"""`python manage.py setup_demo`: the demo superuser (password and API token printed) and a little demo data,
including a real short video made with ffmpeg. Safe to run again: it creates only what is missing."""

import secrets
import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from media_lifecycle.models import Livestream, Playlist, PlaylistItem, Tag, Video
from media_lifecycle.processor import ffmpeg
from media_lifecycle.unit_of_work import unit_of_work

DEMO_USER = "admin"
PASSWORD_FILE = "demo_password"


class Command(BaseCommand):
    help = "Creates the demo superuser and demo media if missing, and prints the login and API token."

    def handle(self, *args, **options):
        user = self._superuser()
        token, _ = Token.objects.get_or_create(user=user)
        if not Video.objects.exists():
            with unit_of_work():  # one created event per object, tags and members included
                self._demo_media(user)
        base = settings.PUBLIC_BASE_URL
        self.stdout.write(self.style.SUCCESS("MediaHooks is ready:"))
        self.stdout.write(f"  admin      {base}/admin/   (user {user.username}, password {self._password_hint(user)})")
        self.stdout.write(f"  API        {base}/api/     (Authorization: Bearer {token.key})")
        self.stdout.write(f"  API docs   {base}/api/docs/")
        demo = Video.objects.order_by("created_at").first()
        if demo is not None:
            self.stdout.write(f"  player     {base}/player/{demo.pk}/   (once the demo video is ready)")

    def _superuser(self):
        users = get_user_model()
        existing = users.objects.filter(is_superuser=True).order_by("pk").first()
        if existing is not None:
            return existing
        password = secrets.token_urlsafe(12)
        user = users.objects.create_superuser(DEMO_USER, settings.DEMO_ADMIN_EMAIL, password)
        path = Path(settings.VAR_DIR) / PASSWORD_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(password + "\n")
        path.chmod(0o600)
        return user

    def _password_hint(self, user) -> str:
        path = Path(settings.VAR_DIR) / PASSWORD_FILE
        if path.exists():
            password = path.read_text().strip()
            if user.check_password(password):
                return password
        return "(as you set it; `python manage.py changepassword` resets it)"

    def _demo_media(self, user) -> None:
        news, _ = Tag.objects.get_or_create(name="news")
        demo, _ = Tag.objects.get_or_create(name="demo")
        with tempfile.TemporaryDirectory() as tmp:
            clip = Path(tmp) / "demo.mp4"
            ffmpeg.make_test_clip(clip, seconds=4, width=1280, height=720)
            video = Video(title="Demo clip", description="Four seconds of colour bars and a tone, made with ffmpeg.",
                          auto_publish=True, created_by=user, mime_type="video/mp4", format="mp4",
                          size_bytes=clip.stat().st_size)
            with clip.open("rb") as handle:
                video.file.save("demo.mp4", File(handle), save=False)
                video.save()
        video.tags.set([news, demo])
        playlist = Playlist.objects.create(title="Demo playlist", description="Everything in the demo.")
        playlist.tags.set([demo])
        PlaylistItem.objects.create(playlist=playlist, video=video, position=0)
        stream = Livestream.objects.create(title="Demo livestream", description="Start and end it from the admin.")
        stream.tags.set([news])
        self.stdout.write(f"Created demo media: video {video.pk}, playlist {playlist.pk}, livestream {stream.pk}.")
