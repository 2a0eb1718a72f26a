"""The Archive record and its JSON shape (the spec's fields plus today's API's)."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from archivist.archives.status import ArchiveStatus, Reason, reason_text


@dataclass(frozen=True)
class Archive:
    id: str
    project_key: str
    session_id: str
    name: str | None
    status: ArchiveStatus
    reason: Reason
    created_at: int
    updated_at: int
    duration: int
    size: int
    has_audio: bool
    has_video: bool
    output_mode: str
    stream_mode: str
    resolution: str | None
    layout: dict[str, Any] | None
    max_bitrate: int | None
    quantization_parameter: int | None
    multi_archive_tag: str | None
    storage_key: str | None
    sha256: str | None
    seq: int

    def evolve(self, **changes: Any) -> Archive:
        return replace(self, **changes)

    def to_json(self, *, legacy: bool, url: str | None = None) -> dict[str, Any]:
        """The archive object. ``legacy`` selects the spec's reason words (``/v2/partner``)."""
        partner: int | str = int(self.project_key) if self.project_key.isdigit() else self.project_key
        body: dict[str, Any] = {
            "createdAt": self.created_at,
            "duration": self.duration,
            "id": self.id,
            "name": self.name,
            "partnerId": partner,
            "projectId": partner,
            "reason": reason_text(self.reason, legacy),
            "sessionId": self.session_id,
            "size": self.size,
            "status": self.status.value,
            "url": url,
            "hasAudio": self.has_audio,
            "hasVideo": self.has_video,
            "outputMode": self.output_mode,
            "streamMode": self.stream_mode,
            "streams": [],
            "updatedAt": self.updated_at,
            "event": "archive",
        }
        if self.output_mode == "composed":
            body["resolution"] = self.resolution
            body["layout"] = self.layout
        if self.max_bitrate is not None:
            body["maxBitrate"] = self.max_bitrate
        if self.quantization_parameter is not None:
            body["quantizationParameter"] = self.quantization_parameter
        if self.multi_archive_tag is not None:
            body["multiArchiveTag"] = self.multi_archive_tag
        if self.sha256 is not None:
            body["sha256sum"] = self.sha256
        return body

    def layout_json(self) -> str | None:
        return json.dumps(self.layout) if self.layout is not None else None
