"""Fixtures for the project-level tests: a clean environment for real `manage.py` subprocesses (free of the
caller's configuration), free ports, and a real `webhook_receiver` process whose printed output tests read."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, wait_until

# Everything cms/settings.py reads, so that a subprocess sees only what a test gives it.
CONFIG_NAMES = {
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DATABASE_URL", "REDIS_URL", "Q_CLUSTER_NAME",
    "WORKER_PROCESSES", "PUBLIC_BASE_URL", "THUMBNAIL_TIMESTAMP", "ANALYTICS_THROTTLE", "ADMINS", "STORAGE",
    "MEDIA_ROOT", "MAX_UPLOAD_BYTES", "UPLOAD_EXPIRY_HOURS", "POSTER_MAX_PIXELS", "NUM_PROXIES", "LOG_LEVEL",
    "DEFAULT_FROM_EMAIL",
    "SERVER_EMAIL",
}
CONFIG_PREFIXES = ("WEBHOOK_", "PROCESSOR_", "PROCESSING_", "EMAIL_", "AWS_", "LIVESTREAM_")


def project_env(directory: Path, **overrides: str | None) -> dict[str, str]:
    """A minimal valid production-like environment (DEBUG off) for `manage.py`; an override of None unsets."""
    env = {key: value for key, value in os.environ.items()
           if key not in CONFIG_NAMES and not key.startswith(CONFIG_PREFIXES)}
    env.pop("PYTHONUNBUFFERED", None)  # output must reach a pipe or a file as it happens, like a user's `| tee`
    env.update({
        "DJANGO_SETTINGS_MODULE": "cms.settings",
        "SECRET_KEY": "project-tests-secret-key-not-secret",
        "PROCESSOR_SECRET": "project-tests-processor-secret",
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "MEDIA_ROOT": str(directory / "media"),
    })
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def manage(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `python manage.py ARGS` from the repository root and capture its output as text."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ReceiverProcess:
    """A real `python manage.py webhook_receiver` process writing to a log file, as a user would run it piped."""

    def __init__(self, log_path: Path, port: int, *args: str, env: dict[str, str]):
        self.port = port
        self.url = f"http://127.0.0.1:{port}/hooks"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "webhook_receiver", "--port", str(port), *args], cwd=ROOT, env=env,
            stdout=self._log, stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 15) -> str:
        """Poll the printed output until it holds `text`; fail early if the process has died."""

        def printed() -> str | None:
            output = self.output()
            if text in output:
                return output
            assert self.process.poll() is None, f"webhook_receiver exited ({self.process.returncode}):\n{output}"
            return None

        return wait_until(printed, timeout=timeout)

    def interrupt(self) -> int:
        """Ctrl-C, as a user stops it; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return self.process.returncode


@pytest.fixture
def start_receiver(tmp_path):
    """Start real webhook_receiver processes on free ports, listening when returned; all stop at the end."""
    started: list[ReceiverProcess] = []

    def start(*args: str) -> ReceiverProcess:
        receiver = ReceiverProcess(tmp_path / f"receiver-{len(started)}.log", free_port(), *args,
                                   env=project_env(tmp_path))
        started.append(receiver)
        receiver.wait_for("Listening on")
        return receiver

    yield start
    for receiver in started:
        receiver.interrupt()
