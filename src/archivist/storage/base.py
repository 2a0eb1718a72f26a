"""The storage protocol the backends (``local``, ``s3``, ``azure``) implement, and the streaming
upload the object stores offer (:class:`ObjectUpload`)."""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

CONTENT_TYPE = "video/mp4"
ZIP_CONTENT_TYPE = "application/zip"


def file_suffix(output_mode: str) -> str:
    """A composed archive is an MP4 file; an individual one a ZIP (its streams and manifest)."""
    return ".zip" if output_mode == "individual" else ".mp4"


def content_type(filename: str) -> str:
    return ZIP_CONTENT_TYPE if filename.endswith(".zip") else CONTENT_TYPE


def download_name(archive_id: str, name: str | None, suffix: str = ".mp4") -> str:
    """The file name a download is saved as: the archive's name when it has one, else its id."""
    base = re.sub(r"[\x00-\x1f\x7f/\\]+", "_", (name or "").strip()).strip(". ")[:100]
    return f"{base or archive_id}{suffix}"


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 one (RFC 6266 / 5987)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


class StorageError(Exception):
    """A storage operation failed. The message never holds credentials."""


class Cancelled(StorageError):
    """A transfer was cancelled (shutdown)."""


@dataclass(frozen=True)
class LocalFile:
    path: Path


@dataclass(frozen=True)
class Redirect:
    url: str


@dataclass(frozen=True)
class Proxied:
    """An object this server streams to the client itself (a store it cannot presign for, such
    as an Azure container reached with a SAS token): ``read(offset, length)`` yields the bytes."""

    size: int
    read: Callable[[int, int], AsyncIterator[bytes]]


Location = LocalFile | Redirect | Proxied


@dataclass(frozen=True)
class StoredObject:
    """What a completed upload left in the store, confirmed by reading its properties back."""

    key: str
    size: int
    sha256: str


class ObjectUpload(Protocol):
    """An upload fed as the bytes arrive (S3 multipart upload, Azure block blob).

    ``write`` appends, in order; nothing is visible in the store until ``complete``, which
    returns once the store confirms the object's size. ``abort`` (idempotent) gives up and
    removes what the store kept of it. One caller at a time: await each call before the next.
    """

    key: str
    upload_id: str | None
    """The store's id of the upload, when it has one (S3), kept to abort it after a crash."""

    async def write(self, chunk: bytes) -> None: ...

    async def complete(self) -> StoredObject: ...

    async def abort(self) -> None: ...


class Storage(Protocol):
    kind: str

    async def put(
        self, key: str, source: Path, *, sha256: str | None = None, cancel: threading.Event | None = None
    ) -> None:
        """Store ``source`` under ``key``; returns once the stored copy is confirmed (size checked)."""

    async def delete(self, key: str) -> None:
        """Remove ``key``; removing what is not there is not an error."""

    async def size(self, key: str) -> int | None:
        """The stored size, None when nothing is stored under ``key``."""

    async def locate(self, key: str, *, filename: str, ttl: int) -> Location | None:
        """How a client downloads ``key``: a local file to serve, or a short-lived URL to redirect to."""


class StreamingStorage(Storage, Protocol):
    """A store that takes an object in pieces, as it is written (see :class:`ObjectUpload`)."""

    async def open_upload(self, key: str) -> ObjectUpload:
        """Begin an upload to ``key``; an object already there is replaced on ``complete``."""

    async def discard_uploads(self, key: str, upload_id: str | None = None) -> int:
        """Give up the unfinished uploads to ``key`` a killed process left (``upload_id`` and
        any other the store lists), so nothing of them stays billed; how many were removed."""
