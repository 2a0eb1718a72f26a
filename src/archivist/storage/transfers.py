"""The background worker that runs pending uploads and removals of archive files.

It polls ``archive_files`` for due rows (and is woken at once when work is queued), takes a
lease on each row so another node leaves it alone, and runs up to ``concurrency`` transfers at
a time. On shutdown it cancels in-flight uploads (they stop at their next chunk), waits for
them, and releases its leases so the next start resumes at once.
"""

from __future__ import annotations

import asyncio
import contextlib

from archivist import logs
from archivist.config import Settings
from archivist.storage.files import ArchiveFiles
from archivist.store.archive_files import ArchiveFile, ArchiveFileRepository, now_ms

log = logs.get(__name__)

SHUTDOWN_GRACE = 5.0
"""Seconds in-flight transfers get to notice the shutdown before they are cancelled."""


class TransferWorker:
    def __init__(
        self, files: ArchiveFiles, repo: ArchiveFileRepository, settings: Settings, *, concurrency: int = 4
    ) -> None:
        self._files = files
        self._repo = repo
        self._settings = settings
        self._concurrency = concurrency
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._closing = False
        files.wake = self.wake

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="archive-file-transfers")

    async def close(self) -> None:
        self._closing = True
        self._files.cancel.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        held = list(self._inflight)
        tasks = list(self._inflight.values())
        if tasks:
            log.info("waiting for archive transfers to stop", count=len(tasks))
            _done, late = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
            for task in late:  # stuck on a slow network call: abandon it, the lease release resumes it
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self._repo.release(held)
        except Exception as exc:
            log.error("could not release archive transfer leases", error=repr(exc))

    async def _run(self) -> None:
        poll = max(0.05, self._settings.storage_poll_interval)
        while not self._closing:
            self._wake.clear()
            try:
                await self._dispatch()
            except Exception as exc:  # the database may be briefly unavailable: log, retry next poll
                log.error("archive transfer scheduling failed", error=repr(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), poll)

    async def _dispatch(self) -> None:
        room = self._concurrency - len(self._inflight)
        if room <= 0:
            return
        now = now_ms()
        lease = now + int(self._settings.upload_lease * 1000)
        for row in await self._repo.due(now, limit=room + len(self._inflight)):
            if len(self._inflight) >= self._concurrency:
                break
            if row.archive_id in self._inflight or not await self._repo.claim(row, now, lease):
                continue
            task = asyncio.get_running_loop().create_task(self._one(row), name=f"archive-transfer-{row.archive_id}")
            self._inflight[row.archive_id] = task

    async def _one(self, row: ArchiveFile) -> None:
        try:
            await self._files.process(row)
        except Exception as exc:
            log.error("archive transfer failed", archive=row.archive_id, error=repr(exc))
        finally:
            self._inflight.pop(row.archive_id, None)
            self._wake.set()
