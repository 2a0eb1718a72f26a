"""What the archive service is given, as protocols: its records (the store implements them),
the recorder launcher (``recording/launcher.py``), the file storage (``storage/files.py``) and
the status listeners. ``app.py`` passes the implementations in; nothing here imports them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from archivist.archives.model import Archive
from archivist.archives.status import ArchiveStatus, Reason

StatusListener = Callable[[Archive], Awaitable[None]]
"""Told of every committed status change (and of a new archive), in order."""

FailureCallback = Callable[[BaseException], None]
"""A recording failed while it ran (called on the event loop)."""


class AlreadyRecording(Exception):
    """Another archive of this session (and tag) is started or paused (the records refuse it)."""


class ArchiveRecords(Protocol):
    """The persisted archives (``store/archives.py``)."""

    async def add(self, archive: Archive) -> None:
        """Insert a new archive; :class:`AlreadyRecording` if the session already records."""

    async def get(self, archive_id: str) -> Archive | None: ...

    async def save_if_status(self, archive: Archive, expected: ArchiveStatus) -> bool:
        """Write ``archive`` if the stored status is still ``expected`` (optimistic concurrency)."""

    async def page(
        self, project_key: str, offset: int, count: int, session_id: str | None = None
    ) -> tuple[int, list[Archive]]: ...

    async def running(self, session_id: str | None = None) -> list[Archive]: ...

    async def with_status(self, status: ArchiveStatus) -> list[Archive]: ...


@dataclass(frozen=True)
class RecordingOutcome:
    duration: int
    size: int
    storage_key: str | None
    sha256: str | None
    failed: bool = False
    salvaged: bool = False
    """The recorder failed mid-recording; the file holds what was recorded up to the failure."""
    disk_full: bool = False
    """It failed because the file system of the data directory filled up."""


class RecorderLauncher(Protocol):
    """Starts and stops the worker that turns an archive's streams into a file."""

    def check_space(self) -> None:
        """Raise :class:`~archivist.errors.DiskFull` when there is too little free space to
        start a recording (nothing else is checked)."""

    async def start(self, archive: Archive, on_failure: FailureCallback) -> None:
        """Record the session's streams, those there now and those published later; a failure
        while it records is reported through ``on_failure``."""

    async def stop(self, archive: Archive, at_ms: int | None = None) -> RecordingOutcome:
        """Stop recording ``archive``; its file ends at ``at_ms`` (epoch ms, the instant the stop
        was decided; None: now) or at what is already written, whichever is later."""

    async def recover(self, archive: Archive) -> RecordingOutcome | None:
        """Finish the file a killed process left behind (None: nothing playable)."""

    def check_layout(self, layout: dict[str, Any]) -> dict[str, Any]:
        """The layout as it will be drawn (normalised); ``ValueError`` with the reason when the
        recorder cannot draw it (a stylesheet outside its subset, a type with a stylesheet, ...)."""

    async def set_layout(self, archive: Archive, layout: dict[str, Any]) -> bool:
        """A recording composed archive's new layout (already checked), live. False: its
        recorder does not run here (it is the recorder's to be told; nothing was changed)."""

    async def select_stream(self, archive: Archive, stream_id: str, has_audio: bool, has_video: bool) -> bool:
        """``streamMode: manual``: record this stream of the session (with these tracks)."""

    async def deselect_stream(self, archive: Archive, stream_id: str) -> bool:
        """``streamMode: manual``: stop recording this stream (nothing if it is not recorded)."""


class ArchiveFileStore(Protocol):
    """Where finished files go (``storage/files.py``): the project's local disk or object storage."""

    async def place(self, archive: Archive, outcome: RecordingOutcome, reason: Reason) -> bool:
        """Take a finished file. True: final now (available); False: uploading (uploaded later)."""

    async def remove(self, archive: Archive) -> None:
        """Remove a deleted or expired archive's file everywhere (retried in the background)."""

    async def placed(self, archive_id: str) -> bool:
        """The storage already holds this archive's file (its upload may still be running)."""
