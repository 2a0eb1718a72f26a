"""``IndividualRecorder``: an archive with ``outputMode: individual``: one file per stream.

It takes the same calls as :class:`~archivist.recording.recorder.ComposedRecorder` gets from a
:class:`~archivist.recording.feed.StreamFeed` (``add_stream``, ``push_packet`` with the encoded
``av.Packet`` and its instant on the archive's clock, ``remove_stream``), so a feed drives
either; it implements :class:`PacketRecorder`. The event-loop side only appends to a bounded,
locked inbox. One worker thread per archive (nice +10) puts each stream's packets back in time
order (``latency_s`` behind the wall clock: audio and video of a stream reach the server with
different delays) and writes them to the stream's file (``streamfile``), without decoding.

* A stream is one file from its first packet to its end (``<streamId>.webm``, ``.mkv`` for
  H.264): leaving and coming back (a reconnect, a manual remove/add) continues the same file,
  the gap filled; only a codec change starts another file (``<streamId>-1.webm``, ...).
* ``stop()`` ends every file at the stop instant, writes the manifest and the ZIP
  (``package``) and returns an :class:`~archivist.recording.package.IndividualResult`.
* A killed process leaves the journal and playable files: ``individual_recovery`` turns them
  into the complete archive.

A failure in the worker stops the recording, is reported through ``on_error`` (on the event
loop) and raised by :meth:`IndividualRecorder.stop` as ``RecordingError``; never only logged.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from archivist import logs
from archivist.lifecycle import CloseOnce
from archivist.recording.package import (
    ArchiveInfo,
    IndividualResult,
    Journal,
    ManifestFile,
    manifest_json,
    write_package,
)
from archivist.recording.recorder import TRANSITIONS, ComposedRecorder, RecordingError, State, lower_thread_priority
from archivist.recording.streamfile import AUDIO_CODECS, VIDEO_CODECS, StreamFile, file_extension

log = logs.get(__name__)


class PacketRecorder(Protocol):
    """What a stream feed drives: the composed and the individual recorders both are one."""

    def add_stream(
        self, stream_id: str, has_audio: bool = True, has_video: bool = True, codecs: dict[str, str] | None = None
    ) -> None: ...

    def remove_stream(self, stream_id: str) -> None: ...

    def push_packet(self, stream_id: str, kind: str, packet: Any, t: float, media: int | None = None) -> bool: ...


@dataclass(frozen=True)
class IndividualOptions:
    has_audio: bool = True
    has_video: bool = True
    latency_s: float = 0.5  # how far behind the wall clock packets are written (reordering room)
    cluster_ms: int = 250  # Matroska cluster length: at most this much is lost if killed
    open_wait_s: float = 2.0  # how long a file waits for its first keyframe before starting without
    worker_nice: int = 10
    max_pending_packets: int = 20_000  # inbox bound (all streams); beyond it packets are dropped
    keep_directory: bool = False  # keep the work directory after the ZIP is written

    def __post_init__(self) -> None:
        if not (self.has_audio or self.has_video):
            raise ValueError("a recording needs audio, video or both")


_Kind = Literal["add", "remove", "info", "packet", "lost"]


class _Inbox:
    def __init__(self, limit: int) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[_Kind, str, Any, float]] = []
        self._packets = 0
        self._limit = limit
        self.dropped = 0

    def put(self, kind: _Kind, stream_id: str, payload: Any, t: float) -> bool:
        with self._lock:
            if kind == "packet":
                if self._packets >= self._limit:
                    self.dropped += 1
                    return False
                self._packets += 1
            self._items.append((kind, stream_id, payload, t))
            return True

    def take(self) -> list[tuple[_Kind, str, Any, float]]:
        with self._lock:
            items, self._items = self._items, []
            self._packets = 0
            return items


ORDER_STEP_S = 0.001
"""The least a packet's place follows its predecessor's (of the same kind)."""


@dataclass
class _Stream:
    stream_id: str
    audio: bool  # the file has an audio track
    video: str | None  # the file's video codec: "vp8" / "h264"
    codecs: dict[str, str]
    connection_data: str = ""
    video_type: str = "camera"
    want_audio: bool = True  # what is recorded now (hasAudio / hasVideo of the stream)
    want_video: bool = True
    files: list[StreamFile] = field(default_factory=list)
    closed: list[tuple[StreamFile, ManifestFile]] = field(default_factory=list)
    present: bool = True
    removed_at: float | None = None
    heap: list[tuple[float, int, str, Any, bool]] = field(default_factory=list)
    last_t: dict[str, float] = field(default_factory=dict)
    """Per kind, the place of the latest packet queued: packets keep the order they came in."""

    @property
    def current(self) -> StreamFile | None:
        return self.files[-1] if self.files else None


class IndividualRecorder:
    def __init__(
        self,
        directory: Path,
        archive: ArchiveInfo,
        options: IndividualOptions | None = None,
        *,
        zip_path: Path | None = None,
        now: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        on_error: Callable[[BaseException], None] | None = None,
        name: str = "individual",
    ) -> None:
        self.directory = Path(directory)
        self.zip_path = Path(zip_path) if zip_path is not None else self.directory.with_suffix(".zip")
        self.archive = archive
        self.options = options or IndividualOptions()
        self._now = now
        self._wall = wall
        self._on_error = on_error
        self._name = name
        self._inbox = _Inbox(self.options.max_pending_packets)
        self._seq = itertools.count()
        self._streams: dict[str, _Stream] = {}  # worker thread only
        self._info: dict[str, tuple[str, str]] = {}  # stream id -> (connection data, video type)
        self.on_keyframe_needed: Callable[[str], None] | None = None
        """Called on the event loop when a stream's file waits for a keyframe."""
        self._wake = threading.Event()
        self._stop_at: float | None = None
        self._abort = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started: asyncio.Future[None] | None = None
        self._done: asyncio.Future[None] | None = None
        self._error: BaseException | None = None
        self._state: State = "new"
        self._closing = CloseOnce()
        self._result: IndividualResult | None = None
        self._journal: Journal | None = None
        self.t0: float | None = None
        self.created_at_ms: int | None = None
        self.stats: dict[str, Any] = {}
        self.cpu_seconds = 0.0
        """CPU time the worker thread used so far (reading the inbox, writing the files)."""

    # -- state -------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    def _set_state(self, new: State) -> None:
        """Move along the recorder state machine (``recorder.TRANSITIONS``), event loop only."""
        if self._thread is not None:
            assert threading.current_thread() is not self._thread, "recorder state set off the loop"
        if new != self._state and new not in TRANSITIONS[self._state]:
            raise RuntimeError(f"recorder cannot go from {self._state} to {new}")
        self._state = new

    @property
    def error(self) -> BaseException | None:
        return self._error

    @property
    def dropped(self) -> int:
        return self._inbox.dropped

    # -- inputs (event loop; never block) ----------------------------------------------------
    def add_stream(
        self, stream_id: str, has_audio: bool = True, has_video: bool = True, codecs: dict[str, str] | None = None
    ) -> None:
        """A stream joins (or comes back). ``codecs``: kind -> MIME type of its tracks."""
        self._put("add", stream_id, (has_audio, has_video, dict(codecs or {})), self._now())

    def set_stream_info(self, stream_id: str, *, connection_data: str = "", video_type: str = "camera") -> None:
        """The manifest's ``connectionData`` and ``videoType`` of a stream (before or after it
        joins; the first value of ``videoType`` is kept, as the hosted service does)."""
        self._put("info", stream_id, (connection_data, video_type), self._now())

    def remove_stream(self, stream_id: str) -> None:
        self._put("remove", stream_id, None, self._now())

    def push_packet(self, stream_id: str, kind: str, packet: Any, t: float, media: int | None = None) -> bool:
        """Queue an encoded packet of ``kind`` ("audio"/"video") captured at ``t`` (the archive's
        clock). False when it was dropped (inbox full or not recording). ``media`` (the packet's
        place on its track's own timeline) is accepted as the composed recorder takes it; a file
        places every packet by ``t``, which the feed derives from that timeline already."""
        if kind not in ("audio", "video"):
            raise ValueError(f"unknown kind {kind!r}")
        ok = self._put("packet", stream_id, (kind, packet, bool(packet.is_keyframe)), t)
        if not ok and kind == "video" and self._state == "running":
            self._inbox.put("lost", stream_id, kind, t)  # its file must restart at a keyframe
        return ok

    def _put(self, kind: _Kind, stream_id: str, payload: Any, t: float) -> bool:
        if self._state not in ("new", "running"):
            return False
        return self._inbox.put(kind, stream_id, payload, t)

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        if self._state != "new":
            raise RuntimeError(f"cannot start a recorder in state {self._state}")
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.create_future()
        self._done = self._loop.create_future()
        mono, wall = self._now(), self._wall()
        if self.archive.created_at_ms is not None:  # the archive's clock: offsets from its createdAt
            self.created_at_ms = int(self.archive.created_at_ms)
            self.t0 = mono - (wall - self.created_at_ms / 1000)
        else:
            self.created_at_ms = round(wall * 1000)
            self.t0 = mono
        self._set_state("running")
        self._thread = threading.Thread(target=self._run, name=f"{self._name}-worker", daemon=True)
        self._thread.start()
        try:
            await asyncio.shield(self._started)
        except BaseException:
            if self.state == "running":  # (the worker's report usually came first)
                self._set_state("failed")
            await self._join()
            raise
        log.info("individual recording started", directory=str(self.directory), archive=self.archive.id)

    async def stop(self) -> IndividualResult:
        """Stop now: every file ends at this instant; the manifest and the ZIP are written."""
        if self._result is not None:
            return self._result
        if self._state == "new":
            raise RuntimeError("recorder was never started")
        if self._state == "running":
            self._stop_at = self._now()
            self._set_state("stopping")
            self._wake.set()
        await self._join()
        if self._error is not None or self._result is None:
            if self._state == "stopping":
                self._set_state("failed")
            error = self._error or RuntimeError("the recorder stopped without a result")
            raise RecordingError(f"individual recording {self.archive.id} failed: {error!r}") from error
        self._set_state("stopped")
        log.info("individual recording stopped", archive=self.archive.id, files=len(self._result.files),
                 size=self._result.size, duration=round(self._result.duration, 3))
        return self._result

    async def close(self) -> None:
        """Idempotent (shutdown). A running recorder stops and its files are closed, complete
        and playable, with the journal; no ZIP is made: ``recover_individual`` makes it (at the
        next start, as for an archive a killed process left). A second caller waits for the first."""
        await self._closing.run(self._close)

    async def _close(self) -> None:
        if self._state == "running":
            self._stop_at = self._now()
            self._abort = True
            self._wake.set()
        if self._state != "new":
            await self._join()
        self._set_state("closed")

    async def _join(self) -> None:
        if self._done is not None:
            await asyncio.shield(self._done)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
            self._thread = None

    # -- worker thread -------------------------------------------------------------------------
    def _signal(self, fut: asyncio.Future[None] | None, exc: BaseException | None = None) -> None:
        loop = self._loop
        if fut is None or loop is None or loop.is_closed():
            return

        def settle() -> None:
            if fut.done():
                return
            if exc is None:
                fut.set_result(None)
            else:
                fut.set_exception(exc)

        loop.call_soon_threadsafe(settle)

    def _report_error(self, exc: BaseException) -> None:
        """Worker thread: hand the failure to the event loop (which sets the state)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._worker_failed, exc)

    def _worker_failed(self, exc: BaseException) -> None:
        """Event loop: the worker failed."""
        self._error = exc
        if self._state in ("running", "stopping"):
            self._set_state("failed")
        log.error("individual recording failed", archive=self.archive.id, exc_info=exc)
        if self._on_error is not None:
            self._on_error(exc)

    def _keyframe_needed(self, stream_id: str) -> None:
        callback, loop = self.on_keyframe_needed, self._loop
        if callback is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(callback, stream_id)

    def _offset_ms(self, t: float) -> int:
        assert self.t0 is not None
        return round((t - self.t0) * 1000)

    def _new_file(self, stream: _Stream) -> StreamFile:
        index = len(stream.files) + len(stream.closed)
        suffix = "" if index == 0 else f"-{index}"
        path = self.directory / f"{stream.stream_id}{suffix}.{file_extension(stream.video)}"
        sid = stream.stream_id

        def opened(f: StreamFile) -> None:
            assert self._journal is not None and f.start is not None
            self._journal.write("file", streamId=sid, filename=f.path.name, startTimeOffset=self._offset_ms(f.start),
                                connectionData=stream.connection_data, videoType=stream.video_type)

        f = StreamFile(path, audio=stream.audio, video=stream.video, cluster_ms=self.options.cluster_ms,
                       open_wait_s=self.options.open_wait_s, on_open=opened,
                       on_keyframe_needed=lambda: self._keyframe_needed(sid))
        stream.files.append(f)
        return f

    def _close_file(self, stream: _Stream, f: StreamFile, end: float) -> None:
        stream.files.remove(f)
        result = f.close(end)
        if result is None:
            return
        entry = ManifestFile(stream.stream_id, f.path.name, result.size, self._offset_ms(result.start),
                             self._offset_ms(result.end), stream.connection_data, stream.video_type)
        stream.closed.append((f, entry))
        assert self._journal is not None
        self._journal.write("closed", filename=entry.filename, stopTimeOffset=entry.stop_offset_ms, size=entry.size)

    def _write_until(self, stream: _Stream, until: float) -> None:
        f = stream.current
        while stream.heap and stream.heap[0][0] <= until:
            t, _seq, kind, packet, keyframe = heapq.heappop(stream.heap)
            if f is not None:
                f.push(kind, bytes(packet), t, keyframe)

    def _apply(self, kind: _Kind, sid: str, payload: Any, t: float) -> None:
        stream = self._streams.get(sid)
        if kind == "packet":
            media, packet, keyframe = payload
            if stream is None or not stream.present or not (stream.want_audio if media == "audio"
                                                                else stream.want_video):
                return
            # A packet placed before its predecessor (lip sync moved the stream back: its first
            # sender report, a re-anchor) still goes after it: a file keeps decode order, or an
            # interframe would come before the frame it references.
            last = stream.last_t.get(media)
            if last is not None and t < last + ORDER_STEP_S:
                t = last + ORDER_STEP_S
            stream.last_t[media] = t
            heapq.heappush(stream.heap, (t, next(self._seq), media, packet, keyframe))
        elif kind == "add":
            has_audio, has_video, codecs = payload
            self._add(stream, sid, has_audio, has_video, codecs, t)
        elif kind == "remove":
            if stream is not None and stream.present:
                stream.present, stream.removed_at = False, t
        elif kind == "info":
            connection_data, video_type = payload
            first = sid not in self._info
            self._info[sid] = (connection_data, video_type if first else self._info[sid][1])
            if stream is not None:
                stream.connection_data = connection_data
                if first:
                    stream.video_type = video_type
                if self._journal is not None:
                    self._journal.write("info", streamId=sid, connectionData=stream.connection_data,
                                        videoType=stream.video_type)
        elif kind == "lost" and stream is not None and stream.current is not None:
            stream.current.resume()

    def _add(self, stream: _Stream | None, sid: str, has_audio: bool, has_video: bool, codecs: dict[str, str],
             t: float) -> None:
        """A stream joins, comes back, or has its audio/video switched (``PATCH …/streams``)."""
        audio_ok = codecs.get("audio", "").lower() in AUDIO_CODECS
        video_codec = VIDEO_CODECS.get(codecs.get("video", "").lower())
        want_audio = bool(has_audio and self.options.has_audio and audio_ok)
        want_video = bool(has_video and self.options.has_video and video_codec is not None)
        if stream is None:
            if not (want_audio or want_video):
                log.info("stream has nothing to record", stream=sid, codecs=codecs)
                return
            # the file has a track for what the stream has and the archive records, so that a
            # stream whose video is switched on later continues the same file
            cd, vt = self._info.get(sid, ("", "camera"))
            stream = _Stream(sid, self.options.has_audio and audio_ok,
                             video_codec if self.options.has_video else None, dict(codecs), cd, vt)
            self._streams[sid] = stream
            self._new_file(stream)
        else:
            current = stream.current
            fits = ((not want_audio or stream.audio)
                    and (not want_video or (stream.video == video_codec
                                            and (current is None or current.takes_video))))
            if not fits:  # a track the file lacks, or another codec: another file
                end = t if stream.present else (stream.removed_at or t)
                self._write_until(stream, end)
                if current is not None:
                    self._close_file(stream, current, end)
                stream.audio = self.options.has_audio and audio_ok
                stream.video = video_codec if self.options.has_video else None
                stream.codecs = dict(codecs)
                self._new_file(stream)
            elif current is not None and (not stream.present or (want_video and not stream.want_video)):
                current.resume()  # its video starts again at a keyframe
        stream.want_audio, stream.want_video = want_audio, want_video
        stream.present, stream.removed_at = True, None
        log.info("stream recorded", stream=sid, audio=want_audio, video=video_codec if want_video else None)

    def _drain(self) -> None:
        for kind, sid, payload, t in self._inbox.take():
            self._apply(kind, sid, payload, t)

    def _tick(self, horizon: float) -> None:
        for stream in self._streams.values():
            self._write_until(stream, horizon)
            f = stream.current
            if f is not None:
                f.advance(horizon, stream.present)

    def _finish(self, stop_at: float) -> IndividualResult | None:
        self._drain()
        for stream in self._streams.values():
            end = stream.removed_at if stream.removed_at is not None else stop_at
            self._write_until(stream, end)
            stream.heap.clear()
            for f in list(stream.files):
                self._close_file(stream, f, end)
        assert self._journal is not None and self.created_at_ms is not None
        self._journal.write("stopped", stopTimeOffset=self._offset_ms(stop_at))
        if self._abort:
            return None
        entries = [e for s in self._streams.values() for _f, e in s.closed]
        manifest = manifest_json(self.archive, self.created_at_ms, entries)
        size, digest = write_package(self.directory, self.zip_path, manifest)
        self._journal.close()
        if not self.options.keep_directory:
            shutil.rmtree(self.directory, ignore_errors=True)
        duration = max((e.stop_offset_ms for e in entries), default=self._offset_ms(stop_at)) / 1000
        return IndividualResult(self.zip_path, size, digest, duration, manifest, tuple(entries))

    def _run(self) -> None:
        assert self.t0 is not None and self.created_at_ms is not None
        lower_thread_priority(self.options.worker_nice)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._journal = Journal(self.directory)
            info = ArchiveInfo(self.archive.id, self.archive.session_id, self.archive.partner_id, self.archive.name,
                               self.created_at_ms)
            self._journal.write("archive", **info.to_json())
        except BaseException as exc:
            self._report_error(exc)
            self._signal(self._started, exc)
            self._signal(self._done)
            return
        self._signal(self._started)
        latency = self.options.latency_s
        cpu0 = time.thread_time()
        try:
            while self._stop_at is None:
                horizon = self._now() - latency  # read the clock first: what is older has arrived
                self._drain()
                self._tick(horizon)
                self.cpu_seconds = time.thread_time() - cpu0
                self._wake.wait(0.02)
                self._wake.clear()
            self._result = self._finish(self._stop_at)
            self.stats = {"streams": {s.stream_id: [dict(f.stats) for f, _e in s.closed] for s in
                                      self._streams.values()}, "inbox_dropped": self.dropped}
        except BaseException as exc:
            for stream in self._streams.values():
                for f in stream.files:
                    f.abort()
            self._report_error(exc)
        finally:
            if self._journal is not None:
                self._journal.close()
            self._signal(self._done)


if TYPE_CHECKING:  # a stream feed drives either recorder: mypy checks that both are PacketRecorders

    def _both_are_packet_recorders(c: ComposedRecorder, i: IndividualRecorder) -> tuple[PacketRecorder, ...]:
        return (c, i)
