"""What a start request may ask for: :class:`StartOptions`, parsed and checked from the REST body
(today's API fields; the spec's are a subset), and the options of an automatic archive."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from archivist.errors import BadRequest
from archivist.sessions.model import RESOLUTIONS, Session

LAYOUT_TYPES = ("bestFit", "pip", "verticalPresentation", "horizontalPresentation", "focus", "custom")
SCREENSHARE_TYPES = ("bestFit", "pip", "verticalPresentation", "horizontalPresentation", "focus")

MAX_NAME = 200
MAX_TAG = 200


@dataclass(frozen=True)
class StartOptions:
    session_id: str
    name: str | None
    has_audio: bool
    has_video: bool
    output_mode: str
    stream_mode: str
    resolution: str | None
    layout: dict[str, Any] | None
    max_bitrate: int | None
    quantization_parameter: int | None
    multi_archive_tag: str | None


def _opt_bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"{key} must be a boolean")
    return value


def _opt_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return value


def _opt_int(body: dict[str, Any], key: str, lo: int, hi: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 16.0 is the integer 16
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key} must be an integer")
    if not lo <= value <= hi:
        raise BadRequest(f"{key} must be between {lo} and {hi}")
    return value


def parse_layout(body: Any, what: str = "layout") -> dict[str, Any]:
    """A layout object's shape (``type``, ``stylesheet``, ``screenshareType``; nulls dropped),
    or a 400 that says what is wrong. Whether the recorder can draw it (the stylesheet, the
    combination) is the launcher's to say (``RecorderLauncher.check_layout``)."""
    if not isinstance(body, dict):
        raise BadRequest(f"{what} must be an object")
    ltype = body.get("type")
    if ltype is None:
        ltype = "bestFit"
    if ltype not in LAYOUT_TYPES:
        raise BadRequest(f"{what}: type must be one of {', '.join(LAYOUT_TYPES)}")
    layout: dict[str, Any] = {"type": ltype}
    stylesheet, screenshare = body.get("stylesheet"), body.get("screenshareType")
    if stylesheet is not None:
        if not isinstance(stylesheet, str):
            raise BadRequest(f"{what}: stylesheet must be a string")
        layout["stylesheet"] = stylesheet
    if screenshare is not None:
        if screenshare not in SCREENSHARE_TYPES:
            raise BadRequest(f"{what}: screenshareType must be one of {', '.join(SCREENSHARE_TYPES)}")
        layout["screenshareType"] = screenshare
    return layout


def parse_start(body: dict[str, Any]) -> StartOptions:
    """Validate a start request body (today's API fields; the spec's are a subset)."""
    session_id = body.get("sessionId")
    if not isinstance(session_id, str) or not session_id.strip():
        raise BadRequest("sessionId is required")
    name = _opt_str(body, "name")
    if name is not None and (len(name) > MAX_NAME or "\x00" in name):
        raise BadRequest(f"name must be at most {MAX_NAME} characters, without NUL")
    has_audio = _opt_bool(body, "hasAudio", True)
    has_video = _opt_bool(body, "hasVideo", True)
    if not has_audio and not has_video:
        raise BadRequest("hasAudio and hasVideo cannot both be false")
    output_mode = _opt_str(body, "outputMode") or "composed"
    if output_mode not in ("composed", "individual"):
        raise BadRequest("outputMode must be 'composed' or 'individual'")
    resolution = _opt_str(body, "resolution")
    if resolution is not None and output_mode == "individual":
        raise BadRequest("resolution cannot be set with individual output")
    if resolution is not None and resolution not in RESOLUTIONS:
        raise BadRequest(f"resolution must be one of {', '.join(RESOLUTIONS)}")
    stream_mode = _opt_str(body, "streamMode") or "auto"
    if stream_mode not in ("auto", "manual"):
        raise BadRequest("streamMode must be 'auto' or 'manual'")
    raw_layout = body.get("layout")
    layout: dict[str, Any] | None = None
    if raw_layout is not None:
        if output_mode == "individual":
            raise BadRequest("layout cannot be set with individual output")
        layout = parse_layout(raw_layout, "layout")
    max_bitrate = _opt_int(body, "maxBitrate", 100_000, 6_000_000)
    qp = _opt_int(body, "quantizationParameter", 15, 40)
    if max_bitrate is not None and qp is not None:
        raise BadRequest("maxBitrate and quantizationParameter cannot both be set")
    if output_mode == "individual" and (max_bitrate is not None or qp is not None):
        # individual files keep the publishers' own encoding: there is nothing to set
        raise BadRequest("maxBitrate and quantizationParameter cannot be set with individual output")
    tag = _opt_str(body, "multiArchiveTag")
    if tag is not None and (not tag.strip() or len(tag) > MAX_TAG or "\x00" in tag):
        raise BadRequest(f"multiArchiveTag must be a non-empty string of at most {MAX_TAG} characters")
    if body.get("hasTranscription"):
        raise BadRequest("hasTranscription is not supported by this server (no transcription service)")
    if body.get("transcriptionProperties") is not None:
        raise BadRequest("transcriptionProperties is not supported by this server (no transcription service)")
    return StartOptions(
        session_id=session_id.strip(),
        name=name,
        has_audio=has_audio,
        has_video=has_video,
        output_mode=output_mode,
        stream_mode=stream_mode,
        resolution=None if output_mode == "individual" else resolution or "640x480",
        layout=None if output_mode == "individual" else layout or {"type": "bestFit"},
        max_bitrate=max_bitrate,
        quantization_parameter=qp,
        multi_archive_tag=tag,
    )


def auto_archive_options(session: Session) -> StartOptions:
    """An ``archiveMode=always`` session's archive: its archive name and resolution, composed."""
    return StartOptions(
        session_id=session.id,
        name=session.archive_name,
        has_audio=True,
        has_video=True,
        output_mode="composed",
        stream_mode="auto",
        resolution=session.archive_resolution or "640x480",
        layout={"type": "bestFit"},
        max_bitrate=None,
        quantization_parameter=None,
        multi_archive_tag=None,
    )
