"""Benchmark (issue 11): object-store uploads, and the cost of a ``/metrics`` scrape.

    .venv/bin/python -m bench.ops [--mb 50] [--archives 100000] [--scrapes 20]

1. A verified put of an ``--mb`` MB file (size and SHA-256 read back), to Azurite (npm
   ``azurite``, the Azure Storage emulator) and to moto's S3 server: seconds and MB/s.
2. The same bytes as a streamed upload (64 KiB writes, as a recorder would feed them): the
   whole, and ``complete()`` alone, which is what stop -> uploaded would cost once recordings
   stream while they record.
3. ``GET /metrics`` through the real app (its lifespan and a SQLite file), on an empty store and
   on one holding ``--archives`` archives, archive files and webhook outbox rows: p50 and max.

Both stores run on this machine (loopback): the figures are the client's and the emulator's
cost, not a network's. Prints a table and writes bench/results/ops.md.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from archivist.storage.azure import AzureSettings, AzureStorage
from archivist.storage.base import StreamingStorage
from archivist.storage.s3 import S3Settings, S3Storage
from archivist.store.schema import archive_files, archives, webhook_outbox
from bench.common import publish_result, table
from tests.storage.harness import fast_settings, running_app, start_azurite, start_moto

CHUNK = 64 * 1024


async def _put(store: StreamingStorage, source: Path, digest: str) -> float:
    t0 = time.perf_counter()
    await store.put(f"bench/{uuid.uuid4()}/archive.mp4", source, sha256=digest)
    return time.perf_counter() - t0


async def _stream(store: StreamingStorage, data: bytes) -> tuple[float, float]:
    t0 = time.perf_counter()
    upload = await store.open_upload(f"bench/{uuid.uuid4()}/streamed.mp4")
    for i in range(0, len(data), CHUNK):
        await upload.write(data[i:i + CHUNK])
    t1 = time.perf_counter()
    await upload.complete()
    t2 = time.perf_counter()
    return t2 - t0, t2 - t1


async def uploads(tmp: Path, mb: int) -> list[list[Any]]:
    data = os.urandom(mb * 1_000_000)
    source = tmp / "archive.mp4"
    source.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    azurite, moto = start_azurite(tmp), start_moto(tmp)
    rows: list[list[Any]] = []
    try:
        azurite.container("bench")
        moto.client().create_bucket(Bucket="bench")
        stores: list[tuple[str, StreamingStorage]] = [
            ("Azure (Azurite)", AzureStorage(AzureSettings(container="bench",
                                                           connection_string=azurite.connection_string))),
            ("S3 (moto)", S3Storage(S3Settings(bucket="bench", endpoint_url=moto.url, region="us-east-1",
                                               access_key_id="testing", secret_access_key="testing"))),
        ]
        for name, store in stores:
            put = await _put(store, source, digest)
            rows.append([f"{name}: verified put of {mb} MB", f"{put:.2f} s ({mb / put:.0f} MB/s)"])
            whole, last = await _stream(store, data)
            rows.append([f"{name}: streamed upload of {mb} MB (64 KiB writes)",
                         f"{whole:.2f} s; complete() {last * 1000:.0f} ms"])
    finally:
        azurite.stop()
        moto.stop()
    return rows


async def _seed(engine: Any, project_key: str, n: int) -> None:
    now = int(time.time() * 1000)
    statuses = ["available", "uploaded", "deleted", "expired", "failed"]
    batch = 10_000
    async with engine.begin() as conn:
        for start in range(0, n, batch):
            ids = [str(uuid.uuid4()) for _ in range(min(batch, n - start))]
            await conn.execute(insert(archives), [dict(
                id=i, project_key=project_key, session_id="s", name=None, status=statuses[k % 5],
                reason="user_initiated", created_at=now, updated_at=now, duration=60, size=1000, has_audio=True,
                has_video=True,
                output_mode="composed", stream_mode="auto", resolution="640x480", layout=None, max_bitrate=None,
                quantization_parameter=None, multi_archive_tag=None, storage_key=None, sha256=None, seq=start + k,
            ) for k, i in enumerate(ids)])
            await conn.execute(insert(archive_files), [dict(
                archive_id=i, project_key=project_key, local_key=f"{project_key}/{i}.mp4", target_id=None,
                object_key=None, state="uploaded" if k % 100 else "uploading", local_copy=False, duration=60,
                size=1000, sha256=None,
                stop_reason="user_initiated", attempts=1, last_error=None, next_attempt_at=None, lease_until=None,
                created_at=now, updated_at=now,
            ) for k, i in enumerate(ids)])
            await conn.execute(insert(webhook_outbox), [dict(
                id=str(uuid.uuid4()), event_id=str(uuid.uuid4()), project_key=project_key, archive_id=i, seq=1,
                url="http://127.0.0.1:9/x", source="project", archive_status="available", payload="{}",
                state="delivered" if k % 100 else "pending", attempts=1, next_attempt_at=now + 3_600_000,
                lease_until=None, last_status_code=200, last_error=None, created_at=now, delivered_at=now,
            ) for k, i in enumerate(ids)])


async def scrapes(tmp: Path, sizes: list[int], count: int) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for n in sizes:
        settings = fast_settings(tmp / f"scrape-{n}", webhook_poll_interval=3600, storage_poll_interval=3600)
        async with running_app(settings) as (svc, http):
            await _seed(svc.engine, (await svc.projects.create("bench")).api_key, n)
            times = []
            for _ in range(count):
                t0 = time.perf_counter()
                r = await http.get("/metrics")
                times.append(time.perf_counter() - t0)
                assert r.status_code == 200
            rows.append([f"GET /metrics, {n:,} archives + files + outbox rows (p50 / max of {count})",
                         f"{statistics.median(times) * 1000:.1f} / {max(times) * 1000:.1f} ms ({len(r.content):,} B)"])
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--archives", type=int, default=100_000)
    parser.add_argument("--scrapes", type=int, default=20)
    args = parser.parse_args()
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        rows = await uploads(Path(tmp), args.mb)
        rows += await scrapes(Path(tmp), [0, args.archives], args.scrapes)
    publish_result("ops", table(
        "Storage uploads and /metrics scrapes", ["what", "measured"], rows,
        notes=[f"Load average at the start: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min).",
               "Azurite and moto run on this machine: loopback, no network; a real store adds its latency."],
    ))


if __name__ == "__main__":
    asyncio.run(main())
