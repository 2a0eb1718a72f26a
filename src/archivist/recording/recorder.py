"""``ComposedRecorder``: the asyncio-facing facade of the recording core.

The owner (the in-server recorder) calls ``push_video`` / ``push_audio`` from the event loop
with decoded frames; those calls only append to a bounded inbox under a lock and return. One
worker thread per recorder drains the inbox and runs the blocking pipeline (compose, mix,
encode, mux), ``latency`` seconds behind the wall clock on a fixed output clock. A failure in
the worker stops the recording, is reported through ``on_error`` (called on the event loop) and
is raised by :meth:`ComposedRecorder.stop`; it is never only logged.

The recorder's state follows the table :data:`TRANSITIONS` and is only ever set on the event
loop's thread: the worker thread reports (started, failed, done) through
``call_soon_threadsafe``. ``close()`` follows the close idiom (idempotent, a second caller waits
for the first).

Do not push a frame that another consumer will encode: the recorder only reads frames, but a
PyAV encoder elsewhere rewrites ``pts`` in place.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from archivist import logs
from archivist.lifecycle import CloseOnce
from archivist.media.timing import WindowMin
from archivist.recording.decoder import TrackDecoder
from archivist.recording.encoder import AudioSettings, VideoSettings
from archivist.recording.finalize import RecordingResult, finalize_file
from archivist.recording.layout import ArchiveLayout, Layout, parse_resolution
from archivist.recording.pipeline import RecordingPipeline

log = logs.get(__name__)


class RecordingError(Exception):
    """The recording failed; ``__cause__`` holds the worker's exception."""


@dataclass(frozen=True)
class RecordingOptions:
    resolution: str = "640x480"
    fps: int = 30
    has_audio: bool = True
    has_video: bool = True
    max_bitrate: int | None = None  # bits/s for the whole file
    quantization_parameter: int | None = None  # 15..40, wins over max_bitrate
    preset: str | None = None  # libx264 preset; None picks by resolution
    keyframe_interval_s: float = 2.0
    encoder_threads: int = 1
    latency_s: float = 0.25  # how far behind the wall clock the output runs, at least
    max_latency_s: float = 1.5  # ... and at most, when media comes late (a loaded machine)
    fragment_s: float = 0.25  # at most this much is lost if the process is killed
    worker_nice: int = 10  # the worker thread's nice value (see ``lower_thread_priority``)
    max_pending_video: int = 240  # inbox bounds (frames), beyond which new frames are dropped
    max_pending_audio: int = 2000

    def video_settings(self) -> VideoSettings | None:
        if not self.has_video:
            return None
        width, height = parse_resolution(self.resolution)
        return VideoSettings(
            width=width,
            height=height,
            fps=self.fps,
            preset=self.preset,
            max_bitrate=self.max_bitrate,
            quantization_parameter=self.quantization_parameter,
            keyframe_interval_s=self.keyframe_interval_s,
            threads=self.encoder_threads,
            has_audio=self.has_audio,
        )

    def audio_settings(self) -> AudioSettings | None:
        return AudioSettings() if self.has_audio else None


_Kind = Literal["add", "remove", "video", "audio", "packet", "placeholder"]

LATENESS_WINDOW_S = 10.0
"""How long a late packet keeps the recorder's latency up."""
LATENESS_MARGIN = 0.05
LATENCY_DECAY = 0.05
"""Seconds of latency given back per second once media comes in time again."""
CAUGHT_UP_S = 5.0
"""A degraded recorder counts as caught up after this long without skipping a picture."""

State = Literal["new", "running", "stopping", "stopped", "failed", "closed"]

TRANSITIONS: dict[State, frozenset[State]] = {
    "new": frozenset({"running", "closed"}),
    "running": frozenset({"stopping", "failed", "closed"}),
    "stopping": frozenset({"stopped", "failed", "closed"}),
    "stopped": frozenset({"closed"}),
    "failed": frozenset({"closed"}),
    "closed": frozenset(),
}
"""The recorder's state machine: ``running`` once its worker runs, ``stopping`` while the file
is finished, ``stopped`` with a result, ``failed`` when the worker failed, ``closed`` at the end."""


def lower_thread_priority(nice: int) -> None:
    """Make the calling thread yield the CPU to the rest of the process (Linux: threads have their
    own nice value). A recorder runs ``latency_s`` behind real time and catches up; the event
    loop that forwards live media cannot wait."""
    if nice <= 0:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError) as exc:  # not Linux, or not permitted: run at normal priority
        log.info("recorder thread priority unchanged", reason=repr(exc))


class _Inbox:
    """Bounded, lock-protected hand-off from the event loop to the worker."""

    def __init__(self, max_video: int, max_audio: int) -> None:
        self._lock = threading.Lock()
        self._items: list[tuple[_Kind, str, Any, float]] = []
        self._counts = {"video": 0, "audio": 0}
        self._limits = {"video": max_video, "audio": max_audio}
        self.dropped = {"video": 0, "audio": 0}

    def put(self, kind: _Kind, stream_id: str, payload: Any, t: float) -> bool:
        media = payload[0] if kind == "packet" else kind
        with self._lock:
            if media in self._counts:
                if self._counts[media] >= self._limits[media]:
                    self.dropped[media] += 1
                    return False
                self._counts[media] += 1
            self._items.append((kind, stream_id, payload, t))
            return True

    def take(self) -> list[tuple[_Kind, str, Any, float]]:
        with self._lock:
            items, self._items = self._items, []
            self._counts = {"video": 0, "audio": 0}
            return items


class ComposedRecorder:
    def __init__(
        self,
        path: Path,
        options: RecordingOptions | None = None,
        *,
        layout: Layout | None = None,
        now: Callable[[], float] = time.monotonic,
        on_error: Callable[[BaseException], None] | None = None,
        name: str = "recorder",
    ) -> None:
        self.path = Path(path)
        self.options = options or RecordingOptions()
        if not (self.options.has_audio or self.options.has_video):
            raise ValueError("a recording needs audio, video or both")
        self._video_settings = self.options.video_settings()  # validates early, on the caller
        self._audio_settings = self.options.audio_settings()
        self._layout: Layout = layout if layout is not None else ArchiveLayout()
        self._now = now
        self._on_error = on_error
        self._name = name
        self._inbox = _Inbox(self.options.max_pending_video, self.options.max_pending_audio)
        self._decoders: dict[tuple[str, str], TrackDecoder] = {}  # worker thread only
        self._decoder_stats: dict[str, dict[str, int]] = {}
        self.on_keyframe_needed: Callable[[str], None] | None = None
        """Called on the event loop when a stream's video decoder waits for a keyframe."""
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
        self._result: RecordingResult | None = None
        self.t0: float | None = None
        self._rendered = 0.0
        """The instant the worker renders up to next (read by :meth:`stop`)."""
        self.stats: dict[str, Any] = {}
        self._lateness = WindowMin(LATENESS_WINDOW_S)  # worker thread only
        self.latency = self.options.latency_s
        """How far behind the wall clock the worker renders now (it follows late media)."""
        self.max_latency = self.latency
        self.behind_s = 0.0
        """How far the picture was behind when last rendered (set by the worker)."""
        self.degraded = False
        """The picture skips because the machine cannot keep up (set by the worker)."""
        self._skipped_seen = 0
        self._caught_up_at: float | None = None
        self.cpu_seconds = 0.0
        """CPU time the worker thread used so far (decode, compose, mix, encode, mux)."""
        self.lag_seconds = 0.0
        """How far the output trailed the wall clock when the worker last looked: its
        ``latency`` plus one loop when it keeps up, more when it cannot (CPU starved)."""

    # -- state -------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    def _set_state(self, new: State) -> None:
        """Move along :data:`TRANSITIONS` (event loop thread only)."""
        if self._thread is not None:
            assert threading.current_thread() is not self._thread, "recorder state set off the loop"
        if new != self._state and new not in TRANSITIONS[self._state]:
            raise RuntimeError(f"recorder cannot go from {self._state} to {new}")
        self._state = new

    @property
    def layout(self) -> ArchiveLayout:
        """The live layout (``set``, ``set_stream``, ``forget_stream``: thread-safe, taken at the
        next frame). Only a recorder made with an :class:`ArchiveLayout` (or none) has one."""
        if not isinstance(self._layout, ArchiveLayout):
            raise TypeError(f"this recorder's layout ({type(self._layout).__name__}) cannot be changed")
        return self._layout

    @property
    def error(self) -> BaseException | None:
        return self._error

    @property
    def dropped(self) -> dict[str, int]:
        return dict(self._inbox.dropped)

    # -- inputs (event loop; never block) ----------------------------------------------------
    def add_stream(
        self,
        stream_id: str,
        has_audio: bool = True,
        has_video: bool = True,
        codecs: dict[str, str] | None = None,
    ) -> None:
        """A stream joins. ``codecs`` (kind -> MIME type, e.g. ``{"video": "video/VP8"}``) is
        needed only to push encoded packets with :meth:`push_packet`."""
        self._put("add", stream_id, (has_audio, has_video, dict(codecs or {})), self._now())

    def remove_stream(self, stream_id: str) -> None:
        self._put("remove", stream_id, None, self._now())

    def set_placeholder(self, stream_id: str, name: str | None) -> None:
        """The stream's video is muted (``name``: its tile shows the name on a placeholder) or
        back (``None``)."""
        self._put("placeholder", stream_id, name, self._now())

    def push_video(self, stream_id: str, frame: Any, t: float) -> bool:
        """Queue a decoded ``av.VideoFrame`` stamped ``t`` (shared clock, seconds).
        Returns False when it was dropped (inbox full or recorder not running)."""
        return self._put("video", stream_id, frame, t)

    def push_audio(self, stream_id: str, frame: Any, t: float) -> bool:
        """Queue a decoded ``av.AudioFrame`` whose first sample plays at ``t``."""
        return self._put("audio", stream_id, frame, t)

    def push_packet(self, stream_id: str, kind: str, packet: Any, t: float, media: int | None = None) -> bool:
        """Queue an encoded packet of ``kind`` ("audio"/"video") captured at ``t``; the worker
        decodes it (never the event loop). Counted against the inbox bound of its kind.
        ``media``: the packet's timestamp on its track's own timeline (RTP ticks; for Opus,
        48 kHz samples), which tells the mixer whether audio follows on without a gap."""
        if kind not in ("audio", "video"):
            raise ValueError(f"unknown kind {kind!r}")
        return self._put("packet", stream_id, (kind, packet, media), t)

    def _put(self, kind: _Kind, stream_id: str, payload: Any, t: float) -> bool:
        # while stopping, what was captured before the stop instant is still on its way
        if self._state not in ("new", "running", "stopping") or (self._stop_at is not None and t > self._stop_at):
            return False
        return self._inbox.put(kind, stream_id, payload, t)

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self, t0: float | None = None) -> None:
        """Start the worker. ``t0``: the file's zero on this recorder's clock (default now; a
        recorder in a process of its own is given the instant its archive started)."""
        if self._state != "new":
            raise RuntimeError(f"cannot start a recorder in state {self._state}")
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.create_future()
        self._done = self._loop.create_future()
        self.t0 = self._now() if t0 is None else t0
        # a zero in the past: the media since then is on its way (it waited for this process);
        # render that far behind to begin with, then come down as for late media
        behind = self._now() - self.t0
        if behind > 0:
            self.latency = max(self.latency, behind + LATENESS_MARGIN)
            self.max_latency = max(self.max_latency, self.latency)
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
        log.info("recording started", path=str(self.path), options=self.options.resolution)

    async def stop(self, at: float | None = None) -> RecordingResult:
        """Stop: the file lasts until now, or until ``at`` (on this recorder's clock) when the
        stop was decided a moment ago (a timer's instant, reached through a busy event loop and
        database), but never before what is already written. Returns its true duration, size,
        hash."""
        if self._result is not None:
            return self._result
        if self._state == "new":
            raise RuntimeError("recorder was never started")
        if self._state == "running":
            now = self._now()
            self._stop_at = now if at is None else max(min(at, now), self._rendered)
            self._set_state("stopping")
            self._wake.set()
        await self._join()
        if self._error is not None:
            raise RecordingError(f"recording {self.path.name} failed: {self._error!r}") from self._error
        if self._state != "stopping":
            raise RuntimeError(f"cannot stop a recorder in state {self._state}")
        started = time.monotonic()
        self._result = await asyncio.to_thread(finalize_file, self.path)
        self._set_state("stopped")
        log.info("recording stopped", path=str(self.path), duration=round(self._result.duration, 3),
                 size=self._result.size, finalize_s=round(time.monotonic() - started, 3), stats=self.stats)
        return self._result

    async def close(self) -> None:
        """A running recorder is stopped (the file stays playable; its worker's failure, if any,
        was reported through ``on_error``). Idempotent; a second caller waits for the first."""
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
        log.error("recording failed", path=str(self.path), exc_info=exc)
        if self._on_error is not None:
            self._on_error(exc)

    def _drain(self, pipeline: RecordingPipeline) -> float:
        """Take everything pushed so far and decode it; returns the instant it was taken: all
        media pushed before it is in the pipeline now."""
        now = self._now()
        for kind, sid, payload, t in self._inbox.take():
            if kind in ("packet", "video", "audio"):
                self._lateness.observe(now, t - now)  # a minimum of (t - now): the latest item
            if kind == "packet":
                self._decode(pipeline, sid, payload[0], payload[1], t, payload[2])
            elif kind == "video":
                pipeline.push_video(sid, payload, t)
            elif kind == "audio":
                pipeline.push_audio(sid, payload, t)
            elif kind == "placeholder":
                pipeline.set_placeholder(sid, payload, t)
            elif kind == "add":
                has_audio, has_video, codecs = payload
                self._add_decoders(sid, codecs)
                pipeline.add_stream(sid, has_audio, has_video, t)
            else:
                for media in ("audio", "video"):
                    decoder = self._decoders.pop((sid, media), None)
                    if decoder is not None:
                        self._decoder_stats[f"{sid}/{media}"] = decoder.stats()
                pipeline.remove_stream(sid, t)
        return now

    def _add_decoders(self, stream_id: str, codecs: dict[str, str]) -> None:
        for media, mime in codecs.items():
            need_key = (lambda sid=stream_id: self._keyframe_needed(sid)) if media == "video" else None
            self._decoders[(stream_id, media)] = TrackDecoder(mime, need_key)

    def _keyframe_needed(self, stream_id: str) -> None:
        callback, loop = self.on_keyframe_needed, self._loop
        if callback is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(callback, stream_id)

    def _decode(
        self, pipeline: RecordingPipeline, stream_id: str, kind: str, packet: Any, t: float, media: int | None
    ) -> None:
        decoder = self._decoders.get((stream_id, kind))
        if decoder is None:
            return
        for frame in decoder.decode(packet):
            if kind == "video":
                pipeline.push_video(stream_id, frame, t)
            else:
                # the frame's sound entered the sender's encoder its look-ahead earlier
                pipeline.push_audio(stream_id, frame, t - decoder.delay, media)
                t += frame.samples / frame.sample_rate
                media = media + frame.samples if media is not None else None

    def _report_progress(self, pipeline: RecordingPipeline) -> None:
        """Say when the machine cannot keep up (the picture skips) and when it caught up again."""
        self.behind_s = pipeline.video_behind_s
        now = self._now()
        if pipeline.skipped_ticks > self._skipped_seen:
            self._skipped_seen = pipeline.skipped_ticks
            self._caught_up_at = None
            if not self.degraded:
                self.degraded = True
                log.warning("recording behind real time: fewer pictures, all the sound", path=str(self.path),
                            behind_s=round(self.behind_s, 2))
        elif self.degraded:
            if self._caught_up_at is None:
                self._caught_up_at = now
            elif now - self._caught_up_at >= CAUGHT_UP_S:
                self.degraded = False
                log.info("recording caught up", path=str(self.path), skipped_ticks=pipeline.skipped_ticks)

    def _follow_lateness(self, elapsed: float) -> float:
        """How far behind the wall clock to render now: enough for the latest media of the last
        ten seconds to have arrived before its instant is rendered (a loaded machine, a slow
        network delay it), between ``latency_s`` and ``max_latency_s``; it comes down slowly."""
        latest = self._lateness.value
        late = -latest if latest is not None else 0.0
        opts = self.options
        needed = max(opts.latency_s, min(opts.max_latency_s, late + LATENESS_MARGIN))
        if needed > self.latency:
            if needed > self.max_latency + LATENESS_MARGIN:
                log.info("recorder latency raised", path=str(self.path), latency_ms=round(needed * 1000))
            self.latency = needed
        else:
            self.latency = max(needed, self.latency - elapsed * LATENCY_DECAY)
        self.max_latency = max(self.max_latency, self.latency)
        return self.latency

    def _run(self) -> None:
        assert self.t0 is not None
        lower_thread_priority(self.options.worker_nice)
        try:
            pipeline = RecordingPipeline(
                self.path, self.t0, self._video_settings, self._audio_settings,
                layout=self._layout, fragment_s=self.options.fragment_s,
            )
        except BaseException as exc:
            self._report_error(exc)
            self._signal(self._started, exc)
            self._signal(self._done)
            return
        self._signal(self._started)
        period = 1.0 / self.options.fps
        rendered = self.t0
        self._rendered = rendered
        try:
            while self._stop_at is None:
                taken = self._drain(pipeline)
                now = self._now()
                # at least the latency: before its first render the output trails by that much too
                self.lag_seconds = max(self.latency, now - rendered)
                # rendered up to the instant the inbox was taken (less the latency), not up to
                # now: when decoding the backlog took longer than the latency (a starved
                # worker), the sound pushed meanwhile is still in the inbox, and rendering past
                # it would drop it as late. The output falls behind instead; the picture skips.
                rendered = max(rendered, taken - self._follow_lateness(period / 2))
                self._rendered = rendered
                pipeline.render_until(rendered)
                self._report_progress(pipeline)
                self.cpu_seconds = time.thread_time()
                self._wake.wait(period / 2)
                self._wake.clear()
            # what was captured before the stop is still on its way for up to the latency: wait
            # for it (not when closing down), so the file ends with the sound and picture of its
            # last moments rather than silence
            while not self._abort and self._now() - self.latency < self._stop_at:
                self._drain(pipeline)
                self._wake.wait(period / 2)
                self._wake.clear()
            self._drain(pipeline)
            pipeline.finish(self._stop_at)  # also on close(): leave a complete file
            self.cpu_seconds, self.lag_seconds = time.thread_time(), 0.0
            self.stats = pipeline.stats()
            self._decoder_stats.update({f"{sid}/{media}": d.stats() for (sid, media), d in self._decoders.items()})
            self.stats["decoders"] = self._decoder_stats
            self.stats["inbox_dropped"] = self.dropped
            self.stats["latency_ms"] = {"final": round(self.latency * 1000), "max": round(self.max_latency * 1000)}
        except BaseException as exc:
            pipeline.abort()
            self._report_error(exc)
        finally:
            # The decoders go with the worker: their codec contexts hold frame pools (a VP8
            # context keeps every buffer it ever had out at once: MBs per stream), and each
            # holds a callback to this recorder, a cycle that only a full garbage collection
            # would free (issue 12: the server grew by tens of MB per archive).
            self._decoders.clear()
            self._signal(self._done)
