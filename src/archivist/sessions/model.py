"""The persisted session."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MediaMode(StrEnum):
    ROUTED = "routed"
    RELAYED = "relayed"


class ArchiveMode(StrEnum):
    MANUAL = "manual"
    ALWAYS = "always"


RESOLUTIONS = ("640x480", "480x640", "1280x720", "720x1280", "1920x1080", "1080x1920")


@dataclass(frozen=True)
class Session:
    id: str
    project_key: str
    media_mode: MediaMode
    archive_mode: ArchiveMode
    location: str | None
    e2ee: bool
    archive_name: str | None
    archive_resolution: str | None
    created_at: int
