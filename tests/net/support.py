"""What the real-network tests share: SDK helpers, SDP and nftables readers, topologies."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from pathlib import Path
from typing import Any

from opentok import Client

from tests.netns import Namespace

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream", "--no-sandbox", "--disable-gpu",
]
"""Headless Chromium with a fake camera and microphone, allowed without asking."""


def sdk(url: str, key: str, secret: str) -> Client:
    return Client(key, secret, api_url=url, timeout=20)


async def wait_available(ot: Client, archive_id: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        archive = await asyncio.to_thread(ot.get_archive, archive_id)
        if archive.status in ("available", "uploaded"):
            return archive
        if archive.status == "failed" or time.monotonic() > deadline:
            raise AssertionError(f"archive {archive_id} is {archive.status}")
        await asyncio.sleep(0.1)


def archive_path(data_dir: Path, api_key: str, archive_id: str) -> Path:
    return data_dir / "archives" / api_key / f"{archive_id}.mp4"


def sdp_candidates(sdp: str) -> list[tuple[str, int, str]]:
    """(address, port, type) of every candidate line of an SDP."""
    out = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            parts = line.split()
            out.append((parts[4], int(parts[5]), parts[7]))
    return out


def nft_counter(ns: Namespace, table: str, name: str) -> int:
    """Packets counted by the named counter ``name`` of ``table`` (family inet)."""
    out = ns.run("nft", "list", "counter", "inet", table, name).stdout
    for token, value in itertools.pairwise(out.split()):
        if token == "packets":
            return int(value)
    raise AssertionError(f"no counter {name} in {out}")


SECRET = "turn-" + os.urandom(8).hex()
