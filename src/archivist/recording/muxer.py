"""Fragmented MP4 writer: H.264 + AAC, crash-safe as it goes.

The file starts with an empty ``moov`` and then carries self-contained ``moof``+``mdat``
fragments of ~``fragment_s`` seconds, flushed to the OS as soon as each is complete. A process
killed at any instant leaves a file that plays up to the last complete fragment (see
``recovery``); a torn last fragment is cut off by :func:`~archivist.recording.recovery.recover_file`.

Everything here is blocking codec and file work: call it from a worker thread only.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from archivist import logs
from archivist.recording.encoder import AudioSettings, VideoSettings, configure_audio, configure_video

log = logs.get(__name__)


class FragmentedMp4Writer:
    def __init__(
        self,
        path: Path,
        video: VideoSettings | None,
        audio: AudioSettings | None,
        fragment_s: float = 1.0,
    ) -> None:
        if video is None and audio is None:
            raise ValueError("a recording needs audio, video or both")
        self.path = path
        self.video_settings = video
        self.audio_settings = audio
        self.video_frames = 0
        self.audio_samples = 0
        self.bytes_hint = 0
        self._closed = False
        self._audio_shift: int | None = None
        options = {
            "movflags": "empty_moov+default_base_moof",
            "frag_duration": str(int(fragment_s * 1_000_000)),
            "flush_packets": "1",
        }
        self._container: Any = av.open(str(path), mode="w", format="mp4", options=options)
        self._video: Any = None
        self._audio: Any = None
        try:
            if video is not None:
                self._video = self._container.add_stream("libx264", rate=video.fps)
                configure_video(self._video, video)
            if audio is not None:
                self._audio = self._container.add_stream("aac", rate=audio.sample_rate)
                configure_audio(self._audio, audio)
            self._container.start_encoding()
        except BaseException:
            self._container.close()
            raise
        log.info(
            "mp4 opened",
            path=str(path),
            video=None if video is None else f"{video.width}x{video.height}@{video.fps}",
            preset=None if video is None else video.effective_preset,
            audio=audio is not None,
        )

    @property
    def has_video(self) -> bool:
        return self._video is not None

    @property
    def has_audio(self) -> bool:
        return self._audio is not None

    def write_video(self, frame: Any, pts: int) -> None:
        """Encode one yuv420p ``av.VideoFrame`` of the output size, shown at tick ``pts`` (time
        base 1/fps). The encoder copies the picture: the caller may redraw the frame after."""
        assert self._video is not None and self.video_settings is not None
        frame.pts = pts
        frame.time_base = Fraction(1, self.video_settings.fps)
        self._mux(self._video.encode(frame))
        self.video_frames += 1

    def write_audio(self, samples: npt.NDArray[np.float32], pts: int) -> None:
        """Encode planar float stereo samples ``(2, n)`` starting at sample ``pts``."""
        assert self._audio is not None and self.audio_settings is not None
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout=self.audio_settings.layout
        )
        frame.sample_rate = self.audio_settings.sample_rate
        frame.pts = pts
        frame.time_base = Fraction(1, self.audio_settings.sample_rate)
        self._mux_audio(self._audio.encode(frame))
        self.audio_samples += samples.shape[1]

    def _mux_audio(self, packets: Any) -> None:
        # The AAC encoder stamps its first packet (the priming samples) at a negative pts; the
        # muxer would then shift every stream by that much and, having no edit list in an empty
        # moov, stretch the first video sample: video would end up ~21 ms late. Shift audio
        # alone instead, so both tracks start at 0 (see ``encoder.AAC_PRIMING``).
        for packet in packets:
            if self._audio_shift is None:
                self._audio_shift = max(0, -int(packet.pts or 0))
            if self._audio_shift:
                packet.pts += self._audio_shift
                packet.dts += self._audio_shift
            self.bytes_hint += packet.size
            self._container.mux(packet)

    def _mux(self, packets: Any) -> None:
        for packet in packets:
            self.bytes_hint += packet.size
            self._container.mux(packet)

    def close(self) -> None:
        """Flush the encoders and write the trailer. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._video is not None:
                self._mux(self._video.encode(None))
            if self._audio is not None:
                self._mux_audio(self._audio.encode(None))
        finally:
            self._container.close()
        log.info("mp4 closed", path=str(self.path), video_frames=self.video_frames,
                 audio_samples=self.audio_samples)

    def abort(self) -> None:
        """Close without flushing the encoders (after a failure); what was written stays."""
        if self._closed:
            return
        self._closed = True
        try:
            self._container.close()
        except Exception:  # the file is recoverable anyway
            log.warning("mp4 close after a failure failed", path=str(self.path), exc_info=True)
