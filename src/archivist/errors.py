"""Domain errors that carry their HTTP status and the JSON ``{"code","message"}`` body.

Every layer raises these; the REST error mapping (``api/errors.py``) turns them into responses
and the signaling layer into close reasons. Nothing else should become a 4xx.
"""

from __future__ import annotations


class ArchivistError(Exception):
    """Base of every error a client may see. ``status`` is the HTTP status."""

    status = 500

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def body(self) -> dict[str, object]:
        return {"code": self.status, "message": self.message}


class BadRequest(ArchivistError):
    status = 400


class AuthFailed(ArchivistError):
    """Any authentication or authorisation failure: always 403 (the SDKs map 403 to AuthError)."""

    status = 403


class NotFound(ArchivistError):
    status = 404


class MethodNotAllowed(ArchivistError):
    status = 405


class Conflict(ArchivistError):
    status = 409


class PayloadTooLarge(ArchivistError):
    status = 413
