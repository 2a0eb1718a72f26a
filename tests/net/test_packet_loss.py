"""A publisher on a lossy uplink: 10 % of every UDP packet it sends (media, RTCP and STUN alike)
is lost on the way to the server. The server asks for what is missing (NACK, then a keyframe),
so neither a subscriber on a clean network nor the composed archive shows a picture freeze
longer than 0.5 s.

This machine's kernel has no ``sch_netem`` (``tc qdisc … netem`` answers "Specified qdisc kind
is unknown"), so the loss is nftables' random number generator, in the server's namespace at
the input hook (``ip saddr <publisher> numgen random mod 100 < 10 drop``): the same random
loss netem's ``loss 10%`` gives, counted by nft so the test proves it happened.

    publisher 203.0.113.20 --[internet, 10 % lost]-- 203.0.113.7 server
    subscriber 203.0.113.30 ----------------------------/
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import av
import numpy as np
from opentok import MediaModes

from archivist.client import ArchivistClient
from tests.net.support import archive_path, nft_counter, sdk, wait_available
from tests.netns import Network
from tests.servers import make_server

LOSS_PERCENT = 10
LOSSY_UPLINK = """
table inet lossy {{
  counter lost {{}}
  counter passed {{}}
  chain input {{
    type filter hook input priority 0; policy accept;
    ip saddr {publisher} meta l4proto udp numgen random mod 100 < {percent} counter name lost drop
    ip saddr {publisher} meta l4proto udp counter name passed
  }}
}}
"""
SECONDS = 12.0
MAX_FREEZE_S = 0.5


def longest_frozen_run(path: Path) -> tuple[float, int]:
    """(seconds, frames decoded): the longest time the picture stayed the same (the test pattern
    moves every frame, so a picture identical to the one before is a freeze), by timestamps."""
    longest = 0.0
    frames = 0
    previous: np.ndarray[Any, Any] | None = None
    changed_at: float | None = None
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.video[0]):
            luma = frame.to_ndarray(format="gray").astype(np.int16)
            t = float(frame.time or 0.0)
            frames += 1
            if previous is None or float(np.abs(luma - previous).mean()) >= 0.5:
                changed_at = t
            elif changed_at is not None:
                longest = max(longest, t - changed_at)
            previous = luma
    return longest, frames


async def test_ten_percent_loss_on_the_publisher_uplink_does_not_freeze(network: Network, tmp_path: Path) -> None:
    srv, _ = network.public_host("srv", "203.0.113.7")
    pub_ns, _ = network.public_host("pub", "203.0.113.20")
    sub_ns, _ = network.public_host("sub", "203.0.113.30")
    srv.nft(LOSSY_UPLINK.format(publisher="203.0.113.20", percent=LOSS_PERCENT))

    server = make_server(tmp_path, netns=srv.name, url="http://203.0.113.7:{port}")
    key, secret = server.project.api_key, server.project.api_secret
    ot = sdk(server.url, key, secret)
    # the server is reachable from the namespaces on the internet only: the SDK calls go from there
    sid = sub_ns.call(lambda: ot.create_session(media_mode=MediaModes.routed)).session_id
    published: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    done = threading.Event()
    loop = asyncio.get_running_loop()

    async def publisher() -> dict[str, Any]:
        alice = await ArchivistClient.open(server.url, key, sid, ot.generate_token(sid))
        try:
            pub = await alice.publish(name="lossy", width=320, height=240)
            loop.call_soon_threadsafe(published.set_result, pub.stream_id)
            await asyncio.to_thread(done.wait, 120)
            stats = await pub.pc.getStats()
            return {s.type: s for s in stats.values()}
        finally:
            await alice.close()

    async def subscriber(stream_id: str) -> dict[str, float]:
        bob = await ArchivistClient.open(server.url, key, sid, ot.generate_token(sid))
        try:
            sub = await bob.subscribe(stream_id)
            await sub.wait_frames(15, timeout=20)
            archive = await asyncio.to_thread(ot.start_archive, sid, name="lossy")
            sub.longest_video_gap = 0.0
            frames_before = sub.video_frames
            await asyncio.sleep(SECONDS)
            await asyncio.to_thread(ot.stop_archive, archive.id)
            await wait_available(ot, archive.id)
            return {"gap": sub.longest_video_gap, "fps": (sub.video_frames - frames_before) / SECONDS,
                    "archive": archive.id}  # type: ignore[dict-item]
        finally:
            done.set()
            await bob.close()

    try:
        pub_task = asyncio.ensure_future(pub_ns.run_async(publisher))
        stream_id = await asyncio.wait_for(asyncio.shield(published), 30)
        seen = await sub_ns.run_async(lambda: subscriber(stream_id))
        pub_stats = await pub_task
        lost, passed = nft_counter(srv, "lossy", "lost"), nft_counter(srv, "lossy", "passed")
    finally:
        done.set()
        server.stop()
    closing = [line for line in server.logs().splitlines() if "publisher peer closing" in line]
    print(closing[-1] if closing else "no publisher stats logged")

    # the loss was real: nft dropped about one packet in ten, and the server's receiver reports
    # told the publisher so
    assert 0.07 <= lost / (lost + passed) <= 0.13, (lost, passed)
    remote = pub_stats.get("remote-inbound-rtp")
    assert remote is not None and remote.packetsLost > 0, pub_stats
    print(f"{lost} of {lost + passed} packets lost; subscriber: longest gap {seen['gap']:.3f} s, "
          f"{seen['fps']:.1f} fps; server's receiver report: {remote.packetsLost} lost")
    assert seen["fps"] >= 20
    assert seen["gap"] <= MAX_FREEZE_S, seen
    frozen_s, frames = longest_frozen_run(archive_path(server.data_dir, key, str(seen["archive"])))
    print(f"archive: {frames} frames, longest frozen run {frozen_s:.3f} s")
    assert frames >= SECONDS * 30 * 0.8
    assert frozen_s <= MAX_FREEZE_S
