"""End to end through a live session: a real server, a Python client publishing synthetic media,
the official opentok SDK starting and stopping the archive, a registered callback receiving
started → stopped → available (or uploaded), signed, with a URL that downloads the MP4."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator

import httpx
import pytest
from opentok import Client, MediaModes

from archivist.client import ArchivistClient
from tests.servers import Server, free_port
from tests.webhooks.docs_examples import python_verifier
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver(free_port()).start()
    yield rec
    rec.stop()


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"ARCHIVIST_WEBHOOK_POLL_INTERVAL": "0.1", "ARCHIVIST_SAMPLE_APP": "false"}


async def test_callbacks_follow_a_live_recording(server: Server, receiver: Receiver) -> None:
    key, secret = server.project.api_key, server.project.api_secret
    ot = Client(key, secret, api_url=server.url, timeout=20)
    registered = await asyncio.to_thread(
        httpx.post, f"{server.url}/v2/project/{key}/callback", headers={"X-TB-PARTNER-AUTH": f"{key}:{secret}"},
        json={"url": receiver.url + "/hook", "group": "archive", "event": "status"},
    )
    assert registered.status_code == 200
    session_id = (await asyncio.to_thread(ot.create_session, media_mode=MediaModes.routed)).session_id
    client = await ArchivistClient.open(server.url, key, session_id, ot.generate_token(session_id))
    try:
        await client.publish()
        archive = await asyncio.to_thread(ot.start_archive, session_id, name="e2e callbacks")
        await asyncio.sleep(2.5)
        await asyncio.to_thread(ot.stop_archive, archive.id)
    finally:
        await client.close()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        statuses = [r.json["status"] for r in receiver.on("/hook")]
        if statuses and statuses[-1] in ("available", "uploaded", "failed"):
            break
        await asyncio.sleep(0.2)
    got = receiver.on("/hook")
    assert [r.json["status"] for r in got] == ["started", "stopped", "available"]
    check = python_verifier()
    assert all(check(secret, httpx.Headers(r.headers), r.body) for r in got)
    assert all(r.json["id"] == archive.id and r.json["event"] == "archive" for r in got)
    final = got[-1].json
    assert final["duration"] >= 2 and final["size"] > 0 and final["reason"] == "user initiated"
    download = await asyncio.to_thread(httpx.get, final["url"], follow_redirects=True, timeout=30)
    assert download.status_code == 200 and download.headers["content-type"] == "video/mp4"
    assert download.content[4:8] == b"ftyp" and len(download.content) == final["size"]
    assert hashlib.sha256(download.content).hexdigest() == final["sha256sum"]
