"""Archive files: hand each finished recording to its project's storage, serve it, remove it.

* Local storage (the default): the file stays where the recorder wrote it; the archive becomes
  ``available`` at once.
* S3-compatible or Azure Blob storage: the archive stays ``stopped`` while the file is uploaded in the
  background (:mod:`archivist.storage.transfers`), with retries and backoff; once the object is
  confirmed the archive becomes ``uploaded`` and only then is the local copy removed. When the
  upload keeps failing, the archive becomes ``available`` with reason ``upload failed`` and the
  local copy is what its URL serves (the *fallback copy*); the upload is retried every
  ``fallback_retry_interval`` until it succeeds (the archive then becomes ``uploaded``), the
  archive is deleted, or it expires. Nothing is deleted before an upload is confirmed.
  A composed archive was mostly uploaded while it recorded (:mod:`archivist.storage.live`):
  :meth:`ArchiveFiles.place` completes that upload, and the worker then only confirms the object
  (its journal says it is there) instead of sending the file.
* Delete and expiry remove the file everywhere (local copy and object); a removal that fails is
  retried in the background until it succeeds.

Every step is recorded in ``archive_files`` first, so a restart resumes what was in flight.
The archive's status follows through the :class:`FileSettlement` port the transfer worker passes
to :meth:`ArchiveFiles.process` (the archive service): this module does not know the service.
"""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path
from typing import Any, Protocol

from archivist import logs
from archivist.archives.model import Archive
from archivist.archives.ports import RecordingOutcome
from archivist.archives.status import ArchiveStatus, Reason
from archivist.clock import now_ms
from archivist.config import Settings
from archivist.storage.backends import open_store
from archivist.storage.base import Location, Storage, StorageError, StreamingStorage, download_name, file_suffix
from archivist.storage.file_states import FileState, leading_to
from archivist.storage.live import LiveUploads, drop_journal, object_key, read_journal
from archivist.storage.local import LocalStorage
from archivist.store.archive_files import ArchiveFile, ArchiveFileRepository
from archivist.store.storage_targets import AZURE, LOCAL, S3, StorageTarget, StorageTargetRepository

log = logs.get(__name__)

CONFIG_TARGET = "config"
"""``target_id`` of the S3 storage configured in the settings (``ARCHIVIST_S3_*``)."""
CONFIG_AZURE_TARGET = "config-azure"
"""``target_id`` of the Azure storage configured in the settings (``ARCHIVIST_AZURE_*``)."""


class FileSettlement(Protocol):
    """How the storage reports that it is done with an archive's file (the archive service)."""

    async def file_settled(
        self, archive_id: str, status: ArchiveStatus, reason: Reason, **file: Any
    ) -> Archive | None:
        """Move the archive to ``status``; None when it moved on (deleted, expired) meanwhile."""


def _backoff(base: float, cap: float, attempt: int) -> int:
    """Milliseconds before retry number ``attempt`` (1, 2, …): exponential, capped, ±10% jitter."""
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return int(delay * random.uniform(0.9, 1.1) * 1000)


class ArchiveFiles:
    def __init__(
        self,
        settings: Settings,
        files: ArchiveFileRepository,
        targets: StorageTargetRepository,
        work_queued: asyncio.Event,
    ) -> None:
        """``work_queued`` is set when an upload or a removal is queued (the transfer worker
        waits on the same event)."""
        self._settings = settings
        self._files = files
        self._targets = targets
        self._work_queued = work_queued
        self.local = LocalStorage(settings.archives_dir)
        self._remote: dict[str, StreamingStorage] = {}
        self._cancel = threading.Event()
        """Set on shutdown: in-flight uploads stop at their next chunk."""
        self.live = LiveUploads(
            self, settings.archives_dir, enabled=settings.upload_while_recording,
            interval=settings.upload_follow_interval,
        )
        """The uploads that follow composed archives while they record (``storage/live.py``)."""

    def wake(self) -> None:
        self._work_queued.set()

    def stop_transfers(self) -> None:
        """Shutdown: in-flight uploads stop at their next chunk (they resume on the next start)."""
        self._cancel.set()

    # ---- configuration ---------------------------------------------------------------------
    async def target_for(self, project_key: str) -> StorageTarget:
        """The project's current target: its own (``projects set-storage``), else the settings'
        S3 or Azure storage, else local."""
        own = await self._targets.current(project_key)
        if own is not None:
            return own
        return self._configured(project_key)

    def _configured(self, project_key: str, azure: bool | None = None) -> StorageTarget:
        """The settings' S3 storage (``ARCHIVIST_S3_*``) when a bucket is set, their Azure
        storage (``ARCHIVIST_AZURE_*``) when a container is set, else local storage."""
        s = self._settings
        if azure or (azure is None and s.azure_container and not s.s3_bucket):
            return StorageTarget(
                id=CONFIG_AZURE_TARGET,
                project_key=project_key,
                backend=AZURE,
                bucket=s.azure_container,
                endpoint_url=s.azure_account_url or None,
                access_key_id=s.azure_account_name or None,
                secret_access_key=s.azure_account_key or None,
                connection_string=s.azure_connection_string or None,
                sas_token=s.azure_sas_token or None,
                prefix=s.azure_prefix,
            )
        if s.s3_bucket:
            return StorageTarget(
                id=CONFIG_TARGET,
                project_key=project_key,
                backend=S3,
                bucket=s.s3_bucket,
                endpoint_url=s.s3_endpoint_url or None,
                region=s.s3_region or None,
                access_key_id=s.s3_access_key_id or None,
                secret_access_key=s.s3_secret_access_key or None,
                prefix=s.s3_prefix,
            )
        return StorageTarget(id="", project_key=project_key, backend=LOCAL)

    async def backend(self, target_id: str | None) -> Storage:
        if not target_id:
            return self.local
        return await self.remote(target_id)

    async def remote(self, target_id: str) -> StreamingStorage:
        """The object store of a remote target."""
        if target_id not in self._remote:
            if target_id in (CONFIG_TARGET, CONFIG_AZURE_TARGET):
                target = self._configured("", azure=target_id == CONFIG_AZURE_TARGET)
            else:
                found = await self._targets.get(target_id)
                if found is None:
                    raise StorageError(f"storage target {target_id} no longer exists")
                target = found
            self._remote[target_id] = open_store(target)
        return self._remote[target_id]

    # ---- what the archive service calls ----------------------------------------------------
    async def place(self, archive: Archive, outcome: RecordingOutcome, reason: Reason) -> bool:
        """Take a finished file. True: it is final now (local); False: it is being uploaded."""
        if outcome.storage_key is None:
            await self.live.finish(archive.id, None, None, None)
            return True
        target = await self.target_for(archive.project_key)
        remote = target.backend in (S3, AZURE)
        key = object_key(target.prefix, archive) if remote else None
        # uploaded while it recorded: the rest goes up now, and the journal says the object is
        # there (the upload worker then only confirms it); otherwise the upload starts now
        streamed = await self.live.finish(archive.id, outcome, target.id if remote else None, key)
        now = now_ms()
        record = ArchiveFile(
            archive_id=archive.id,
            project_key=archive.project_key,
            local_key=outcome.storage_key,
            target_id=target.id if remote else None,
            object_key=key,
            state=FileState.UPLOADING if remote else FileState.STORED,
            local_copy=True,
            duration=outcome.duration,
            size=outcome.size,
            sha256=outcome.sha256,
            stop_reason=reason.value,
            attempts=0,
            last_error=None,
            next_attempt_at=now if remote else None,
            lease_until=None,
            created_at=now,
            updated_at=now,
        )
        row, new = await self._files.add_or_get(record)
        if not new:  # placed before (start-up recovery completes a stopped archive again)
            log.info("archive file already placed", archive=archive.id, state=row.state.value)
        elif remote:
            log.info("archive upload queued", archive=archive.id, bucket=target.bucket, streamed=streamed is not None)
        if row.state is FileState.UPLOADING:
            self.wake()
            return False
        return True

    async def placed(self, archive_id: str) -> bool:
        """The storage already holds this archive's file (stored, or uploading)."""
        return await self._files.get(archive_id) is not None

    async def remove(self, archive: Archive) -> None:
        """The archive is deleted or expired: remove its file everywhere (retried until done)."""
        row = await self._files.get(archive.id)
        if row is None:  # stored before this module existed, or seeded: at most a local file
            if archive.storage_key:
                try:
                    await self.local.delete(archive.storage_key)
                except (OSError, StorageError) as exc:
                    log.error("archive file removal failed", archive=archive.id, error=str(exc))
            return
        if row.state in (FileState.REMOVED, FileState.REMOVING):
            return
        now = now_ms()
        await self._files.change(  # leased to us: the worker leaves it alone while we try right now
            archive.id, leading_to(FileState.REMOVING), state=FileState.REMOVING, attempts=0, last_error=None,
            next_attempt_at=now, lease_until=now + int(self._settings.upload_lease * 1000),
        )
        fresh = await self._files.get(archive.id)
        if fresh is not None and await self._remove_now(fresh):
            return
        self.wake()

    async def locate(self, archive: Archive) -> Location | None:
        """How to download a downloadable archive's file: serve the local copy, or redirect."""
        if archive.storage_key is None:
            return None
        filename = download_name(archive.id, archive.name, file_suffix(archive.output_mode))
        ttl = self._settings.download_url_ttl
        row = await self._files.get(archive.id)
        if row is None or row.local_copy:
            found = await self.local.locate(row.local_key if row else archive.storage_key, filename=filename, ttl=ttl)
            if found is not None or row is None:
                return found
        if row.state is FileState.UPLOADED and row.object_key:
            store = await self.backend(row.target_id)
            return await store.locate(row.object_key, filename=filename, ttl=ttl)
        return None

    # ---- background work (the transfer worker calls this for each due row) -----------------
    async def process(self, row: ArchiveFile, archives: FileSettlement) -> None:
        try:
            if row.state in (FileState.UPLOADING, FileState.FALLBACK):
                await self._upload(row, archives)
            elif row.state is FileState.REMOVING:
                await self._remove_now(row)
            elif row.state is FileState.UPLOADED and row.local_copy:
                await self._drop_local_copy(row)
        except Exception as exc:
            # an unexpected error (database, bug): log it, and try again later instead of spinning
            log.exception("archive file work failed", archive=row.archive_id, state=row.state.value)
            attempt = row.attempts + 1
            delay = _backoff(self._settings.upload_backoff, self._settings.upload_backoff_max, attempt)
            await self._files.change(
                row.archive_id, row.state, attempts=attempt, next_attempt_at=now_ms() + delay, lease_until=None,
                last_error=repr(exc)[:500],
            )

    def _file_fields(self, row: ArchiveFile) -> dict[str, Any]:
        return {"duration": row.duration, "size": row.size, "storage_key": row.local_key, "sha256": row.sha256}

    async def _upload(self, row: ArchiveFile, archives: FileSettlement) -> None:
        s = self._settings
        path = self.local.path(row.local_key)
        if not path.is_file():
            log.error("archive file vanished before its upload", archive=row.archive_id)
            if row.state is FileState.UPLOADING:
                await archives.file_settled(row.archive_id, ArchiveStatus.FAILED, Reason.SYSTEM_FAILURE)
            await self._files.change(
                row.archive_id, row.state, state=FileState.LOST, local_copy=False, lease_until=None,
                last_error="local file missing",
            )
            return
        assert row.object_key is not None
        attempt = row.attempts + 1
        try:
            store = await self.backend(row.target_id)
            if not await self._streamed(row, path):
                await store.put(row.object_key, path, sha256=row.sha256, cancel=self._cancel)
        except StorageError as exc:
            if self._cancel.is_set():
                await self._files.change(row.archive_id, row.state, lease_until=None)
                return
            error = str(exc)
            fallback_due = row.state is FileState.UPLOADING and attempt >= s.upload_attempts
            log.warning("archive upload failed", archive=row.archive_id, attempt=attempt, error=error,
                        fallback=fallback_due or row.state is FileState.FALLBACK)
            if fallback_due:
                # the local copy becomes the download, said so by the reason; keep trying, slowly
                await archives.file_settled(
                    row.archive_id, ArchiveStatus.AVAILABLE, Reason.UPLOAD_FAILED, **self._file_fields(row)
                )
                await self._files.change(
                    row.archive_id, FileState.UPLOADING, state=FileState.FALLBACK, attempts=attempt,
                    last_error=error, next_attempt_at=now_ms() + int(s.fallback_retry_interval * 1000),
                    lease_until=None,
                )
                return
            delay = (
                int(s.fallback_retry_interval * 1000)
                if row.state is FileState.FALLBACK
                else _backoff(s.upload_backoff, s.upload_backoff_max, attempt)
            )
            await self._files.change(
                row.archive_id, row.state, attempts=attempt, last_error=error,
                next_attempt_at=now_ms() + delay, lease_until=None,
            )
            return
        # the object is confirmed: the archive says uploaded, then the local copy goes
        settled = await archives.file_settled(
            row.archive_id, ArchiveStatus.UPLOADED, Reason(row.stop_reason), **self._file_fields(row)
        )
        if settled is None:  # deleted or expired while we uploaded: the new object must go too
            log.info("archive removed during its upload; removing the object", archive=row.archive_id)
            await self._files.change(
                row.archive_id, leading_to(FileState.REMOVING), state=FileState.REMOVING,
                next_attempt_at=now_ms(), lease_until=None,
            )
            self.wake()
            return
        if not await self._files.change(
            row.archive_id, row.state, state=FileState.UPLOADED, attempts=attempt, last_error=None,
            next_attempt_at=None,
        ):
            return
        log.info("archive uploaded", archive=row.archive_id, attempts=attempt, size=row.size)
        await self._drop_local_copy(row)

    async def _streamed(self, row: ArchiveFile, path: Path) -> bool:
        """True when the object was uploaded while the archive recorded (its journal says so
        and the store confirms the size). An unfinished live upload (a killed server's) is
        discarded in the store first, so that the whole file can go up instead."""
        journal = await asyncio.to_thread(read_journal, path)
        if journal is None:
            return False
        if (journal.complete and journal.target_id == row.target_id and journal.object_key == row.object_key
                and journal.size == row.size and journal.sha256 == row.sha256):
            assert row.object_key is not None
            stored = await (await self.remote(journal.target_id)).size(row.object_key)
            if stored == row.size:
                log.info("archive uploaded while recording", archive=row.archive_id, size=row.size)
                return True
        else:
            aborted = await (await self.remote(journal.target_id)).discard_uploads(
                journal.object_key, journal.upload_id
            )
            log.info("unfinished live upload discarded", archive=row.archive_id, aborted=aborted)
        await asyncio.to_thread(drop_journal, path)
        return False

    async def _drop_local_copy(self, row: ArchiveFile) -> None:
        await self.local.delete(row.local_key)
        await asyncio.to_thread(drop_journal, self.local.path(row.local_key))
        await self._files.change(row.archive_id, FileState.UPLOADED, local_copy=False, lease_until=None)

    async def _remove_now(self, row: ArchiveFile) -> bool:
        """Remove the local copy and the object; True when both are gone."""
        try:
            await self.local.delete(row.local_key)
            await asyncio.to_thread(drop_journal, self.local.path(row.local_key))
            if row.target_id and row.object_key:
                store = await self.backend(row.target_id)
                await store.delete(row.object_key)
        except (OSError, StorageError) as exc:
            attempt = row.attempts + 1
            delay = _backoff(self._settings.upload_backoff, self._settings.upload_backoff_max, attempt)
            log.warning("archive file removal failed; will retry", archive=row.archive_id, attempt=attempt,
                        error=str(exc))
            await self._files.change(
                row.archive_id, FileState.REMOVING, attempts=attempt, last_error=str(exc),
                next_attempt_at=now_ms() + delay, lease_until=None,
            )
            return False
        done = await self._files.change(
            row.archive_id, FileState.REMOVING, state=FileState.REMOVED, local_copy=False, last_error=None,
            next_attempt_at=None, lease_until=None,
        )
        if done:
            log.info("archive file removed", archive=row.archive_id, remote=bool(row.target_id))
        return True
