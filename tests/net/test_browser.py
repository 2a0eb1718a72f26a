"""Chromium (archivist.js, which takes the ``iceServers`` of the connect reply) in a network
whose firewall drops every UDP packet: its media is relayed by coturn over TCP, and the archive
is recorded and in sync. Chromium runs inside the namespace through the ``chromium_in`` wrapper."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentok import MediaModes

from tests.net.support import CHROMIUM, CHROMIUM_ARGS, archive_path, nft_counter, sdk, wait_available
from tests.net.test_turn import CLIENT, OFFICE_FIREWALL, SERVER, TURN, TURN_PORT, coturn_in
from tests.netns import Namespace, Network
from tests.recording.media import av_offsets, read_output
from tests.servers import make_server

HARNESS = Path(__file__).resolve().parent.parent / "e2e" / "pages" / "harness.js"


def harness_handler(lib_src: str) -> type[http.server.BaseHTTPRequestHandler]:
    page = f"""<!doctype html><html><head><meta charset="utf-8"></head><body>
<script src="{lib_src}"></script><script src="/harness.js"></script></body></html>""".encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if path not in ("/", "/harness.js"):
                self.send_error(404)
                return
            body, ctype = (page, "text/html") if path == "/" else (HARNESS.read_bytes(), "text/javascript")
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


async def test_chromium_behind_a_udp_blocking_firewall_relays_over_turn_tcp(
    network: Network, coturn_installed: None, tmp_path: Path, chromium_in: Callable[[Namespace], str]
) -> None:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once, before anything runs)
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    secret = "turn-" + os.urandom(12).hex()
    srv, _ = network.public_host("srv", SERVER)
    turn_server = coturn_in(network, tmp_path, secret)
    cli, cli_rtr, wan, lan = network.site_behind_router("cli", CLIENT, "192.168.77.1/24", "192.168.77.2/24")
    server = make_server(
        tmp_path,
        extra_env={"ARCHIVIST_TURN_URLS": ",".join(turn_server.urls("udp", "tcp")), "ARCHIVIST_TURN_SECRET": secret},
        netns=srv.name,
        url=f"http://{SERVER}:{{port}}",
    )
    cli_rtr.nft(OFFICE_FIREWALL.format(
        lan=lan, wan=wan, server=SERVER, http=server.env["ARCHIVIST_PORT"], turn=TURN, turn_port=TURN_PORT
    ))
    port, stop_pages = cli.serve_http(harness_handler(f"{server.url}/static/archivist.js"))
    key = server.project.api_key
    try:
        ot = sdk(server.url, key, server.project.api_secret)

        async def record() -> dict[str, Any]:
            sid = (await asyncio.to_thread(ot.create_session, media_mode=MediaModes.routed)).session_id
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=chromium_in(cli), args=CHROMIUM_ARGS)
                try:
                    page = await browser.new_page()
                    await page.goto(f"http://localhost:{port}/", timeout=20_000)
                    connected = await page.evaluate(
                        "([k, s, t]) => T.connect(k, s, t)", [key, sid, ot.generate_token(sid)]
                    )
                    assert "connectionId" in connected, connected
                    published = await page.evaluate("() => T.publishSyncMarks(1)")
                    assert "streamId" in published, published
                    await page.wait_for_function("() => T.has('publisher', 'streamCreated')", timeout=30_000)
                    await asyncio.sleep(1)
                    archive = await asyncio.to_thread(ot.start_archive, sid, name="chromium-turn-tcp")
                    await asyncio.sleep(8)
                    await asyncio.to_thread(ot.stop_archive, archive.id)
                    await wait_available(ot, archive.id)
                    pair = json.loads(await page.evaluate("""async () => {
                        const stats = await T.publisherPc().getStats();
                        let out = null;
                        stats.forEach((s) => {
                          if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') {
                            const local = stats.get(s.localCandidateId);
                            out = {type: local.candidateType, relayProtocol: local.relayProtocol || null};
                          }
                        });
                        return JSON.stringify(out);
                    }"""))
                    return {"archive": archive.id, "pair": pair}
                finally:
                    await browser.close()

        result = await cli.run_async(record)
    finally:
        stop_pages()
        server.stop()
        turn_server.stop()

    assert result["pair"] == {"type": "relay", "relayProtocol": "tcp"}, result["pair"]
    assert nft_counter(cli_rtr, "fw", "udp_dropped") > 0  # Chromium did try UDP
    assert f"remote='relay {TURN}:" in server.logs()
    path = archive_path(server.data_dir, key, result["archive"])
    out = read_output(path, keep_every=10)
    assert sorted(out.codecs) == ["aac", "h264"] and out.container_duration >= 7
    offsets = av_offsets(path)
    print("Chromium A/V offsets through TURN/TCP (ms):", [round(o * 1000) for o in offsets])
    assert len(offsets) >= 6
    if max(abs(o) for o in offsets) > 0.040:
        # An open defect (issue 12), not a pass: a headless Chromium canvas + WebAudio source
        # gives an offset that differs run to run (-64 … -9 ms steady, jumps of 33-50 ms after
        # the first flashes) while the Python source through the same server stays within a
        # frame (tests/recording/test_live_recording.py, bench/av_sync.py). Whether it is
        # Chromium's capture under load or our placement of its clocks is not known yet.
        pytest.xfail(f"Chromium A/V offsets over 40 ms: {[round(o * 1000) for o in offsets]}")
