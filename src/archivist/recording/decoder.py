"""Decoding one live track for the recorder: encoded frames in, ``av`` frames out.

Packets come from the pass-through seam (one ``av.Packet`` per encoded frame: a VP8 frame, an
H.264 access unit in Annex B, an Opus packet). Video decoding starts at a keyframe and restarts
at the next one after a corrupt frame (packet loss): the owner is told through ``need_keyframe``
so it can ask the publisher for one. A decode error never ends the recording.

Blocking: called on the recorder's worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import av

from archivist import logs

log = logs.get(__name__)

CODECS = {"video/vp8": "vp8", "video/h264": "h264", "audio/opus": "opus"}
OPUS_LOOKAHEAD_S = 312 / 48000
"""libopus encodes with a look-ahead of 6.5 ms (``OPUS_GET_LOOKAHEAD``: 312 samples at 48 kHz in
the VoIP and audio modes that browsers and aiortc use): what a decoder makes of the packet
stamped ``T`` is the sound that reached the encoder at ``T - 6.5 ms``. Left alone, every Opus
stream would play 6.5 ms late against its video."""
KEYFRAME_NUDGE = 15
"""Ask again for a keyframe after this many frames skipped while waiting for one."""


class UnsupportedCodec(ValueError):
    pass


def codec_name(mime_type: str) -> str:
    try:
        return CODECS[mime_type.lower()]
    except KeyError:
        raise UnsupportedCodec(f"cannot record {mime_type}") from None


class TrackDecoder:
    def __init__(self, mime_type: str, need_keyframe: Callable[[], None] | None = None) -> None:
        self.codec = codec_name(mime_type)
        self.video = mime_type.lower().startswith("video/")
        self._need_keyframe = need_keyframe
        self.delay = OPUS_LOOKAHEAD_S if self.codec == "opus" else 0.0
        """Seconds by which the decoded media lags the timestamp of its packet."""
        self._ctx: Any = self._context()
        self._waiting_key = self.video
        self.decoded = 0
        self.errors = 0
        self.skipped = 0

    def decode(self, packet: Any) -> list[Any]:
        """Frames of one encoded packet ([] while waiting for a keyframe or on an error)."""
        if self._waiting_key:
            if not packet.is_keyframe:
                self.skipped += 1
                if self.skipped % KEYFRAME_NUDGE == 0 and self._need_keyframe is not None:
                    self._need_keyframe()  # the first request may have been lost
                return []
            self._waiting_key = False
        try:
            frames = list(self._ctx.decode(av.Packet(bytes(packet))))
        except av.FFmpegError as exc:
            self.errors += 1
            log.debug("decode error", codec=self.codec, error=str(exc))
            if self.video:
                self._restart()
            return []
        self.decoded += len(frames)
        return frames

    def _context(self) -> Any:
        ctx = av.CodecContext.create(self.codec, "r")
        ctx.thread_count = 1  # the recorder's worker is the thread; no pool per stream (and cheaper)
        return ctx

    def _restart(self) -> None:
        """Start over at the next keyframe (a fresh context: no reference to broken frames)."""
        self._ctx = self._context()
        self._waiting_key = True
        if self._need_keyframe is not None:
            self._need_keyframe()

    def stats(self) -> dict[str, int]:
        return {"decoded": self.decoded, "errors": self.errors, "skipped": self.skipped}
