"""Unit tests of archivist.js's event and state logic in a real headless Chromium, without a
server: pages import the ES modules of src/archivist/web/src (and the built bundle) from a small
local HTTP server on localhost (a secure context: the fake camera and microphone work)."""

from __future__ import annotations

import http.server
import os
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WEB = ROOT / "src" / "archivist" / "web"
CHROMIUM = os.environ.get("ARCHIVIST_E2E_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.browser

TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".html": "text/html", ".css": "text/css"}


def _resolve(path: str) -> Path | None:
    """/src/* -> the client's modules, /static/* -> the built bundles, else tests/client/pages/*."""
    for prefix, base in (("/src/", WEB / "src"), ("/static/", WEB / "static"), ("/", HERE / "pages")):
        if path.startswith(prefix):
            candidate = (base / path[len(prefix):]).resolve()
            if candidate.is_file() and candidate.is_relative_to(base):
                return candidate
            return None
    return None


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path == "/":
            path = "/blank.html"
        file = _resolve(path)
        if file is None:
            self.send_error(404)
            return
        body = file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", TYPES.get(file.suffix, "application/octet-stream") + "; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def unit_url() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Chromium with fake devices: two cameras, three microphones, three speakers."""
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream=device-count=2",
            "--no-sandbox",
            "--disable-gpu",
        ],
    )
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def page(chromium: Any, unit_url: str) -> Iterator[Any]:
    context = chromium.new_context()
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    p.goto(unit_url + "/blank.html")
    p.errors = errors  # type: ignore[attr-defined]
    yield p
    context.close()
