"""What an individual archive delivers: its manifest and its ZIP, and the journal that lets a
killed server's archive be completed later.

The manifest has exactly the hosted service's fields and types::

    {"createdAt": 1429305105162,            # int, ms since the epoch: the archive's clock zero
     "files": [{"connectionData": "...",    # str
                "filename": "<streamId>.webm",
                "size": 5558064,            # int, bytes
                "startTimeOffset": 3119,    # int, ms from createdAt: the file's first sample
                "stopTimeOffset": 48765,    # int, ms from createdAt: its end
                "streamId": "...",
                "videoType": "camera"}],    # camera | screen | custom (the initial type)
     "id": "...", "name": "...",            # name "" when the archive has none
     "partnerId": 123456,                   # int (the API key), a string if it is not numeric
     "sessionId": "..."}

The ZIP holds ``<archive id>.json`` (the manifest) and every file, stored as they are
(``ZIP_STORED``: media is not compressed again). It is written under a temporary name, flushed
to disk and renamed, so a ZIP at its final path is always complete.

The journal (``journal.jsonl`` in the archive's work directory) records, one JSON object per
line and flushed to disk as it happens: the archive, each file as it opens (with its start
offset), stream information, each file as it closes, the stop. Recovery reads it back; a torn
last line is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOURNAL = "journal.jsonl"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveInfo:
    """The archive an individual recording belongs to (for its manifest)."""

    id: str
    session_id: str
    partner_id: str  # the project's API key
    name: str | None = None
    created_at_ms: int | None = None  # the archive's clock zero; None: when recording starts

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "sessionId": self.session_id, "partnerId": self.partner_id, "name": self.name,
                "createdAt": self.created_at_ms}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ArchiveInfo:
        return cls(str(body["id"]), str(body["sessionId"]), str(body["partnerId"]), body.get("name"),
                   body.get("createdAt"))


@dataclass(frozen=True)
class ManifestFile:
    stream_id: str
    filename: str
    size: int
    start_offset_ms: int
    stop_offset_ms: int
    connection_data: str = ""
    video_type: str = "camera"

    def to_json(self) -> dict[str, Any]:
        return {
            "connectionData": self.connection_data,
            "filename": self.filename,
            "size": self.size,
            "startTimeOffset": self.start_offset_ms,
            "stopTimeOffset": self.stop_offset_ms,
            "streamId": self.stream_id,
            "videoType": self.video_type,
        }


def manifest_json(archive: ArchiveInfo, created_at_ms: int, files: list[ManifestFile]) -> dict[str, Any]:
    partner: int | str = int(archive.partner_id) if archive.partner_id.isdigit() else archive.partner_id
    return {
        "createdAt": int(created_at_ms),
        "files": [f.to_json() for f in sorted(files, key=lambda f: (f.start_offset_ms, f.filename))],
        "id": archive.id,
        "name": archive.name or "",
        "partnerId": partner,
        "sessionId": archive.session_id,
    }


@dataclass(frozen=True)
class IndividualResult:
    zip_path: Path
    size: int  # bytes of the ZIP
    sha256: str  # of the ZIP
    duration: float  # seconds from createdAt to the end of the last file
    manifest: dict[str, Any]
    files: tuple[ManifestFile, ...] = field(default_factory=tuple)


def manifest_name(archive_id: str) -> str:
    return f"{archive_id}.json"


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_package(directory: Path, zip_path: Path, manifest: dict[str, Any]) -> tuple[int, str]:
    """Write the ZIP (manifest + the manifest's files from ``directory``); its size and SHA-256.
    Blocking."""
    tmp = zip_path.with_name(zip_path.name + ".part")
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(manifest_name(str(manifest["id"])), json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        for entry in manifest["files"]:
            zf.write(directory / entry["filename"], arcname=entry["filename"])
    digest = hashlib.sha256()
    with tmp.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
        os.fsync(f.fileno())
    os.replace(tmp, zip_path)
    _fsync_dir(zip_path.parent)
    return zip_path.stat().st_size, digest.hexdigest()


def read_package(zip_path: Path) -> tuple[dict[str, Any], int, str]:
    """The manifest, size and SHA-256 of a complete ZIP. ``zipfile.BadZipFile``/``KeyError``
    when it is not one of ours."""
    with zipfile.ZipFile(zip_path) as zf:
        names = [n for n in zf.namelist() if n.endswith(".json") and "/" not in n]
        if len(names) != 1:
            raise KeyError(f"{zip_path}: expected one manifest, found {names}")
        manifest = json.loads(zf.read(names[0]))
    digest = hashlib.sha256()
    with zip_path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return manifest, zip_path.stat().st_size, digest.hexdigest()


class Journal:
    """Appends events to the work directory's journal, each flushed to disk."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / JOURNAL
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, event: str, **fields: Any) -> None:
        self._file.write(json.dumps({"event": event, **fields}, separators=(",", ":")) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def read_journal(directory: Path) -> list[dict[str, Any]]:
    """The journal's events; a torn last line (the process died writing it) is left out."""
    path = directory / JOURNAL
    events: list[dict[str, Any]] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict) and "event" in event:
            events.append(event)
    return events
