"""A server behind 1:1 NAT (a cloud VM: private address, public IP mapped onto it), clients
behind their own home NAT: media reaches the server only through ``ARCHIVIST_PUBLIC_IPS``.

    client 192.168.77.2 -- home router (masquerade) 203.0.113.20 --[internet]--
        203.0.113.7 VM's 1:1 NAT -- server 10.77.1.2
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from opentok import MediaModes

from archivist.client import ArchivistClient
from archivist.media import seams
from tests.net.support import archive_path, sdk, sdp_candidates, wait_available
from tests.netns import Namespace, Network
from tests.recording.media import read_output
from tests.servers import make_server

PUBLIC, PRIVATE = "203.0.113.7", "10.77.1.2"
CHROMIUM = "/usr/bin/chromium"

ONE_TO_ONE = """
table ip nat {{
  chain pre {{ type nat hook prerouting priority dstnat; iifname "{wan}" ip daddr {public} dnat to {private}; }}
  chain post {{ type nat hook postrouting priority srcnat; oifname "{wan}" ip saddr {private} snat to {public}; }}
}}
"""
MASQUERADE = """
table ip nat {{
  chain post {{ type nat hook postrouting priority srcnat; oifname "{wan}" masquerade; }}
}}
"""


async def test_server_behind_one_to_one_nat(network: Network, tmp_path: Path) -> None:
    srv, srv_rtr, wan, _ = network.site_behind_router("srv", PUBLIC, "10.77.1.1/24", f"{PRIVATE}/24")
    srv_rtr.nft(ONE_TO_ONE.format(wan=wan, public=PUBLIC, private=PRIVATE))
    cli, cli_rtr, cwan, _ = network.site_behind_router("cli", "203.0.113.20", "192.168.77.1/24", "192.168.77.2/24")
    cli_rtr.nft(MASQUERADE.format(wan=cwan))
    assert cli.run("ip", "route", "get", PRIVATE).stdout.split()[2] == "192.168.77.1"  # only via the internet

    server = make_server(
        tmp_path, extra_env={"ARCHIVIST_PUBLIC_IPS": PUBLIC}, netns=srv.name, url=f"http://{PUBLIC}:{{port}}"
    )
    key, secret = server.project.api_key, server.project.api_secret
    try:
        ot = sdk(server.url, key, secret)

        async def session() -> dict[str, Any]:
            sid = (await asyncio.to_thread(ot.create_session, media_mode=MediaModes.routed)).session_id
            alice = await ArchivistClient.open(server.url, key, sid, ot.generate_token(sid))
            bob = await ArchivistClient.open(server.url, key, sid, ot.generate_token(sid))
            try:
                pub = await alice.publish(width=320, height=240)
                sub = await bob.subscribe(pub.stream_id)
                await sub.wait_frames(30)
                archive = await asyncio.to_thread(ot.start_archive, sid, name="nat")
                await asyncio.sleep(3)
                await asyncio.to_thread(ot.stop_archive, archive.id)
                done = await wait_available(ot, archive.id)
                return {
                    "answers": [pub.pc.remoteDescription.sdp, sub.pc.remoteDescription.sdp],
                    "routes": seams.ice_routes(pub.pc) + seams.ice_routes(sub.pc),
                    "frames": sub.video_frames,
                    "archive": archive.id,
                    "duration": done.duration,
                }
            finally:
                await alice.close()
                await bob.close()

        result = await cli.run_async(session)
    finally:
        server.stop()

    # the server announced only its public address, on the ports it bound privately
    for answer in result["answers"]:
        found = sdp_candidates(answer)
        assert found and {(host, typ) for host, _, typ in found} == {(PUBLIC, "host")}, found
    # the clients' media went to the public address (through both NATs)
    assert len(result["routes"]) == 2
    for route in result["routes"]:
        assert (route.remote_address, route.remote_type) == (PUBLIC, "host"), route
        assert route.local_address == "192.168.77.2"
    # the server saw the clients at the home router's public address
    assert "prflx 203.0.113.20:" in server.logs()
    out = read_output(archive_path(server.data_dir, key, result["archive"]), keep_every=10)
    assert sorted(out.codecs) == ["aac", "h264"]
    assert 2.5 <= out.container_duration <= 4.5 and len(out.video_times) >= 60
    assert abs(result["duration"] - out.container_duration) <= 1


async def test_chromium_runs_inside_a_namespace(
    network: Network, tmp_path: Path, chromium_in: Callable[[Namespace], str]
) -> None:
    """The fixture the Chromium variants of these tests use: Playwright drives a Chromium whose
    sockets are a namespace's (here it reaches a server only the namespace can route to)."""
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 (once, before anything runs)
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    srv, srv_rtr, wan, _ = network.site_behind_router("srv", PUBLIC, "10.77.1.1/24", f"{PRIVATE}/24")
    srv_rtr.nft(ONE_TO_ONE.format(wan=wan, public=PUBLIC, private=PRIVATE))
    cli, _ = network.public_host("cli", "203.0.113.20")
    server = make_server(tmp_path, netns=srv.name, url=f"http://{PUBLIC}:{{port}}")
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium_in(cli), args=["--no-sandbox", "--disable-gpu"])
            try:
                page = await browser.new_page()
                response = await page.goto(f"{server.url}/openapi.json", timeout=20_000)
                assert response is not None and response.ok
                assert (await response.json())["info"]["title"] == "Archivist"
                assert await page.evaluate("typeof RTCPeerConnection") == "function"
            finally:
                await browser.close()
    finally:
        server.stop()
    assert "203.0.113.20:" in server.logs()  # uvicorn's access log: the client namespace's address
