"""`runmediaserver` and `rundev` run for real: the media server (Debian's nginx with libnginx-mod-rtmp) is
configured from the template and listens for RTMP; `rundev` (make run) starts it with the web server and the
worker, and Ctrl-C stops them all."""

import os
import signal
import socket
import subprocess
import sys

import pytest
import requests

from tests.conftest import ROOT, database_url, forked_by, running, wait_until
from tests.mediaserver import installation_or_skip
from tests.project.conftest import free_port, manage, project_env


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    if process.poll() is None:
        os.killpg(process.pid, sig)
    try:
        return process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise


def test_runmediaserver_writes_its_configuration_and_serves_rtmp_until_stopped(tmp_path):
    installation_or_skip()
    port = free_port()
    env = project_env(tmp_path, LIVESTREAM_DIR=str(tmp_path / "live"), RTMP_PORT=str(port),
                      PUBLIC_BASE_URL="http://127.0.0.1:8011")
    server = subprocess.Popen([sys.executable, "manage.py", "runmediaserver"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        wait_until(lambda: listening(port), timeout=15)
        config = (tmp_path / "live" / "nginx" / "nginx.conf").read_text()
        assert f"listen 127.0.0.1:{port};" in config
        assert "on_publish http://127.0.0.1:8011/api/callbacks/ingest/publish/;" in config
        assert "on_publish_done http://127.0.0.1:8011/api/callbacks/ingest/publish-done/;" in config
        assert "on_record_done http://127.0.0.1:8011/api/callbacks/ingest/record-done/;" in config
        assert f"hls_path {tmp_path / 'live' / 'hls'};" in config
        assert f"record_path {tmp_path / 'live' / 'recordings'};" in config
        assert "daemon off;" in config
    finally:
        assert stop(server) == 0
    output = server.stdout.read()
    assert f"RTMP ingest on rtmp://127.0.0.1:{port}/live/<stream key>" in output
    assert not listening(port)


def test_runmediaserver_refuses_an_https_app_url_without_a_traceback(tmp_path):
    installation_or_skip()
    result = manage("runmediaserver", "--app-url", "https://media.example.com",
                    env=project_env(tmp_path, LIVESTREAM_DIR=str(tmp_path / "live")))

    assert result.returncode != 0
    assert "nginx-rtmp calls back over plain HTTP" in result.stderr
    assert "Traceback" not in result.stderr


def start_rundev(tmp_path, name: str, *args: str) -> tuple[subprocess.Popen, object, int, int]:
    """`rundev` on free ports in its own process group, its output in tmp_path/rundev.log; returns the process,
    the open log, and the web and RTMP ports."""
    web_port, rtmp_port = free_port(), free_port()
    env = project_env(tmp_path, DATABASE_URL=database_url(), DEBUG="true", RTMP_PORT=str(rtmp_port),
                      LIVESTREAM_DIR=str(tmp_path / "live"), PUBLIC_BASE_URL=f"http://127.0.0.1:{web_port}",
                      Q_CLUSTER_NAME=f"rundev-{name}-{os.getpid()}")
    log = (tmp_path / "rundev.log").open("w")
    group = subprocess.Popen([sys.executable, "manage.py", "rundev", "--addr", f"127.0.0.1:{web_port}", *args],
                             cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return group, log, web_port, rtmp_port


@pytest.mark.django_db(transaction=True)
def test_rundev_starts_the_web_server_the_worker_and_the_media_server_and_ctrl_c_stops_them(tmp_path):
    installation_or_skip()
    group, log, web_port, rtmp_port = start_rundev(tmp_path, "test")
    try:
        wait_until(lambda: listening(web_port) and listening(rtmp_port), timeout=40)
        assert requests.get(f"http://127.0.0.1:{web_port}/admin/login/", timeout=5).status_code == 200
        wait_until(lambda: "the media server are running" in (tmp_path / "rundev.log").read_text(), timeout=20)
        wait_until(lambda: "task cluster started" in (tmp_path / "rundev.log").read_text(), timeout=30)
    finally:
        try:
            assert stop(group, signal.SIGINT) == 0, (tmp_path / "rundev.log").read_text()
        finally:
            log.close()
            try:
                os.killpg(group.pid, signal.SIGKILL)  # whatever a failed stop left behind in the group
            except ProcessLookupError:
                pass
    assert not listening(web_port) and not listening(rtmp_port)


@pytest.mark.django_db(transaction=True)
def test_rundev_stops_everything_and_names_the_child_that_failed(tmp_path):
    installation_or_skip()
    web_port = free_port()
    env = project_env(tmp_path, DATABASE_URL=database_url(), DEBUG="true", LIVESTREAM_DIR=str(tmp_path / "live"),
                      PUBLIC_BASE_URL=f"http://127.0.0.1:{web_port}", Q_CLUSTER_NAME=f"rundev-fail-{os.getpid()}")
    # Given: another program holds the RTMP port, so the media server cannot start
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env["RTMP_PORT"] = str(taken.getsockname()[1])
        group = subprocess.Popen([sys.executable, "manage.py", "rundev", "--addr", f"127.0.0.1:{web_port}"],
                                 cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 start_new_session=True)
        try:
            output, _ = group.communicate(timeout=90)
        finally:
            try:
                os.killpg(group.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    # Then: rundev stopped the others and says which one failed, with its exit code
    assert group.returncode == 1, output
    assert "rundev: the media server (runmediaserver) exited with code 1." in output
    assert "rundev: the web server" not in output and "rundev: the worker" not in output
    assert not listening(web_port)


@pytest.mark.django_db(transaction=True)
def test_rundev_kills_a_child_that_does_not_stop_in_time_and_names_it(tmp_path):
    installation_or_skip()
    group, log, web_port, rtmp_port = start_rundev(tmp_path, "stuck", "--stop-seconds", "2")
    log_path = tmp_path / "rundev.log"
    try:
        wait_until(lambda: "delivery relay started" in log_path.read_text(), timeout=40)
        wait_until(lambda: listening(rtmp_port), timeout=20)
        # Given: the worker hangs (stopped, so no signal but SIGKILL can end it)
        (worker,) = [pid for pid in forked_by(group.pid) if "runworker" in command_line(pid)]
        os.kill(worker, signal.SIGSTOP)
        # When: Ctrl-C reaches rundev
        os.kill(group.pid, signal.SIGINT)
        # Then: the others stop, the worker is killed after its 2 s, and rundev says so and fails
        assert group.wait(30) == 1, log_path.read_text()
    finally:
        log.close()
        try:
            os.killpg(group.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    output = log_path.read_text()
    assert "rundev: the worker (runworker) did not stop within 2 s and was killed." in output
    assert "rundev: the web server" not in output and "rundev: the media server" not in output
    assert not running(worker) and not listening(web_port) and not listening(rtmp_port)


def command_line(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
        return cmdline.read().replace(b"\0", b" ").decode(errors="replace")
