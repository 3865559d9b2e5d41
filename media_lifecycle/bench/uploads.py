"""`make bench`'s upload figure: a large resumable upload sent in one PATCH to a real gunicorn worker, with the
worker's resident memory before and at its peak (Linux /proc), and the rate the bytes were stored at."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _status_bytes(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/{pid}/status has no {field}")


def _token() -> str:
    users = get_user_model()
    user = users.objects.filter(username="bench-uploader").first() or users.objects.create_superuser(
        "bench-uploader", "bench@example.com", None)
    return Token.objects.get_or_create(user=user)[0].key


def uploads(_receiver: str, *, quick: bool = False) -> dict:
    """Upload `size` MB in one PATCH; the worker's RSS before, its peak during, and MB/s stored."""
    size = (50 if quick else 200) * MB
    if not Path("/proc/self/clear_refs").exists():
        return {"skipped": "needs Linux /proc to read a process's memory"}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "cms.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--timeout", "300"],
        cwd=settings.BASE_DIR, env={**os.environ, "PUBLIC_BASE_URL": base}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    headers = {"Authorization": f"Bearer {_token()}", "Tus-Resumable": "1.0.0"}
    chunk = {"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.options(f"{base}/api/uploads/", timeout=5).status_code == 204:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
        warm = requests.post(f"{base}/api/uploads/", headers={**headers, "Upload-Length": "3"}, timeout=10)
        requests.patch(warm.headers["Location"], data=b"abc", headers={**headers, **chunk}, timeout=10)
        worker = int(Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()[0])
        Path(f"/proc/{worker}/clear_refs").write_text("5")  # the peak (VmHWM) starts from what it holds now
        before = _status_bytes(worker, "VmRSS")
        with tempfile.TemporaryFile() as source:
            block = os.urandom(MB)
            for _ in range(size // MB):
                source.write(block)
            source.seek(0)
            created = requests.post(f"{base}/api/uploads/", headers={**headers, "Upload-Length": str(size)},
                                    timeout=10)
            started = time.perf_counter()
            answer = requests.patch(created.headers["Location"], data=source, headers={**headers, **chunk},
                                    timeout=300)
            elapsed = time.perf_counter() - started
        peak = _status_bytes(worker, "VmHWM")
        if answer.status_code != 204 or int(answer.headers["Upload-Offset"]) != size:
            raise RuntimeError(f"the upload failed: {answer.status_code} {answer.text}")
        requests.delete(created.headers["Location"], headers=headers, timeout=30)
        return {"mb": size // MB, "rss_before_mb": before / MB, "rss_peak_mb": peak / MB,
                "mb_per_s": size / MB / elapsed}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
