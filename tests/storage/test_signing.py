"""Signed, expiring download URLs: what is accepted, what is a 403, and the key file."""

from __future__ import annotations

import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from archivist.api.errors import http_status
from archivist.config import Settings
from archivist.errors import AuthFailed
from archivist.storage.signing import DownloadUrls, load_key


def _params(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    q = parse_qs(parts.query)
    return parts.path, q["expires"][0], q["signature"][0]


def test_signed_url_checks(tmp_path: Path) -> None:
    urls = DownloadUrls(b"k" * 32, ttl=600)
    url = urls.url("https://rec.example.com/", "b40ef09b-3811-4726-b508-e41a0f96c68f", now=1_000_000)
    path, expires, signature = _params(url)
    assert url.startswith("https://rec.example.com/archives/b40ef09b-3811-4726-b508-e41a0f96c68f/download?")
    assert path == "/archives/b40ef09b-3811-4726-b508-e41a0f96c68f/download" and expires == str(1_000_600)
    urls.check("b40ef09b-3811-4726-b508-e41a0f96c68f", expires, signature, now=1_000_599)

    refused = {
        "expired": ("b40ef09b-3811-4726-b508-e41a0f96c68f", expires, signature, 1_000_601),
        "other archive": ("00000000-0000-0000-0000-000000000000", expires, signature, 1_000_000),
        "expiry moved": ("b40ef09b-3811-4726-b508-e41a0f96c68f", str(9_999_999), signature, 1_000_000),
        "tampered": ("b40ef09b-3811-4726-b508-e41a0f96c68f", expires, signature[:-2] + "AA", 1_000_000),
        "missing": ("b40ef09b-3811-4726-b508-e41a0f96c68f", None, None, 1_000_000),
        "not a number": ("b40ef09b-3811-4726-b508-e41a0f96c68f", "soon", signature, 1_000_000),
    }
    for why, (archive_id, exp, sig, now) in refused.items():
        with pytest.raises(AuthFailed) as err:
            urls.check(archive_id, exp, sig, now=now)
        assert http_status(err.value) == 403, why
    with pytest.raises(AuthFailed, match="expired"):
        urls.check("b40ef09b-3811-4726-b508-e41a0f96c68f", expires, signature, now=1_000_601)
    other_key = DownloadUrls(b"x" * 32, ttl=600)
    with pytest.raises(AuthFailed):
        other_key.check("b40ef09b-3811-4726-b508-e41a0f96c68f", expires, signature, now=1_000_000)


def test_key_is_generated_once_private_and_configurable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    first = load_key(settings)
    assert len(first) == 64 and load_key(settings) == first
    key_file = tmp_path / "signing.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_key(Settings(data_dir=tmp_path, signing_key="shared-by-every-node")) == b"shared-by-every-node"
