"""The synchronous recording core: one clock driving compositor, mixer and MP4 writer.

Not thread-safe and blocking by design: :class:`~archivist.recording.recorder.ComposedRecorder`
runs it on its worker thread. Tests and benchmarks may drive it directly with a synthetic clock.

Timing: the owner calls :meth:`render_until` with an instant ``t`` on the shared clock; every
video tick due at or before ``t`` is composed and encoded (frames snap to the nearest tick), and
audio is mixed up to the same instant in AAC-frame blocks. Running ``latency`` seconds behind
the wall clock gives late frames (jitter, a slow decoder) time to arrive before their tick.
:meth:`finish` renders up to the stop instant exactly, so the file lasts as long as the
recording did.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archivist import logs
from archivist.recording.clock import RecordingClock, StreamTimeline
from archivist.recording.compositor import Compositor
from archivist.recording.encoder import AAC_FRAME, AAC_PRIMING, AudioSettings, VideoSettings
from archivist.recording.layout import Layout
from archivist.recording.mixer import SAMPLE_RATE, AudioMixer
from archivist.recording.muxer import FragmentedMp4Writer

log = logs.get(__name__)


MAX_VIDEO_BEHIND_S = 1.0
"""When video rendering falls this far behind the instant it is asked to reach (the machine
cannot keep up), it skips to the newest picture: a lower frame rate, never lost sound."""


@dataclass
class _Stream:
    stream_id: str
    has_audio: bool
    has_video: bool
    video_clock: StreamTimeline
    removed_at: float | None = None
    left_audio: bool = False
    left_video: bool = False


class RecordingPipeline:
    def __init__(
        self,
        path: Path,
        t0: float,
        video: VideoSettings | None,
        audio: AudioSettings | None,
        layout: Layout | None = None,
        fragment_s: float = 1.0,
    ) -> None:
        fps = video.fps if video is not None else 30
        self.clock = RecordingClock(t0=t0, fps=fps, sample_rate=SAMPLE_RATE)
        self.compositor = (
            Compositor(video.width, video.height, layout) if video is not None else None
        )
        self.mixer = AudioMixer() if audio is not None else None
        self.writer = FragmentedMp4Writer(path, video, audio, fragment_s=fragment_s)
        self._streams: dict[str, _Stream] = {}
        self._tick = 0  # next video tick to encode
        self._audio_block = 0  # next AAC block to encode
        self._finished = False
        self._max_behind_ticks = max(1, round(MAX_VIDEO_BEHIND_S * fps))
        self.skipped_ticks = 0
        self.video_behind_s = 0.0
        """How far the video was behind the last instant it was asked to reach, before skipping."""

    # -- inputs (worker thread) ----------------------------------------------------------------
    def add_stream(self, stream_id: str, has_audio: bool, has_video: bool, t: float) -> None:
        old = self._streams.get(stream_id)
        if old is not None and old.removed_at is None:
            return
        if old is not None:  # re-added before its removal took effect
            self._drop(stream_id)
        self._streams[stream_id] = _Stream(stream_id, has_audio, has_video, StreamTimeline())
        if has_video and self.compositor is not None:
            self.compositor.add_source(stream_id, joined_at=t)
        if has_audio and self.mixer is not None:
            self.mixer.add_source(stream_id)
        log.info("stream added to the recording", stream_id=stream_id, has_audio=has_audio, has_video=has_video)

    def set_placeholder(self, stream_id: str, name: str | None, t: float) -> None:
        """Its tile shows ``name`` on a placeholder (video muted) from now on, or its video
        (``None``) from instant ``t`` on (the frames before it are the muted camera's black)."""
        if self.compositor is not None and stream_id in self._streams:
            self.compositor.set_placeholder(stream_id, name, at=t)

    def remove_stream(self, stream_id: str, t: float) -> None:
        """The stream leaves the picture and the mix at instant ``t``."""
        stream = self._streams.get(stream_id)
        if stream is not None and stream.removed_at is None:
            stream.removed_at = t

    def _drop(self, stream_id: str) -> None:
        self._streams.pop(stream_id, None)
        if self.compositor is not None:
            self.compositor.remove_source(stream_id)
        if self.mixer is not None:
            self.mixer.remove_source(stream_id)
        log.info("stream removed from the recording", stream_id=stream_id)

    def _leave(self, until: float, video: bool) -> None:
        """Streams removed at or before ``until`` leave the picture (``video``) or the mix; a
        stream is forgotten once it has left both (sound may be rendered ahead of the picture)."""
        for stream in [s for s in self._streams.values() if s.removed_at is not None and s.removed_at <= until]:
            if video and not stream.left_video:
                stream.left_video = True
                if self.compositor is not None:
                    self.compositor.remove_source(stream.stream_id)
            elif not video and not stream.left_audio:
                stream.left_audio = True
                if self.mixer is not None:
                    self.mixer.remove_source(stream.stream_id)
            if (stream.left_video or self.compositor is None) and (stream.left_audio or self.mixer is None):
                self._drop(stream.stream_id)

    def push_video(self, stream_id: str, frame: Any, t: float) -> None:
        stream = self._streams.get(stream_id)
        if stream is None or not stream.has_video or self.compositor is None:
            return
        self.compositor.offer(stream_id, frame, stream.video_clock.map(t))

    def push_audio(self, stream_id: str, frame: Any, t: float, media: int | None = None) -> None:
        """A decoded audio frame whose first sample plays at ``t``; ``media``: its timestamp on
        the stream's media timeline in 48 kHz samples, when known (see the mixer)."""
        stream = self._streams.get(stream_id)
        if stream is None or not stream.has_audio or self.mixer is None:
            return
        self.mixer.offer(stream_id, frame, self.clock.sample_at(t), media)

    # -- output ------------------------------------------------------------------------------
    def _video_tick(self) -> None:
        assert self.compositor is not None
        n = self._tick
        window = self.clock.tick_window_end(n)
        self._leave(self.clock.tick_time(n), video=True)
        self.compositor.advance(window)
        self.writer.write_video(self.compositor.render(), n)
        self._tick += 1

    def _audio_until(self, samples: int) -> None:
        """Encode AAC blocks whose end is at or before recording sample ``samples``."""
        assert self.mixer is not None
        while AAC_PRIMING + (self._audio_block + 1) * AAC_FRAME <= samples:
            self._audio_one(AAC_FRAME)

    def _audio_one(self, count: int) -> None:
        assert self.mixer is not None
        start = AAC_PRIMING + self._audio_block * AAC_FRAME
        self._leave(self.clock.t0 + start / SAMPLE_RATE, video=False)
        self.writer.write_audio(self.mixer.mix(start, count), self._audio_block * AAC_FRAME)
        self._audio_block += 1

    def render_until(self, t: float) -> int:
        """Encode everything due at or before shared-clock instant ``t``; returns ticks done.
        Sound first, all of it; the picture follows, skipping to the newest one when it has
        fallen more than ``MAX_VIDEO_BEHIND_S`` behind ``t``."""
        if self.mixer is not None:
            self._audio_until(self.clock.sample_at(t))
        if self.compositor is None:
            self._leave(t, video=True)
            return 0
        return self._video_until(self.clock.ticks_before(t))

    def _video_until(self, target: int) -> int:
        behind = target - self._tick
        self.video_behind_s = max(0, behind) / self.clock.fps
        done = 0
        if behind > self._max_behind_ticks:
            if self._tick == 0:  # the video track starts at 0 whatever happens (no edit list)
                self._video_tick()
                done += 1
            self.skipped_ticks += target - 1 - self._tick
            self._tick = target - 1
        while self._tick < target:
            self._video_tick()
            done += 1
        return done

    def finish(self, t_stop: float) -> None:
        """Render up to ``t_stop`` exactly and close the file. Idempotent."""
        if self._finished:
            return
        self._finished = True
        try:
            if self.mixer is not None:
                total = self.clock.samples_for_duration(t_stop)
                self._audio_until(total)
                rest = total - (AAC_PRIMING + self._audio_block * AAC_FRAME)
                if rest > 0:
                    self._audio_one(rest)  # a short last frame: ends on the stop instant
            if self.compositor is not None:
                self._video_until(self.clock.ticks_for_duration(t_stop))
        except BaseException:
            self.writer.abort()
            raise
        self.writer.close()

    def abort(self) -> None:
        self._finished = True
        self.writer.abort()

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = {"video_ticks": self._tick, "audio_blocks": self._audio_block,
                               "skipped_ticks": self.skipped_ticks}
        if self.compositor is not None:
            out["video"] = self.compositor.stats()
        if self.mixer is not None:
            out["audio"] = self.mixer.stats()
        return out
