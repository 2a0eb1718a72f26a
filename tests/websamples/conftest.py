"""The OpenTok.js web samples, rewritten for our tests (pages/), served from an origin of their
own (http://127.0.0.1:<port>) and run in headless Chromium against a real Archivist server whose
embedded sample app is their "test web service". Each page differs from the official sample only
where it points at the service: `http://ARCHIVIST_SERVER` in its script tag and config.js is
replaced by the server's URL when the page is served."""

from __future__ import annotations

import http.server
import os
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from tests.servers import ROOT, Server, make_server

HERE = Path(__file__).resolve().parent
PAGES = HERE / "pages"
JQUERY = ROOT / "node_modules" / "jquery" / "dist"
CHROMIUM = os.environ.get("ARCHIVIST_E2E_CHROMIUM", "/usr/bin/chromium")
PLACEHOLDER = b"http://ARCHIVIST_SERVER"
TYPES = {".js": "text/javascript", ".html": "text/html", ".css": "text/css", ".webm": "video/webm"}


def write_clip(path: Path, seconds: float = 4.0) -> None:
    """A 320x240 VP8 + Opus WebM: a red square moving over blue, and a 440 Hz tone."""
    with av.open(str(path), "w", format="webm") as out:
        video = out.add_stream("libvpx", rate=25)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        video.options = {"deadline": "realtime", "cpu-used": "8"}
        audio = out.add_stream("libopus", rate=48000)
        audio.layout = "mono"
        frames = int(seconds * 25)
        for i in range(frames):
            img = np.zeros((240, 320, 3), np.uint8)
            img[:, :] = (30, 60, 200)
            x = (i * 8) % 280
            img[100:140, x:x + 40] = (220, 30, 30)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode())
        samples = int(seconds * 48000)
        t = np.arange(samples) / 48000
        pcm = (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        for start in range(0, samples, 960):
            chunk = pcm[start:start + 960]
            if len(chunk) < 960:
                break
            af = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
            af.sample_rate = 48000
            af.pts = start
            af.time_base = Fraction(1, 48000)
            out.mux(audio.encode(af))
        out.mux(audio.encode())


@dataclass
class Site:
    server: Server
    service: str  # the test web service (the sample app): http://localhost:<server port>
    pages: str  # the samples' own origin: http://127.0.0.1:<port>

    def url(self, sample: str) -> str:
        return f"{self.pages}/{sample}/index.html"


class _Handler(http.server.BaseHTTPRequestHandler):
    service = ""
    clip: Path | None = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _file(self, path: str) -> Path | None:
        if path.startswith("/jquery/"):
            base, rel = JQUERY, path[len("/jquery/"):]
        elif path == "/publish-video/video/clip.webm":
            return self.clip
        else:
            base, rel = PAGES, path.lstrip("/")
        candidate = (base / rel).resolve()
        return candidate if candidate.is_file() and candidate.is_relative_to(base) else None

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path == "/favicon.ico":
            self.send_response(204)
            self.end_headers()
            return
        file = self._file(path)
        if file is None:
            self.send_error(404)
            return
        body = file.read_bytes()
        if file.suffix in (".html", ".js") and file.is_relative_to(PAGES):
            body = body.replace(PLACEHOLDER, self.service.encode())
        self.send_response(200)
        self.send_header("Content-Type", TYPES.get(file.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if not (JQUERY / "jquery.min.js").is_file():
        pytest.fail("node_modules/jquery is missing: run `npm ci` (scripts/test does)")
    tmp = tmp_path_factory.mktemp("websamples")
    clip = tmp / "clip.webm"
    write_clip(clip)
    srv = make_server(tmp / "server")
    service = f"http://localhost:{urllib.parse.urlsplit(srv.url).port}"
    handler = type("Handler", (_Handler,), {"service": service, "clip": clip})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield Site(srv, service, f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.shutdown()
    httpd.server_close()
    srv.stop()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream=device-count=2",
            "--autoplay-policy=no-user-gesture-required",
            "--no-sandbox",
            "--disable-gpu",
        ],
    )
    yield browser
    browser.close()
    pw.stop()


class Tab:
    def __init__(self, browser: Any, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 960, "height": 600})
        self.page = self.context.new_page()
        self.log: list[str] = []
        self.page.on("console", lambda m: self.log.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.log.append(f"pageerror: {e}"))
        self.page.on("dialog", lambda d: (self.log.append(f"alert: {d.message}"), d.dismiss()))
        self.page.goto(url)

    def wait(self, expression: str, timeout: float = 20, arg: Any = None) -> Any:
        try:
            return self.page.wait_for_function(expression, arg=arg, timeout=timeout * 1000, polling=100).json_value()
        except Exception as exc:
            raise AssertionError(f"{expression} never became true; console: {self.log[-15:]}") from exc

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def tabs(chromium: Any, site: Site) -> Iterator[Any]:
    opened: list[Tab] = []

    def open_tab(sample: str) -> Tab:
        tab = Tab(chromium, site.url(sample))
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()
