"""The storage protocol both backends (``local``, ``s3``) implement."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote

CONTENT_TYPE = "video/mp4"


def download_name(archive_id: str, name: str | None) -> str:
    """The file name a download is saved as: the archive's name when it has one, else its id."""
    base = re.sub(r"[\x00-\x1f\x7f/\\]+", "_", (name or "").strip()).strip(". ")[:100]
    return f"{base or archive_id}.mp4"


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


Location = LocalFile | Redirect


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
