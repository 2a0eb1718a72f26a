"""The callback body: the spec's archive JSON with ``"event": "archive"``.

It is :meth:`Archive.to_json` in today's words (``/v2/project``), captured when the status
changed. ``url`` is filled at each delivery attempt with a freshly signed download URL (for
``available`` and ``uploaded`` events), so a callback retried hours later still carries a URL
that works for ``ARCHIVIST_DOWNLOAD_URL_TTL`` seconds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from archivist.archives.model import Archive
from archivist.archives.status import DOWNLOADABLE


def archive_event(archive: Archive) -> dict[str, Any]:
    body = archive.to_json(legacy=False, url=None)
    body["event"] = "archive"
    return body


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def for_delivery(stored: str, url_for: Callable[[str], str]) -> bytes:
    """The request body of one attempt: the stored event plus a fresh URL when it has one."""
    body: dict[str, Any] = json.loads(stored)
    if body.get("status") in {s.value for s in DOWNLOADABLE} and body.get("id"):
        body["url"] = url_for(str(body["id"]))
    else:
        body["url"] = None
    return encode(body)
