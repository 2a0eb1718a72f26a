"""Finalize a recording: the fragmented MP4 written as we go *is* the final file.

It plays everywhere (browsers, VLC, ffmpeg); no remux is needed, so "stop" costs the encoder
flush plus one read of the file for its SHA-256, whatever the length. The duration reported is
the file's true duration, read from its fragments, not the wall clock we hoped for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from archivist.recording.recovery import RecoveryError, inspect_file

_CHUNK = 1 << 20


@dataclass(frozen=True)
class RecordingResult:
    path: Path
    duration: float  # seconds, from the file itself
    size: int  # bytes
    sha256: str  # hex


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def finalize_file(path: Path) -> RecordingResult:
    """Check the closed file and describe it. Blocking: run it off the event loop."""
    info = inspect_file(path)
    if not info.has_moov:
        raise RecoveryError(f"{path}: not a playable MP4 (no movie header)")
    if info.torn_at is not None:
        raise RecoveryError(f"{path}: incomplete box at offset {info.torn_at}")
    return RecordingResult(path=path, duration=info.duration, size=info.file_size, sha256=sha256_file(path))
