"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server, a clip the
browser can decode, and the folder for screenshots.

Without /usr/bin/chromium these tests are skipped, loudly; with MEDIAHOOKS_REQUIRE_BROWSER=1 (CI) they fail.
"""

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.signals import request_finished, request_started
from django.utils import timezone

from media_lifecycle import states
from media_lifecycle.models import Video
from tests.conftest import ROOT
from tests.player.conftest import LOCAL_CLIENT, throttle_key

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "test-artifacts"
H264 = 'video/mp4; codecs="avc1.42E01E"'


@pytest.fixture(scope="package")
def browser():
    if not CHROMIUM.exists():
        reason = (f"BROWSER TESTS NOT RUN: {CHROMIUM} is missing. Install Debian's Chromium with "
                  "`apt-get update && apt-get install -y chromium` (never `playwright install`).")
        if os.environ.get("MEDIAHOOKS_REQUIRE_BROWSER") == "1":
            pytest.fail(reason + " MEDIAHOOKS_REQUIRE_BROWSER=1 makes this a failure.", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread while it lives, which Django's async-safety check
    # mistakes for async code; the tests' ORM calls are synchronous. Package scope: restored after tests/e2e.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server, transactional_db):
    """A page in its own browser context. It depends on the database so that it closes before the database is
    flushed: a page still playing reports to the live server as it goes, and as it leaves (a keepalive request,
    which the browser sends on after the page is gone, often on a connection it already has), and a request
    writing while the flush truncates deadlocks on PostgreSQL. So the page leaves first, the context closes, and
    the flush waits until the live server has answered everything and nothing has come for a moment."""
    activity = _LiveServerActivity.of(live_server)
    context = browser.new_context(viewport={"width": 1100, "height": 820})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    try:
        page.goto("about:blank")  # the page's own leaving (pagehide and its reports), while the context lives
    finally:
        context.close()
    activity.wait_until_quiet()


class _LiveServerActivity:
    """What the live server (one for the session) is doing: the requests in flight, counted by Django's
    request_started and request_finished (sent by each request's own thread; request_finished after Django has
    closed that thread's database connection), and when it last saw anything: a connection accepted, a request
    started or ended. Its request threads are daemons, which socketserver does not keep, so they cannot be
    joined; and one connection carries many requests, so counting connections alone misses a request that comes
    on a connection already open."""

    QUIET_SECONDS = 0.5

    @classmethod
    def of(cls, live_server) -> "_LiveServerActivity":
        httpd = live_server.thread.httpd
        if not hasattr(httpd, "mediahooks_activity"):
            httpd.mediahooks_activity = cls(httpd)
        return httpd.mediahooks_activity

    def __init__(self, httpd) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.last_seen = time.monotonic()
        self.serving = threading.local()  # set in the live server's request threads (not the test client's)
        accept, serve = httpd.process_request, httpd.process_request_thread

        def process_request(request, client_address):
            self.seen()
            accept(request, client_address)

        def process_request_thread(request, client_address):
            self.serving.live_server = True
            serve(request, client_address)

        httpd.process_request, httpd.process_request_thread = process_request, process_request_thread
        request_started.connect(self.started, weak=False, dispatch_uid="e2e-live-server-request-started")
        request_finished.connect(self.finished, weak=False, dispatch_uid="e2e-live-server-request-finished")

    def seen(self) -> None:
        with self.lock:
            self.last_seen = time.monotonic()

    def started(self, **kwargs) -> None:
        if not getattr(self.serving, "live_server", False):
            return
        with self.lock:
            self.in_flight += 1
            self.last_seen = time.monotonic()

    def finished(self, **kwargs) -> None:
        if not getattr(self.serving, "live_server", False):
            return
        with self.lock:
            self.in_flight = max(0, self.in_flight - 1)
            self.last_seen = time.monotonic()

    def wait_until_quiet(self, timeout: float = 30) -> None:
        """Until no request is in flight and nothing has come for QUIET_SECONDS, counted from now at the earliest
        (a request the browser sent as it closed may not have reached its thread yet)."""
        self.seen()
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                in_flight, quiet_for = self.in_flight, time.monotonic() - self.last_seen
            if not in_flight and quiet_for >= self.QUIET_SECONDS:
                return
            assert time.monotonic() < deadline, (
                f"the live server was still busy {timeout} s after the browser closed ({in_flight} in flight)")
            time.sleep(max(0.01, self.QUIET_SECONDS - quiet_for))


@pytest.fixture
def site(live_server, settings, transactional_db) -> str:
    """The live server's base URL, also used for the absolute media URLs the pages carry."""
    settings.PUBLIC_BASE_URL = live_server.url
    cache.delete(throttle_key(LOCAL_CLIENT))  # the browser's analytics start with a fresh throttle history
    return live_server.url


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="package")
def browser_clip(browser, tmp_path_factory) -> tuple[bytes, str]:
    """An 8-second clip this Chromium decodes: the demo's H.264 MP4 when it can (Debian's build can), else VP8
    WebM made with the same bundled ffmpeg (builds without proprietary codecs)."""
    from media_lifecycle.processor import ffmpeg

    folder = tmp_path_factory.mktemp("browser-clip")
    probe = browser.new_page()
    try:
        h264 = probe.evaluate("type => document.createElement('video').canPlayType(type)", H264)
    finally:
        probe.close()
    if h264:
        path = folder / "clip.mp4"
        ffmpeg.make_test_clip(path, seconds=8, width=320, height=240)
        return path.read_bytes(), "mp4"
    import imageio_ffmpeg

    path = folder / "clip.webm"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi",
                    "-i", "testsrc2=size=320x240:rate=25:duration=8", "-c:v", "libvpx", "-b:v", "300k", str(path)],
                   check=True, timeout=60)
    return path.read_bytes(), "webm"


@pytest.fixture
def playable_video(site, browser_clip) -> Video:
    """A published, ready video whose only rendition is a clip stored (and served) under MEDIA_ROOT."""
    content, fmt = browser_clip
    name = default_storage.save(f"e2e/clip.{fmt}", ContentFile(content))
    poster = default_storage.save("e2e/poster.png", ContentFile(_poster_png()))
    return Video.objects.create(
        title="Colour bars", description="A test pattern, made with ffmpeg for the browser tests.",
        status=states.READY, published=True, published_at=timezone.now(), duration_seconds=8, width=320,
        height=240, thumbnail_url=default_storage.url(poster),
        renditions=[{"quality": "240p", "format": fmt, "url": default_storage.url(name), "size_bytes": len(content)}],
    )


def _poster_png() -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (320, 240), (40, 90, 160)).save(buffer, "PNG")
    return buffer.getvalue()
