"""The in-server recorder launcher: archives start and stop recorders through it.

It implements the archive layer's ``RecorderLauncher`` protocol (``start(archive, on_failure)``,
``stop(archive) -> RecordingOutcome``, ``recover``) and the rooms' ``RoomObserver`` hooks, so a
recording follows its session: every stream already published when the archive starts, and
every stream published later, is fed in (:class:`~archivist.recording.feed.StreamFeed`); a
stream that goes away leaves the picture and the mix. The launcher owns its recorders: it
creates one :class:`~archivist.recording.recorder.ComposedRecorder` per archive and closes it
(on stop, and every one left at shutdown). The recorder is a subscriber like any other, inside
this process; this class is the seam where it could move to a process of its own.

Files: ``<archives_dir>/<project key>/<archive id>.mp4``, written incrementally (fragmented
MP4), so a killed server leaves a playable file for start-up recovery to finish.
"""

from __future__ import annotations

import asyncio
import errno
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from archivist import logs
from archivist.archives.model import Archive
from archivist.archives.ports import FailureCallback, RecordingOutcome
from archivist.errors import DiskFull
from archivist.lifecycle import Failures
from archivist.recording.encoder import PRESETS
from archivist.recording.feed import StreamFeed
from archivist.recording.finalize import sha256_file
from archivist.recording.layout import BestFit
from archivist.recording.recorder import ComposedRecorder, RecordingError, RecordingOptions
from archivist.recording.recovery import RecoveryError, recover_file
from archivist.rooms.connection import Connection
from archivist.rooms.reasons import CloseReason
from archivist.rooms.registry import Rooms
from archivist.rooms.room import Room
from archivist.rooms.stream import Stream

log = logs.get(__name__)


def archive_path(archives_dir: Path, project_key: str, archive_id: str) -> Path:
    return archives_dir / project_key / f"{archive_id}.mp4"


def storage_key(project_key: str, archive_id: str) -> str:
    """The file's path relative to the archives directory (posix)."""
    return f"{project_key}/{archive_id}.mp4"


def recording_options(archive: Archive, preset: str | None = None) -> RecordingOptions:
    return RecordingOptions(
        resolution=archive.resolution or "640x480",
        has_audio=archive.has_audio,
        has_video=archive.has_video,
        max_bitrate=archive.max_bitrate,
        quantization_parameter=archive.quantization_parameter,
        preset=preset,
    )


def disk_full(error: BaseException | None) -> bool:
    """``error`` (or one of its causes) is the file system running out of space."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


@dataclass(frozen=True)
class DiskSpace:
    path: str
    free_bytes: int
    total_bytes: int
    min_free_bytes: int

    @property
    def low(self) -> bool:
        return self.free_bytes < self.min_free_bytes


@dataclass
class _Recording:
    archive: Archive
    recorder: ComposedRecorder
    feeds: dict[str, StreamFeed] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordingLoad:
    """What one running recorder costs, for ``/metrics``."""

    archive_id: str
    project_key: str
    cpu_seconds: float
    lag_seconds: float
    streams: int
    dropped: dict[str, int]
    picture_behind_seconds: float
    degraded: bool
    """The picture skips (fewer frames, all the sound): the machine cannot keep up."""


class InServerLauncher:
    def __init__(
        self, rooms: Rooms, archives_dir: Path, preset: str | None = None, *, min_free_bytes: int = 0
    ) -> None:
        """``min_free_bytes``: a recording does not start with less free space than this in
        ``archives_dir`` (:meth:`check_space`)."""
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"video preset {preset!r} is not one of {', '.join(PRESETS)}")
        self._rooms = rooms
        self._dir = archives_dir
        self._preset = preset
        self._min_free = min_free_bytes
        self._active: dict[str, _Recording] = {}  # by archive id (a session may briefly have two:
        # one finishing its file while the next starts)
        self.finished_cpu_seconds = 0.0
        """CPU time of the recorders that have finished (the running ones: :meth:`load`)."""

    def load(self) -> list[RecordingLoad]:
        return [
            RecordingLoad(rec.archive.id, rec.archive.project_key, rec.recorder.cpu_seconds,
                          rec.recorder.lag_seconds, len(rec.feeds), rec.recorder.dropped,
                          rec.recorder.behind_s, rec.recorder.degraded)
            for rec in self._active.values()
        ]

    def recordings(self, session_id: str) -> list[_Recording]:
        return [rec for rec in self._active.values() if rec.archive.session_id == session_id]

    @property
    def active_count(self) -> int:
        """Recorders writing now (a failed one waiting for its stop is not counted)."""
        return sum(1 for rec in self._active.values() if rec.recorder.error is None)

    @property
    def failed_count(self) -> int:
        """Recorders that failed and whose archive is not stopped yet (its status change may
        be waiting for the database to take it)."""
        return len(self._active) - self.active_count

    def disk_space(self) -> DiskSpace:
        """Free space of the file system the archives are written to."""
        path = self._dir
        while not path.exists() and path != path.parent:
            path = path.parent
        usage = shutil.disk_usage(path)
        return DiskSpace(str(self._dir), usage.free, usage.total, self._min_free)

    def check_space(self) -> None:
        space = self.disk_space()
        if space.low:
            raise DiskFull(
                f"not enough free disk space to record: {space.free_bytes // 2**20} MiB free in the data "
                f"directory, {space.min_free_bytes // 2**20} MiB needed (ARCHIVIST_MIN_FREE_MB)"
            )

    def behind(self) -> dict[str, float]:
        """Archive id -> seconds its picture is behind, for the recorders that cannot keep up."""
        return {aid: round(rec.recorder.behind_s, 2) for aid, rec in self._active.items() if rec.recorder.degraded}

    # ---- RecorderLauncher --------------------------------------------------------------------
    async def start(self, archive: Archive, on_failure: FailureCallback) -> None:
        if archive.id in self._active:
            raise RuntimeError(f"archive {archive.id} is already recording")
        path = archive_path(self._dir, archive.project_key, archive.id)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        recorder = ComposedRecorder(
            path,
            recording_options(archive, self._preset),
            layout=BestFit(),
            on_error=lambda exc: self._failed(archive.id, exc, on_failure),
            name=f"archive-{archive.id[:8]}",
        )
        rec = _Recording(archive, recorder)
        recorder.on_keyframe_needed = lambda sid: self._keyframe_needed(rec, sid)
        self._active[archive.id] = rec
        try:
            await recorder.start()
        except BaseException:
            self._active.pop(archive.id, None)
            raise
        room = self._rooms.get(archive.session_id)
        for stream in room.streams() if room is not None else []:
            self._attach(rec, stream)
        log.info("archive recording", archive=archive.id, session_id=archive.session_id,
                 streams=len(rec.feeds), path=str(path))

    async def stop(self, archive: Archive) -> RecordingOutcome:
        rec = self._active.pop(archive.id, None)
        if rec is None:
            raise RuntimeError(f"archive {archive.id} has no running recorder")
        try:
            # the feeds go on until the recorder has the media captured before the stop instant,
            # which is still arriving (jitter buffers, the recorder's latency)
            result = await rec.recorder.stop()
        except RecordingError as exc:
            # The worker failed mid-recording: what it wrote up to the failure is kept.
            return await self._salvage(archive, exc)
        finally:
            feeds = {sid: feed.stats() for sid, feed in rec.feeds.items()}
            for feed in rec.feeds.values():
                feed.close()
            await rec.recorder.close()
            self.finished_cpu_seconds += rec.recorder.cpu_seconds
        log.info("archive recorded", archive=archive.id, duration=round(result.duration, 3), size=result.size,
                 feeds=feeds)
        return RecordingOutcome(
            duration=round(result.duration),
            size=result.size,
            storage_key=storage_key(archive.project_key, archive.id),
            sha256=result.sha256,
        )

    async def _salvage(self, archive: Archive, error: RecordingError) -> RecordingOutcome:
        outcome = await self.recover(archive)
        if outcome is None or outcome.duration <= 0:
            raise error
        full = disk_full(error)
        log.warning("failed recording salvaged", archive=archive.id, duration=outcome.duration,
                    size=outcome.size, disk_full=full, cause=repr(error.__cause__))
        return replace(outcome, salvaged=True, disk_full=full)

    async def recover(self, archive: Archive) -> RecordingOutcome | None:
        """Start-up: finish the file a killed process left for ``archive`` (None: nothing
        playable). Truncates a torn last fragment; reports the file's true duration and size."""
        path = archive_path(self._dir, archive.project_key, archive.id)
        try:
            recovered = await asyncio.to_thread(recover_file, path)
        except RecoveryError as exc:
            log.warning("archive file not recoverable", archive=archive.id, error=str(exc))
            return None
        digest = await asyncio.to_thread(sha256_file, path)
        return RecordingOutcome(
            duration=round(recovered.duration),
            size=recovered.size,
            storage_key=storage_key(archive.project_key, archive.id),
            sha256=digest,
        )

    async def close(self) -> None:
        """Shutdown: close every recorder still running (their files stay complete and
        recoverable); each one is closed whatever the others do, failures raised together."""
        failures = Failures("closing the recorders")
        recordings, self._active = list(self._active.values()), {}
        for rec in recordings:
            for feed in rec.feeds.values():
                with failures.catch():
                    feed.close()
            with failures.catch():
                await rec.recorder.close()
            self.finished_cpu_seconds += rec.recorder.cpu_seconds
        failures.raise_any()

    # ---- feeding -----------------------------------------------------------------------------
    def _attach(self, rec: _Recording, stream: Stream) -> None:
        if stream.id in rec.feeds or stream.closed:
            return
        feed = StreamFeed(
            stream.id,
            stream.media,
            rec.recorder,
            # the tracks it has, muted or not: a muted stream stays in the mix and the picture
            audio=rec.archive.has_audio,
            video=rec.archive.has_video,
        )
        if not feed.codecs:
            return
        rec.feeds[stream.id] = feed
        feed.start()
        if not stream.has_video and feed.has_video:
            rec.recorder.set_placeholder(stream.id, stream.name)
        log.info("stream recorded", archive=rec.archive.id, stream=stream.id, codecs=feed.codecs)

    def _detach(self, rec: _Recording, stream_id: str) -> None:
        feed = rec.feeds.pop(stream_id, None)
        if feed is not None:
            feed.close()
            log.info("stream left the recording", archive=rec.archive.id, stream=stream_id, **feed.stats())

    def _keyframe_needed(self, rec: _Recording, stream_id: str) -> None:
        feed = rec.feeds.get(stream_id)
        if feed is not None:
            feed.request_keyframe()

    def _failed(self, archive_id: str, exc: BaseException, on_failure: FailureCallback) -> None:
        # the recorder logged the traceback; this line ties it to the archive
        log.error("archive recording failed", archive=archive_id, disk_full=disk_full(exc), error=str(exc))
        rec = self._active.get(archive_id)
        if rec is not None:  # nothing more to feed: its streams stop being decoded for it now
            for stream_id in list(rec.feeds):
                self._detach(rec, stream_id)
        on_failure(exc)

    # ---- RoomObserver (told, never awaited: attaching and detaching feeds is immediate) ------
    def stream_created(self, room: Room, stream: Stream) -> None:
        for rec in self.recordings(room.session_id):
            self._attach(rec, stream)

    def stream_destroyed(self, room: Room, stream: Stream, reason: CloseReason) -> None:
        for rec in self.recordings(room.session_id):
            self._detach(rec, stream.id)

    def stream_changed(self, room: Room, stream: Stream) -> None:
        """Video muted: its tile shows the stream's name on a placeholder; unmuted: the video."""
        for rec in self.recordings(room.session_id):
            feed = rec.feeds.get(stream.id)
            if feed is not None and feed.has_video:
                rec.recorder.set_placeholder(stream.id, None if stream.has_video else stream.name)

    def connection_created(self, room: Room, connection: Connection) -> None:
        return None

    def connection_destroyed(self, room: Room, connection: Connection, reason: CloseReason) -> None:
        return None
