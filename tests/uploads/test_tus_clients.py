"""Real tus clients against real servers: tuspy (the Python client) uploads in chunks through pytest-django's
live server, and a 200 MB upload to a gunicorn process (one request, as tus-js-client sends by default) leaves
its worker's memory flat."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from rest_framework.authtoken.models import Token
from tusclient.client import TusClient

from media_lifecycle.models import Upload, Video
from tests.conftest import ROOT, wait_until, worker_env
from tests.project.conftest import free_port
from tests.receiver import Answer

MB = 1024 * 1024
BIG = 200 * MB
RSS_GROWTH_LIMIT = 64 * MB


@pytest.fixture
def token(transactional_db, staff) -> str:
    return Token.objects.create(user=staff).key


def test_tuspy_uploads_in_chunks_and_the_upload_becomes_a_video(live_server, token, clip_path, clip_bytes,
                                                                receiver, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.PROCESSOR_URL = receiver.url  # the new video's processing request goes to a local stand-in
    receiver.always(Answer(status=202))
    auth = {"Authorization": f"Bearer {token}"}
    client = TusClient(f"{live_server.url}/api/uploads/", headers=auth)

    with clip_path.open("rb") as handle:
        uploader = client.uploader(file_stream=handle, chunk_size=16 * 1024,
                                   metadata={"filename": "clip.mp4", "filetype": "video/mp4"})
        uploader.upload()

    upload_id = uploader.url.rstrip("/").rsplit("/", 1)[-1]
    upload = Upload.objects.get(pk=upload_id)
    assert upload.is_complete and upload.offset == len(clip_bytes)
    answer = requests.post(f"{live_server.url}/api/videos/", json={"title": "By tuspy", "upload": upload_id},
                           headers=auth, timeout=30)
    assert answer.status_code == 201, answer.text
    assert Video.objects.get(pk=answer.json()["id"]).file.read() == clip_bytes


def test_tuspy_resumes_a_stored_upload_from_the_offset_the_server_reports(live_server, token, clip_path,
                                                                         clip_bytes):
    auth = {"Authorization": f"Bearer {token}"}
    client = TusClient(f"{live_server.url}/api/uploads/", headers=auth)
    with clip_path.open("rb") as handle:
        first = client.uploader(file_stream=handle, chunk_size=16 * 1024)
        first.upload_chunk()  # one chunk, then the client goes away
    with clip_path.open("rb") as handle:
        again = client.uploader(file_stream=handle, chunk_size=16 * 1024, url=first.url)
        assert again.offset == 16 * 1024  # asked with HEAD
        again.upload()

    assert Upload.objects.get(pk=first.url.rsplit("/", 1)[-1]).offset == len(clip_bytes)


# --- memory: a real web server process ----------------------------------------------------------------


def _status(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for {pid}")


def _worker_of(master: int) -> int:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


@pytest.fixture
def gunicorn(transactional_db, tmp_path):
    """`gunicorn cms.wsgi` with one sync worker, as in production, on a free port of 127.0.0.1."""
    port = free_port()
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "cms.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--timeout", "120"],
        cwd=ROOT, env=worker_env(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", DEBUG="false"), stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return requests.options(f"{base}/api/uploads/", timeout=5).status_code == 204
        except requests.RequestException:  # not listening yet, or its worker still booting
            assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
            return False

    wait_until(answers, timeout=60, interval=0.2)
    yield base, process.pid
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(20)
    log.close()


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc to read a process's RSS")
def test_a_200_mb_upload_in_one_request_keeps_the_web_workers_memory_flat(gunicorn, token, tmp_path):
    base, master = gunicorn
    headers = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    block = os.urandom(MB)
    source = tmp_path / "big.bin"
    with source.open("wb") as handle:
        for _ in range(BIG // MB):
            handle.write(block)

    # Given a warm worker (one small upload done), its peak RSS reset to what it holds now
    small = requests.post(f"{base}/api/uploads/", headers={**headers, "Upload-Length": "3"}, timeout=10)
    requests.patch(small.headers["Location"], data=b"abc", timeout=10, headers={
        **headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    worker = _worker_of(master)
    Path(f"/proc/{worker}/clear_refs").write_text("5")
    before = _status(worker, "VmRSS")

    # When 200 MB arrive in one PATCH
    created = requests.post(f"{base}/api/uploads/", headers={**headers, "Upload-Length": str(BIG)}, timeout=10)
    location = created.headers["Location"]
    with source.open("rb") as body:
        answer = requests.patch(location, data=body, timeout=120, headers={
            **headers, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})

    # Then all of it is stored, and the worker's peak RSS grew by less than 64 MB
    peak = _status(worker, "VmHWM")
    assert answer.status_code == 204, answer.text
    assert answer.headers["Upload-Offset"] == str(BIG)
    assert peak - before < RSS_GROWTH_LIMIT, f"RSS grew by {(peak - before) / MB:.1f} MB"
    print(f"\nweb worker RSS before {before / MB:.1f} MB, peak during a {BIG // MB} MB upload {peak / MB:.1f} MB")
    assert requests.delete(location, headers=headers, timeout=10).status_code == 204
