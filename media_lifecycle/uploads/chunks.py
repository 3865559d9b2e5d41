"""Writing an upload's bytes to the configured storage as they arrive, a block at a time, so memory stays flat
whatever the size.

Two layouts, chosen by what the storage can do:
- `file` (a storage with local paths, the default filesystem storage): one file, written in place at the
  upload's offset; a finished upload is already the video's source file, nothing is copied.
- `parts` (object storage such as S3, which cannot append): each request's bytes become one object; when the
  last byte arrives the parts are joined, streaming, into one object and deleted.
"""

import io
import os
import posixpath
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from django.core.files import File
from django.core.files.storage import Storage, default_storage

BLOCK = 1024 * 1024  # bytes read from the request and written to storage at a time
PROGRESS_BYTES = 16 * BLOCK
PROGRESS_SECONDS = 1.0
EXTENSION = re.compile(r"\.[a-z0-9]{1,10}")

Progress = Callable[[int], None]  # called now and then with the bytes written so far; may raise to stop


def layout_for(storage: Storage) -> str:
    """`file` where the storage has local paths, otherwise `parts`."""
    try:
        storage.path("probe")
    except NotImplementedError:
        return "parts"
    return "file"


def storage_name(upload_id: str, filename: str) -> str:
    """uploads/<id>/source.<ext>: the extension of the client's file name (when it is a plain one), the rest
    ours, so no client text shapes a path."""
    extension = posixpath.splitext(filename or "")[1].lower()
    if not EXTENSION.fullmatch(extension):
        extension = ""
    return f"uploads/{upload_id}/source{extension}"


class _Reader:
    """The next `length` bytes of a request body, read a block at a time. A dropped connection ends the
    stream early instead of raising: what arrived is kept, and the client resumes from there."""

    def __init__(self, stream, length: int, progress: Progress):
        self.stream = stream
        self.remaining = length
        self.count = 0
        self.progress = progress
        self._reported_bytes = 0
        self._reported_at = time.monotonic()

    def read(self, size: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        want = self.remaining if size is None or size < 0 else min(size, self.remaining)
        want = min(want, BLOCK)
        try:
            data = self.stream.read(want)
        except OSError:  # the client went away mid-body (gunicorn raises, runserver returns short)
            data = b""
        if not data:
            self.remaining = 0
            return b""
        self.remaining -= len(data)
        self.count += len(data)
        return data

    def due(self) -> bool:
        return (self.count - self._reported_bytes >= PROGRESS_BYTES
                or time.monotonic() - self._reported_at >= PROGRESS_SECONDS)

    def report(self) -> None:
        self._reported_bytes, self._reported_at = self.count, time.monotonic()
        self.progress(self.count)


class _PartFile(File):
    """A request body as a Django File of unknown final size, for Storage.save() (which streams it)."""

    def __init__(self, reader: _Reader, name: str):
        super().__init__(None, name)
        self.reader = reader

    def read(self, size: int = -1) -> bytes:
        data = self.reader.read(size)
        if data and self.reader.due():
            self.reader.report()
        return data

    def chunks(self, chunk_size=None):
        while data := self.read(BLOCK):
            yield data

    def seek(self, *args):
        raise io.UnsupportedOperation("a request body cannot seek")

    def close(self) -> None:
        """Nothing to close: the request owns its stream."""

    @property
    def size(self):
        return None


class _Joined(io.RawIOBase):
    """Several stored objects read one after another, as one readable stream."""

    def __init__(self, storage: Storage, names: list[str]):
        self.storage = storage
        self.names = list(names)
        self.current = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            if self.current is None:
                if not self.names:
                    return 0
                self.current = self.storage.open(self.names.pop(0), "rb")
            data = self.current.read(min(len(buffer), BLOCK))
            if data:
                buffer[:len(data)] = data
                return len(data)
            self.current.close()
            self.current = None


class Chunks:
    """An upload's bytes in `storage` (the default storage unless given)."""

    def __init__(self, storage: Storage | None = None):
        self.storage = storage or default_storage

    # --- the file layout -------------------------------------------------------------------------

    def _path(self, upload) -> Path:
        return Path(self.storage.path(upload.storage_name))

    def start(self, upload) -> None:
        """Make room for a new upload (an empty file in the file layout; nothing for parts)."""
        if upload.layout == "file":
            path = self._path(upload)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()

    def write(self, upload, stream, length: int, progress: Progress) -> tuple[int, list]:
        """Write up to `length` bytes from `stream` at `upload.offset`. Returns (bytes written, parts list to
        store). `progress(written)` is called about every second with what is durably written so far."""
        if upload.layout == "file":
            return self._write_in_place(upload, stream, length, progress), upload.parts
        return self._write_part(upload, stream, length, progress)

    def _write_in_place(self, upload, stream, length: int, progress: Progress) -> int:
        reader = _Reader(stream, length, progress)
        with self._path(upload).open("r+b") as handle:
            handle.seek(upload.offset)
            handle.truncate()  # bytes past the recorded offset (a killed writer's) are not trusted
            while data := reader.read(BLOCK):
                handle.write(data)
                if reader.due():
                    handle.flush()  # what progress reports as stored must be in the file
                    reader.report()
            handle.flush()
            os.fsync(handle.fileno())
        return reader.count

    def _write_part(self, upload, stream, length: int, progress: Progress) -> tuple[int, list]:
        parts = [part for part in upload.parts if part[0] < upload.offset]  # a failed attempt's tail is dropped
        for stale in upload.parts:
            if stale not in parts:
                self.storage.delete(stale[1])
        reader = _Reader(stream, length, progress)
        name = f"{upload.storage_name}.parts/{upload.offset:020d}-{secrets.token_hex(4)}"
        saved = self.storage.save(name, _PartFile(reader, name))
        if reader.count == 0:
            self.storage.delete(saved)
            return 0, parts
        return reader.count, [*parts, [upload.offset, saved, reader.count]]

    def finish(self, upload) -> str:
        """The upload is complete: the name of its one stored object (parts are joined into it first)."""
        if upload.layout == "file":
            return upload.storage_name
        names = [name for _start, name, _size in sorted(upload.parts)]
        joined = File(io.BufferedReader(_Joined(self.storage, names), BLOCK), upload.storage_name)
        final = self.storage.save(upload.storage_name, joined)
        for name in names:
            self.storage.delete(name)
        return final

    def head(self, upload, size: int) -> bytes:
        """The first `size` bytes of a complete upload (for checking its content)."""
        with self.storage.open(upload.storage_name, "rb") as handle:
            return handle.read(size)

    def delete(self, upload) -> None:
        """Remove every byte of an upload that no video uses."""
        for _start, name, _size in upload.parts:
            self.storage.delete(name)
        if self.storage.exists(upload.storage_name):
            self.storage.delete(upload.storage_name)
        if upload.layout == "file":
            try:
                self._path(upload).parent.rmdir()
            except OSError:
                pass  # not empty or already gone
