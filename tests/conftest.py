"""Shared fixtures: API clients with real tokens, real local HTTP receivers, a real ffmpeg clip, and the
environment for starting real `runworker` processes against the test database."""

import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from media_lifecycle.uploads import receiving
from tests.receiver import Receiver

ROOT = Path(__file__).resolve().parent.parent


def pytest_report_header(config):
    database = os.environ.get("DATABASE_URL", "sqlite (default)").split("@")[-1]
    broker = "redis" if os.environ.get("REDIS_URL") else "orm"
    return f"MediaHooks backends: database={database} broker={broker}"


@pytest.fixture(scope="session", autouse=True)
def _empty_test_queue():
    """Leftover wake-ups from an earlier run must not reach this run's workers."""
    if settings.REDIS_URL:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(f"*{settings.Q_CLUSTER['name']}*"):
            client.delete(key)
    yield


@pytest.fixture(scope="session", autouse=True)
def _live_server_media_with_ranges():
    """Django's live server answers MEDIA_URL itself, whole files only; let the app's media view answer instead
    (byte ranges, as under runserver and in production), so players and ffmpeg read HLS byte ranges for real."""
    from django.test import testcases

    from cms.media import serve_media

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(testcases._MediaFilesHandler, "serve",
                      lambda handler, request: serve_media(request, handler.file_path(request.path)))
        yield


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    return client


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-staff-123")


@pytest.fixture
def staff_api(staff) -> APIClient:
    return token_client(staff)


@pytest.fixture
def viewer(django_user_model):
    """Logged in, but without any model permission."""
    return django_user_model.objects.create_user("viewer", "viewer@example.com", "pw-viewer-123")


@pytest.fixture
def viewer_api(viewer) -> APIClient:
    return token_client(viewer)


@pytest.fixture(scope="session")
def clip_path(tmp_path_factory) -> Path:
    """A real two-second 320x240 H.264 MP4 made with the bundled ffmpeg."""
    from media_lifecycle.processor import ffmpeg

    path = tmp_path_factory.mktemp("clips") / "clip.mp4"
    ffmpeg.make_test_clip(path, seconds=2, width=320, height=240)
    return path


@pytest.fixture
def clip_bytes(clip_path) -> bytes:
    return clip_path.read_bytes()


def finished_upload(user, content: bytes, filename: str = "clip.mp4"):
    """A resumable upload of `content` by `user`, written through the upload service in two requests."""
    made = receiving.create(user, length=len(content), metadata={"filename": filename, "filetype": "video/mp4"})
    half = len(content) // 2
    receiving.write(made.pk, user, offset=0, stream=io.BytesIO(content[:half]), length=half)
    return receiving.write(made.pk, user, offset=half, stream=io.BytesIO(content[half:]), length=len(content) - half)


def database_url() -> str:
    """The URL of the test database (not the configured one), for worker subprocesses."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def worker_env(**overrides) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "cms.settings",
           "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "INFO"}
    if settings.REDIS_URL:
        env["REDIS_URL"] = settings.REDIS_URL
    env.update({key: str(value) for key, value in overrides.items()})
    return env


class Worker:
    """A real `python manage.py runworker` process group, stopped (or killed) by the test."""

    def __init__(self, log_path: Path, *args: str, entry: str = "manage.py", **env):
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, entry, "runworker", *args], cwd=ROOT, env=worker_env(**env),
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the whole group, as a crash or an OOM kill would: nothing gets to clean up."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever of its group outlived it (a failed test's)
        except ProcessLookupError:
            pass
        self._log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def start_worker(tmp_path):
    """Start real runworker processes; all are stopped at the end of the test."""
    workers = []

    def start(*args: str, entry: str = "manage.py", **env) -> Worker:
        worker = Worker(tmp_path / f"worker-{len(workers)}.log", *args, entry=entry, **env)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def forked_by(pid: int) -> list[int]:
    """The child processes of `pid`, whichever of its threads forked them (Linux lists them per thread)."""
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                found += [int(child) for child in listing.read().split()]
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return sorted(found)


def running(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie has ended; only its parent has not collected it yet)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(condition, timeout: float = 15.0, interval: float = 0.05):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_port(tmp_path):
    """A free port for a Redis of this test's own (never the shared one); the test starts it when it likes. Until
    then the port stays bound, not listening: connections to it are refused, and no other process on this machine
    (another suite's Redis) can take it meanwhile."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    servers = []

    def start() -> None:
        holder.close()
        servers.append(subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until(lambda: _answers(port), timeout=10)

    yield port, start
    holder.close()
    for server in servers:
        server.terminate()
        server.wait(10)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def fan_out() -> int:
    """Fan every recorded event out, as a worker does after the commit (tests whose transaction never commits)."""
    from webhooks_app import fanout

    total = 0
    while done := fanout.expand_due():
        total += done
    return total


def pytest_unconfigure(config):
    """SQLite leaves the write-ahead log of the dropped test database behind; remove it."""
    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if name and settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        connections.close_all()
        for suffix in ("-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)
