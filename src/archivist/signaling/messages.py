"""Typed signaling messages (docs/protocol.md): parsing client requests, close codes.

``parse(text)`` turns one WebSocket frame into a request dataclass or raises
:class:`MalformedMessage` (400). Unknown extra fields are ignored (forward compatibility).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archivist import json_input
from archivist.errors import (
    ArchivistError,
    AuthFailed,
    BadRequest,
    ConcurrentChange,
    Conflict,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unavailable,
)
from archivist.rooms.reasons import CloseReason

Rid = str | int | float | None

# ---- WebSocket close codes -------------------------------------------------------------------
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_INVALID_TOKEN = 4001
CLOSE_TOKEN_EXPIRED = 4002
CLOSE_FORBIDDEN = 4003
CLOSE_NOT_FOUND = 4004
CLOSE_FORCE_DISCONNECTED = 4008
CLOSE_RESUME_REFUSED = 4010
CLOSE_MALFORMED = 4400
CLOSE_CONNECT_TIMEOUT = 4408

TOKEN_CLOSE_CODES = {
    "expired": CLOSE_TOKEN_EXPIRED,
    "wrong_session": CLOSE_NOT_FOUND,
    "wrong_project": CLOSE_NOT_FOUND,
    "unknown_session": CLOSE_NOT_FOUND,
}
"""TokenError reason -> close code; any other reason (missing, malformed, bad_signature,
unknown_project, bad_role) is 4001."""


def close_code_for(reason: CloseReason) -> int:
    """The close code a connection ends with when the room closes it for ``reason``."""
    if reason is CloseReason.FORCE_DISCONNECTED:
        return CLOSE_FORCE_DISCONNECTED
    if reason is CloseReason.SERVER_SHUTDOWN:
        return CLOSE_GOING_AWAY
    if reason is CloseReason.TOKEN_EXPIRED:
        return CLOSE_TOKEN_EXPIRED
    return CLOSE_NORMAL


class MalformedMessage(BadRequest):
    """A frame that is not JSON, not an object, of an unknown type, or missing fields."""

    def __init__(self, message: str, rid: Rid = None) -> None:
        super().__init__(message)
        self.rid = rid


# ---- requests --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Connect:
    rid: Rid
    api_key: str
    session_id: str
    token: str
    resume: str | None = None
    """The resume token of a connection whose WebSocket dropped: reattach to it."""
    last_seq: int | None = None
    """With ``resume``: the ``seq`` of the last event the client got."""


@dataclass(frozen=True)
class Publish:
    rid: Rid
    sdp: str
    has_audio: bool
    has_video: bool
    name: str = ""
    video_type: str = "camera"
    width: int | None = None
    height: int | None = None
    frame_rate: int | None = None
    layout_classes: tuple[str, ...] | None = None
    """``layoutClassList``: the stream's layout classes (None: the token's initial ones)."""


@dataclass(frozen=True)
class Unpublish:
    rid: Rid
    stream_id: str


@dataclass(frozen=True)
class Subscribe:
    rid: Rid
    stream_id: str
    sdp: str
    audio: bool = True
    video: bool = True


@dataclass(frozen=True)
class Republish:
    """An own stream sent over a new peer connection (the client's network changed)."""

    rid: Rid
    stream_id: str
    sdp: str


@dataclass(frozen=True)
class Resubscribe:
    """An own subscription received over a new peer connection."""

    rid: Rid
    subscription_id: str
    sdp: str


@dataclass(frozen=True)
class Unsubscribe:
    rid: Rid
    subscription_id: str


@dataclass(frozen=True)
class Signal:
    rid: Rid
    signal_type: object
    data: object
    to: str | None = None


@dataclass(frozen=True)
class ForceDisconnect:
    rid: Rid
    connection_id: str


@dataclass(frozen=True)
class ForceUnpublish:
    rid: Rid
    stream_id: str


@dataclass(frozen=True)
class StreamChange:
    """``publishAudio`` / ``publishVideo`` of an own stream (``None``: unchanged)."""

    rid: Rid
    stream_id: str
    has_audio: bool | None = None
    has_video: bool | None = None


@dataclass(frozen=True)
class SubscriptionChange:
    """``subscribeToAudio`` / ``subscribeToVideo`` of an own subscription (``None``: unchanged)."""

    rid: Rid
    subscription_id: str
    audio: bool | None = None
    video: bool | None = None


@dataclass(frozen=True)
class ForceMuteStream:
    rid: Rid
    stream_id: str


@dataclass(frozen=True)
class ForceMuteAll:
    rid: Rid
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class DisableForceMute:
    rid: Rid


@dataclass(frozen=True)
class Keyframe:
    rid: Rid
    subscription_id: str


@dataclass(frozen=True)
class Ping:
    rid: Rid


@dataclass(frozen=True)
class Disconnect:
    rid: Rid


Request = (
    Connect
    | Publish
    | Unpublish
    | Subscribe
    | Unsubscribe
    | Republish
    | Resubscribe
    | Signal
    | ForceDisconnect
    | ForceUnpublish
    | StreamChange
    | SubscriptionChange
    | ForceMuteStream
    | ForceMuteAll
    | DisableForceMute
    | Keyframe
    | Ping
    | Disconnect
)

VIDEO_TYPES = ("camera", "screen", "custom")
MAX_SDP = 100_000


class _Fields:
    def __init__(self, obj: dict[str, Any], rid: Rid) -> None:
        self.obj = obj
        self.rid = rid
        self.type = obj.get("type")

    def _bad(self, message: str) -> MalformedMessage:
        return MalformedMessage(f"{self.type}: {message}", self.rid)

    def string(self, name: str, *, max_len: int = 1024) -> str:
        value = self.obj.get(name)
        if not isinstance(value, str) or not value:
            raise self._bad(f"'{name}' must be a non-empty string")
        return self._checked(name, value, max_len)

    def opt_string(self, name: str, default: str | None = None, *, max_len: int = 1024) -> str | None:
        value = self.obj.get(name)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self._bad(f"'{name}' must be a string")
        return self._checked(name, value, max_len)

    def _checked(self, name: str, value: str, max_len: int) -> str:
        if len(value) > max_len:
            raise self._bad(f"'{name}' is too long")
        if json_input.has_surrogate(value):
            raise self._bad(f"'{name}' holds a lone surrogate (\\ud800-\\udfff): not valid Unicode")
        return value

    def any_text(self, name: str) -> object:
        """A field whose type the room checks (signal type and data): only refuse what no
        check can encode, a string with a lone surrogate."""
        value = self.obj.get(name)
        if isinstance(value, str):
            return self._checked(name, value, len(value))
        return value

    def token(self) -> str:
        """The connect token, as sent: the verifier refuses a malformed one (close 4001)."""
        value = self.obj.get("token")
        if not isinstance(value, str) or not value:
            raise self._bad("'token' must be a non-empty string")
        return value

    def boolean(self, name: str, default: bool | None = None) -> bool:
        value = self.obj.get(name, default)
        if not isinstance(value, bool):
            raise self._bad(f"'{name}' must be true or false")
        return value

    def opt_boolean(self, name: str) -> bool | None:
        value = self.obj.get(name)
        if value is not None and not isinstance(value, bool):
            raise self._bad(f"'{name}' must be true or false")
        return value

    def string_list(self, name: str, *, max_items: int = 1000) -> tuple[str, ...]:
        value = self.obj.get(name)
        if value is None:
            return ()
        if not isinstance(value, list) or len(value) > max_items:
            raise self._bad(f"'{name}' must be an array of at most {max_items} strings")
        out = []
        for item in value:
            if not isinstance(item, str) or not item:
                raise self._bad(f"'{name}' must be an array of non-empty strings")
            out.append(self._checked(name, item, 1024))
        return tuple(out)

    def opt_strings(self, name: str, *, max_items: int = 32, max_len: int = 200) -> tuple[str, ...] | None:
        value = self.obj.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or len(value) > max_items or not all(isinstance(v, str) for v in value):
            raise self._bad(f"'{name}' must be an array of at most {max_items} strings")
        return tuple(self._checked(name, v, max_len) for v in value)

    def opt_int(self, name: str) -> int | None:
        value = self.obj.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value > 100_000:
            raise self._bad(f"'{name}' must be a non-negative number")
        return int(value)


def parse(text: str | bytes) -> Request:
    """Parse one frame; raises :class:`MalformedMessage`."""
    try:
        # lone surrogates are refused per field (_Fields): a token holding one is an invalid token
        obj = json_input.loads(text, surrogates=True)
    except json_input.InvalidJson as exc:
        raise MalformedMessage("not a JSON message" if exc.message == "not valid JSON" else exc.message) from None
    if not isinstance(obj, dict):
        raise MalformedMessage("a message must be a JSON object")
    rid = obj.get("rid")
    if rid is not None and (isinstance(rid, bool) or not isinstance(rid, str | int | float)):
        raise MalformedMessage("'rid' must be a string or a number")
    if isinstance(rid, str) and (len(rid) > 128 or json_input.has_surrogate(rid)):
        raise MalformedMessage("'rid' is too long or not valid Unicode")
    if isinstance(rid, int) and abs(rid) >= 2**53:  # echoed back: a client's JSON.parse rounds it
        raise MalformedMessage("'rid' is too large")
    kind = obj.get("type")
    f = _Fields(obj, rid)
    if kind == "connect":
        last_seq = obj.get("lastSeq")
        if last_seq is not None and (isinstance(last_seq, bool) or not isinstance(last_seq, int) or last_seq < 0
                                     or last_seq >= 2**53):
            raise f._bad("'lastSeq' must be a non-negative integer")
        return Connect(rid, f.string("apiKey"), f.string("sessionId"), f.token(),
                       f.opt_string("resume", max_len=128), last_seq)
    if kind == "publish":
        video_type = f.opt_string("videoType", "camera") or "camera"
        if video_type not in VIDEO_TYPES:
            raise f._bad(f"'videoType' must be one of {', '.join(VIDEO_TYPES)}")
        # both may be off (published muted); the offer must still carry media
        has_audio, has_video = f.boolean("hasAudio", True), f.boolean("hasVideo", True)
        return Publish(
            rid,
            sdp=f.string("sdp", max_len=MAX_SDP),
            has_audio=has_audio,
            has_video=has_video,
            name=f.opt_string("name", "", max_len=1000) or "",
            video_type=video_type,
            width=f.opt_int("width"),
            height=f.opt_int("height"),
            frame_rate=f.opt_int("frameRate"),
            layout_classes=f.opt_strings("layoutClassList"),
        )
    if kind == "unpublish":
        return Unpublish(rid, f.string("streamId"))
    if kind == "subscribe":
        return Subscribe(
            rid,
            stream_id=f.string("streamId"),
            sdp=f.string("sdp", max_len=MAX_SDP),
            audio=f.boolean("subscribeToAudio", True),
            video=f.boolean("subscribeToVideo", True),
        )
    if kind == "unsubscribe":
        return Unsubscribe(rid, f.string("subscriptionId"))
    if kind == "republish":
        return Republish(rid, f.string("streamId"), f.string("sdp", max_len=MAX_SDP))
    if kind == "resubscribe":
        return Resubscribe(rid, f.string("subscriptionId"), f.string("sdp", max_len=MAX_SDP))
    if kind == "signal":
        return Signal(rid, f.any_text("signalType"), f.any_text("data"), f.opt_string("to"))
    if kind == "forceDisconnect":
        return ForceDisconnect(rid, f.string("connectionId"))
    if kind == "forceUnpublish":
        return ForceUnpublish(rid, f.string("streamId"))
    if kind == "streamChange":
        return StreamChange(rid, f.string("streamId"), f.opt_boolean("hasAudio"), f.opt_boolean("hasVideo"))
    if kind == "subscriptionChange":
        return SubscriptionChange(
            rid, f.string("subscriptionId"), f.opt_boolean("subscribeToAudio"), f.opt_boolean("subscribeToVideo")
        )
    if kind == "forceMuteStream":
        return ForceMuteStream(rid, f.string("streamId"))
    if kind == "forceMuteAll":
        return ForceMuteAll(rid, f.string_list("excludedStreamIds"))
    if kind == "disableForceMute":
        return DisableForceMute(rid)
    if kind == "keyframe":
        return Keyframe(rid, f.string("subscriptionId"))
    if kind == "ping":
        return Ping(rid)
    if kind == "disconnect":
        return Disconnect(rid)
    if not isinstance(kind, str):
        raise MalformedMessage("a message needs a string 'type'", rid)
    raise MalformedMessage(f"unknown message type {kind[:64]!r}", rid)


ERROR_CODES: dict[type[ArchivistError], int] = {
    BadRequest: 400,
    AuthFailed: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    ConcurrentChange: 409,
    PayloadTooLarge: 413,
    Unavailable: 503,
}
"""Error frame codes (docs/protocol.md): HTTP numbers, so a client reads them as it reads REST."""


def error_code_for(exc: ArchivistError) -> int:
    """The code of the error frame a refused request gets (its nearest mapped class; 500 if none)."""
    for cls in type(exc).__mro__:
        if cls in ERROR_CODES:
            return ERROR_CODES[cls]
    return 500


def error_frame(rid: Rid, code: int, message: str) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if rid is not None:
        frame["rid"] = rid
    return frame


def reply(rid: Rid, type_: str, **fields: Any) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": type_, **fields}
    if rid is not None:
        frame["rid"] = rid
    return frame
