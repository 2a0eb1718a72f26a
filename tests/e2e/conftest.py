"""Browser end-to-end fixtures: one Archivist server and one headless Chromium for the whole run.

Pages come from a tiny local HTTP server on ``localhost`` (a secure context, so getUserMedia
works); they load ``archivist.js`` from the Archivist server's ``/static/archivist.js`` (the
library derives its signaling URL from its own script URL). WebRTC media still flows over the
machine's interface address: Chromium and aiortc both skip loopback candidates.
"""

from __future__ import annotations

import http.server
import os
import shutil
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from opentok import Client as OpenTokClient
from opentok import MediaModes, Roles

from tests.servers import Server, make_server

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("ARCHIVIST_E2E_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.browser


# --------------------------------------------------------------------------------------------
# Archivist server
# --------------------------------------------------------------------------------------------


@dataclass
class E2EServer:
    server: Server
    local_url: str  # http://localhost:<port>: what the pages talk to
    ot: OpenTokClient

    @property
    def api_key(self) -> str:
        return self.server.project.api_key

    def routed_session(self) -> str:
        return str(self.ot.create_session(media_mode=MediaModes.routed).session_id)

    def token(self, session_id: str, role: str = "publisher", data: str = "") -> str:
        roles = {"publisher": Roles.publisher, "subscriber": Roles.subscriber, "moderator": Roles.moderator}
        return str(self.ot.generate_token(session_id, role=roles[role], data=data or None))


@pytest.fixture(scope="session")
def e2e_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EServer]:
    srv = make_server(tmp_path_factory.mktemp("e2e-server"))
    port = urllib.parse.urlsplit(srv.url).port
    ot = OpenTokClient(srv.project.api_key, srv.project.api_secret, api_url=srv.url, timeout=20)
    yield E2EServer(srv, f"http://localhost:{port}", ot)
    srv.stop()


@pytest.fixture
def live(e2e_server: E2EServer) -> E2EServer:
    """The server, for tests that need signaling + media."""
    return e2e_server


# --------------------------------------------------------------------------------------------
# Page server
# --------------------------------------------------------------------------------------------


def _harness_html(lib_src: str) -> bytes:
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>archivist.js e2e</title></head>
<body>
<div id="target"></div>
<script src="{lib_src}"></script>
<script src="/harness.js"></script>
</body></html>""".encode()


class _PageHandler(http.server.BaseHTTPRequestHandler):
    server_version = "archivist-e2e-pages"
    config: dict[str, Any] = {}

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, body: bytes, ctype: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        cfg = self.config
        if path == "/harness.html":
            self._send(_harness_html(cfg["lib_src"]), "text/html; charset=utf-8")
        elif path == "/harness.js":
            self._send((HERE / "pages" / "harness.js").read_bytes(), "text/javascript; charset=utf-8")
        else:
            self.send_error(404)


@dataclass
class Pages:
    url: str  # http://localhost:<port>/harness.html


@pytest.fixture(scope="session")
def pages(e2e_server: E2EServer) -> Iterator[Pages]:
    handler = type("Handler", (_PageHandler,), {})
    handler.config = {"lib_src": e2e_server.local_url + "/static/archivist.js"}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Pages(url=f"http://localhost:{httpd.server_address[1]}/harness.html")
    httpd.shutdown()
    httpd.server_close()


# --------------------------------------------------------------------------------------------
# Chromium
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One Chromium per test module: Playwright's sync API keeps an event loop running on the main
    thread while it is started, which would break the asyncio tests of the modules after it."""
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            "--no-sandbox",
            "--disable-gpu",
        ],
    )
    yield browser
    browser.close()
    pw.stop()


@dataclass
class Page:
    """One browser tab running the harness (its own context: own fake camera, own cookies)."""

    page: Any
    context: Any
    pages: Pages
    console: list[str] = field(default_factory=list)

    def eval(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def wait(self, expression: str, arg: Any = None, timeout: float = 15) -> Any:
        return self.page.wait_for_function(expression, arg=arg, timeout=timeout * 1000, polling=100).json_value()

    def connect(self, api_key: str, session_id: str, token: str) -> dict[str, Any]:
        return dict(self.eval("([k, s, t]) => T.connect(k, s, t)", [api_key, session_id, token]))

    def publish(self, props: dict[str, Any] | None = None) -> dict[str, Any]:
        return dict(self.eval("(p) => T.publish(p)", props or {}))

    def events(self, source: str, type_: str) -> list[dict[str, Any]]:
        return list(self.eval("([s, t]) => T.find(s, t)", [source, type_]))

    def wait_event(
        self, source: str, type_: str, key: str | None = None, value: Any = None, timeout: float = 15
    ) -> dict[str, Any]:
        self.wait(
            "([s, t, k, v]) => k === null ? T.has(s, t) : T.has(s, t, k, v)", [source, type_, key, value], timeout
        )
        found = [e for e in self.events(source, type_) if key is None or e.get(key) == value]
        return found[0]

    def stats(self) -> dict[str, Any]:
        return dict(self.eval("() => T.subscriberStats()"))

    def close(self) -> None:
        try:
            self.context.close()
        except Exception:
            pass


@pytest.fixture
def open_page(chromium: Any, pages: Pages) -> Iterator[Any]:
    opened: list[Page] = []

    def _open() -> Page:
        context = chromium.new_context()
        page = context.new_page()
        wrapped = Page(page, context, pages)
        page.on("console", lambda m: wrapped.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: wrapped.console.append(f"pageerror: {e}"))
        page.goto(pages.url)
        page.wait_for_function("() => window.T && window.OT")
        opened.append(wrapped)
        return wrapped

    yield _open
    for p in opened:
        p.close()


def wait_until(fn: Any, timeout: float = 10, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    return last


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def joined(
    live: E2EServer, open_page: Any, session_id: str, name: str, role: str = "publisher", auto_subscribe: bool = True
) -> tuple[Page, dict[str, Any]]:
    page = open_page()
    if not auto_subscribe:
        page.eval("() => { T.autoSubscribe = false; }")
    info = page.connect(live.api_key, session_id, live.token(session_id, role, data=f"name={name}"))
    assert "error" not in info, info
    return page, info
