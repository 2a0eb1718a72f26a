"""The states of an archive's file in the storage, and their machine, in one place (like
``archives/status.py`` for archives).

Every state change of an ``archive_files`` row goes through :func:`check_file_transition` (the
repository's ``change``); an illegal one raises :class:`IllegalFileTransition`, a bug in the
caller. Updates that keep the state (attempts, leases, the local copy) are not transitions.
"""

from __future__ import annotations

from enum import StrEnum


class FileState(StrEnum):
    STORED = "stored"
    """Final on the local disk (local storage)."""
    UPLOADING = "uploading"
    """To be uploaded to object storage; the local copy is kept until the upload is confirmed."""
    FALLBACK = "fallback"
    """The upload kept failing: the local copy is served, and the upload is retried slowly."""
    UPLOADED = "uploaded"
    """In object storage (the local copy is removed right after the upload is confirmed)."""
    REMOVING = "removing"
    """Deleted or expired: the file is being removed everywhere."""
    REMOVED = "removed"
    LOST = "lost"
    """The local file vanished before it was uploaded."""


F = FileState

TRANSITIONS: dict[FileState, frozenset[FileState]] = {
    F.STORED: frozenset({F.REMOVING}),
    F.UPLOADING: frozenset({F.UPLOADED, F.FALLBACK, F.LOST, F.REMOVING}),
    F.FALLBACK: frozenset({F.UPLOADED, F.LOST, F.REMOVING}),
    F.UPLOADED: frozenset({F.REMOVING}),
    F.REMOVING: frozenset({F.REMOVED}),
    F.REMOVED: frozenset({F.REMOVING}),  # an upload that ended after the removal: its object goes too
    F.LOST: frozenset({F.REMOVING}),
}

PENDING = (F.UPLOADING, F.FALLBACK, F.REMOVING)
"""States with background work to do."""


class IllegalFileTransition(RuntimeError):
    def __init__(self, old: FileState, new: FileState) -> None:
        super().__init__(f"illegal archive file transition {old} -> {new}")
        self.old = old
        self.new = new


def can_transition(old: FileState, new: FileState) -> bool:
    return new in TRANSITIONS[old]


def check_file_transition(old: FileState, new: FileState) -> None:
    if not can_transition(old, new):
        raise IllegalFileTransition(old, new)


def leading_to(new: FileState) -> tuple[FileState, ...]:
    """The states a row may be in to move to ``new``."""
    return tuple(state for state, targets in TRANSITIONS.items() if new in targets)
