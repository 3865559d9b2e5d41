"""A short, seeded schemathesis run against a real server process of the app (gunicorn, on a free port, on the
test database): every operation of /api/schema/, with a staff token, and no answer may be a 5xx. The full run
(`st run …/api/schema/ --checks all`) is described in the README; this one keeps the suite honest in about
half a minute."""

import subprocess
import sys
from pathlib import Path

import pytest
import requests
from rest_framework.authtoken.models import Token

from tests.conftest import ROOT, wait_until, worker_env
from tests.project.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)

SEED = 20261206
BIN = Path(sys.executable).parent
# "Send test event" posts to the webhook's URL at once, and the fuzzer makes up the URLs: leave it out here, so
# the suite never calls a host it does not own (the full run in a network namespace covers it).
EXCLUDED = r"^/api/webhooks/\{id\}/test/$"


@pytest.fixture
def server(tmp_path, django_user_model):
    """gunicorn serving the app on the test database, with the ORM broker and no worker: nothing is sent."""
    port = free_port()
    env = worker_env(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
                     DEBUG="false", LOG_LEVEL="WARNING")
    env.pop("REDIS_URL", None)  # wake-ups would be left in the shared Redis for other tests' workers
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen([str(BIN / "gunicorn"), "cms.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                                "--timeout", "60"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def up() -> bool:
        assert process.poll() is None, (tmp_path / "server.log").read_text()
        try:
            return requests.get(f"http://127.0.0.1:{port}/api/", timeout=5).status_code in (200, 401)
        except requests.RequestException:  # not listening yet, or its workers still booting
            return False

    try:
        wait_until(up, timeout=30, interval=0.1)
        yield f"http://127.0.0.1:{port}", tmp_path / "server.log"
    finally:
        process.terminate()
        process.wait(20)
        log.close()


@pytest.mark.timeout(420)  # about 30 s alone; the margin is for a machine busy with other suites
def test_no_operation_of_the_api_answers_with_a_server_error(server, django_user_model, tmp_path):
    base, server_log = server
    staff = django_user_model.objects.create_superuser("fuzzer", "fuzzer@example.com", "fuzzer-pw-123456")
    token = Token.objects.create(user=staff)

    result = subprocess.run(
        [str(BIN / "st"), "run", f"{base}/api/schema/", "--checks", "not_a_server_error",
         "--header", f"Authorization: Bearer {token.key}", "--seed", str(SEED), "--max-examples", "3",
         "--workers", "1", "--exclude-path-regex", EXCLUDED, "--request-timeout", "20",
         "--report", "junit", "--report-dir", str(tmp_path / "report")],
        cwd=tmp_path, capture_output=True, text=True, timeout=240,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:] + "\n--- server log ---\n" + server_log.read_text()[-4000:]
    assert "Tested: " in output
    assert "Traceback" not in server_log.read_text()
