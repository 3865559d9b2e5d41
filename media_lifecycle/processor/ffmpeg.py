"""ffmpeg, as shipped in the imageio-ffmpeg wheel: probe, encode HLS renditions (and plain H.264 MP4), grab a
JPEG thumbnail."""

import re
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg

DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
VIDEO_STREAM = re.compile(r"Stream #\S+.*?: Video: .*?(\d{2,5})x(\d{2,5})")
ERROR_LINES = 4
COMPONENT = re.compile(r"^(?:\[[^\]]* @ 0x[0-9a-fA-F]+\]\s*)+")  # "[h264 @ 0x55d…] ", ffmpeg's log prefix
BANNER = ("ffmpeg version", "built with", "configuration:", "lib", "Input #", "Metadata:", "Stream #")
TRAILERS = ("Task finished with error code", "Terminating thread with return code", "Conversion failed!",
            "At least one output file must be specified")


class FFmpegError(RuntimeError):
    """ffmpeg failed or timed out; the message carries ffmpeg's own reason."""


class FFmpegInterrupted(FFmpegError):
    """ffmpeg was stopped by a signal (Ctrl-C in the worker's terminal, a stop of the worker): not the source's
    fault, so the job is worth doing again."""


# ffmpeg exits with 255 after it caught SIGINT, SIGTERM or SIGQUIT; a signal it did not catch shows as -signal.
INTERRUPTED_EXIT = 255
INTERRUPTING_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGQUIT, signal.SIGHUP}
RECEIVED_SIGNAL = re.compile(r"Exiting normally, received signal (\d+)\.")


@dataclass(frozen=True)
class Probe:
    duration: float
    width: int
    height: int


def executable() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def _reason(stderr: str) -> str:
    """ffmpeg's last distinct messages, without log prefixes, banners and generic trailers (the real cause)."""
    lines = [COMPONENT.sub("", line.strip()) for line in stderr.splitlines() if line.strip()]
    useful = [line for line in dict.fromkeys(lines) if line and not line.startswith(BANNER + TRAILERS)]
    return " | ".join((useful or lines or ["ffmpeg gave no reason"])[-ERROR_LINES:])


def _check_interrupted(returncode: int, stderr: str) -> None:
    """Raise FFmpegInterrupted if a signal stopped ffmpeg: by its exit code, or by its own last words (a signal
    caught while it opened its input ends it with "Exiting normally, received signal 2." and exit code 0)."""
    caught = RECEIVED_SIGNAL.search(stderr)
    if returncode == INTERRUPTED_EXIT or -returncode in INTERRUPTING_SIGNALS or (
            caught and int(caught.group(1)) in INTERRUPTING_SIGNALS):
        raise FFmpegInterrupted(f"ffmpeg was interrupted by a signal (exit code {returncode})")


def run(args: list[str], *, timeout: float) -> str:
    """Run ffmpeg; returns stderr, or raises FFmpegError with ffmpeg's reason."""
    command = [executable(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]  # stderr: errors only
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise FFmpegError(f"ffmpeg timed out after {timeout:g} s") from None
    stderr = done.stderr.decode("utf-8", errors="replace")
    _check_interrupted(done.returncode, stderr)
    if done.returncode != 0:
        raise FFmpegError(f"ffmpeg failed: {_reason(stderr)}")
    return stderr


def probe(path: Path, *, timeout: float) -> Probe:
    """Duration and frame size, read from ffmpeg's description of the input."""
    command = [executable(), "-hide_banner", "-nostdin", "-i", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise FFmpegError(f"ffmpeg timed out after {timeout:g} s while probing") from None
    stderr = done.stderr.decode("utf-8", errors="replace")  # `-i` alone always "fails": no output file
    _check_interrupted(done.returncode, stderr)
    size = VIDEO_STREAM.search(stderr)
    duration = DURATION.search(stderr)
    if size is None:
        raise FFmpegError(f"ffmpeg found no video stream: {_reason(stderr)}")
    seconds = 0.0
    if duration:
        hours, minutes, secs = duration.groups()
        seconds = int(hours) * 3600 + int(minutes) * 60 + float(secs)
    return Probe(duration=seconds, width=int(size.group(1)), height=int(size.group(2)))


def transcode(source: Path, target: Path, height: int, *, timeout: float) -> None:
    """H.264/AAC MP4 at `height` lines (width kept in proportion and even), ready for progressive playback: the
    renditions as they were before the HLS ladder, kept as the baseline `make bench` compares the ladder with."""
    run(["-y", "-i", str(source), "-vf", f"scale=-2:{height}", "-c:v", "libx264", "-preset", "veryfast",
         "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart",
         str(target)], timeout=timeout)


KEYFRAME_SECONDS = 2  # a keyframe every 2 s of media time, whatever the frame rate: aligned across renditions
SEGMENT_SECONDS = 4  # each HLS segment is two keyframe intervals (SPEC: at most 6 s)


@dataclass(frozen=True)
class HlsRendition:
    media: Path  # the fragmented MP4: one file, also a progressive download
    playlist: Path  # its media playlist, addressing segments by byte range
    master: Path  # a one-variant master playlist: ffmpeg's BANDWIDTH, RESOLUTION and CODECS for it


def hls_rendition(source: Path, directory: Path, name: str, height: int, *, timeout: float) -> HlsRendition:
    """One H.264/AAC encode at `height` lines into a single fragmented MP4 plus its byte-range HLS playlist.

    Keyframes are forced on a fixed clock (no scene-cut keyframes), so every rendition cuts its segments at the
    same instants and a player can switch between them at any segment boundary. One file serves both HLS and
    the rendition's MP4 download, so the ladder costs one encode per rendition, as plain MP4 renditions did.
    """
    rendition = HlsRendition(directory / f"{name}.mp4", directory / f"{name}.m3u8", directory / f"{name}-master.m3u8")
    run(["-y", "-i", str(source), "-map", "0:v:0", "-map", "0:a:0?", "-vf", f"scale=-2:{height}",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p",
         "-force_key_frames", f"expr:gte(t,n_forced*{KEYFRAME_SECONDS})", "-sc_threshold", "0",
         "-c:a", "aac", "-b:a", "128k", "-ac", "2",
         "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
         "-hls_segment_type", "fmp4", "-hls_flags", "single_file+independent_segments",
         "-hls_segment_filename", str(rendition.media), "-master_pl_name", rendition.master.name,
         str(rendition.playlist)], timeout=timeout)
    return rendition


def thumbnail(source: Path, target: Path, at_seconds: float, *, timeout: float) -> None:
    """One JPEG frame at `at_seconds`."""
    run(["-y", "-ss", f"{at_seconds:.3f}", "-i", str(source), "-frames:v", "1", "-q:v", "3", str(target)],
        timeout=timeout)


def make_test_clip(target: Path, *, seconds: float = 2, width: int = 640, height: int = 360,
                   timeout: float = 60) -> None:
    """A real short H.264 clip (colour bars and a tone), for the demo data and the tests."""
    run(["-y", "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:v", "libx264", "-preset", "veryfast",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(target)],
        timeout=timeout)
