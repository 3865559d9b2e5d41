"""Fixtures for resumable uploads: a tus client over the test client (the headers every tus client sends), and
a storage that cannot append, to run the object-storage (S3) layout on the local disk."""

import pytest
from django.core.files.storage import FileSystemStorage, Storage
from rest_framework.test import APIClient

from media_lifecycle.uploads.protocol import encode_metadata

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
CHUNK = "application/offset+octet-stream"


class Tus:
    """Speaks tus to the API through a test client (which carries the user's credentials)."""

    def __init__(self, client: APIClient):
        self.client = client

    def create(self, length: int, metadata: dict | None = None, **headers):
        extra = {**TUS, "HTTP_UPLOAD_LENGTH": str(length), **headers}
        if metadata is not None:
            extra["HTTP_UPLOAD_METADATA"] = encode_metadata(metadata)
        return self.client.generic("POST", "/api/uploads/", **extra)

    def new(self, length: int, filename: str = "clip.mp4") -> str:
        """Create an upload and return its path (/api/uploads/upl_…)."""
        answer = self.create(length, {"filename": filename, "filetype": "video/mp4"})
        assert answer.status_code == 201, answer.content
        return answer["Location"].split("testserver", 1)[-1]

    def patch(self, path: str, offset: int, body: bytes, content_type: str = CHUNK, **headers):
        extra = {**TUS, "HTTP_UPLOAD_OFFSET": str(offset), **headers}
        return self.client.generic("PATCH", path, data=body, content_type=content_type, **extra)

    def head(self, path: str, **headers):
        return self.client.generic("HEAD", path, **{**TUS, **headers})

    def delete(self, path: str, **headers):
        return self.client.generic("DELETE", path, **{**TUS, **headers})

    def send(self, content: bytes, filename: str = "clip.mp4", chunk: int = 4096) -> str:
        """A whole upload in chunks; returns the upload id."""
        path = self.new(len(content), filename)
        for offset in range(0, len(content), chunk):
            answer = self.patch(path, offset, content[offset:offset + chunk])
            assert answer.status_code == 204, answer.content
        return path.rstrip("/").rsplit("/", 1)[-1]


@pytest.fixture
def tus(staff_api) -> Tus:
    return Tus(staff_api)


class ObjectStorage(Storage):
    """A local storage that behaves like S3 for uploads: no file paths, objects written whole by save(); so
    uploads use the `parts` layout on it."""

    def __init__(self, location: str):
        self.disk = FileSystemStorage(location=location)

    def _open(self, name, mode="rb"):
        return self.disk._open(name, mode)

    def _save(self, name, content):
        return self.disk._save(name, content)

    def delete(self, name):
        self.disk.delete(name)

    def exists(self, name):
        return self.disk.exists(name)

    def size(self, name):
        return self.disk.size(name)

    def listdir(self, path):
        return self.disk.listdir(path)

    def url(self, name):
        return self.disk.url(name)


@pytest.fixture
def object_storage(tmp_path) -> ObjectStorage:
    return ObjectStorage(str(tmp_path / "bucket"))
