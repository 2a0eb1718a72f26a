"""Uploading a composed archive while it is recorded, so that stop → ``uploaded`` takes the
same few moments whatever the archive's length.

When a composed archive starts (:meth:`LiveUploads.on_status`, a status listener of the archive
service) and its project stores in S3 or Azure, a :class:`LiveUpload` opens a streaming upload
(:class:`~archivist.storage.base.ObjectUpload`: an S3 multipart upload, an Azure block blob) to
the archive's object key and follows the recorder's file (``recording/fragments.py``): each
complete ``moof``+``mdat`` fragment is written to the upload as it lands on disk, and the
upload sends a part (S3: 8 MiB, never less than S3's 5 MiB but the last) or stages a block
(Azure: 4 MiB) whenever one is full. At stop, the recorder closes the file (its last fragments
and the ``mfra`` index, appended: the muxer never rewrites what it wrote, and there is no
remux; ``recording/finalize.py``), and :meth:`LiveUploads.finish` (called by
``ArchiveFiles.place``) sends what is left, checks that the bytes streamed are the final
file's (size and SHA-256, as the recorder computed them), completes the upload and confirms the
object's size by reading it back. The object is therefore the local file, byte for byte.

The local file stays the reference: whatever goes wrong while recording (the store fails, the
target changes, the bytes differ), the live upload is aborted and the archive takes the
upload-after-stop path (retries, then the local fallback copy) as if it had never started.

Each live upload keeps a journal next to the local file (``<archive>.mp4.upload.json``): its
target, key and the store's upload id, then, once complete, the size and SHA-256 that were
confirmed. The upload worker (``ArchiveFiles._upload``) reads it: a complete one means the
object is there already (its size is checked, nothing is sent again); an unfinished one (a
server killed mid-recording, an abort that failed) is discarded in the store first
(``discard_uploads``: the S3 multipart upload is aborted, so nothing stays billed), then the
recovered file is uploaded whole.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from archivist import logs
from archivist.archives.model import Archive
from archivist.archives.ports import RecordingOutcome
from archivist.archives.status import ArchiveStatus
from archivist.lifecycle import Tasks
from archivist.recording.fragments import FragmentTail
from archivist.storage.base import ObjectUpload, StorageError, StoredObject, StreamingStorage, file_suffix
from archivist.store.storage_targets import AZURE, S3, StorageTarget

log = logs.get(__name__)

JOURNAL_SUFFIX = ".upload.json"


def recording_key(archive: Archive) -> str:
    """Where the composed recorder writes an archive, relative to the archives directory
    (``recording/launcher.py``'s ``storage_key``; :meth:`LiveUploads.finish` checks the two agree)."""
    return f"{archive.project_key}/{archive.id}.mp4"


def object_key(prefix: str, archive: Archive) -> str:
    """Where an archive goes in a bucket: OpenTok's own layout, ``{prefix}{apiKey}/{id}/archive.mp4``
    (``archive.zip`` for individual output)."""
    return f"{prefix}{archive.project_key}/{archive.id}/archive{file_suffix(archive.output_mode)}"


# ---- the journal -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LiveJournal:
    target_id: str
    object_key: str
    upload_id: str | None
    complete: bool = False
    size: int | None = None
    sha256: str | None = None


def journal_path(local: Path) -> Path:
    return local.with_name(local.name + JOURNAL_SUFFIX)


def write_journal(local: Path, journal: LiveJournal) -> None:
    """Replace the journal of ``local`` atomically (written, flushed to disk, renamed). Blocking."""
    path = journal_path(local)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(asdict(journal), f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_journal(local: Path) -> LiveJournal | None:
    """The journal of ``local``; None when there is none (or it is unreadable: then the upload
    after stop sends the file whole, and the listing of ``discard_uploads`` finds the rest)."""
    try:
        body = json.loads(journal_path(local).read_text(encoding="utf-8"))
        return LiveJournal(**body)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("live upload journal unreadable", path=str(local), error=repr(exc))
        return None


def drop_journal(local: Path) -> None:
    journal_path(local).unlink(missing_ok=True)


# ---- one archive ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Final:
    size: int
    sha256: str


class LiveUpload:
    """Follows one recording's file into its streaming upload (one task, :meth:`run`)."""

    def __init__(
        self, archive_id: str, local: Path, local_key: str, target_id: str, key: str, store: StreamingStorage,
        interval: float,
    ) -> None:
        self.archive_id = archive_id
        self.local = local
        self.local_key = local_key
        self.target_id = target_id
        self.key = key
        self.store = store
        self.interval = interval
        self.sent = 0
        """Bytes written to the upload so far."""
        self.error: str | None = None
        self._tail = FragmentTail(local)
        self._digest = hashlib.sha256()
        self._upload: ObjectUpload | None = None
        self._final: _Final | None = None
        self._final_set = asyncio.Event()
        self._given_up = False
        self.result: StoredObject | None = None
        """The confirmed object, once :meth:`run` ended with one (None: aborted)."""

    async def run(self) -> None:
        """Stream the file until :meth:`finish`, then complete the upload (or abort it)."""
        self.result = await self._run()

    async def _run(self) -> StoredObject | None:
        try:
            self._upload = await self.store.open_upload(self.key)
            await asyncio.to_thread(write_journal, self.local,
                                    LiveJournal(self.target_id, self.key, self._upload.upload_id))
            while not self._given_up:
                data = await asyncio.to_thread(self._tail.read)
                if data:
                    await self._send(data)
                    continue
                if self._final is not None:
                    return await self._complete(self._final)
                try:
                    await asyncio.wait_for(self._final_set.wait(), self.interval)
                except TimeoutError:
                    pass
            await self._abort("given up")
            return None
        except (StorageError, OSError) as exc:
            self.error = str(exc)
            log.warning("live upload failed; the archive will be uploaded after stop", archive=self.archive_id,
                        sent=self.sent, error=self.error)
            await self._abort(self.error)
            return None
        except BaseException:
            await self._abort("cancelled")
            raise

    def finish(self, final: _Final | None) -> None:
        """The file is closed (``final``: its size and SHA-256), or not wanted (None)."""
        if final is None:
            self._given_up = True
        self._final = final
        self._final_set.set()

    async def _send(self, data: bytes) -> None:
        assert self._upload is not None
        self._digest.update(data)
        self.sent += len(data)
        await self._upload.write(data)

    async def _complete(self, final: _Final) -> StoredObject:
        assert self._upload is not None
        rest = await asyncio.to_thread(self._tail.read_rest, final.size)
        if rest:
            await self._send(rest)
        if self.sent != final.size or self._digest.hexdigest() != final.sha256:
            # the file changed under us (it is not what was streamed): the upload after stop sends it
            raise StorageError(f"streamed {self.sent} bytes that are not the final file's {final.size}")
        stored = await self._upload.complete()
        await asyncio.to_thread(write_journal, self.local, LiveJournal(
            self.target_id, self.key, self._upload.upload_id, complete=True, size=stored.size, sha256=stored.sha256,
        ))
        return stored

    async def _abort(self, why: str) -> None:
        """Give the upload up in the store, then forget its journal; when the store cannot be
        told, the journal stays and the upload after stop discards the upload."""
        if self._upload is None:
            return
        try:
            await self._upload.abort()
        except (StorageError, OSError) as exc:
            log.warning("live upload not aborted; discarded before the upload after stop", archive=self.archive_id,
                        why=why, error=str(exc))
            return
        await asyncio.to_thread(drop_journal, self.local)
        log.info("live upload aborted", archive=self.archive_id, why=why, sent=self.sent)


# ---- every archive -------------------------------------------------------------------------------
class Targets(Protocol):
    """Where the projects store their archives (``ArchiveFiles``)."""

    async def target_for(self, project_key: str) -> StorageTarget: ...

    async def remote(self, target_id: str) -> StreamingStorage: ...


class LiveUploads:
    def __init__(self, targets: Targets, archives_dir: Path, *, enabled: bool, interval: float) -> None:
        self._targets = targets
        self._dir = archives_dir
        self.enabled = enabled
        self.interval = interval
        self._live: dict[str, tuple[LiveUpload, asyncio.Task[None]]] = {}
        self._tasks = Tasks("live uploads")
        self.outcomes = {"complete": 0, "failed": 0, "dropped": 0}
        """Live uploads finished by this process, by outcome (``GET /metrics``)."""

    @property
    def running(self) -> int:
        return len(self._live)

    def uploading(self, archive_id: str) -> LiveUpload | None:
        found = self._live.get(archive_id)
        return found[0] if found is not None else None

    async def on_status(self, archive: Archive) -> None:
        """Status listener: a composed archive that starts is followed; one that fails (or goes
        away) before its file is placed is given up."""
        if archive.status is ArchiveStatus.STARTED:
            if self.enabled and archive.output_mode == "composed" and archive.id not in self._live:
                await self._begin(archive)
        elif archive.status in (ArchiveStatus.FAILED, ArchiveStatus.DELETED, ArchiveStatus.EXPIRED):
            await self.finish(archive.id, None, None, None)

    async def _begin(self, archive: Archive) -> None:
        try:
            target = await self._targets.target_for(archive.project_key)
            if target.backend not in (S3, AZURE):
                return
            store = await self._targets.remote(target.id)
        except Exception:  # the upload after stop will say what is wrong with the target
            log.exception("live upload not started", archive=archive.id)
            return
        local_key = recording_key(archive)
        live = LiveUpload(archive.id, self._dir / local_key, local_key, target.id,
                          object_key(target.prefix, archive), store, self.interval)
        task = self._tasks.spawn(live.run(), f"live upload {archive.id}")
        self._live[archive.id] = (live, task)
        log.info("live upload started", archive=archive.id, backend=target.backend, key=live.key)

    async def finish(
        self, archive_id: str, outcome: RecordingOutcome | None, target_id: str | None, key: str | None
    ) -> StoredObject | None:
        """The archive's file is final (``outcome``) and goes to ``target_id``/``key``: the live
        upload completes, and the confirmed object is returned; None when there is none (never
        started, failed, another target, not the file that was followed: the upload after stop
        takes over). ``outcome`` None: give the live upload up."""
        found = self._live.pop(archive_id, None)
        if found is None:
            return None
        live, task = found
        usable = (
            outcome is not None and not outcome.failed and outcome.sha256 is not None
            and outcome.storage_key == live.local_key and target_id == live.target_id and key == live.key
        )
        if usable:
            assert outcome is not None and outcome.sha256 is not None
            live.finish(_Final(outcome.size, outcome.sha256))
        else:
            live.finish(None)
        try:
            await task
        except Exception:
            log.exception("live upload failed", archive=archive_id)
            self.outcomes["failed"] += 1
            return None
        stored = live.result
        self.outcomes["complete" if stored is not None else "failed" if live.error or usable else "dropped"] += 1
        if stored is not None:
            log.info("live upload complete", archive=archive_id, size=stored.size, key=stored.key)
        return stored

    async def close(self) -> None:
        """Shutdown: the live uploads whose archives were not placed are given up (their
        recovered files are uploaded whole on the next start)."""
        for archive_id in list(self._live):
            await self.finish(archive_id, None, None, None)
        await self._tasks.close()
