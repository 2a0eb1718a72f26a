"""The background worker that runs pending uploads and removals of archive files.

It polls ``archive_files`` for due rows (and is woken at once when work is queued), takes a
lease on each row so another node leaves it alone, and runs up to ``concurrency`` transfers at
a time (:class:`~archivist.jobs.LeasedJobRunner`). On shutdown it asks in-flight uploads to stop
(they stop at their next chunk), waits for them, and releases its leases so the next start
resumes at once.
"""

from __future__ import annotations

import asyncio

from archivist.config import Settings
from archivist.jobs import LeasedJobRunner
from archivist.storage.files import ArchiveFiles, FileSettlement
from archivist.store.archive_files import ArchiveFile, ArchiveFileRepository

SHUTDOWN_GRACE = 5.0
"""Seconds in-flight transfers get to notice the shutdown before they are cancelled."""


class TransferWorker(LeasedJobRunner[ArchiveFile]):
    name = "archive-file-transfers"

    def __init__(
        self,
        files: ArchiveFiles,
        repo: ArchiveFileRepository,
        archives: FileSettlement,
        settings: Settings,
        *,
        wake: asyncio.Event,
        concurrency: int = 4,
    ) -> None:
        """``wake``: the event ``files`` sets when it queues work; ``archives`` hears the end
        of each upload (``uploaded``, fallback ``available``, ``failed``)."""
        super().__init__(concurrency, max(0.05, settings.storage_poll_interval), grace=SHUTDOWN_GRACE, wake=wake)
        self._files = files
        self._repo = repo
        self._archives = archives
        self._lease_ms = int(settings.upload_lease * 1000)

    def key(self, job: ArchiveFile) -> str:
        return job.archive_id

    async def due(self, now: int, limit: int) -> list[ArchiveFile]:
        return await self._repo.due(now, limit=limit)

    async def claim(self, job: ArchiveFile, now: int) -> bool:
        return await self._repo.claim(job, now, now + self._lease_ms)

    async def process(self, job: ArchiveFile) -> None:
        await self._files.process(job, self._archives)

    async def release(self, keys: list[str]) -> None:
        await self._repo.release(keys)

    async def close(self) -> None:
        self._files.stop_transfers()
        await super().close()
