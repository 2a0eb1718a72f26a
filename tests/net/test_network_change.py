"""Chromium whose network changes mid-call: its address is replaced (203.0.113.30 goes, .31
comes: what a laptop moving from one Wi-Fi to another sees), so its WebSocket and its peer
connections die without a close. archivist.js notices (heartbeat, ICE), reconnects the session
(sessionReconnecting / sessionReconnected) and puts its stream and its subscription on new peer
connections (``republish`` / ``resubscribe``, docs/protocol.md "Network changes"). The other
client (a Python client in a namespace of its own) keeps the same stream and never hears of a
disconnect; the individual archive keeps one file per stream, with a gap. Real namespaces,
real Chromium, real server."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import os
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentok import MediaModes, OutputModes

from archivist.client import ArchivistClient
from tests.net.support import CHROMIUM, CHROMIUM_ARGS, sdk, wait_available
from tests.net.test_browser import harness_handler
from tests.netns import Namespace, Network
from tests.recording.media import read_output
from tests.servers import Server, make_server

SERVER, OLD, NEW, BOB = "203.0.113.10", "203.0.113.30", "203.0.113.31", "203.0.113.40"

LISTEN = """() => {
    window.R = [];
    T.session.on('sessionReconnecting sessionReconnected sessionDisconnected', (e) =>
        R.push([e.type, e.reason || null, Date.now()]));
}"""

REPUBLISHED = """() => {
    const pc = T.publisherPc();
    return !!pc && pc !== window.P0 && pc.connectionState === 'connected';
}"""
PC_STATES = "() => T.peerConnections.map((pc) => [pc.connectionState, pc.iceConnectionState])"


async def test_chromium_whose_address_changes_keeps_its_stream_and_subscription(
    network: Network, tmp_path: Path, chromium_in: Callable[[Namespace], str]
) -> None:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once, before anything runs)
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    srv, _ = network.public_host("srv", SERVER)
    cli, cli_if = network.public_host("cli", OLD)
    bob_ns, _ = network.public_host("bob", BOB)
    server = make_server(tmp_path, netns=srv.name, url=f"http://{SERVER}:{{port}}")
    try:
        await _across_a_change(server, srv, cli, cli_if, bob_ns, tmp_path, chromium_in)
    finally:
        server.stop()


async def _across_a_change(server: Server, srv: Namespace, cli: Namespace, cli_if: str, bob_ns: Namespace,
                           tmp_path: Path, chromium_in: Callable[[Namespace], str]) -> None:
    from playwright.async_api import async_playwright

    port, stop_pages = cli.serve_http(harness_handler(f"{server.url}/static/archivist.js"))
    key, secret = server.project.api_key, server.project.api_secret
    ot = sdk(server.url, key, secret)
    # REST from the server's own namespace (this process's is not on the test internet)
    sid = str((await asyncio.to_thread(srv.call, lambda: ot.create_session(media_mode=MediaModes.routed))).session_id)
    bob_done = threading.Event()  # set by Alice before her browser closes (Bob would hear it)
    bob_ready, bob_seen = threading.Event(), threading.Event()
    a_stream: dict[str, str] = {}

    async def bob() -> dict[str, Any]:
        client = await ArchivistClient.open(server.url, key, sid, ot.generate_token(sid, data="bob"))
        try:
            pub = await client.publish(name="bob", width=320, height=240)
            bob_ready.set()
            created = await client.wait_event("streamCreated", lambda e: not e.get("publisher"), timeout=60)
            a_stream["id"] = created["stream"]["streamId"]
            sub = await client.subscribe(a_stream["id"])
            timeline: list[tuple[float, int]] = []
            while not bob_done.is_set():
                timeline.append((time.time(), sub.video_frames))
                await asyncio.sleep(0.1)
            seen = {"stream": pub.stream_id, "timeline": timeline, "gap": sub.longest_video_gap,
                    "events": [e["type"] for e in client.events if not e.get("publisher")]}
            bob_seen.set()
            return seen
        finally:
            await client.close()

    async def alice() -> dict[str, Any]:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium_in(cli), args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page()
                console: list[str] = []
                page.on("console", lambda m: console.append(f"{time.time() - t0:.1f} {m.type}: {m.text}"))
                t0 = time.time()
                await page.goto(f"http://localhost:{port}/", timeout=20_000)
                connected = await page.evaluate("([k, s, t]) => T.connect(k, s, t)",
                                                [key, sid, ot.generate_token(sid, data="alice")])
                assert "connectionId" in connected, connected
                await page.evaluate(LISTEN)
                await page.evaluate("() => OT.setLogLevel(OT.DEBUG)")
                published = await page.evaluate("() => T.publish({name: 'alice', width: 320, height: 240})")
                assert "streamId" in published, published
                await page.wait_for_function("() => T.has('subscriber', 'connected')", timeout=30_000)
                archive = await asyncio.to_thread(
                    ot.start_archive, sid, name="across a network change", output_mode=OutputModes.individual
                )
                await asyncio.sleep(3)
                await page.evaluate("() => { window.P0 = T.publisherPc(); }")
                changed = time.time()
                cli.run("ip", "addr", "del", f"{OLD}/24", "dev", cli_if)  # (a secondary goes with it)
                cli.run("ip", "addr", "add", f"{NEW}/24", "dev", cli_if)
                try:  # a new sending peer connection, connected; the subscriber connected again
                    await page.wait_for_function(REPUBLISHED, timeout=45_000)
                    published_again = time.time()
                    await page.wait_for_function(
                        "() => T.find('subscriber', 'connected').length >= 2", timeout=45_000)
                    subscribed_again = time.time()
                except Exception:
                    print(f"changed at {changed - t0:.1f}; R", await page.evaluate("() => R"), "pcs",
                          await page.evaluate(PC_STATES),
                          "\n".join(console), sep="\n")
                    raise
                print(f"changed at {changed - t0:.1f}", *[c for c in console if "archivist" in c], sep="\n")
                await asyncio.sleep(3)
                await asyncio.to_thread(ot.stop_archive, archive.id)
                return {
                    "archive": archive.id, "stream": published["streamId"], "changed": changed,
                    "published_again": published_again, "subscribed_again": subscribed_again,
                    "R": await page.evaluate("() => R"),
                    "sub_events": await page.evaluate(
                        "() => T.events.filter((e) => e.source === 'subscriber').map((e) => e.type)"),
                    "session_events": await page.evaluate(
                        "() => T.events.filter((e) => e.source === 'session').map((e) => e.type)"),
                }
            finally:
                bob_done.set()
                await asyncio.to_thread(bob_seen.wait, 5)
                await browser.close()

    try:
        bob_task = asyncio.ensure_future(bob_ns.run_async(bob))
        await asyncio.to_thread(bob_ready.wait, 30)
        try:
            a = await cli.run_async(alice)
        finally:
            bob_done.set()
            b = await bob_task
        done = await srv.run_async(lambda: wait_available(ot, a["archive"]))
        zipped = (await asyncio.to_thread(
            srv.call, lambda: httpx.get(str(done.url), follow_redirects=True, timeout=20))).content
    finally:
        stop_pages()

    heal_pub = a["published_again"] - a["changed"]
    heal_sub = a["subscribed_again"] - a["changed"]
    print(f"address changed; stream sent again after {heal_pub:.1f} s, subscription after {heal_sub:.1f} s; "
          f"session: {[(e[0], round(e[2] / 1000 - a['changed'], 1)) for e in a['R']]}")
    # the session reconnected, and only that: no sessionDisconnected, no new stream
    assert [e[0] for e in a["R"]] == ["sessionReconnecting", "sessionReconnected"], a["R"]
    assert a["sub_events"].count("disconnected") >= 1 and "destroyed" not in a["sub_events"], a["sub_events"]
    assert a_stream["id"] == a["stream"]
    assert "streamDestroyed" not in b["events"] and "connectionDestroyed" not in b["events"], b["events"]
    assert b["events"].count("streamCreated") == 1
    # Bob's picture of Alice's stream froze during the change and moved again after it
    frames_at = dict(b["timeline"])
    after = [f for t, f in b["timeline"] if t > a["published_again"] + 2]
    before = [f for t, f in b["timeline"] if t < a["changed"]]
    assert after and before and after[-1] - before[-1] > 30, (before[-1:], after[-1:], len(frames_at))
    # one file per stream in the archive, Alice's with pictures on both sides of the change
    with zipfile.ZipFile(io.BytesIO(zipped)) as z:
        manifest = json.loads(z.read(f"{a['archive']}.json"))
        files = {f["streamId"]: f for f in manifest["files"]}
        assert set(files) == {a["stream"], b["stream"]}, list(files)
        path = tmp_path / files[a["stream"]]["filename"]
        path.write_bytes(z.read(files[a["stream"]]["filename"]))
    times = read_output(path, keep_every=1000).video_times
    gaps = [y - x for x, y in itertools.pairwise(times)]
    longest = max(gaps)
    print(f"Alice's file: video {times[0]:.1f}-{times[-1]:.1f} s, longest gap {longest:.1f} s; "
          f"Bob's longest gap {b['gap']:.1f} s")
    assert times[-1] - times[0] > heal_pub + 4
    assert longest < heal_pub + 2
