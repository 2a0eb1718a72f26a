"""Signed, expiring download URLs: ``{base}/archives/{id}/download?expires=…&signature=…``.

``signature`` is base64url(HMAC-SHA256(key, "archive-download\\n{id}\\n{expires}")), ``expires``
a Unix time in seconds. The key is ``ARCHIVIST_SIGNING_KEY`` or, when unset, 32 random bytes
generated once into ``{data_dir}/signing.key`` (mode 0600). A URL is only as good as its
signature and its expiry: anything else is a 403, which answers the spec's known issue that
archive URLs "are not secure".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from urllib.parse import quote

from archivist.config import Settings
from archivist.errors import AuthFailed

KEY_FILE = "signing.key"
_PURPOSE = b"archive-download"


def load_key(settings: Settings) -> bytes:
    """The configured key, else the one stored in the data directory (created on first use)."""
    if settings.signing_key:
        return settings.signing_key.encode()
    path = settings.data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    for _ in range(50):  # another process may be writing it right now
        text = path.read_text().strip()
        if text:
            return text.encode()
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty: remove it or set ARCHIVIST_SIGNING_KEY")


class DownloadUrls:
    def __init__(self, key: bytes, ttl: int) -> None:
        if not key:
            raise ValueError("an empty signing key")
        self._key = key
        self.ttl = ttl

    def signature(self, archive_id: str, expires: int) -> str:
        message = b"\n".join((_PURPOSE, archive_id.encode(), str(expires).encode()))
        digest = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def path(self, archive_id: str, *, now: float | None = None) -> str:
        expires = int(now if now is not None else time.time()) + self.ttl
        return (
            f"/archives/{quote(archive_id, safe='')}/download"
            f"?expires={expires}&signature={self.signature(archive_id, expires)}"
        )

    def url(self, base: str, archive_id: str, *, now: float | None = None) -> str:
        return base.rstrip("/") + self.path(archive_id, now=now)

    def check(self, archive_id: str, expires: str | None, signature: str | None, *, now: float | None = None) -> None:
        """Raise :class:`AuthFailed` (403) unless the URL was signed by us and has not expired."""
        if not expires or not signature:
            raise AuthFailed("a signed download URL is required (expires and signature)")
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 12):
            raise AuthFailed("invalid download URL signature")
        when = int(expires)
        # compare bytes: compare_digest refuses str with non-ASCII characters (a TypeError)
        if not hmac.compare_digest(self.signature(archive_id, when).encode(), signature.encode("utf-8", "replace")):
            raise AuthFailed("invalid download URL signature")
        if when < (now if now is not None else time.time()):
            raise AuthFailed("download URL expired: get the archive again for a fresh URL")
