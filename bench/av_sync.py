"""Benchmark (issue 12): the A/V offset of recordings, run after run.

    .venv/bin/python -m bench.av_sync [--runs 10] [--seconds 20] [--delay 1.0] [--sources python,chromium]

Each run is a new session with one flash-and-beep publisher (a flash in the picture and a beep
in the sound at the same instants, once a second), an archive started ``--delay`` seconds after
the stream is announced, recorded for ``--seconds``, and every flash of the MP4 measured against
its beep (audio onset minus video onset: positive, the sound comes late). Two publishers:

* ``python``: the Python client's synthetic source (``archivist.client.SyncMarks``): both marks at
  exactly the same RTP instant; aiortc stamps its sender reports with the instant its packets
  leave (after encoding), which shifts its own relation by a few ms;
* ``chromium``: headless Chromium publishing a canvas and a WebAudio oscillator (the e2e harness's
  ``T.publishSyncMarks``): the canvas is captured at 30 fps, so the flash reaches the picture up to
  a frame after it is drawn; that phase, and WebAudio's, is the source's own and differs per run.

Prints a table (per run: flashes, median, worst, spread within the file) and writes
bench/results/av_sync.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.server
import json
import shutil
import statistics
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from opentok import Client, MediaModes

from archivist.client import ArchivistClient, SyncMarks
from bench.common import publish_result, table
from tests.recording.media import av_offsets
from tests.servers import Server, make_server

HARNESS_JS = Path(__file__).resolve().parent.parent / "tests" / "e2e" / "pages" / "harness.js"
CHROMIUM = "/usr/bin/chromium"


def archive_path(server: Server, archive_id: str) -> Path:
    return server.data_dir / "archives" / server.project.api_key / f"{archive_id}.mp4"


def wait_available(ot: Client, archive_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while ot.get_archive(archive_id).status not in ("available", "uploaded"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"archive {archive_id} not available after {timeout} s")
        time.sleep(0.05)


async def python_run(server: Server, ot: Client, delay: float, seconds: float) -> list[float]:
    sid = str(ot.create_session(media_mode=MediaModes.routed).session_id)
    client = await ArchivistClient.open(server.url, server.project.api_key, sid, ot.generate_token(sid))
    try:
        await client.publish(marks=SyncMarks(period=1.0))
        await asyncio.sleep(delay)
        archive = await asyncio.to_thread(ot.start_archive, sid, name="sync")
        await asyncio.sleep(seconds)
        await asyncio.to_thread(ot.stop_archive, archive.id)
        await asyncio.to_thread(wait_available, ot, archive.id)
    finally:
        await client.close()
    return [o * 1000 for o in av_offsets(archive_path(server, archive.id))]


def serve_harness(lib_src: str) -> tuple[str, http.server.ThreadingHTTPServer]:
    page = f"""<!doctype html><html><head><meta charset="utf-8"></head><body><div id="target"></div>
<script src="{lib_src}"></script><script>window.SIGNALING_URL = null;</script>
<script src="/harness.js"></script></body></html>""".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if path not in ("/harness.html", "/harness.js"):
                self.send_error(404)
                return
            if path == "/harness.html":
                body, ctype = page, "text/html"
            else:
                body, ctype = HARNESS_JS.read_bytes(), "text/javascript"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://localhost:{httpd.server_address[1]}/harness.html", httpd


def chromium_runs(
    server: Server, ot: Client, runs: int, delay: float, seconds: float, local: list[list[float]] | None = None
) -> list[list[float]]:
    """The archives' offsets per run; with ``local``, also those of the same tracks recorded in
    the page during the archive (Chromium's MediaRecorder: the source's own view)."""
    from playwright.sync_api import sync_playwright

    port = urllib.parse.urlsplit(server.url).port
    url, httpd = serve_harness(f"http://localhost:{port}/static/archivist.js")
    out: list[list[float]] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--no-sandbox", "--disable-gpu"])
        try:
            for _ in range(runs):
                sid = str(ot.create_session(media_mode=MediaModes.routed).session_id)
                context = browser.new_context()
                page = context.new_page()
                page.goto(url)
                page.wait_for_function("() => window.T && window.OT")
                token = ot.generate_token(sid)
                info = page.evaluate("([k, s, t]) => T.connect(k, s, t, null)", [server.project.api_key, sid, token])
                if "error" in info:
                    raise RuntimeError(f"connect failed: {json.dumps(info)}")
                page.evaluate("() => { T.autoSubscribe = false; }")
                page.evaluate("() => T.publishSyncMarks(1)")
                page.wait_for_function("() => T.has('publisher', 'streamCreated')", timeout=20_000)
                time.sleep(delay)
                archive = ot.start_archive(sid, name="sync")
                if local is not None:
                    webm = base64.b64decode(page.evaluate("(ms) => T.recordLocally(ms)", int(seconds * 1000)))
                    local_path = server.data_dir / f"local-{archive.id}.webm"
                    local_path.write_bytes(webm)
                    local.append([o * 1000 for o in av_offsets(local_path)])
                else:
                    time.sleep(seconds)
                ot.stop_archive(archive.id)
                wait_available(ot, archive.id)
                out.append([o * 1000 for o in av_offsets(archive_path(server, archive.id))])
                context.close()
        finally:
            browser.close()
            httpd.shutdown()
    return out


def summarise(source: str, runs: list[list[float]]) -> tuple[list[list[str]], str]:
    rows = []
    for i, offsets in enumerate(runs, 1):
        if not offsets:
            rows.append([source, str(i), "0", "-", "-", "-"])
            continue
        rows.append([source, str(i), str(len(offsets)), f"{statistics.median(offsets):+.1f}",
                     f"{max(offsets, key=abs):+.1f}", f"{max(offsets) - min(offsets):.1f}"])
    medians = [statistics.median(o) for o in runs if o]
    every = [x for o in runs for x in o]
    note = (f"{source}: {len(runs)} runs, {len(every)} flashes; medians from {min(medians):+.1f} to "
            f"{max(medians):+.1f} ms (spread {max(medians) - min(medians):.1f} ms); worst single flash "
            f"{max(every, key=abs):+.1f} ms." if medians else f"{source}: no flash measured")
    return rows, note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each archive")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds from the stream's announcement to the start")
    parser.add_argument("--sources", default="python,chromium")
    args = parser.parse_args()
    sources = [s.strip() for s in args.sources.split(",") if s.strip()]
    if "chromium" in sources and not shutil.which(CHROMIUM):
        raise SystemExit(f"{CHROMIUM} is missing: scripts/setup-system test installs it")
    tmp = Path(tempfile.mkdtemp(prefix="bench-av-sync-"))
    server = make_server(tmp)
    ot = Client(server.project.api_key, server.project.api_secret, api_url=server.url, timeout=30)
    rows: list[list[str]] = []
    notes: list[str] = []
    try:
        if "python" in sources:

            async def python_all() -> list[list[float]]:
                return [await python_run(server, ot, args.delay, args.seconds) for _ in range(args.runs)]

            got, note = summarise("python", asyncio.run(python_all()))
            rows += got
            notes.append(note)
        if "chromium" in sources:
            local: list[list[float]] = []
            archived = chromium_runs(server, ot, args.runs, args.delay, args.seconds, local)
            got, note = summarise("chromium", archived)
            for row, here, there in zip(got, local, archived, strict=True):
                if here and there:
                    page_median = statistics.median(here)
                    row += [f"{page_median:+.1f}", f"{statistics.median(there) - page_median:+.1f}"]
                else:
                    row += ["-", "-"]
            rows += got
            notes.append(note)
            diffs = [statistics.median(t) - statistics.median(h)
                     for h, t in zip(local, archived, strict=True) if h and t]
            if diffs:
                notes.append(
                    "chromium, the same tracks recorded in the page (MediaRecorder, during the archive): archive "
                    f"minus page median from {min(diffs):+.1f} to {max(diffs):+.1f} ms (spread "
                    f"{max(diffs) - min(diffs):.1f} ms): what the server adds to the source's own offset.")
    finally:
        server.stop()
    notes.append(f"Each run: a new session, the archive started {args.delay:g} s after the stream was announced, "
                 f"{args.seconds:g} s long; offset = audio onset minus video onset of each flash (positive: "
                 "sound late); 'spread' is the largest minus the smallest offset within the file.")
    for row in rows:
        row.extend([""] * (8 - len(row)))
    publish_result("av_sync", table("A/V offset, run after run", ["source", "run", "flashes", "median ms",
                                                                     "worst ms", "spread ms", "page median ms",
                                                                     "archive - page ms"], rows, notes))


if __name__ == "__main__":
    main()
