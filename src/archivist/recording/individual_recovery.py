"""Completing an individual archive that a killed process left behind.

What a kill leaves in the archive's work directory: the journal (which files exist, where each
starts on the archive's clock, which ones were closed) and the stream files, each playable up
to its last complete Matroska cluster but without its index, its duration and, possibly, with a
torn cluster at the end. :func:`recover_individual`:

1. reads the journal (a torn last line is ignored);
2. repairs every file that was not closed (:func:`repair_matroska`: the packets are copied, as
   they are, into a new file by libavformat, up to the last whole one; the new file has its
   index and its true duration, and replaces the old one atomically);
3. takes each file's stop offset from its start offset plus its true duration;
4. writes the manifest and the ZIP, then removes the work directory.

It is idempotent: run again (killed while recovering, or on a finished archive whose work
directory is gone) it gives the same result. Blocking: run it off the event loop.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import av

from archivist import logs
from archivist.recording.package import (
    ArchiveInfo,
    IndividualResult,
    ManifestFile,
    manifest_json,
    read_journal,
    read_package,
    write_package,
)
from archivist.recording.recovery import RecoveryError

log = logs.get(__name__)


def repair_matroska(path: Path) -> float:
    """Rewrite ``path`` (a Matroska/WebM file cut short) with its whole packets; its true
    duration (seconds). :class:`RecoveryError` when it holds nothing readable."""
    tmp = path.with_name(path.name + ".repair")
    try:
        source: Any = av.open(str(path), "r")
    except (av.FFmpegError, OSError) as exc:
        raise RecoveryError(f"{path.name}: not readable ({exc})") from exc
    end = 0.0
    packets = 0
    try:
        if not source.streams:
            raise RecoveryError(f"{path.name}: no tracks")
        fmt = "matroska" if path.suffix == ".mkv" else "webm"
        with av.open(str(tmp), "w", format=fmt) as out:
            mapping = {s.index: out.add_stream_from_template(s, opaque=True) for s in source.streams}
            try:
                for packet in source.demux():
                    if packet.dts is None or packet.size == 0 or packet.is_corrupt:
                        continue
                    stop = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                    packet.stream = mapping[packet.stream.index]
                    out.mux(packet)
                    packets += 1
                    end = max(end, stop)
            except (av.FFmpegError, EOFError) as exc:  # the torn end of the file
                log.info("stream file ends with a torn cluster", path=path.name, error=str(exc))
    finally:
        source.close()
    if packets == 0:
        tmp.unlink(missing_ok=True)
        raise RecoveryError(f"{path.name}: no whole packet")
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    log.info("stream file repaired", path=path.name, duration=round(end, 3), packets=packets)
    return end


def recover_individual(
    directory: Path, zip_path: Path | None = None, *, keep_directory: bool = False
) -> IndividualResult:
    """Finish the individual archive of ``directory`` (its work directory); the ZIP goes to
    ``zip_path`` (default: the directory's name + ``.zip``). :class:`RecoveryError` when there
    is nothing to recover."""
    directory = Path(directory)
    zip_path = Path(zip_path) if zip_path is not None else directory.with_suffix(".zip")
    if not directory.is_dir():
        if zip_path.is_file():  # finished earlier: the ZIP is the archive
            manifest, size, digest = read_package(zip_path)
            done = tuple(_from_json(f) for f in manifest["files"])
            duration = max((f.stop_offset_ms for f in done), default=0) / 1000
            return IndividualResult(zip_path, size, digest, duration, manifest, done)
        raise RecoveryError(f"{directory} does not exist")
    events = read_journal(directory) if (directory / "journal.jsonl").exists() else []
    head = next((e for e in events if e["event"] == "archive"), None)
    if head is None:
        raise RecoveryError(f"{directory}: no journal (the process died before recording anything)")
    archive = ArchiveInfo.from_json(head)
    files: dict[str, dict[str, Any]] = {}
    info: dict[str, tuple[str, str]] = {}
    for e in events:
        if e["event"] == "file":
            files[e["filename"]] = dict(e)
        elif e["event"] == "info":
            info[e["streamId"]] = (e.get("connectionData", ""), e.get("videoType", "camera"))
        elif e["event"] == "closed" and e["filename"] in files:
            files[e["filename"]]["closed"] = e
    entries: list[ManifestFile] = []
    for name, f in files.items():
        path = directory / name
        if not path.is_file():
            log.warning("stream file missing", path=name)
            continue
        closed = f.get("closed")
        start = int(f["startTimeOffset"])
        if closed is not None and closed.get("size") == path.stat().st_size:
            stop = int(closed["stopTimeOffset"])
        else:
            try:
                duration = repair_matroska(path)
            except RecoveryError as exc:
                log.warning("stream file not recoverable", path=name, error=str(exc))
                continue
            stop = start + round(duration * 1000)
        connection_data, video_type = info.get(
            f["streamId"], (str(f.get("connectionData", "")), str(f.get("videoType", "camera"))))
        entries.append(ManifestFile(f["streamId"], name, path.stat().st_size, start, stop, connection_data,
                                    video_type))
    assert archive.created_at_ms is not None
    manifest = manifest_json(archive, int(archive.created_at_ms), entries)
    size, digest = write_package(directory, zip_path, manifest)
    if not keep_directory:
        shutil.rmtree(directory, ignore_errors=True)
    duration = max((e.stop_offset_ms for e in entries), default=0) / 1000
    log.info("individual archive recovered", archive=archive.id, files=len(entries), size=size,
             duration=round(duration, 3))
    return IndividualResult(zip_path, size, digest, duration, manifest, tuple(entries))


def _from_json(f: dict[str, Any]) -> ManifestFile:
    return ManifestFile(str(f["streamId"]), str(f["filename"]), int(f["size"]), int(f["startTimeOffset"]),
                        int(f["stopTimeOffset"]), str(f.get("connectionData", "")), str(f.get("videoType", "camera")))
