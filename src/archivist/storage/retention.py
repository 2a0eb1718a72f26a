"""Retention: archives older than ``archive_retention_days`` expire.

Every ``sweep_interval`` seconds, downloadable (``available``/``uploaded``) archives created
before the cutoff move to ``expired`` (their URL goes away) and their files are removed
everywhere, through the same persisted removal as a delete. ``0`` days keeps archives forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from archivist import logs
from archivist.archives.service import ArchiveService
from archivist.config import Settings
from archivist.storage.files import ArchiveFiles
from archivist.store.archive_files import ArchiveFileRepository

log = logs.get(__name__)


class RetentionSweeper:
    def __init__(
        self, archives: ArchiveService, files: ArchiveFiles, repo: ArchiveFileRepository, settings: Settings
    ) -> None:
        self._archives = archives
        self._files = files
        self._repo = repo
        self._settings = settings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and self._settings.archive_retention_days > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="archive-retention")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("retention sweep failed")
            await asyncio.sleep(max(0.05, self._settings.sweep_interval))

    async def sweep(self) -> int:
        """Expire what is past retention; return how many archives expired."""
        days = self._settings.archive_retention_days
        if days <= 0:
            return 0
        cutoff = int((time.time() - days * 86400) * 1000)
        expired = 0
        for archive_id in await self._repo.expiring(cutoff):
            archive = await self._archives.find(archive_id)
            if archive is None or await self._archives.expire(archive) is None:
                continue
            await self._files.remove(archive)
            expired += 1
        if expired:
            log.info("archives expired", count=expired, retention_days=days)
        return expired
