"""The README's commands do what it says: the one-line `clip.mp4` recipe makes a real video with the bundled
ffmpeg, and the `source_url` example points at that clip served locally, never at a URL that cannot work."""

import re
import subprocess
import sys

from django.core.files import File

from media_lifecycle import uploads
from media_lifecycle.processor import ffmpeg
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def clip_command() -> str:
    """The shell block right after the `<!-- clip-command -->` marker."""
    found = re.search(r"<!-- clip-command -->\n```sh\n(.+?)\n```", README, re.S)
    assert found, "the README lost its clip.mp4 recipe"
    return found.group(1)


def test_the_clip_recipe_makes_a_real_four_second_video(tmp_path):
    command = clip_command()
    assert command.count("\n") == 0, "one line a user can paste"
    assert ".venv/bin/python" in command

    subprocess.run(["bash", "-c", command.replace(".venv/bin/python", sys.executable)], cwd=tmp_path, check=True,
                   timeout=120)

    clip = tmp_path / "clip.mp4"
    with clip.open("rb") as handle:
        assert uploads.inspect_video(File(handle, name="clip.mp4")).mime_type == "video/mp4"
    probed = ffmpeg.probe(clip, timeout=30)
    assert (probed.width, probed.height) == (640, 360)
    assert 3.9 <= probed.duration <= 4.1


def test_the_source_url_example_fetches_the_clip_served_locally():
    sources = re.findall(r'"source_url": "([^"]+)"', README)
    assert sources == ["http://127.0.0.1:8765/clip.mp4"]
    assert "python3 -m http.server 8765 --bind 127.0.0.1" in README
    assert "failed" in README.split('"source_url"', 1)[1].split("## ", 1)[0]  # and says what else ends failed
