"""Session ids in the OpenTok format the SDKs decode before they mint tokens.

``"1_" + base64url_nopad("1~{apiKey}~{location}~{createdMs}~{random}~~")``: Node requires the
second ``~`` field to be the API key, Python that the key is one of the fields.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets

from archivist import clock

_RANDOM_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
MAX_LEN = 255
_ID_RE = re.compile(r"^[12]_[A-Za-z0-9_\-]+={0,2}$")


def mint(api_key: str, location: str | None = None, now_ms: int | None = None) -> str:
    created = clock.now_ms() if now_ms is None else now_ms
    rand = "".join(secrets.choice(_RANDOM_ALPHABET) for _ in range(24))
    raw = f"1~{api_key}~{location or ''}~{created}~{rand}~~"
    return "1_" + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def well_formed(session_id: str) -> bool:
    """The shape of a session id (``^[12]_`` then base64url): what the OpenAPI document states."""
    return len(session_id) <= MAX_LEN and _ID_RE.fullmatch(session_id) is not None


def project_key_of(session_id: str) -> str | None:
    """The API key a session id names, or None if it is not a well-formed session id."""
    if not isinstance(session_id, str) or len(session_id) > MAX_LEN or not _ID_RE.fullmatch(session_id):
        return None
    body = session_id[2:].rstrip("=")
    body += "=" * (-len(body) % 4)
    try:
        parts = base64.urlsafe_b64decode(body.encode()).decode("utf-8").split("~")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if len(parts) < 3 or not parts[1].isdigit():
        return None
    return parts[1]
