"""`python manage.py runmediaserver`: the RTMP media server (nginx + libnginx-mod-rtmp) in the foreground,
configured under var/live/nginx/ from media_lifecycle/ingest/nginx.conf (make run starts it)."""

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from media_lifecycle.ingest import mediaserver


class Command(BaseCommand):
    help = "Writes var/live/nginx/nginx.conf and runs nginx-rtmp in the foreground; Ctrl-C stops it."

    def add_arguments(self, parser):
        parser.add_argument("--app-url", default=settings.PUBLIC_BASE_URL,
                            help="The app's http:// address for the media server's callbacks "
                                 "(default: PUBLIC_BASE_URL).")
        parser.add_argument("--port", type=int, default=settings.RTMP_PORT, help="RTMP port (default: RTMP_PORT).")
        parser.add_argument("--address", default=None,
                            help="Address to listen on (default: PUBLIC_BASE_URL's, or all interfaces).")
        parser.add_argument("--run-dir", default=str(settings.LIVESTREAM_DIR / "nginx"),
                            help="Where the configuration, pid file and logs go (default: LIVESTREAM_DIR/nginx, "
                                 "var/live/nginx unless set).")

    def handle(self, *args, app_url: str, port: int, address: str | None, run_dir: str, **options):
        found = mediaserver.installation()
        if found is None:
            raise CommandError(mediaserver.MISSING)
        try:
            config = mediaserver.write_config(Path(run_dir), installation=found, app_url=app_url, port=port,
                                              address=address)
        except mediaserver.MediaServerError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"RTMP ingest on rtmp://{address or mediaserver.default_address()}:{port}/"
                          f"{mediaserver.APPLICATION}/<stream key>; live HLS in {settings.LIVESTREAM_DIR / 'hls'} "
                          f"(config: {config})")
        self.stdout.flush()
        argv = mediaserver.command(found, config)
        os.execv(argv[0], argv)  # nginx itself takes the signals: Ctrl-C and SIGTERM stop it at once
