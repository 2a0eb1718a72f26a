"""The in-server recorder launcher: archives start and stop recorders through it.

It implements the archive layer's ``RecorderLauncher`` protocol (``start(archive, on_failure)``,
``stop(archive) -> RecordingOutcome``, ``recover``) and the rooms' ``RoomObserver`` hooks, so a
recording follows its session: every stream already published when the archive starts, and
every stream published later, is fed in (:class:`~archivist.recording.feed.StreamFeed`); a
stream that goes away leaves the picture and the mix. With ``streamMode: manual`` only the
streams added by :meth:`InServerLauncher.select_stream` are fed. The launcher owns its
recorders: one :class:`~archivist.recording.recorder.ComposedRecorder` (``outputMode:
composed``) or :class:`~archivist.recording.individual.IndividualRecorder` (``individual``) per
archive, closed on stop and at shutdown. A composed recorder runs in a process of its own
(:class:`~archivist.recording.recorder_process.RecorderProcess`, one spare process kept ready),
so its decoding and encoding never hold this process's GIL; the individual recorder, which
only copies packets into files, is a thread of this process. The launcher talks to a recorder
only through its inputs and, for the live layout, its ``layout`` attribute.

Files: ``<archives_dir>/<project key>/<archive id>.mp4``, written incrementally (fragmented
MP4), so a killed server leaves a playable file for start-up recovery to finish. Individual:
the streams' files and journal in ``<archive id>/``, then ``<archive id>.zip``.
"""

from __future__ import annotations

import asyncio
import errno
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from archivist import logs
from archivist.archives.model import Archive
from archivist.archives.ports import FailureCallback, RecordingOutcome
from archivist.clock import now_ms
from archivist.errors import DiskFull
from archivist.lifecycle import Failures
from archivist.memory import release_free_memory
from archivist.recording.encoder import PRESETS
from archivist.recording.feed import StreamFeed
from archivist.recording.finalize import RecordingResult, sha256_file
from archivist.recording.individual import IndividualOptions, IndividualRecorder
from archivist.recording.individual_recovery import recover_individual
from archivist.recording.layout import ArchiveLayout, LayoutSpec
from archivist.recording.package import ArchiveInfo, IndividualResult
from archivist.recording.recorder import ComposedRecorder, RecordingError, RecordingOptions
from archivist.recording.recorder_process import RecorderProcess, SpareProcess
from archivist.recording.recovery import RecoveryError, recover_file
from archivist.rooms.connection import Connection
from archivist.rooms.reasons import CloseReason
from archivist.rooms.registry import Rooms
from archivist.rooms.room import Room
from archivist.rooms.stream import Stream

log = logs.get(__name__)


def _suffix(output_mode: str) -> str:
    return ".zip" if output_mode == "individual" else ".mp4"


def archive_path(archives_dir: Path, project_key: str, archive_id: str, output_mode: str = "composed") -> Path:
    """The archive's file: its MP4, or the ZIP of an individual archive."""
    return archives_dir / project_key / f"{archive_id}{_suffix(output_mode)}"


def work_directory(archives_dir: Path, project_key: str, archive_id: str) -> Path:
    """Where an individual archive's stream files and journal are written before the ZIP."""
    return archives_dir / project_key / archive_id


def storage_key(project_key: str, archive_id: str, output_mode: str = "composed") -> str:
    """The file's path relative to the archives directory (posix)."""
    return f"{project_key}/{archive_id}{_suffix(output_mode)}"


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


Recorder = ComposedRecorder | RecorderProcess | IndividualRecorder
COMPOSED = (ComposedRecorder, RecorderProcess)
"""The composed recorders: in a process of its own (the default), or a thread of the server."""


@dataclass
class _Recording:
    archive: Archive
    recorder: Recorder
    feeds: dict[str, StreamFeed] = field(default_factory=dict)
    selected: dict[str, tuple[bool, bool]] = field(default_factory=dict)
    """``streamMode: manual``: the streams added (stream id -> hasAudio, hasVideo)."""

    @property
    def manual(self) -> bool:
        return self.archive.stream_mode == "manual"

    @property
    def lag_seconds(self) -> float:
        r = self.recorder
        return r.lag_seconds if isinstance(r, COMPOSED) else r.options.latency_s

    @property
    def dropped(self) -> dict[str, int]:
        r = self.recorder
        return r.dropped if isinstance(r, COMPOSED) else {"packets": r.dropped}

    @property
    def behind_s(self) -> float:
        return self.recorder.behind_s if isinstance(self.recorder, COMPOSED) else 0.0

    @property
    def degraded(self) -> bool:
        return self.recorder.degraded if isinstance(self.recorder, COMPOSED) else False


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
        self,
        rooms: Rooms,
        archives_dir: Path,
        preset: str | None = None,
        *,
        min_free_bytes: int = 0,
        recorder_process: bool = True,
    ) -> None:
        """``min_free_bytes``: a recording does not start with less free space than this in
        ``archives_dir`` (:meth:`check_space`). ``recorder_process``: each composed archive is
        recorded by a process of its own (:mod:`~archivist.recording.recorder_process`; False:
        by a thread of this one, which shares its GIL with the event loop)."""
        if preset is not None and preset not in PRESETS:
            raise ValueError(f"video preset {preset!r} is not one of {', '.join(PRESETS)}")
        self._rooms = rooms
        self._dir = archives_dir
        self._preset = preset
        self._min_free = min_free_bytes
        self._spare = SpareProcess() if recorder_process else None
        self._active: dict[str, _Recording] = {}  # by archive id (a session may briefly have two:
        # one finishing its file while the next starts)
        self.finished_cpu_seconds = 0.0
        """CPU time of the recorders that have finished (the running ones: :meth:`load`)."""

    def prepare(self) -> None:
        """Start the spare recorder process now (event loop running), so the first archive
        starts at once (:meth:`ready` waits for it)."""
        if self._spare is not None:
            self._spare.prepare()

    async def ready(self) -> None:
        if self._spare is not None:
            await self._spare.ready()

    def load(self) -> list[RecordingLoad]:
        return [
            RecordingLoad(rec.archive.id, rec.archive.project_key, rec.recorder.cpu_seconds,
                          rec.lag_seconds, len(rec.feeds), rec.dropped, rec.behind_s, rec.degraded)
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
        return {aid: round(rec.behind_s, 2) for aid, rec in self._active.items() if rec.degraded}

    # ---- RecorderLauncher --------------------------------------------------------------------
    async def start(self, archive: Archive, on_failure: FailureCallback) -> None:
        if archive.id in self._active:
            raise RuntimeError(f"archive {archive.id} is already recording")
        path = archive_path(self._dir, archive.project_key, archive.id, archive.output_mode)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        rec = _Recording(archive, self._recorder(archive, path, on_failure))
        # by archive id, not ``rec``: the recorder must not refer back to its record (a cycle
        # keeps a finished recorder, its buffers and codec contexts, until a full collection)
        rec.recorder.on_keyframe_needed = lambda sid, aid=archive.id: self._keyframe_needed(aid, sid)
        self._active[archive.id] = rec
        if isinstance(rec.recorder, RecorderProcess):
            # fed from now on: the media waits for the process if it is still starting
            rec.recorder.begin()
            self._attach_all(rec)
        try:
            await rec.recorder.start()
        except BaseException:
            self._active.pop(archive.id, None)
            for feed in rec.feeds.values():
                feed.close()
            raise
        if not isinstance(rec.recorder, RecorderProcess):
            self._attach_all(rec)
        log.info("archive recording", archive=archive.id, session_id=archive.session_id,
                 streams=len(rec.feeds), path=str(path))

    def _recorder(self, archive: Archive, path: Path, on_failure: FailureCallback) -> Recorder:
        def failed(exc: BaseException) -> None:
            self._failed(archive.id, exc, on_failure)

        name = f"archive-{archive.id[:8]}"
        if archive.output_mode == "individual":
            info = ArchiveInfo(archive.id, archive.session_id, archive.project_key, archive.name, archive.created_at)
            return IndividualRecorder(
                work_directory(self._dir, archive.project_key, archive.id),
                info,
                IndividualOptions(has_audio=archive.has_audio, has_video=archive.has_video),
                zip_path=path,
                on_error=failed,
                name=name,
            )
        if self._spare is not None:
            return RecorderProcess(
                path,
                recording_options(archive, self._preset),
                layout=LayoutSpec.from_json(archive.layout),
                on_error=failed,
                name=name,
                spare=self._spare,
            )
        return ComposedRecorder(
            path,
            recording_options(archive, self._preset),
            layout=ArchiveLayout(LayoutSpec.from_json(archive.layout)),
            on_error=failed,
            name=name,
        )

    async def stop(self, archive: Archive, at_ms: int | None = None) -> RecordingOutcome:
        rec = self._active.pop(archive.id, None)
        if rec is None:
            raise RuntimeError(f"archive {archive.id} has no running recorder")
        try:
            # the feeds go on until the recorder has the media captured before the stop instant,
            # which is still arriving (jitter buffers, the recorder's latency)
            if isinstance(rec.recorder, COMPOSED):
                at = None if at_ms is None else time.monotonic() - max(0.0, (now_ms() - at_ms) / 1000)
                result: RecordingResult | IndividualResult = await rec.recorder.stop(at)
            else:
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
            in_process = not isinstance(rec.recorder, RecorderProcess)
            del rec  # its recorder, the last reference: freed now (see :func:`release_free_memory`)
            if in_process:  # (a recorder process gave everything back when it exited)
                await self._release_memory(archive.id)
        log.info("archive recorded", archive=archive.id, duration=round(result.duration, 3), size=result.size,
                 feeds=feeds)
        return RecordingOutcome(
            duration=round(result.duration),
            size=result.size,
            storage_key=storage_key(archive.project_key, archive.id, archive.output_mode),
            sha256=result.sha256,
        )

    async def _release_memory(self, archive_id: str) -> None:
        """A finished recorder's buffers (tens of MB) go back to the system: glibc would keep
        them, and the server's memory would rise at every archive (issue 12)."""
        started = time.monotonic()
        done = await asyncio.to_thread(release_free_memory)
        if done.available:
            log.info("recorder memory released", archive=archive_id, released_mb=round(done.released / 2**20, 1),
                     rss_mb=round(done.rss_after / 2**20, 1), took_ms=round((time.monotonic() - started) * 1000))

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
        playable). Truncates a torn last fragment; reports the file's true duration and size.
        An individual archive: its stream files are repaired, its manifest and ZIP written."""
        path = archive_path(self._dir, archive.project_key, archive.id, archive.output_mode)
        key = storage_key(archive.project_key, archive.id, archive.output_mode)
        if archive.output_mode == "individual":
            work = work_directory(self._dir, archive.project_key, archive.id)
            try:
                result = await asyncio.to_thread(recover_individual, work, path)
            except RecoveryError as exc:
                log.warning("individual archive not recoverable", archive=archive.id, error=str(exc))
                return None
            return RecordingOutcome(duration=round(result.duration), size=result.size, storage_key=key,
                                    sha256=result.sha256)
        try:
            recovered = await asyncio.to_thread(recover_file, path)
        except RecoveryError as exc:
            log.warning("archive file not recoverable", archive=archive.id, error=str(exc))
            return None
        digest = await asyncio.to_thread(sha256_file, path)
        return RecordingOutcome(duration=round(recovered.duration), size=recovered.size, storage_key=key,
                                sha256=digest)

    # ---- what the archive service asks of a running recording ---------------------------------
    def check_layout(self, layout: dict[str, Any]) -> dict[str, Any]:
        """What a composed recorder will draw (``LayoutError``, a ValueError, when it cannot)."""
        return LayoutSpec.from_json(layout).to_json()

    async def set_layout(self, archive: Archive, layout: dict[str, Any]) -> bool:
        """``PUT /archive/{id}/layout``: the composed picture takes it at its next frame.
        False: no recorder of this archive runs here."""
        rec = self._active.get(archive.id)
        if rec is None or not isinstance(rec.recorder, COMPOSED):
            return False
        rec.recorder.layout.set(LayoutSpec.from_json(layout))
        rec.archive = rec.archive.evolve(layout=layout)
        return True

    async def select_stream(self, archive: Archive, stream_id: str, has_audio: bool, has_video: bool) -> bool:
        """``streamMode: manual``: record this stream (again, with other tracks: re-fed).
        False: no recorder of this archive runs here."""
        rec = self._active.get(archive.id)
        if rec is None:
            return False
        rec.selected[stream_id] = (has_audio, has_video)
        self._detach(rec, stream_id)
        room = self._rooms.get(archive.session_id)
        stream = room.find_stream(stream_id) if room is not None else None
        if stream is not None:
            self._attach(rec, stream)
        return True

    async def deselect_stream(self, archive: Archive, stream_id: str) -> bool:
        rec = self._active.get(archive.id)
        if rec is None:
            return False
        rec.selected.pop(stream_id, None)
        self._detach(rec, stream_id)
        return True

    def recorded_streams(self, archive_id: str) -> list[dict[str, Any]]:
        """The archive's ``streams`` (today's API): what is recorded now, with its tracks."""
        rec = self._active.get(archive_id)
        if rec is None:
            return []
        return [{"streamId": sid, "hasAudio": feed.has_audio, "hasVideo": feed.has_video}
                for sid, feed in rec.feeds.items()]

    def stream_classes_changed(self, session_id: str, stream: Stream) -> None:
        """A stream's layout classes changed (``PUT /session/{id}/stream``)."""
        for rec in self.recordings(session_id):
            if isinstance(rec.recorder, COMPOSED) and stream.id in rec.feeds:
                rec.recorder.layout.set_stream(stream.id, classes=stream.layout_classes)


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
        if self._spare is not None:
            with failures.catch():
                await self._spare.close()
        failures.raise_any()

    # ---- feeding -----------------------------------------------------------------------------
    def _attach_all(self, rec: _Recording) -> None:
        room = self._rooms.get(rec.archive.session_id)
        for stream in room.streams() if room is not None and not rec.manual else []:
            self._attach(rec, stream)

    def _attach(self, rec: _Recording, stream: Stream) -> None:
        if stream.id in rec.feeds or stream.closed:
            return
        # the tracks it has, muted or not: a muted stream stays in the mix and the picture
        audio, video = rec.archive.has_audio, rec.archive.has_video
        if rec.manual:
            if stream.id not in rec.selected:
                return
            want_audio, want_video = rec.selected[stream.id]
            audio, video = audio and want_audio, video and want_video
        recorder = rec.recorder
        fps = recorder.options.fps if isinstance(recorder, COMPOSED) else 30
        feed = StreamFeed(stream.id, stream.media, recorder, audio=audio, video=video, fps=fps)
        if not feed.codecs:
            return
        if isinstance(recorder, COMPOSED):
            recorder.layout.set_stream(stream.id, classes=stream.layout_classes, video_type=stream.video_type,
                                       owner=stream.connection.id)
        else:
            recorder.set_stream_info(stream.id, connection_data=stream.connection.data, video_type=stream.video_type)
        rec.feeds[stream.id] = feed
        feed.start()
        if not stream.has_video and feed.has_video and isinstance(recorder, COMPOSED):
            recorder.set_placeholder(stream.id, stream.name)
        log.info("stream recorded", archive=rec.archive.id, stream=stream.id, codecs=feed.codecs)

    def _detach(self, rec: _Recording, stream_id: str) -> None:
        feed = rec.feeds.pop(stream_id, None)
        if feed is not None:
            feed.close()
            if isinstance(rec.recorder, COMPOSED):
                rec.recorder.layout.forget_stream(stream_id)
            log.info("stream left the recording", archive=rec.archive.id, stream=stream_id, **feed.stats())

    def _keyframe_needed(self, archive_id: str, stream_id: str) -> None:
        rec = self._active.get(archive_id)
        feed = rec.feeds.get(stream_id) if rec is not None else None
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
            # individual files fill the gap themselves (their track stays continuous)
            if feed is not None and feed.has_video and isinstance(rec.recorder, COMPOSED):
                rec.recorder.set_placeholder(stream.id, None if stream.has_video else stream.name)

    def stream_media_replaced(self, room: Room, stream: Stream) -> None:
        """The stream goes on over a new peer connection: its feeds read the new one (the
        recording keeps the stream; the outage is a gap in it)."""
        for rec in self.recordings(room.session_id):
            feed = rec.feeds.get(stream.id)
            if feed is not None:
                feed.rebind(stream.media)
                log.info("recorded stream's media replaced", archive=rec.archive.id, stream=stream.id)

    def connection_created(self, room: Room, connection: Connection) -> None:
        return None

    def connection_destroyed(self, room: Room, connection: Connection, reason: CloseReason) -> None:
        return None
