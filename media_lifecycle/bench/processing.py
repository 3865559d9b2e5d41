"""`make bench`'s processing figures: the built-in processor's HLS ladder (one fragmented-MP4 encode per
rendition, HLS and the MP4 download at once) against the MP4-only renditions it made before, on a 60-second
1080p clip: wall time and real-time factor per rendition. Needs only the bundled ffmpeg, no database.

Reproduce this section alone with `.venv/bin/python -m media_lifecycle.bench.processing [--quick]`.
"""

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from media_lifecycle.processor import ffmpeg, hls

RENDITIONS = [("1080p", 1080), ("720p", 720), ("480p", 480)]  # PROCESSING_RENDITIONS' default
SOURCE = (1920, 1080)
TIMEOUT = 3600
REPRODUCE = "make bench   (this section alone: .venv/bin/python -m media_lifecycle.bench.processing [--quick])"


def make_source(path: Path, seconds: int) -> None:
    """A 1080p25 clip with sound, encoded near-losslessly so every rendition has real detail to compress."""
    width, height = SOURCE
    ffmpeg.run(["-y", "-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate=25:duration={seconds}",
                "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:v", "libx264",
                "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                str(path)], timeout=TIMEOUT)


def _timed(action) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the ffmpeg child) of one encode; CPU time is what a
    busy machine disturbs least."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    action()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(*, quick: bool = False, repeats: int | None = None) -> dict:
    """Encode each rendition both ways, alternating (MP4-only, then the HLS rung) and `repeats` times, so a busy
    neighbour weighs on both alike; keeps each one's fastest run. Returns seconds per rendition."""
    seconds = 10 if quick else 60
    repeats = repeats or (3 if quick else 2)
    with tempfile.TemporaryDirectory(prefix="mediahooks-bench-processing-") as folder:
        work = Path(folder)
        source = work / "source.mp4"
        make_source(source, seconds)
        rows = []
        for quality, height in RENDITIONS:
            plain, rungs, rendition = [], [], None
            for _ in range(repeats):
                plain.append(_timed(lambda q=quality, h=height: ffmpeg.transcode(
                    source, work / f"{q}-plain.mp4", h, timeout=TIMEOUT)))
                made = []
                rungs.append(_timed(lambda q=quality, h=height, into=made: into.append(
                    ffmpeg.hls_rendition(source, work, q, h, timeout=TIMEOUT))))
                rendition = made[0]
            rows.append({"quality": quality, "mp4_s": min(w for w, _ in plain), "hls_s": min(w for w, _ in rungs),
                         "mp4_cpu": min(c for _, c in plain), "hls_cpu": min(c for _, c in rungs),
                         "mp4_bytes": (work / f"{quality}-plain.mp4").stat().st_size,
                         "hls_bytes": rendition.media.stat().st_size,
                         "bandwidth": hls.measured(rendition.master, f"{quality}.m3u8").bandwidth})
    return {"seconds": seconds, "repeats": repeats, "rows": rows}


def report(out: TextIO, *, quick: bool = False) -> dict:
    """Measure and print the table, with the command that reproduces it."""
    result = measure(quick=quick)
    seconds, rows = result["seconds"], result["rows"]
    out.write(f"\nProcessing: the HLS ladder against MP4-only renditions (today's before the ladder), a {seconds} s "
              f"{SOURCE[0]}x{SOURCE[1]}p25 clip, one ffmpeg encode per rendition, best of {result['repeats']}\n")
    out.write(f"   {'rendition':<10}{'MP4 only':>10}{'speed':>8}{'HLS rung':>10}{'speed':>8}{'wall':>8}"
              f"{'CPU':>8}{'MP4 MB':>8}{'fMP4 MB':>9}\n")

    def line(name, mp4, ladder, mp4_cpu, hls_cpu, sizes):
        out.write(f"   {name:<10}{mp4:>9.1f}s{seconds / mp4:>7.2f}x{ladder:>9.1f}s{seconds / ladder:>7.2f}x"
                  f"{ladder / mp4:>7.2f}x{hls_cpu / mp4_cpu:>7.2f}x{sizes}\n")

    for row in rows:
        line(row["quality"], row["mp4_s"], row["hls_s"], row["mp4_cpu"], row["hls_cpu"],
             f"{row['mp4_bytes'] / 1e6:>8.1f}{row['hls_bytes'] / 1e6:>9.1f}")
    line("all", *(sum(row[key] for row in rows) for key in ("mp4_s", "hls_s", "mp4_cpu", "hls_cpu")),
         "   (target: the ladder costs ≤ 1.3x)")
    out.write("   speed = seconds of video per second of wall time (the real-time factor); wall and CPU = the HLS\n"
              "   rung's cost over the MP4-only rendition's (CPU: ffmpeg's user + system seconds)\n")
    out.write(f"   Reproduce: {REPRODUCE}\n")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="A 10 s clip instead of 60 s (a smoke run).")
    report(sys.stdout, quick=parser.parse_args(argv).quick)


if __name__ == "__main__":
    main()
