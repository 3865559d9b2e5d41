"""A real RTMP media server for tests: Debian's nginx with libnginx-mod-rtmp, configured by the app's own
template (media_lifecycle.ingest.mediaserver) on a free port, with its files under a temporary folder; and the
bundled ffmpeg publishing a test pattern to it."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from media_lifecycle.ingest import mediaserver
from media_lifecycle.processor import ffmpeg

REQUIRE = "MEDIAHOOKS_REQUIRE_MEDIASERVER"


def installation_or_skip() -> mediaserver.Installation:
    """nginx-rtmp, or a skip naming the packages to install (a failure where CI requires these tests)."""
    found = mediaserver.installation()
    if found is None:
        reason = (f"LIVE-INGEST TESTS NOT RUN: nginx with its RTMP module is missing. Install Debian's "
                  f"packages with `apt-get update && apt-get install -y {mediaserver.PACKAGES}`.")
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{reason} {REQUIRE}=1 makes this a failure.", pytrace=False)
        pytest.skip(reason)
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the media server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class MediaServer:
    """`with MediaServer(folder, app_url) as server:` runs nginx-rtmp on a free 127.0.0.1 port until the block
    ends; `server.ingest` is the RTMP application URL encoders publish to (+ "/" + key)."""

    def __init__(self, folder: Path, app_url: str, livestream_dir: Path):
        self.installation = installation_or_skip()
        self.port = free_port()
        self.folder = folder
        self.config = mediaserver.write_config(folder, installation=self.installation, app_url=app_url,
                                               port=self.port, address="127.0.0.1", livestream_dir=livestream_dir)
        self.ingest = f"rtmp://127.0.0.1:{self.port}/{mediaserver.APPLICATION}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "MediaServer":
        self.process = subprocess.Popen(mediaserver.command(self.installation, self.config), start_new_session=True,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.process)
        return self

    def log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def publish(url: str, *, seconds: float | None = None, size: str = "320x240") -> subprocess.Popen:
    """The bundled ffmpeg publishing a real-time test pattern with a tone (H.264/AAC in FLV, a keyframe a
    second) to `url`; without `seconds` it runs until stopped."""
    duration = [] if seconds is None else ["-t", str(seconds)]
    return subprocess.Popen(
        [ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
         "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
         *duration, "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def stop_publishing(process: subprocess.Popen) -> None:
    """Stop the encoder as a user would (Ctrl-C): ffmpeg closes the stream cleanly."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
