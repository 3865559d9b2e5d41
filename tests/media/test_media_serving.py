"""/media/: whole files, single byte ranges for seeking players, and nothing outside MEDIA_ROOT."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

CONTENT = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def stored():
    name = default_storage.save("tests/range.mp4", ContentFile(CONTENT))
    yield f"/media/{name}"
    default_storage.delete(name)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_whole_file_is_served_and_says_it_accepts_ranges(client, stored):
    answer = client.get(stored)

    assert answer.status_code == 200
    assert answer["Accept-Ranges"] == "bytes"
    assert body(answer) == CONTENT


def test_a_byte_range_is_served_with_206_and_content_range(client, stored):
    answer = client.get(stored, HTTP_RANGE="bytes=100-199")

    assert answer.status_code == 206
    assert answer["Content-Range"] == f"bytes 100-199/{len(CONTENT)}"
    assert answer["Content-Length"] == "100"
    assert answer["Content-Type"] == "video/mp4"
    assert body(answer) == CONTENT[100:200]


def test_an_open_ended_range_runs_to_the_end_of_the_file(client, stored):
    answer = client.get(stored, HTTP_RANGE="bytes=10000-")

    assert answer.status_code == 206
    assert body(answer) == CONTENT[10000:]


def test_a_suffix_range_serves_the_last_bytes(client, stored):
    answer = client.get(stored, HTTP_RANGE="bytes=-40")

    assert answer.status_code == 206
    assert answer["Content-Range"] == f"bytes {len(CONTENT) - 40}-{len(CONTENT) - 1}/{len(CONTENT)}"
    assert body(answer) == CONTENT[-40:]


def test_a_range_past_the_end_is_416(client, stored):
    answer = client.get(stored, HTTP_RANGE=f"bytes={len(CONTENT)}-")

    assert answer.status_code == 416
    assert answer["Content-Range"] == f"bytes */{len(CONTENT)}"


def test_a_path_outside_media_root_is_404(client, stored):
    assert client.get("/media/../cms/settings.py", HTTP_RANGE="bytes=0-10").status_code == 404
    assert client.get("/media/tests/missing.mp4", HTTP_RANGE="bytes=0-10").status_code == 404
