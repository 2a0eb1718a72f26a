"""A live Matroska/WebM writer: encoded blocks in, clusters on disk as they complete.

Why not libavformat (through PyAV) for this one job: its interleaving queue holds every packet
of a file until each track has one queued, and it makes no exception for a VP8 or VP9 track
(``ff_interleave_packet_per_dts`` skips ``max_interleave_delta`` for them). While a VP8 stream's
video is muted, its audio would stay in memory for as long as the mute lasts, and a killed
process would lose all of it. Here blocks go to disk in clusters of ``cluster_ms`` at most,
whatever any track does. libavformat still reads these files, and repairs them after a crash
(``individual_recovery``).

The layout, as the Matroska and WebM specifications describe it::

    EBML header (DocType webm or matroska)
    Segment (size written at close; "unknown" until then, which readers accept)
      Void        reserved, becomes the SeekHead at close (Info, Tracks, Cues)
      Info        TimestampScale 1 ms, MuxingApp/WritingApp, Void that becomes Duration at close
      Tracks      one TrackEntry per track (CodecID, CodecPrivate, Video/Audio)
      Cluster*    Timestamp + SimpleBlocks, each cluster written in one piece when complete
      Cues        at close: a CuePoint per cluster that starts with a keyframe

Blocks must come in non-decreasing timestamp order (all tracks together). A new cluster starts
at a video keyframe, when ``cluster_ms`` have passed, or at :meth:`flush_due`'s request.
Blocking file work: the recorder's worker thread only.
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from archivist.recording.bitstream import annexb_nal_units

EBML = 0x1A45DFA3
SEGMENT = 0x18538067
SEEKHEAD, SEEK, SEEK_ID, SEEK_POSITION = 0x114D9B74, 0x4DBB, 0x53AB, 0x53AC
INFO, TIMESTAMP_SCALE, DURATION, MUXING_APP, WRITING_APP = 0x1549A966, 0x2AD7B1, 0x4489, 0x4D80, 0x5741
TRACKS, TRACK_ENTRY, TRACK_NUMBER, TRACK_UID, TRACK_TYPE = 0x1654AE6B, 0xAE, 0xD7, 0x73C5, 0x83
FLAG_LACING, CODEC_ID, CODEC_PRIVATE, CODEC_DELAY, SEEK_PRE_ROLL = 0x9C, 0x86, 0x63A2, 0x56AA, 0x56BB
VIDEO, PIXEL_WIDTH, PIXEL_HEIGHT = 0xE0, 0xB0, 0xBA
AUDIO, SAMPLING_FREQUENCY, CHANNELS = 0xE1, 0xB5, 0x9F
CLUSTER, CLUSTER_TIMESTAMP, SIMPLE_BLOCK = 0x1F43B675, 0xE7, 0xA3
CUES, CUE_POINT, CUE_TIME, CUE_TRACK_POSITIONS, CUE_TRACK, CUE_CLUSTER_POSITION = (
    0x1C53BB6B, 0xBB, 0xB3, 0xB7, 0xF7, 0xF1)
VOID = 0xEC

UNKNOWN_SIZE = b"\x01\xff\xff\xff\xff\xff\xff\xff"
SEEKHEAD_RESERVE = 96  # bytes kept for the SeekHead written at close
DURATION_RESERVE = 11  # a Duration element: 2-byte id, 1-byte size, 8-byte float


def _id(element: int) -> bytes:
    return element.to_bytes((element.bit_length() + 7) // 8, "big")


def _size(n: int) -> bytes:
    for length in range(1, 9):
        if n < (1 << (7 * length)) - 1:
            return (n | 1 << (7 * length)).to_bytes(length, "big")
    raise ValueError(f"EBML element too large: {n}")


def element(element_id: int, payload: bytes) -> bytes:
    return _id(element_id) + _size(len(payload)) + payload


def uint(element_id: int, value: int) -> bytes:
    return element(element_id, value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big"))


def floating(element_id: int, value: float) -> bytes:
    return element(element_id, struct.pack(">d", value))


def string(element_id: int, value: str) -> bytes:
    return element(element_id, value.encode("utf-8"))


def void(total: int) -> bytes:
    """A Void element of exactly ``total`` bytes (>= 2)."""
    if total < 2:
        raise ValueError("a Void element takes at least 2 bytes")
    for size_len in range(1, 9):
        payload = total - 1 - size_len
        if payload >= 0 and len(_size(payload)) == size_len:
            return _id(VOID) + _size(payload) + b"\x00" * payload
    raise ValueError(f"cannot make a {total}-byte Void")


@dataclass(frozen=True)
class Track:
    number: int
    kind: str  # "video" | "audio"
    codec_id: str  # V_VP8, V_MPEG4/ISO/AVC, A_OPUS
    codec_private: bytes = b""
    width: int = 0
    height: int = 0
    sample_rate: float = 48000.0
    channels: int = 2
    codec_delay_ns: int = 0
    seek_pre_roll_ns: int = 0

    def entry(self) -> bytes:
        body = uint(TRACK_NUMBER, self.number) + uint(TRACK_UID, secrets.randbits(56) | 1)
        body += uint(TRACK_TYPE, 1 if self.kind == "video" else 2) + uint(FLAG_LACING, 0)
        body += string(CODEC_ID, self.codec_id)
        if self.codec_private:
            body += element(CODEC_PRIVATE, self.codec_private)
        if self.kind == "video":
            body += element(VIDEO, uint(PIXEL_WIDTH, self.width) + uint(PIXEL_HEIGHT, self.height))
        else:
            body += uint(CODEC_DELAY, self.codec_delay_ns) + uint(SEEK_PRE_ROLL, self.seek_pre_roll_ns)
            body += element(AUDIO, floating(SAMPLING_FREQUENCY, self.sample_rate) + uint(CHANNELS, self.channels))
        return element(TRACK_ENTRY, body)


class MatroskaWriter:
    def __init__(self, path: Path, doc_type: str, tracks: list[Track], cluster_ms: int = 250) -> None:
        if doc_type not in ("webm", "matroska"):
            raise ValueError(f"unknown doc type {doc_type!r}")
        self.path = path
        self.tracks = {t.number: t for t in tracks}
        self.cluster_ms = cluster_ms
        self._video = {t.number for t in tracks if t.kind == "video"}
        self._cue_track = min(self._video) if self._video else min(self.tracks)
        self._file: BinaryIO = path.open("wb")
        header = element(EBML, uint(0x4286, 1) + uint(0x42F7, 1) + uint(0x42F2, 4) + uint(0x42F3, 8)
                         + string(0x4282, doc_type) + uint(0x4287, 4) + uint(0x4285, 2))
        self._file.write(header + _id(SEGMENT))
        self._segment_size_at = self._file.tell()
        self._file.write(UNKNOWN_SIZE)
        self._segment_start = self._file.tell()
        self._seekhead_at = self._segment_start
        self._file.write(void(SEEKHEAD_RESERVE))
        self._info_pos = self._file.tell() - self._segment_start
        info = uint(TIMESTAMP_SCALE, 1_000_000) + string(MUXING_APP, "archivist") + string(WRITING_APP, "archivist")
        info_element = _id(INFO) + _size(len(info) + DURATION_RESERVE)
        self._file.write(info_element + info)
        self._duration_at = self._file.tell()
        self._file.write(void(DURATION_RESERVE))
        self._tracks_pos = self._file.tell() - self._segment_start
        self._file.write(element(TRACKS, b"".join(t.entry() for t in tracks)))
        self._file.flush()
        self._cluster: list[bytes] = []
        self._cluster_ts: int | None = None
        self._cluster_key = False
        self._cues: list[tuple[int, int]] = []  # (timestamp, cluster position in the segment)
        self._last_ts = 0
        self.blocks = 0
        self.closed = False

    def write(self, track: int, pts_ms: int, data: bytes, keyframe: bool) -> None:
        """Append one frame (a SimpleBlock) of ``track`` at ``pts_ms`` (never before the last)."""
        if track not in self.tracks:
            raise ValueError(f"no track {track}")
        pts = max(pts_ms, self._last_ts)
        video_key = keyframe and track in self._video
        if (self._cluster_ts is None or pts - self._cluster_ts >= self.cluster_ms
                or (video_key and pts > self._cluster_ts)):
            self._end_cluster()
            self._cluster_ts = pts
            self._cluster_key = video_key or not self._video
        assert self._cluster_ts is not None
        flags = 0x80 if keyframe else 0x00
        block = bytes([0x80 | track]) + struct.pack(">hB", pts - self._cluster_ts, flags) + data
        self._cluster.append(element(SIMPLE_BLOCK, block))
        self._last_ts = pts
        self.blocks += 1

    def flush_due(self, now_ms: int) -> None:
        """Write the open cluster out if it began ``cluster_ms`` ago or more (nothing waits in
        memory longer than that, whatever comes next)."""
        if self._cluster_ts is not None and now_ms - self._cluster_ts >= self.cluster_ms:
            self._end_cluster()

    def _end_cluster(self) -> None:
        if self._cluster_ts is None or not self._cluster:
            return
        position = self._file.tell() - self._segment_start
        if self._cluster_key:
            self._cues.append((self._cluster_ts, position))
        payload = uint(CLUSTER_TIMESTAMP, self._cluster_ts) + b"".join(self._cluster)
        self._file.write(element(CLUSTER, payload))  # one write: a cluster is whole or torn at the end
        self._file.flush()
        self._cluster = []
        self._cluster_ts = None

    def close(self, duration_ms: float) -> int:
        """Write the last cluster, the Cues, the SeekHead, the Duration and the Segment's size;
        the file's size. Idempotent."""
        if self.closed:
            return self.path.stat().st_size
        self.closed = True
        f = self._file
        try:
            self._end_cluster()
            cues_pos = f.tell() - self._segment_start
            points = b"".join(
                element(CUE_POINT, uint(CUE_TIME, ts) + element(
                    CUE_TRACK_POSITIONS, uint(CUE_TRACK, self._cue_track) + uint(CUE_CLUSTER_POSITION, pos)))
                for ts, pos in self._cues)
            if points:
                f.write(element(CUES, points))
            end = f.tell()
            f.seek(self._segment_size_at)
            f.write((end - self._segment_start | 1 << 56).to_bytes(8, "big"))
            seeks = [(INFO, self._info_pos), (TRACKS, self._tracks_pos)] + ([(CUES, cues_pos)] if points else [])
            head = element(SEEKHEAD, b"".join(
                element(SEEK, element(SEEK_ID, _id(eid)) + uint(SEEK_POSITION, pos)) for eid, pos in seeks))
            f.seek(self._seekhead_at)
            f.write(head + void(SEEKHEAD_RESERVE - len(head)))
            f.seek(self._duration_at)
            f.write(floating(DURATION, float(duration_ms)))
            f.seek(end)
            f.flush()
        finally:
            f.close()
        return end

    def abort(self) -> None:
        """Close the file as it is (what was written stays; recovery completes it)."""
        if not self.closed:
            self.closed = True
            self._file.close()


# ---- codec specifics -----------------------------------------------------------------------------
def avc_configuration(access_unit: bytes) -> bytes | None:
    """The AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1) from the SPS and PPS of an
    Annex B keyframe; None without them."""
    units = list(annexb_nal_units(access_unit))
    sps = next((u for u in units if u[0] & 0x1F == 7), None)
    pps = next((u for u in units if u[0] & 0x1F == 8), None)
    if sps is None or pps is None or len(sps) < 4:
        return None
    return (bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]) + struct.pack(">H", len(sps)) + sps
            + bytes([1]) + struct.pack(">H", len(pps)) + pps)


def avc_sample(access_unit: bytes) -> bytes:
    """An Annex B access unit as Matroska stores H.264: each NAL unit behind its 4-byte length
    (parameter sets kept in band: a resolution change carries its own)."""
    return b"".join(struct.pack(">I", len(u)) + u for u in annexb_nal_units(access_unit) if u[0] & 0x1F != 9)
