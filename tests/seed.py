"""Put rows straight into a server's real database, for states the REST API cannot reach yet."""

from __future__ import annotations

import asyncio
import time
import uuid

from archivist.archives.model import Archive
from archivist.archives.status import ArchiveStatus, Reason
from archivist.store.archives import ArchiveRepository
from archivist.store.db import open_database
from tests.servers import Server


def seed_archive(server: Server, session_id: str, status: ArchiveStatus, *, name: str | None = "seeded",
                 reason: Reason = Reason.NONE, project_key: str | None = None, created_at: int | None = None,
                 database_url: str | None = None) -> Archive:
    now = created_at if created_at is not None else int(time.time() * 1000)
    archive = Archive(
        id=str(uuid.uuid4()), project_key=project_key or server.project.api_key, session_id=session_id,
        name=name, status=status, reason=reason, created_at=now, updated_at=now, duration=12, size=3456,
        has_audio=True, has_video=True, output_mode="composed", stream_mode="auto", resolution="640x480",
        layout={"type": "bestFit"}, max_bitrate=None, quantization_parameter=None, multi_archive_tag=None,
        storage_key=f"{uuid.uuid4()}.mp4" if status in (ArchiveStatus.AVAILABLE, ArchiveStatus.UPLOADED) else None,
        sha256=None, seq=now * 1000 + int(time.time_ns() % 1000),
    )

    async def run() -> None:
        engine = await open_database(database_url or f"sqlite+aiosqlite:///{server.data_dir / 'archivist.db'}")
        try:
            await ArchiveRepository(engine).add(archive)
        finally:
            await engine.dispose()

    asyncio.run(run())
    return archive
