"""Typed close reasons. Their values are the reason words clients see in events
(sessionDisconnected, connectionDestroyed, streamDestroyed), as in OpenTok.js."""

from __future__ import annotations

from enum import StrEnum


class CloseReason(StrEnum):
    CLIENT_DISCONNECTED = "clientDisconnected"
    FORCE_DISCONNECTED = "forceDisconnected"
    FORCE_UNPUBLISHED = "forceUnpublished"
    NETWORK_DISCONNECTED = "networkDisconnected"
    MEDIA_STOPPED = "mediaStopped"
    UNPUBLISHED = "unpublished"
    UNSUBSCRIBED = "unsubscribed"
    STREAM_DESTROYED = "streamDestroyed"
    TOKEN_EXPIRED = "tokenExpired"
    SERVER_SHUTDOWN = "serverShutdown"
    SESSION_CLOSED = "sessionClosed"
