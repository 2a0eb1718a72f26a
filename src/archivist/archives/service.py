"""The archive service: an archive's whole life, from start to its file's final place.

The REST routers call it for start, stop, get, list and delete; it checks every rule of the spec
(one archive at a time per session, routed sessions only, clients connected) and drives the
recorder through the narrow :class:`~archivist.archives.ports.RecorderLauncher` protocol. It also
holds the rules of time and failure: an archive stops by itself after the maximum duration
(and an auto-archived session rolls over to a new one), and when its recorder fails.

A recording ends in three steps, each its own method:

1. :meth:`stop_recording`: ``stopped`` now, the recorder stops and hands over its file;
2. :meth:`place_file`: the finished file goes to the project's storage; ``available`` at once
   (local disk), or later (an upload runs in the background);
3. :meth:`file_settled`: the storage reports that it is done with the file (``uploaded``,
   ``available`` from the local fallback copy, or ``failed``).

Every status change goes through :meth:`_transition`, which checks the status machine, saves
the change if nobody changed the archive meanwhile (:class:`ConcurrentChange` otherwise), tells
the session's clients (``archiveStarted`` / ``archiveStopped``) and the status listeners.

The changes a rule makes (a recorder failed, a file is finished, the session ended) are nobody's
request to answer, so they must not be lost when the database cannot be written for a while (its
disk is full: :class:`DatabaseUnavailable`): :meth:`_persistently` retries them until they are
written. A request's change answers 503 instead, and changes nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from archivist import logs
from archivist.archives.model import Archive
from archivist.archives.options import StartOptions, auto_archive_options
from archivist.archives.ports import (
    AlreadyRecording,
    ArchiveFileStore,
    ArchiveRecords,
    RecorderLauncher,
    RecordingOutcome,
    StatusListener,
)
from archivist.archives.status import DELETABLE, RECORDING, ArchiveStatus, Reason, can_transition, check_transition
from archivist.clock import Clock, SystemClock
from archivist.errors import (
    ArchivistError,
    BadRequest,
    ConcurrentChange,
    Conflict,
    DatabaseUnavailable,
    MethodNotAllowed,
    NotFound,
    RecordingFailed,
)
from archivist.lifecycle import Failures, Tasks
from archivist.rooms.registry import Rooms
from archivist.sessions.model import ArchiveMode, MediaMode
from archivist.sessions.service import SessionService

log = logs.get(__name__)

T = TypeVar("T")

RETRY_FIRST_S = 0.25
RETRY_LONGEST_S = 2.0
"""Backoff of a rule's bookkeeping while the database cannot be written (:meth:`ArchiveService._persistently`)."""
SHUTDOWN_PATIENCE_S = 10.0
"""At shutdown such a retry gives up after this long: start-up recovery finishes the archive."""

SETTLE_ATTEMPTS = 5
"""Reads-and-writes :meth:`ArchiveService.file_settled` tries before giving up to a concurrent
change (each attempt reads the archive again; a REST delete or an expiry can win a race)."""


class ArchiveService:
    def __init__(
        self,
        records: ArchiveRecords,
        sessions: SessionService,
        rooms: Rooms,
        *,
        launcher: RecorderLauncher | None,
        files: ArchiveFileStore | None,
        listeners: Sequence[StatusListener] = (),
        max_duration_s: float,
        idle_timeout_s: float = 0.0,
        clock: Clock | None = None,
    ) -> None:
        """``launcher`` None: this server records nothing (archives stop without a file);
        ``files`` None: finished files stay where they were written."""
        self._records = records
        self._sessions = sessions
        self._rooms = rooms
        self._launcher = launcher
        self._files = files
        self._listeners = tuple(listeners)
        self.max_duration_s = max_duration_s
        self.idle_timeout_s = idle_timeout_s
        self._idle: dict[str, asyncio.Task[None]] = {}
        """Archive id -> the timer that stops it after ``idle_timeout_s`` paused."""
        self._clock = clock or SystemClock()
        self._announced: set[str] = set()
        """Archives started by this process whose clients heard ``archiveStarted``."""
        self._timers: dict[str, asyncio.Task[None]] = {}
        """Archive id -> the timer of its maximum duration (it only sleeps; see ``_work``)."""
        self._timer_tasks = Tasks("archive timers")
        self._work = Tasks("archive service")
        """Stops the rules decide (maximum duration, recorder failure), awaited on close."""
        self._closing = False
        self._failed_at: dict[str, int] = {}
        """Archive id -> when its recorder failed (ms): the archive ends there, however late its
        status change is written."""

    # ---- queries ---------------------------------------------------------------------------
    async def get(self, project_key: str, archive_id: str) -> Archive:
        archive = await self._records.get(archive_id) if _valid_id(archive_id) else None
        if archive is None or archive.project_key != project_key:
            raise NotFound("archive not found")
        return archive

    async def page(
        self, project_key: str, offset: int, count: int, session_id: str | None = None
    ) -> tuple[int, list[Archive]]:
        return await self._records.page(project_key, offset, count, session_id)

    async def find(self, archive_id: str) -> Archive | None:
        """Any project's archive (internal callers only; REST goes through :meth:`get`)."""
        return await self._records.get(archive_id)

    async def recording(self, session_id: str) -> list[Archive]:
        """The session's archives that are recording (started or paused)."""
        return await self._records.running(session_id)

    # ---- commands --------------------------------------------------------------------------
    async def start(self, project_key: str, opts: StartOptions) -> Archive:
        layout = self._checked_layout(opts.layout) if opts.layout is not None else None
        session = await self._sessions.get(project_key, opts.session_id)
        if session.media_mode is MediaMode.RELAYED:
            raise Conflict("relayed (peer-to-peer) sessions cannot be archived; create a routed session")
        if self._launcher is not None:
            self._launcher.check_space()
        if any(a.multi_archive_tag == opts.multi_archive_tag for a in await self._records.running(session.id)):
            raise Conflict(_already_recording(opts.multi_archive_tag))
        if self._rooms.connected_count(session.id) == 0:
            raise BadRequest("no clients are actively connected to the session")
        if self._launcher is None:
            raise Conflict("recording is not available on this server")
        now = self._clock.now_ms()
        archive = Archive(
            id=str(uuid.uuid4()),
            project_key=project_key,
            session_id=session.id,
            name=opts.name,
            status=ArchiveStatus.STARTED,
            reason=Reason.NONE,
            created_at=now,
            updated_at=now,
            duration=0,
            size=0,
            has_audio=opts.has_audio,
            has_video=opts.has_video,
            output_mode=opts.output_mode,
            stream_mode=opts.stream_mode,
            resolution=opts.resolution,
            layout=layout,
            max_bitrate=opts.max_bitrate,
            quantization_parameter=opts.quantization_parameter,
            multi_archive_tag=opts.multi_archive_tag,
            storage_key=None,
            sha256=None,
            seq=time.time_ns() // 1000,
        )
        try:
            await self._records.add(archive)
        except AlreadyRecording:
            raise Conflict(_already_recording(opts.multi_archive_tag)) from None
        try:
            await self._launcher.start(archive, lambda exc: self._recording_failed(archive.id, exc))
        except Exception as exc:
            log.exception("recorder failed to start", archive=archive.id)
            await self._transition(archive, ArchiveStatus.FAILED, Reason.SYSTEM_FAILURE)
            raise RecordingFailed(f"the recorder could not start: {exc}") from exc
        await self._notify(archive)
        return archive

    async def auto_start(self, session_id: str, *, rollover_of: str | None = None) -> Archive | None:
        """Start the archive of an ``archiveMode=always`` session (a stream was published, or
        the previous archive reached the maximum duration). None: not auto-archived, already
        recording, or refused (the room emptied meanwhile)."""
        session = await self._sessions.find(session_id)
        if session is None or session.archive_mode is not ArchiveMode.ALWAYS or self._closing:
            return None
        if any(a.multi_archive_tag is None for a in await self._records.running(session_id)):
            return None  # (tagged archives started by REST record alongside the automatic one)
        try:
            archive = await self.start(session.project_key, auto_archive_options(session))
        except ArchivistError as exc:  # a concurrent start won, or the room emptied meanwhile
            log.info("auto-archive not started", session_id=session_id, detail=exc.message)
            return None
        log.info("auto-archive started", archive=archive.id, session_id=session_id, rollover_of=rollover_of)
        return archive

    async def set_layout(self, project_key: str, archive_id: str, layout: dict[str, Any]) -> Archive:
        """``PUT /archive/{id}/layout``: a recording composed archive changes layout now (the
        layout was checked by ``options.parse_layout``); the archive keeps the new one."""
        archive = await self.get(project_key, archive_id)
        if archive.output_mode != "composed":
            raise BadRequest("an individual archive has no layout")
        if archive.status not in RECORDING or self._launcher is None:
            raise BadRequest("the layout can only be changed while the archive is recording")
        layout = self._checked_layout(layout)
        if not await self._launcher.set_layout(archive, layout):
            raise Conflict("the archive's recorder is not running on this server")
        updated = archive.evolve(layout=layout, updated_at=self._clock.now_ms())
        if not await self._records.save_if_status(updated, archive.status):
            raise Conflict("the archive stopped while its layout changed")
        return updated

    async def select_stream(
        self, project_key: str, archive_id: str, stream_id: str, *, add: bool, has_audio: bool = True,
        has_video: bool = True,
    ) -> None:
        """``PATCH /archive/{id}/streams`` of a ``streamMode: manual`` archive: add a stream of
        the session (with its audio, its video or both) or remove one."""
        archive = await self.get(project_key, archive_id)
        if archive.stream_mode != "manual":
            raise MethodNotAllowed(
                f"archive {archive.id} uses streamMode 'auto': streams cannot be added or removed")
        if archive.status not in RECORDING or self._launcher is None:
            raise Conflict(f"archive is not being recorded (status {archive.status.value})")
        if add:
            room = self._rooms.get(archive.session_id)
            if room is None or room.find_stream(stream_id) is None:
                raise NotFound("stream not found in the archive's session")
            done = await self._launcher.select_stream(archive, stream_id, has_audio, has_video)
        else:
            done = await self._launcher.deselect_stream(archive, stream_id)
        if not done:
            raise Conflict("the archive's recorder is not running on this server")

    async def stop(self, project_key: str, archive_id: str, reason: Reason = Reason.USER_INITIATED) -> Archive:
        archive = await self.get(project_key, archive_id)
        if archive.status not in RECORDING:
            raise Conflict(f"archive is not being recorded (status {archive.status.value})")
        return await self.stop_recording(archive, reason)

    async def stop_if_recording(self, archive_id: str, reason: Reason) -> None:
        """A rule stops an archive (session ended, maximum duration, failure); nothing when it
        is not recording any more (a REST stop or another rule won)."""
        async def attempt() -> None:
            archive = await self._records.get(archive_id)
            if archive is None or archive.status not in RECORDING:
                return
            try:
                await self.stop_recording(archive, reason)
            except DatabaseUnavailable:
                raise
            except ArchivistError as exc:  # stopped concurrently: fine
                log.info("archive already stopping", archive=archive_id, reason=reason.value, detail=exc.message)

        await self._persistently(f"stop ({reason.value})", archive_id, attempt)

    async def pause_session(self, session_id: str) -> None:
        """The last client left: the session's archives are ``paused`` and stop after
        ``idle_timeout_s`` (``session ended``) unless a client comes back first (0: now)."""
        if self._rooms.connected_count(session_id) > 0:
            return  # a client joined meanwhile
        for archive in await self._records.running(session_id):
            if self.idle_timeout_s <= 0 or self._closing:
                log.info("every client left; stopping the archive", archive=archive.id)
                await self.stop_if_recording(archive.id, Reason.SESSION_ENDED)
                continue
            if archive.status is not ArchiveStatus.STARTED:
                continue
            try:
                await self._transition(archive, ArchiveStatus.PAUSED, archive.reason)
            except ConcurrentChange:  # stopped meanwhile
                continue
            log.info("every client left; archive paused", archive=archive.id, stops_in_s=self.idle_timeout_s)
            old = self._idle.pop(archive.id, None)
            if old is not None:
                old.cancel()
            self._idle[archive.id] = self._timer_tasks.spawn(self._idle_stop(archive.id), f"idle {archive.id}")

    async def resume_session(self, session_id: str) -> None:
        """A client joined: the session's paused archives record on (``started`` again, the
        same archive; its clients hear ``archiveStarted``)."""
        for archive in await self._records.running(session_id):
            if archive.status is not ArchiveStatus.PAUSED:
                continue
            timer = self._idle.pop(archive.id, None)
            if timer is not None:
                timer.cancel()
            try:
                resumed = await self._transition(archive, ArchiveStatus.STARTED, archive.reason)
            except ConcurrentChange:  # the idle stop won
                continue
            log.info("a client came back; archive resumed", archive=archive.id)
            room = self._rooms.get(session_id)
            if room is not None:
                await room.set_archive(resumed.id, resumed.name, started=True)

    async def _idle_stop(self, archive_id: str) -> None:
        await self._clock.sleep_until(self._clock.now_ms() + int(self.idle_timeout_s * 1000))
        self._idle.pop(archive_id, None)
        self._work.spawn(self._stop_if_paused(archive_id), f"idle stop {archive_id}")

    async def _stop_if_paused(self, archive_id: str) -> None:
        archive = await self._records.get(archive_id)
        if archive is not None and archive.status is ArchiveStatus.PAUSED:
            log.info("archive paused for the idle timeout; stopping", archive=archive_id,
                     idle_s=self.idle_timeout_s)
            await self.stop_if_recording(archive_id, Reason.SESSION_ENDED)

    async def stop_recording(self, archive: Archive, reason: Reason) -> Archive:
        """Step 1: a recording archive is ``stopped`` now, which is what a stop request answers
        at once; its recorder finishes the file in the background (it waits for the media
        captured before this instant, still on its way) and hands it to :meth:`place_file`."""
        ended = min(self._clock.now_ms(), self._failed_at.get(archive.id, self._clock.now_ms()))
        if reason is Reason.MAX_DURATION:  # the timer's instant, however busy the way here was
            ended = min(ended, archive.created_at + int(self.max_duration_s * 1000))
        duration = max(0, round((ended - archive.created_at) / 1000))
        stopped = await self._transition(archive, ArchiveStatus.STOPPED, reason, duration=duration)
        if self._launcher is not None:
            self._work.spawn(self._finish_file(stopped, reason, ended), f"finish {archive.id}")
        return stopped

    async def _finish_file(self, stopped: Archive, reason: Reason, ended_ms: int) -> None:
        assert self._launcher is not None
        self._failed_at.pop(stopped.id, None)
        try:
            outcome = await self._launcher.stop(stopped, ended_ms)
        except Exception:
            log.exception("recorder failed to stop", archive=stopped.id)
            await self._persistently(
                "failed", stopped.id, lambda: self._transition(stopped, ArchiveStatus.FAILED, Reason.SYSTEM_FAILURE)
            )
            return
        if outcome.disk_full:
            reason = Reason.DISK_FULL
        elif outcome.salvaged:
            reason = Reason.FAILURE
        await self._persistently("place the file", stopped.id, lambda: self.place_file(stopped, outcome, reason))

    async def place_file(self, stopped: Archive, outcome: RecordingOutcome, reason: Reason) -> Archive:
        """Step 2: a stopped archive's file is finished: the storage takes it; the archive is
        ``available`` now, or stays ``stopped`` while it uploads (or ``failed``: no file)."""
        if outcome.failed:
            return await self._transition(stopped, ArchiveStatus.FAILED, Reason.SYSTEM_FAILURE)
        if self._files is not None and outcome.storage_key is not None:
            try:
                final = await self._files.place(stopped, outcome, reason)
            except DatabaseUnavailable:  # nothing was written: the caller tries again
                raise
            except Exception:  # the file is on the local disk whatever happened: serve it
                log.exception("archive storage unavailable; keeping the local file", archive=stopped.id)
                final = True
            if not final:  # uploading in the background: uploaded (or available from the fallback copy) later
                return stopped
        return await self._transition(
            stopped,
            ArchiveStatus.AVAILABLE,
            reason,
            duration=outcome.duration,
            size=outcome.size,
            storage_key=outcome.storage_key,
            sha256=outcome.sha256,
        )

    async def file_settled(
        self, archive_id: str, status: ArchiveStatus, reason: Reason, **file: Any
    ) -> Archive | None:
        """Step 3: the storage is done with an archive's file: move the archive to ``status``
        (uploaded, available from the fallback copy, or failed). Returns the archive in that
        status, or None when it moved on meanwhile (deleted, expired) and the file is not
        wanted any more. A concurrent change is retried (read again) a few times."""
        for _attempt in range(SETTLE_ATTEMPTS):
            archive = await self._records.get(archive_id)
            if archive is None:
                return None
            if archive.status is status:
                return archive
            if not can_transition(archive.status, status):
                return None
            try:
                return await self._transition(archive, status, reason, **file)
            except ConcurrentChange:
                continue
        raise ConcurrentChange(f"archive {archive_id} kept changing while its file settled")

    async def delete(self, project_key: str, archive_id: str) -> None:
        archive = await self.get(project_key, archive_id)
        if archive.status is ArchiveStatus.DELETED:
            return
        if archive.status not in DELETABLE:
            raise Conflict(
                f"only an available or uploaded archive can be deleted (status {archive.status.value})"
            )
        await self._transition(archive, ArchiveStatus.DELETED, archive.reason, url_gone=True)
        if self._files is not None:
            try:
                await self._files.remove(archive)
            except Exception:  # the archive is deleted; its file removal is storage's to finish
                log.exception("archive file removal could not be queued", archive=archive.id)

    async def expire(self, archive: Archive) -> Archive | None:
        """Retention: a downloadable archive becomes ``expired`` (its URL goes away). None: it moved on."""
        if not can_transition(archive.status, ArchiveStatus.EXPIRED):
            return None
        try:
            return await self._transition(archive, ArchiveStatus.EXPIRED, archive.reason, url_gone=True)
        except ConcurrentChange:
            return None

    async def recover(self) -> None:
        """On start-up: archives a previous process left recording (it was killed) are closed
        out. Their fragmented MP4 plays up to the kill: it becomes available, reason
        ``recovered``, with the file's true duration and size; nothing playable: failed."""
        interrupted = await self._records.running()
        for archive in await self._records.with_status(ArchiveStatus.STOPPED):
            # stopped and handed to the storage: an upload in flight, which resumes by itself
            if self._files is None or not await self._files.placed(archive.id):
                interrupted.append(archive)
        for archive in interrupted:
            log.warning("archive interrupted by a previous process; recovering", archive=archive.id,
                        status=archive.status.value)
            outcome = await self._launcher.recover(archive) if self._launcher is not None else None
            stopped = archive
            if archive.status in RECORDING:
                stopped = await self._transition(
                    archive, ArchiveStatus.STOPPED, Reason.RECOVERED,
                    duration=outcome.duration if outcome is not None else 0,
                )
            if outcome is None:
                await self._transition(stopped, ArchiveStatus.FAILED, Reason.SYSTEM_FAILURE)
            else:
                await self.place_file(stopped, outcome, Reason.RECOVERED)

    async def close(self) -> None:
        """Shutdown: no more automatic starts; the stops already decided finish, whatever still
        records stops (``session ended``), the timers end. Every archive is tried."""
        self._closing = True
        await self._timer_tasks.close()
        self._timers.clear()
        self._idle.clear()
        await self._work.close(cancel=False)
        failures = Failures("stopping the archives still recording")
        for archive in await self._records.running():
            with failures.catch():
                await self.stop_recording(archive, Reason.SESSION_ENDED)
        await self._work.drain()  # the files those stops finish
        failures.raise_any()

    # ---- the rules of time and failure -------------------------------------------------------
    def _recording_failed(self, archive_id: str, error: BaseException) -> None:
        """The launcher's failure callback: stop the archive, keeping what was recorded."""
        self._failed_at.setdefault(archive_id, self._clock.now_ms())
        self._work.spawn(self.stop_if_recording(archive_id, Reason.FAILURE), f"recording failed {archive_id}")

    async def _max_duration(self, archive: Archive) -> None:
        """Sleep until the archive's maximum duration, then hand the stop to ``_work`` (a timer
        is cancelled at shutdown or when the archive stops; the stop itself never is)."""
        await self._clock.sleep_until(archive.created_at + int(self.max_duration_s * 1000))
        self._timers.pop(archive.id, None)
        self._work.spawn(self._expire(archive), f"max duration {archive.id}")

    async def _expire(self, archive: Archive) -> None:
        log.info("archive reached its maximum duration", archive=archive.id, max_s=self.max_duration_s)
        await self.stop_if_recording(archive.id, Reason.MAX_DURATION)
        room = self._rooms.get(archive.session_id)
        if room is not None and room.streams():
            await self.auto_start(archive.session_id, rollover_of=archive.id)

    # ---- internals -------------------------------------------------------------------------
    def _checked_layout(self, layout: dict[str, Any]) -> dict[str, Any]:
        if self._launcher is None:
            return layout  # (nothing will be drawn: the start is refused further on)
        try:
            return self._launcher.check_layout(layout)
        except ValueError as exc:
            raise BadRequest(f"layout: {exc}") from None

    async def _persistently(self, what: str, archive_id: str, step: Callable[[], Awaitable[T]]) -> T:
        """Run a rule's bookkeeping ``step`` until the database takes it: retried with backoff
        while it is unavailable (a full disk frees up, a database comes back). At shutdown it
        gives up after :data:`SHUTDOWN_PATIENCE_S`, and start-up recovery finishes the archive."""
        delay = RETRY_FIRST_S
        give_up_at: float | None = None
        attempts = 0
        while True:
            try:
                result = await step()
            except DatabaseUnavailable as exc:
                attempts += 1
                now = time.monotonic()
                if self._closing:
                    give_up_at = give_up_at or now + SHUTDOWN_PATIENCE_S
                    if now >= give_up_at:
                        log.error("archive bookkeeping abandoned at shutdown; start-up recovery finishes it",
                                  archive=archive_id, step=what, attempts=attempts)
                        raise
                if attempts == 1 or attempts % 30 == 0:
                    log.warning("archive bookkeeping postponed: the database cannot be written",
                                archive=archive_id, step=what, attempts=attempts, detail=exc.message)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_LONGEST_S)
                continue
            if attempts:
                log.info("archive bookkeeping written after the database came back", archive=archive_id,
                         step=what, attempts=attempts)
            return result

    async def _transition(
        self, archive: Archive, status: ArchiveStatus, reason: Reason, *, url_gone: bool = False, **changes: Any
    ) -> Archive:
        check_transition(archive.status, status)
        if url_gone:
            changes["storage_key"] = None
        updated = archive.evolve(status=status, reason=reason, updated_at=self._clock.now_ms(), **changes)
        if not await self._records.save_if_status(updated, archive.status):
            current = await self._records.get(archive.id)
            raise ConcurrentChange(
                f"archive changed concurrently (now {current.status.value if current else 'gone'})"
            )
        await self._notify(updated)
        return updated

    async def _notify(self, archive: Archive) -> None:
        """A committed change: the clients hear it (and the maximum-duration timer starts or
        ends), then the listeners. A failure here must not undo the change: logged."""
        try:
            await self._tell_clients(archive)
        except Exception:
            log.exception("archive event to clients failed", archive=archive.id)
        for listener in self._listeners:
            try:
                await listener(archive)
            except Exception:
                log.exception("archive listener failed", archive=archive.id)

    async def _tell_clients(self, archive: Archive) -> None:
        if archive.status is ArchiveStatus.STARTED and archive.id not in self._announced:
            self._announced.add(archive.id)
            if not self._closing:
                self._timers[archive.id] = self._timer_tasks.spawn(
                    self._max_duration(archive), f"max-duration {archive.id}"
                )
            started = True
        elif archive.status not in RECORDING and archive.id in self._announced:
            self._announced.discard(archive.id)
            for timers in (self._timers, self._idle):
                timer = timers.pop(archive.id, None)
                if timer is not None:
                    timer.cancel()
            started = False
        else:
            return
        room = self._rooms.get(archive.session_id)
        if room is not None:
            await room.set_archive(archive.id, archive.name, started=started)


def _already_recording(tag: str | None) -> str:
    if tag is None:
        return "this session is already being recorded (set a multiArchiveTag to record it again)"
    return f"this session is already being recorded with multiArchiveTag {tag[:64]!r}"


def _valid_id(archive_id: str) -> bool:
    try:
        uuid.UUID(archive_id)
    except (ValueError, AttributeError, TypeError):
        return False
    return True
