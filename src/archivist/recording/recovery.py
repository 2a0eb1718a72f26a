"""Reading fragmented MP4 structure: true duration, and recovery after a crash.

A fragmented MP4 is ``ftyp``, ``moov`` (track headers, no samples), then ``moof``+``mdat``
pairs, optionally an ``mfra`` index. The true duration is read from the fragments themselves
(``tfdt`` base decode time + ``trun``/``tfhd``/``trex`` sample durations), so it is exact and
costs a walk over a few hundred small boxes, whatever the media size.

:func:`recover_file` makes what a killed process left playable: it keeps every complete
fragment and truncates a torn last one (a box running past the end of the file, or a ``moof``
without its ``mdat``).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from archivist import logs

log = logs.get(__name__)


class RecoveryError(Exception):
    """The file holds nothing playable (no header, or not an MP4)."""


@dataclass
class Track:
    track_id: int
    handler: str = ""
    timescale: int = 0
    default_duration: int = 0  # from trex
    start: int | None = None
    end: int = 0
    samples: int = 0

    @property
    def duration(self) -> float:
        if not self.timescale or self.start is None:
            return 0.0
        return self.end / self.timescale


@dataclass
class Mp4Info:
    size: int  # bytes up to the end of the last complete box
    file_size: int
    tracks: dict[int, Track] = field(default_factory=dict)
    fragments: int = 0
    torn_at: int | None = None  # offset of an incomplete trailing box, if any
    has_moov: bool = False

    @property
    def duration(self) -> float:
        return max((t.duration for t in self.tracks.values()), default=0.0)

    def track(self, handler: str) -> Track | None:
        return next((t for t in self.tracks.values() if t.handler == handler), None)


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[str, int, int]]:
    """(type, payload start, box end) of the boxes in ``data[start:end]``."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                return
            size = struct.unpack_from(">Q", data, pos + 8)[0]
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            return
        yield kind.decode("latin-1"), pos + header, pos + size
        pos += size


def _child(data: bytes, start: int, end: int, kind: str) -> tuple[int, int] | None:
    for k, s, e in _boxes(data, start, end):
        if k == kind:
            return s, e
    return None


def _parse_moov(data: bytes, info: Mp4Info) -> None:
    for kind, s, e in _boxes(data):
        if kind == "trak":
            tkhd = _child(data, s, e, "tkhd")
            if tkhd is None:
                continue
            version = data[tkhd[0]]
            track_id = struct.unpack_from(">I", data, tkhd[0] + (20 if version == 1 else 12))[0]
            track = info.tracks.setdefault(track_id, Track(track_id))
            mdia = _child(data, s, e, "mdia")
            if mdia is None:
                continue
            mdhd = _child(data, mdia[0], mdia[1], "mdhd")
            if mdhd is not None:
                version = data[mdhd[0]]
                track.timescale = struct.unpack_from(">I", data, mdhd[0] + (20 if version == 1 else 12))[0]
            hdlr = _child(data, mdia[0], mdia[1], "hdlr")
            if hdlr is not None:
                track.handler = data[hdlr[0] + 8 : hdlr[0] + 12].decode("latin-1")
        elif kind == "mvex":
            for k, ts, _te in _boxes(data, s, e):
                if k == "trex":
                    track_id, _desc, duration = struct.unpack_from(">III", data, ts + 4)
                    info.tracks.setdefault(track_id, Track(track_id)).default_duration = duration


def _parse_moof(data: bytes, info: Mp4Info) -> None:
    for kind, s, e in _boxes(data):
        if kind != "traf":
            continue
        tfhd = _child(data, s, e, "tfhd")
        if tfhd is None:
            continue
        flags = struct.unpack_from(">I", data, tfhd[0])[0] & 0xFFFFFF
        track_id = struct.unpack_from(">I", data, tfhd[0] + 4)[0]
        track = info.tracks.setdefault(track_id, Track(track_id))
        pos = tfhd[0] + 8
        if flags & 0x01:
            pos += 8
        if flags & 0x02:
            pos += 4
        default_duration = track.default_duration
        if flags & 0x08:
            default_duration = struct.unpack_from(">I", data, pos)[0]
        base: int | None = None
        tfdt = _child(data, s, e, "tfdt")
        if tfdt is not None:
            version = data[tfdt[0]]
            fmt = ">Q" if version == 1 else ">I"
            base = struct.unpack_from(fmt, data, tfdt[0] + 4)[0]
        if base is None:
            base = track.end
        total = 0
        for k, ts, _te in _boxes(data, s, e):
            if k != "trun":
                continue
            tflags = struct.unpack_from(">I", data, ts)[0] & 0xFFFFFF
            count = struct.unpack_from(">I", data, ts + 4)[0]
            pos = ts + 8 + (4 if tflags & 0x01 else 0) + (4 if tflags & 0x04 else 0)
            per = sum(4 for bit in (0x100, 0x200, 0x400, 0x800) if tflags & bit)
            if tflags & 0x100:
                total += sum(struct.unpack_from(">I", data, pos + i * per)[0] for i in range(count))
            else:
                total += default_duration * count
            track.samples += count
        if track.start is None:
            track.start = base
        track.end = max(track.end, base + total)


def read_box_header(
    f: BinaryIO, pos: int, file_size: int, *, open_ended: bool = True
) -> tuple[str, int, int] | None:
    """(type, header size, box size) of the MP4 box at ``pos``, or None when the header itself
    is torn. A box of size 0 runs to the end of the file; with ``open_ended=False`` (a file still
    being written, whose end is not the box's) it gives None instead."""
    f.seek(pos)
    head = f.read(16)
    if len(head) < 8:
        return None
    size, kind = struct.unpack_from(">I4s", head)
    header = 8
    if size == 1:
        if len(head) < 16:
            return None
        size = struct.unpack_from(">Q", head, 8)[0]
        header = 16
    elif size == 0:
        if not open_ended:
            return None
        size = file_size - pos
    return kind.decode("latin-1"), header, size


def inspect_file(path: Path) -> Mp4Info:
    """Walk the top-level boxes; parse ``moov`` and every ``moof`` (never the media data)."""
    file_size = path.stat().st_size
    info = Mp4Info(size=0, file_size=file_size)
    with path.open("rb") as f:
        pos = 0
        pending_moof: tuple[int, bytes] | None = None  # a moof waits for its mdat
        while pos < file_size:
            header = read_box_header(f, pos, file_size)
            if header is None:
                info.torn_at = pos
                break
            kind, hsize, size = header
            if size < hsize or pos + size > file_size or not kind.isprintable():
                info.torn_at = pos
                break
            if kind in ("moov", "moof"):
                f.seek(pos + hsize)
                payload = f.read(size - hsize)
                if kind == "moov":
                    _parse_moov(payload, info)
                    info.has_moov = True
                else:
                    pending_moof = (pos, payload)
                    pos += size
                    continue
            elif kind == "mdat" and pending_moof is not None:
                _parse_moof(pending_moof[1], info)
                info.fragments += 1
                pending_moof = None
            pos += size
            info.size = pos
        if pending_moof is not None:  # moof whose mdat never made it to disk
            info.torn_at = pending_moof[0]
            info.size = pending_moof[0]
    return info


@dataclass(frozen=True)
class RecoveryResult:
    path: Path
    duration: float
    size: int
    truncated_bytes: int
    fragments: int
    has_video: bool
    has_audio: bool


def recover_file(path: Path) -> RecoveryResult:
    """Make a fragmented MP4 left by a killed process playable, in place.

    Truncates a torn last fragment; returns the true duration (s) and the new size (bytes).
    Raises :class:`RecoveryError` when nothing playable is there.
    """
    if not path.exists():
        raise RecoveryError(f"{path} does not exist")
    info = inspect_file(path)
    if not info.has_moov:
        raise RecoveryError(f"{path}: no movie header (the process died before writing it)")
    truncated = info.file_size - info.size
    if truncated:
        with path.open("r+b") as f:
            f.truncate(info.size)
            f.flush()
            os.fsync(f.fileno())
    result = RecoveryResult(
        path=path,
        duration=info.duration,
        size=info.size,
        truncated_bytes=truncated,
        fragments=info.fragments,
        has_video=info.track("vide") is not None,
        has_audio=info.track("soun") is not None,
    )
    log.info("mp4 recovered", path=str(path), duration=round(result.duration, 3), size=result.size,
             truncated_bytes=truncated, fragments=info.fragments)
    return result
