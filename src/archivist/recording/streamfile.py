"""One stream's file of an individual archive: its encoded packets in Matroska, as they come.

VP8 (and audio-only streams) go to WebM, H.264 to Matroska (``.mkv``), Opus alongside, exactly
as the publisher encoded them: no decoding, no re-encoding. What this writer adds:

* **one clock**: a packet's timestamp is its instant on the archive's clock (``t``, seconds)
  minus the file's start, in milliseconds; the file starts at its first packet, so the
  manifest's ``startTimeOffset`` puts every frame back on the archive's timeline exactly.
* **continuity**: audio is contiguous from the start of the file to its end. A gap (a mute, lost
  packets, a network stall, a reconnect) is filled with encoded Opus silence (packets encoded
  once per process); a packet that overlaps what is already written by more than one Opus
  frame is dropped, a smaller offset is absorbed, so audio never drifts more than 20 ms. Video
  is variable frame rate: a player keeps the last picture through a gap, and the file's
  Duration (its end, not its last frame) keeps it to the end.
* **decodable**: video starts at a keyframe (and again after a reconnect); frames before it are
  dropped and a keyframe is asked for. Timestamps only grow.
* **time order**: blocks reach the file in time order across both tracks (a video frame waits
  until the audio before it is written, gap filling included), so every cluster is monotonic.
* **crash safety**: ``matroska.MatroskaWriter`` writes a cluster (``cluster_ms``, 250 ms) to the
  OS as soon as it is complete, and no later than ``cluster_ms`` after it began. A killed process
  leaves a file that plays up to its last whole cluster; ``individual_recovery`` completes it.

Blocking file and codec work: the recorder's worker thread only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archivist import logs
from archivist.recording import opus
from archivist.recording.bitstream import h264_sps_size, vp8_keyframe_size
from archivist.recording.matroska import MatroskaWriter, Track, avc_configuration, avc_sample

log = logs.get(__name__)

AUDIO_TOLERANCE = 960  # samples (20 ms): a packet this close to its expected place is glued to it
KEEPALIVE_GAP_S = 0.1  # audio missing for longer than this (while the stream is present) is filled
SEEK_PRE_ROLL_NS = 80_000_000  # Opus: decode 80 ms before a seek point (RFC 7845)
DEFAULT_SIZE = (640, 480)  # a video track's declared size before any keyframe was seen
KEYFRAME_NUDGE = 15  # ask again for a keyframe after this many frames dropped waiting for one

VIDEO_CODECS = {"video/vp8": "vp8", "video/h264": "h264"}
AUDIO_CODECS = {"audio/opus": "opus"}


def file_extension(video_codec: str | None) -> str:
    """``webm`` for VP8 or audio-only streams, ``mkv`` for H.264 (as the hosted service)."""
    return "mkv" if video_codec == "h264" else "webm"


@dataclass(frozen=True)
class FileResult:
    path: Path
    start: float  # archive clock, seconds: the file's time zero
    end: float
    size: int
    has_audio: bool
    has_video: bool


@dataclass
class _Out:
    pts: int  # ms from the file start
    kind: str
    data: bytes
    keyframe: bool


class StreamFile:
    """Call :meth:`push` with the stream's packets in time order (both kinds merged),
    :meth:`advance` regularly, :meth:`close` at the end."""

    def __init__(
        self,
        path: Path,
        *,
        audio: bool,
        video: str | None,
        cluster_ms: int = 250,
        open_wait_s: float = 2.0,
        on_open: Callable[[StreamFile], None] | None = None,
        on_keyframe_needed: Callable[[], None] | None = None,
    ) -> None:
        if video not in (None, "vp8", "h264"):
            raise ValueError(f"cannot record video {video!r}")
        if not audio and video is None:
            raise ValueError("a stream file needs audio, video or both")
        self.path = path
        self.audio = audio
        self.video = video
        self.cluster_ms = cluster_ms
        self.open_wait_s = open_wait_s
        self._on_open = on_open
        self._on_keyframe_needed = on_keyframe_needed
        self._writer: MatroskaWriter | None = None
        self._audio_track: int | None = None
        self._video_track: int | None = None
        self.start: float | None = None  # archive clock instant of timestamp 0
        self._pending: list[tuple[float, str, bytes, bool]] = []  # before the file is opened
        self._audio_next = 0  # next audio sample (48 kHz) from the file start
        self._out: list[_Out] = []  # blocks waiting for the audio before them
        self._waiting_key = video is not None
        self._video_last = -1
        self._no_video = False  # an H.264 stream that had to start without its video track
        self.closed = False
        self.stats = {"audio_packets": 0, "video_frames": 0, "silence_ms": 0, "late_audio": 0,
                      "bad_audio": 0, "before_keyframe": 0}

    # -- input ---------------------------------------------------------------------------------
    def push(self, kind: str, data: bytes, t: float, keyframe: bool) -> None:
        if self.closed:
            return
        if kind == "video" and (self.video is None or self._no_video):
            return
        if kind == "audio" and not self.audio:
            return
        if kind == "video" and self._waiting_key and not keyframe:
            self.stats["before_keyframe"] += 1
            if self.stats["before_keyframe"] % KEYFRAME_NUDGE == 1 and self._on_keyframe_needed is not None:
                self._on_keyframe_needed()
            return
        if self._writer is None:
            self._pending.append((t, kind, data, keyframe))
            if kind == "video" or self.video is None:
                self._open()
            return
        self._write(kind, data, t, keyframe)

    @property
    def takes_video(self) -> bool:
        """Video can still be written (an H.264 file that started without its track cannot)."""
        return self.video is not None and not self._no_video and not self.closed

    def resume(self) -> None:
        """The stream came back (a reconnect): its video restarts at the next keyframe."""
        if self.video is not None:
            self._waiting_key = True

    def advance(self, horizon: float, present: bool) -> None:
        """Everything before ``horizon`` has been pushed. While the stream is ``present``,
        missing audio is filled up to (almost) the horizon; a cluster that is due is written."""
        if self.closed:
            return
        if self._writer is None:
            if self._pending and horizon - self._pending[0][0] >= self.open_wait_s:
                self._open()  # no keyframe in time: start without waiting any longer
            if self._writer is None:
                return
        assert self.start is not None
        if present and self._audio_track is not None:
            target = round((horizon - KEEPALIVE_GAP_S - self.start) * opus.SAMPLE_RATE)
            if target > self._audio_next + AUDIO_TOLERANCE:
                self._fill_audio(target)
        self._flush()
        self._writer.flush_due(round((horizon - self.start) * 1000))

    def close(self, end: float) -> FileResult | None:
        """End the file at archive instant ``end`` (audio filled to it; its Duration) and write
        its index. None when nothing was ever recorded. Idempotent."""
        if self.closed:
            return None
        if self._writer is None and self._pending:
            self._open()
        self.closed = True
        self._forget_callbacks()
        if self._writer is None:
            return None
        assert self.start is not None
        end = max(end, self.start)
        if self._audio_track is not None:
            self._fill_audio(round((end - self.start) * opus.SAMPLE_RATE))
        try:
            self._flush(final=True)
        finally:
            size = self._writer.close((end - self.start) * 1000)
        log.info("stream file closed", path=self.path.name, duration=round(end - self.start, 3), size=size,
                 **self.stats)
        return FileResult(self.path, self.start, end, size, self._audio_track is not None,
                          self._video_track is not None)

    def abort(self) -> None:
        """Close after a failure, writing nothing more (recovery completes the file)."""
        if self.closed:
            return
        self.closed = True
        self._forget_callbacks()
        if self._writer is not None:
            self._writer.abort()

    def _forget_callbacks(self) -> None:
        """A closed file calls nobody: its owner's callbacks refer back to the owner, which
        keeps the file (a cycle that would keep a finished recorder until a full collection)."""
        self._on_open = self._on_keyframe_needed = None

    # -- the file --------------------------------------------------------------------------------
    def _open(self) -> None:
        pending, self._pending = self._pending, []
        pending.sort(key=lambda p: p[0])
        keyframe = next((p for p in pending if p[1] == "video"), None)
        tracks: list[Track] = []
        if self.video is not None:
            if keyframe is not None:
                self._waiting_key = False
            size = DEFAULT_SIZE
            if keyframe is not None:
                found = vp8_keyframe_size(keyframe[2]) if self.video == "vp8" else h264_sps_size(keyframe[2])
                size = found or size
            if self.video == "vp8":
                tracks.append(Track(1, "video", "V_VP8", width=size[0], height=size[1]))
            else:
                config = avc_configuration(keyframe[2]) if keyframe is not None else None
                if config is None:  # its track header needs a keyframe's SPS/PPS, which never came
                    log.warning("no H.264 keyframe; recording the stream's audio only", path=self.path.name)
                    self._no_video = True
                else:
                    tracks.append(Track(1, "video", "V_MPEG4/ISO/AVC", config, width=size[0], height=size[1]))
            if tracks:
                self._video_track = 1
        if self.audio:
            self._audio_track = 2
            tracks.append(Track(2, "audio", "A_OPUS", opus.opus_head(), sample_rate=float(opus.SAMPLE_RATE),
                                channels=opus.CHANNELS, seek_pre_roll_ns=SEEK_PRE_ROLL_NS))
        self._writer = MatroskaWriter(self.path, "matroska" if self.video == "h264" else "webm", tracks,
                                      cluster_ms=self.cluster_ms)
        self.start = pending[0][0]
        if self._on_open is not None:
            self._on_open(self)
        for t, kind, data, key in pending:
            if kind == "video" and self._video_track is None:
                continue
            self._write(kind, data, t, key)

    def _write(self, kind: str, data: bytes, t: float, keyframe: bool) -> None:
        if kind == "audio":
            self._write_audio(data, t)
        else:
            self._write_video(data, t, keyframe)
        self._flush()

    def _write_audio(self, data: bytes, t: float) -> None:
        assert self.start is not None
        try:
            samples = opus.packet_samples(data)
        except ValueError:
            self.stats["bad_audio"] += 1
            return
        place = round((t - self.start) * opus.SAMPLE_RATE)
        if place > self._audio_next + AUDIO_TOLERANCE:
            self._fill_audio(place)
        elif place < self._audio_next - AUDIO_TOLERANCE:
            self.stats["late_audio"] += 1  # its time is already written
            return
        self._queue_audio(data, samples)
        self.stats["audio_packets"] += 1

    def _fill_audio(self, until: int) -> None:
        """Silence from the audio written so far up to sample ``until`` (within 2.5 ms)."""
        gap = until - self._audio_next
        if gap <= 0:
            return
        for packet, samples in opus.silence(gap):
            self._queue_audio(packet, samples)
        self.stats["silence_ms"] += gap * 1000 // opus.SAMPLE_RATE

    def _queue_audio(self, data: bytes, samples: int) -> None:
        start_ms = self._audio_next * 1000 // opus.SAMPLE_RATE
        self._audio_next += samples
        self._out.append(_Out(start_ms, "audio", data, True))

    def _write_video(self, data: bytes, t: float, keyframe: bool) -> None:
        assert self.start is not None
        self._waiting_key = False
        pts = max(round((t - self.start) * 1000), self._video_last + 1)
        self._video_last = pts
        if self.video == "h264":
            data = avc_sample(data)
        self._out.append(_Out(pts, "video", data, keyframe))
        self.stats["video_frames"] += 1

    def _flush(self, final: bool = False) -> None:
        """Write the blocks that are due, in time order: video waits for the audio before it."""
        if not self._out:
            return
        assert self._writer is not None
        self._out.sort(key=lambda o: (o.pts, o.kind != "audio"))
        frontier = None
        if not final and self._audio_track is not None:
            frontier = self._audio_next * 1000 // opus.SAMPLE_RATE
        ready = self._out if frontier is None else [o for o in self._out if o.kind == "audio" or o.pts < frontier]
        self._out = [] if frontier is None else [o for o in self._out if not (o.kind == "audio" or o.pts < frontier)]
        for o in ready:
            track = self._audio_track if o.kind == "audio" else self._video_track
            assert track is not None
            self._writer.write(track, o.pts, o.data, o.keyframe)
