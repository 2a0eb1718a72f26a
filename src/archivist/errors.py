"""Domain errors: what went wrong, in words a client may read; no transport in them.

Every layer raises these. The REST layer maps each kind to its HTTP status and JSON
``{"code","message"}`` body (``api/errors.py``); the signaling layer maps it to the code of its
error frame (``signaling/messages.py``). Nothing else should become a 4xx.
"""

from __future__ import annotations


class ArchivistError(Exception):
    """Base of every error a client may see."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ArchivistError):
    """The request itself is wrong (a missing or malformed field, an unsupported option)."""


class AuthFailed(ArchivistError):
    """Any authentication or authorisation failure (the SDKs expect one status for all)."""


class NotFound(ArchivistError):
    """The thing named does not exist (or is not the caller's)."""


class MethodNotAllowed(ArchivistError):
    """The operation does not apply to this resource (e.g. streams of an auto stream-mode archive)."""


class Conflict(ArchivistError):
    """The request conflicts with the resource's state (already recording, not recording, ...)."""


class ConcurrentChange(ArchivistError):
    """Someone else changed the resource between our read and our write (optimistic locking);
    internal callers read again and retry, a client may retry."""


class PayloadTooLarge(ArchivistError):
    """A field or body is longer than allowed."""


class RecordingFailed(ArchivistError):
    """The recorder could not start or do what was asked (HTTP 500 with this message)."""


class Unavailable(ArchivistError):
    """A dependency (storage, the database) cannot serve the request now; try again later."""


class DatabaseUnavailable(Unavailable):
    """The database refused a read or write (its disk is full, it is unreachable): nothing was
    changed; the same call may succeed later. Rules retry their bookkeeping until it does."""


class DiskFull(Unavailable):
    """The data directory's file system has less free space than a recording needs."""
