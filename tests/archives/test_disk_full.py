"""A full disk, for real: the server's data directory (database and archives) on a small tmpfs
that the test fills while a real client publishes and an archive records.

What a full disk must not do (issue: archives stuck ``started``, 500s, a stop reply that lies):
the recorder's failure ends the archive as soon as the database can be written again, with
what was saved and a reason that says so; meanwhile the server answers with JSON errors and
``/health`` reports the failed recorder and the free space; no archive starts on a disk below
``ARCHIVIST_MIN_FREE_MB``.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from opentok import Client, MediaModes
from opentok.exceptions import RequestError

from archivist.client import ArchivistClient
from tests.servers import Server, make_server

TMPFS_MB = 48


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/data`` is a tmpfs of TMPFS_MB MiB (the server's data directory)."""
    data = tmp_path / "data"
    data.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MB}m", "tmpfs", str(data)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"CANNOT MOUNT A TMPFS ({mounted.stderr.strip()}): the disk-full test did NOT run")
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(data)], capture_output=True)


def fill(disk: Path) -> Path:
    """Fill the file system to its last byte; returns the filler file (delete it to free space)."""
    filler = disk / "filler"
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1M", f"count={TMPFS_MB * 2}"],
                   capture_output=True, timeout=60)
    return filler


def health(server: Server) -> dict[str, Any]:
    r = httpx.get(server.url + "/health", timeout=10)
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


async def until(check: Any, what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(check)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def test_a_full_disk_ends_the_archive_with_what_was_saved(small_disk: Path) -> None:
    server = make_server(small_disk.parent, extra_env={"ARCHIVIST_MIN_FREE_MB": "8"})
    filler: Path | None = None
    try:
        ot = Client(server.project.api_key, server.project.api_secret, api_url=server.url, timeout=20)
        sid = ot.create_session(media_mode=MediaModes.routed).session_id
        alice = await ArchivistClient.open(server.url, server.project.api_key, sid, ot.generate_token(sid))
        try:
            await alice.publish(name="alice")
            before = health(server)
            assert before["status"] == "ok" and not before["disk"]["low"]
            assert 0 < before["disk"]["freeBytes"] <= before["disk"]["totalBytes"] <= TMPFS_MB * 2**20
            archive = await asyncio.to_thread(ot.start_archive, sid, name="full disk")
            await until(lambda: server.archive_file(archive.id).exists()
                        and server.archive_file(archive.id).stat().st_size > 100_000, "media on disk")
            await asyncio.sleep(2.0)

            filler = await asyncio.to_thread(fill, small_disk)
            failed = await until(lambda: health(server)["recordingsFailed"] == 1 and health(server),
                                 "the recorder to fail on the full disk")
            assert failed["recordings"] == 0  # not counted as recording any more
            assert failed["status"] == "low disk space" and failed["disk"]["low"]
            # the database is on the same disk: the stop cannot be written; a JSON 503, not a 500
            # or a hang, and nothing changed
            t0 = time.monotonic()
            r = await asyncio.to_thread(
                httpx.post, f"{server.url}/v2/project/{server.project.api_key}/archive/{archive.id}/stop",
                headers={"X-OPENTOK-AUTH": _jwt(server)}, timeout=20)
            assert time.monotonic() - t0 < 5
            assert r.status_code == 503, r.text
            assert r.json()["code"] == 503 and "database" in r.json()["message"]
            with pytest.raises(RequestError):  # a new archive is refused too (503)
                await asyncio.to_thread(ot.start_archive, sid, name="another")
            assert server.archive_json(archive.id)["status"] == "started"  # reads still answer

            # space comes back: the failure's stop is written within the retry backoff (≤ 2 s)
            filler.unlink()
            freed_at = time.monotonic()
            done = await until(lambda: server.archive_json(archive.id)["status"] == "available"
                               and server.archive_json(archive.id), "the archive to end", timeout=15)
            ended_after = time.monotonic() - freed_at
            print(f"archive ended {ended_after:.2f} s after the space came back")
            assert ended_after < 5
            assert done["reason"] == "failure: disk full, recorded until it filled"
            with av.open(str(server.archive_file(archive.id))) as container:
                saved = float(container.duration or 0) / 1e6
                assert {s.type for s in container.streams} == {"video", "audio"}
            assert saved >= 1.0  # what was recorded before the disk filled is kept and plays
            assert abs(done["duration"] - saved) <= 1.0  # the archive says what the file holds
            assert done["size"] == server.archive_file(archive.id).stat().st_size
            # a new archive records again once there is room
            again = await asyncio.to_thread(ot.start_archive, sid, name="after")
            assert again.status == "started"
            await asyncio.to_thread(ot.stop_archive, again.id)
        finally:
            await alice.close()
    finally:
        if filler is not None:
            filler.unlink(missing_ok=True)
        server.stop()
    assert "unhandled error" not in server.logs()


def _jwt(server: Server) -> str:
    import jwt

    now = int(time.time())
    return jwt.encode({"iss": server.project.api_key, "ist": "project", "iat": now, "exp": now + 180,
                       "jti": str(now)}, server.project.api_secret, algorithm="HS256")
