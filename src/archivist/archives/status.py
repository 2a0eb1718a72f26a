"""The archive status machine and its reasons, in one place.

Statuses are the spec's (started, stopped, available, failed, deleted) plus today's API's
(paused, uploaded, expired). Every transition goes through :func:`check_transition`; an
illegal one raises :class:`IllegalTransition`, which is a bug in the caller, never a 500 to a
client (callers check ``can_transition`` first when the request decides).
"""

from __future__ import annotations

from enum import StrEnum


class ArchiveStatus(StrEnum):
    STARTED = "started"
    PAUSED = "paused"
    STOPPED = "stopped"
    UPLOADED = "uploaded"
    AVAILABLE = "available"
    EXPIRED = "expired"
    FAILED = "failed"
    DELETED = "deleted"


S = ArchiveStatus

TRANSITIONS: dict[ArchiveStatus, frozenset[ArchiveStatus]] = {
    S.STARTED: frozenset({S.PAUSED, S.STOPPED, S.FAILED}),
    S.PAUSED: frozenset({S.STARTED, S.STOPPED, S.FAILED}),
    S.STOPPED: frozenset({S.UPLOADED, S.AVAILABLE, S.FAILED}),
    S.UPLOADED: frozenset({S.AVAILABLE, S.EXPIRED, S.DELETED}),
    S.AVAILABLE: frozenset({S.UPLOADED, S.EXPIRED, S.DELETED}),
    S.FAILED: frozenset({S.DELETED}),
    S.EXPIRED: frozenset({S.DELETED}),
    S.DELETED: frozenset(),
}

RECORDING = frozenset({S.STARTED, S.PAUSED})
DELETABLE = frozenset({S.UPLOADED, S.AVAILABLE})
DOWNLOADABLE = frozenset({S.UPLOADED, S.AVAILABLE})


class IllegalTransition(RuntimeError):
    def __init__(self, old: ArchiveStatus, new: ArchiveStatus) -> None:
        super().__init__(f"illegal archive transition {old} -> {new}")
        self.old = old
        self.new = new


def can_transition(old: ArchiveStatus, new: ArchiveStatus) -> bool:
    return new in TRANSITIONS[old]


def check_transition(old: ArchiveStatus, new: ArchiveStatus) -> None:
    if not can_transition(old, new):
        raise IllegalTransition(old, new)


class Reason(StrEnum):
    """Why an archive reached its status. Stored as the value; rendered per API flavour."""

    NONE = ""
    USER_INITIATED = "user_initiated"
    MAX_DURATION = "max_duration"
    SESSION_ENDED = "session_ended"
    IDLE = "idle"
    FAILURE = "failure"
    SYSTEM_FAILURE = "system_failure"
    RECOVERED = "recovered"
    DISK_FULL = "disk_full"
    """The recorder stopped when the disk filled up; the file holds what was written until then."""
    UPLOAD_FAILED = "upload_failed"
    """``available`` from the local fallback copy: the upload to the project's object storage
    keeps failing and is being retried (docs/storage.md)."""


# The 2013 spec's words (served on /v2/partner) and today's API's words (served on /v2/project).
_SPEC_WORDS = {
    Reason.NONE: "",
    Reason.USER_INITIATED: "user initiated",
    Reason.MAX_DURATION: "90 mins exceeded",
    Reason.SESSION_ENDED: "session ended",
    Reason.IDLE: "session ended",
    Reason.FAILURE: "failure",
    Reason.SYSTEM_FAILURE: "system failure",
    Reason.RECOVERED: "recovered after server restart",
    Reason.DISK_FULL: "failure: disk full, recorded until it filled",
    Reason.UPLOAD_FAILED: "upload failed: local fallback copy",
}
_TODAY_WORDS = {
    Reason.NONE: "",
    Reason.USER_INITIATED: "user initiated",
    Reason.MAX_DURATION: "maximum duration exceeded",
    Reason.SESSION_ENDED: "session ended",
    Reason.IDLE: "maximum idle time exceeded",
    Reason.FAILURE: "failure",
    Reason.SYSTEM_FAILURE: "system failure",
    Reason.RECOVERED: "recovered after server restart",
    Reason.DISK_FULL: "failure: disk full, recorded until it filled",
    Reason.UPLOAD_FAILED: "upload failed: local fallback copy",
}


def reason_text(reason: Reason, legacy: bool) -> str:
    return (_SPEC_WORDS if legacy else _TODAY_WORDS)[reason]
