"""Local storage: files under the data directory (``{data_dir}/archives/{key}``).

The recorder already writes there, so storing a recording in place costs nothing; a file from
elsewhere is copied in atomically (temporary name, fsync, rename). Downloads are served by this
server (``api/downloads.py``), with HTTP Range support.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from pathlib import Path, PurePosixPath

from archivist.storage.base import LocalFile, Location, StorageError


class LocalStorage:
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        """The file of ``key``; a key that would leave the root is refused."""
        rel = PurePosixPath(key)
        if not key or rel.is_absolute() or any(part in ("", "..") for part in rel.parts) or "\\" in key:
            raise StorageError(f"invalid storage key {key!r}")
        return self.root.joinpath(*rel.parts)

    async def put(
        self, key: str, source: Path, *, sha256: str | None = None, cancel: threading.Event | None = None
    ) -> None:
        await asyncio.to_thread(_put, source, self.path(key), key)

    async def delete(self, key: str) -> None:
        path = self.path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def size(self, key: str) -> int | None:
        path = self.path(key)
        try:
            return (await asyncio.to_thread(path.stat)).st_size
        except FileNotFoundError:
            return None

    async def locate(self, key: str, *, filename: str, ttl: int) -> Location | None:
        path = self.path(key)
        return LocalFile(path) if path.is_file() else None


def _put(source: Path, target: Path, key: str) -> None:
    if source.resolve() == target.resolve():  # the recorder wrote it in place: nothing to copy
        if not target.is_file():
            raise StorageError(f"{key}: no such file")
        return
    _copy_atomically(source, target)


def _copy_atomically(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    with source.open("rb") as src, tmp.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, target)
