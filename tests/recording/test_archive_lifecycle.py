"""Archive lifecycle through a real server process: the maximum duration (manual archives stop,
auto-archives roll over) and crash safety (SIGKILL mid-recording, restart, recovered file)."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentok import ArchiveModes, Client, MediaModes

from archivist.client import ArchivistClient
from tests.recording.media import read_output
from tests.servers import Server, make_server, wait_status

MAX_S = 3


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"ARCHIVIST_MAX_ARCHIVE_DURATION": str(MAX_S)}


def sdk(server: Server) -> Client:
    return Client(server.project.api_key, server.project.api_secret, api_url=server.url, timeout=20)


async def join(server: Server, ot: Client, session_id: str) -> ArchivistClient:
    token = ot.generate_token(session_id)
    return await ArchivistClient.open(server.url, server.project.api_key, session_id, token)


async def test_manual_archive_stops_at_the_maximum_duration(server: Server) -> None:
    ot = sdk(server)
    sid = ot.create_session(media_mode=MediaModes.routed).session_id
    alice = await join(server, ot, sid)
    try:
        await alice.publish()
        archive = await asyncio.to_thread(ot.start_archive, sid, name="capped")
        stopped = await alice.wait_event("archiveStopped", timeout=MAX_S + 5)
        assert stopped["id"] == archive.id
        done = await wait_status(ot, archive.id, ("available", "uploaded"))
        assert server.archive_json(archive.id)["reason"] == "maximum duration exceeded"
        key = server.project.api_key
        legacy = await asyncio.to_thread(
            httpx.get, f"{server.url}/v2/partner/{key}/archive/{archive.id}",
            headers={"X-TB-PARTNER-AUTH": f"{key}:{server.project.api_secret}"},
        )
        assert legacy.json()["reason"] == "90 mins exceeded"  # the spec's words on /v2/partner
        out = read_output(server.archive_file(archive.id), keep_every=30)
        assert abs(out.container_duration - MAX_S) <= 0.1 and done.duration == MAX_S
    finally:
        await alice.close()


async def test_auto_archive_rolls_over_at_the_maximum_duration(server: Server) -> None:
    ot = sdk(server)
    sid = ot.create_session(media_mode=MediaModes.routed, archive_mode=ArchiveModes.always).session_id
    alice = await join(server, ot, sid)
    try:
        await alice.publish()
        first = await alice.wait_event("archiveStarted")
        stopped = await alice.wait_event("archiveStopped", timeout=MAX_S + 5)
        assert stopped["id"] == first["id"]
        second = await alice.wait_event("archiveStarted", lambda e: e["id"] != first["id"], timeout=5)
        listed = {a.id: a for a in (await asyncio.to_thread(ot.list_archives, session_id=sid)).items}
        assert set(listed) == {first["id"], second["id"]}
        await wait_status(ot, first["id"], ("available", "uploaded"))
        assert listed[second["id"]].status == "started"
    finally:
        await alice.close()
    await wait_status(ot, second["id"], ("available", "uploaded"))
    assert server.archive_json(second["id"])["reason"] == "session ended"


async def test_sigkill_mid_recording_then_recovered_on_restart(tmp_path: Path) -> None:
    server = make_server(tmp_path)
    ot = sdk(server)
    sid = ot.create_session(media_mode=MediaModes.routed).session_id
    alice = await join(server, ot, sid)
    try:
        await alice.publish()
        archive = await asyncio.to_thread(ot.start_archive, sid, name="killed")
        started = time.monotonic()
        await asyncio.sleep(4.0)
        server.stop(signal.SIGKILL)
        recorded = time.monotonic() - started
        path = server.archive_file(archive.id)
        assert path.stat().st_size > 0
        server.start()
        recovered: Any = await wait_status(ot, archive.id, ("available", "uploaded"), timeout=5)
        body = server.archive_json(archive.id)
        assert body["reason"] == "recovered after server restart"
        out = read_output(path, keep_every=30)
        assert sorted(out.codecs) == ["aac", "h264"]
        # everything up to the kill but the last fragment (0.25 s) and the render latency (0.25 s)
        assert recorded - 0.6 <= out.container_duration <= recorded + 0.1, (out.container_duration, recorded)
        assert abs(recovered.duration - out.container_duration) <= 1
        assert body["size"] == path.stat().st_size
        assert abs(len(out.video_times) / 30 - out.container_duration) <= 0.1
    finally:
        await alice.close()
        server.stop()
