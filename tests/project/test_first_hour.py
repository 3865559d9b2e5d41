"""A new user's first hour, with real `manage.py` processes in a checkout of its own (so its var/ starts empty, as
in a fresh clone): `make run` (DEBUG on) generates var/secret_key, every command of that checkout then works in a
second terminal without DEBUG, and a final delivery failure mails the demo superuser on the console."""

import re
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from media_lifecycle.management.commands.setup_demo import Command as SetupDemo
from tests.conftest import ROOT, wait_until
from tests.project.conftest import free_port, project_env

SOURCES = ("manage.py", "cms", "media_lifecycle", "webhooks_app", "templates")


def fresh_clone(root: Path) -> Path:
    """The project's code in a folder of its own, without var/: what a fresh clone holds."""
    root.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    return root


@pytest.fixture
def checkout(tmp_path) -> Path:
    return fresh_clone(tmp_path / "checkout")


def first_hour_env(**overrides: str | None) -> dict[str, str]:
    """Nothing configured but what the test names: no SECRET_KEY, the default database and media under var/."""
    directory = Path("/nonexistent")  # project_env's own paths are all unset below
    return project_env(directory, SECRET_KEY=None, PROCESSOR_SECRET=None, DATABASE_URL=None, MEDIA_ROOT=None,
                       **overrides)


def manage(root: Path, *args: str, timeout: float = 120, **env: str | None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=root, env=first_hour_env(**env),
                          capture_output=True, text=True, timeout=timeout)


MAKE_RUN = {"DEBUG": "true", "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}  # what `make run` exports


@pytest.fixture(scope="module")
def after_make_run(tmp_path_factory) -> Path:
    """A fresh clone where `make run`'s first commands ran (DEBUG on): migrate, then the demo superuser."""
    root = fresh_clone(tmp_path_factory.mktemp("first-hour") / "checkout")
    migrated = manage(root, "migrate", "--noinput", **MAKE_RUN)
    assert migrated.returncode == 0, migrated.stderr
    made = manage(root, "createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.com",
                  DJANGO_SUPERUSER_PASSWORD="first-hour-pw-123", **MAKE_RUN)
    assert made.returncode == 0, made.stderr
    return root


def test_without_debug_and_without_a_generated_key_startup_stops_naming_secret_key(checkout):
    result = manage(checkout, "check")

    assert result.returncode != 0
    assert result.stderr.startswith("Configuration error: SECRET_KEY must be set"), result.stderr
    assert "Traceback" not in result.stderr
    assert not (checkout / "var" / "secret_key").exists()


def test_make_run_generates_the_key_and_commands_in_a_second_terminal_use_it_without_debug(after_make_run):
    checkout = after_make_run
    # make run: DEBUG on, so migrate (its first command) generated var/secret_key, readable by its owner only.
    key_file = checkout / "var" / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    # A second terminal: no DEBUG, no SECRET_KEY. The commands read the generated key.
    shown = manage(checkout, "shell", "--no-imports", "-c", "from django.conf import settings; "
                                                            "print('KEY=' + settings.SECRET_KEY)")
    assert shown.returncode == 0, shown.stderr
    assert f"KEY={key_file.read_text().strip()}" in shown.stdout.splitlines()

    token = manage(checkout, "create_api_token", "admin")
    assert token.returncode == 0, token.stderr
    assert re.fullmatch(r"[0-9a-f]{40}", token.stdout.strip().splitlines()[-1])

    port = free_port()
    log = checkout / "receiver.log"
    with log.open("wb") as output:
        receiver = subprocess.Popen([sys.executable, "manage.py", "webhook_receiver", "--port", str(port)],
                                    cwd=checkout, env=first_hour_env(), stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: "Listening on" in log.read_text() or receiver.poll() is not None, timeout=30)
            assert receiver.poll() is None, log.read_text()
            assert f"http://127.0.0.1:{port}/" in log.read_text()
        finally:
            receiver.terminate()
            receiver.wait(10)


FINAL_FAILURE = textwrap.dedent("""
    from django.conf import settings
    settings.WEBHOOK_RETRY_SCHEDULE = []  # one attempt, so the first failure is the final one
    from webhooks_app import events, relay
    from webhooks_app.models import Webhook
    Webhook.objects.create(url="http://127.0.0.1:{port}/hook", events=["*"])
    events.record("video.ready", {{"object": "video", "id": "vid_demo", "tags": []}})
    relay.drain()
""")


def test_under_make_run_a_final_failure_mails_the_demo_superuser_on_the_console(after_make_run):
    result = manage(after_make_run, "shell", "--no-imports", "-c", FINAL_FAILURE.format(port=free_port()), **MAKE_RUN)

    assert result.returncode == 0, result.stderr
    assert "Subject: [MediaHooks] Webhook delivery failed: video.ready" in result.stdout, result.stdout
    assert "To: admin@example.com" in result.stdout


def test_outside_development_nobody_is_mailed_unless_admins_says_so(after_make_run):
    result = manage(after_make_run, "shell", "--no-imports", "-c", FINAL_FAILURE.format(port=free_port()))

    assert result.returncode == 0, result.stderr
    assert "Webhook delivery failed" not in result.stdout


@pytest.mark.django_db
def test_the_demo_superuser_has_the_development_admin_address(settings):
    user = SetupDemo()._superuser()

    assert user.email == settings.DEMO_ADMIN_EMAIL
