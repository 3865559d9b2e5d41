"""A worker stopped while the built-in processor runs (Ctrl-C under `make run` reaches ffmpeg too) does not fail
the video: an ffmpeg stopped by a signal is told apart from one that failed, and its job is queued again, due a
little later (so the stopping worker does not take it back), a few times at most."""

import contextlib
import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule
from django_q.scheduler import scheduler

from media_lifecycle.models import Video
from media_lifecycle.processor import ffmpeg, tasks


class Interrupter(threading.Thread):
    """Sends SIGINT to the ffmpeg processes this test process starts, the first `times` of them, as a Ctrl-C in
    the worker's terminal would."""

    def __init__(self, times: int, only: bytes = b"") -> None:
        super().__init__(daemon=True)
        self.times = times
        self.only = only  # interrupt only the ffmpeg runs whose command line has this
        self.interrupted: list[int] = []
        self.done = threading.Event()

    def run(self) -> None:
        executable = ffmpeg.executable().encode()
        while not self.done.is_set() and len(self.interrupted) < self.times:
            for pid in _children():
                if pid in self.interrupted or len(self.interrupted) >= self.times:
                    continue
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes()
                    if command.startswith(executable) and self.only in command:
                        os.kill(pid, signal.SIGINT)
                        self.interrupted.append(pid)
                except (FileNotFoundError, ProcessLookupError):
                    pass
            self.done.wait(0.001)

    def __enter__(self) -> "Interrupter":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.join(5)


def _children() -> list[int]:
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if stat.rsplit(")", 1)[1].split()[1] == me:
                found.append(int(entry))
    return found


def test_an_ffmpeg_stopped_by_a_signal_is_interrupted_not_failed():
    with Interrupter(times=1) as interrupter, pytest.raises(ffmpeg.FFmpegInterrupted, match="interrupted"):
        ffmpeg.run(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "60", "-f", "null", "-"], timeout=60)
    assert len(interrupter.interrupted) == 1


def test_a_probe_stopped_by_a_signal_while_it_opens_its_input_is_interrupted_not_failed(tmp_path):
    # Given: a probe whose input is a pipe nobody writes yet, so ffmpeg waits in opening it (its signal handlers
    # are installed by then)
    source = tmp_path / "source"
    os.mkfifo(source)
    outcome: list[BaseException] = []

    def probe() -> None:
        try:
            ffmpeg.probe(source, timeout=30)
        except BaseException as exc:  # noqa: BLE001 - the test reads what it raised
            outcome.append(exc)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    deadline = time.monotonic() + 20
    waiting = []
    while not waiting and time.monotonic() < deadline:
        waiting = [pid for pid in _children() if _waits_for_a_writer(pid)]
        time.sleep(0.01)
    assert waiting, "ffmpeg never waited on its input"
    # When: Ctrl-C reaches it, and then its input opens
    os.kill(waiting[0], signal.SIGINT)
    # (ffmpeg may see the signal as soon as its open() returns and go before reading a byte)
    with contextlib.suppress(BrokenPipeError), source.open("wb", buffering=0) as pipe:
        pipe.write(b"not a video")
    prober.join(20)
    # Then: ffmpeg ends with "Exiting normally, received signal 2." and exit code 0: an interruption, not a source
    # without a video stream (which failed the video)
    (raised,) = outcome
    assert isinstance(raised, ffmpeg.FFmpegInterrupted), raised


def _waits_for_a_writer(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/wchan").read_text() == "wait_for_partner"  # in open() of a FIFO
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_an_ffmpeg_that_fails_on_its_input_is_a_failure_not_an_interruption(tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    with pytest.raises(ffmpeg.FFmpegError) as failure:
        ffmpeg.run(["-i", str(broken), "-f", "null", "-"], timeout=60)
    assert not isinstance(failure.value, ffmpeg.FFmpegInterrupted)
    assert "Invalid data" in str(failure.value)


@pytest.fixture
def builtin(live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    settings.PROCESSOR_URL = None
    return live_server


def upload(staff_api, data: bytes) -> Video:
    answer = staff_api.post("/api/videos/", {"title": "Interrupted", "file": SimpleUploadedFile("clip.mp4", data)},
                            format="multipart")
    assert answer.status_code == 201, answer.json()
    return Video.objects.get(pk=answer.json()["id"])


def run_the_scheduler_later(seconds: float) -> None:
    """What the task cluster's scheduler does `seconds` from now (the queue runs tasks synchronously here)."""
    run_the_scheduler_at(timezone.now() + timedelta(seconds=seconds))


def run_the_scheduler_at(moment) -> None:
    """What the task cluster's scheduler does at `moment`."""
    with time_machine.travel(moment, tick=False):
        scheduler(broker=get_broker())


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_ffmpeg_is_interrupted_is_queued_again_and_the_video_becomes_ready(builtin, staff_api,
                                                                                      clip_bytes):
    started = timezone.now()
    with Interrupter(times=1, only=b"hls") as interrupter:  # the transcode's encode
        video = upload(staff_api, clip_bytes)  # the whole run happens on commit (a synchronous queue)
    assert len(interrupter.interrupted) == 1
    video.refresh_from_db()
    assert video.status == "processing"  # not failed: its job waits to resume
    (resume,) = Schedule.objects.all()
    assert resume.next_run >= started + timedelta(seconds=tasks.RESUME_DELAY_SECONDS)
    run_the_scheduler_at(resume.next_run - timedelta(seconds=1))
    video.refresh_from_db()
    assert video.status == "processing"  # not before its time
    run_the_scheduler_at(resume.next_run + timedelta(seconds=1))
    video.refresh_from_db()
    assert (video.status, video.error_message) == ("ready", "")
    assert not Schedule.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_job_interrupted_again_and_again_fails_saying_so(builtin, staff_api, clip_bytes):
    with Interrupter(times=tasks.MAX_INTERRUPTIONS + 10):
        video = upload(staff_api, clip_bytes)
        for turn in range(1, tasks.MAX_INTERRUPTIONS + 1):
            run_the_scheduler_later(turn * (tasks.RESUME_DELAY_SECONDS + 1))
    video.refresh_from_db()
    assert video.status == "failed"
    assert video.error_message.startswith("ffmpeg was interrupted by a signal")
    assert video.error_message.endswith(f"{tasks.MAX_INTERRUPTIONS + 1} times")
