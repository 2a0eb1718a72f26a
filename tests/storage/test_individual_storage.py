"""An individual archive's ZIP goes where a composed archive's MP4 goes: the local disk (served
as ``application/zip``) or the project's S3 bucket (``{prefix}{apiKey}/{id}/archive.zip``, the
hosted service's layout), downloaded at the archive's url under a ``.zip`` name."""

from __future__ import annotations

import asyncio
import io
import time
import uuid
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from archivist.app import Services
from archivist.archives.model import Archive
from archivist.archives.ports import RecordingOutcome
from archivist.archives.status import ArchiveStatus, Reason
from archivist.recording.package import ArchiveInfo, ManifestFile, manifest_json, write_package
from archivist.store.archives import ArchiveRepository
from archivist.store.projects import Project
from archivist.store.storage_targets import S3, StorageTarget, StorageTargetRepository
from archivist.webhooks.outbox import Outbox
from tests.storage.harness import MotoServer, auth, fast_settings, running_app, wait_for, write_mp4


async def finished_individual(services: Services, project: Project) -> tuple[Archive, RecordingOutcome]:
    """A stopped individual archive and its ZIP, made by the package writer the recorder uses."""
    now = int(time.time() * 1000)
    archive = Archive(
        id=str(uuid.uuid4()), project_key=project.api_key, session_id=f"1_test-{uuid.uuid4().hex}",
        name="per stream", status=ArchiveStatus.STARTED, reason=Reason.NONE, created_at=now, updated_at=now,
        duration=0, size=0, has_audio=True, has_video=True, output_mode="individual", stream_mode="auto",
        resolution=None, layout=None, max_bitrate=None, quantization_parameter=None, multi_archive_tag=None,
        storage_key=None, sha256=None, seq=time.time_ns() // 1000,
    )
    records = ArchiveRepository(services.engine, [Outbox(services.settings.callback_url).enqueue])
    await records.add(archive)
    stopped = archive.evolve(status=ArchiveStatus.STOPPED, reason=Reason.USER_INITIATED)
    assert await records.save_if_status(stopped, ArchiveStatus.STARTED)
    work = services.settings.archives_dir / project.api_key / archive.id
    await asyncio.to_thread(write_mp4, work / "stream-1.mkv")
    entry = ManifestFile("stream-1", "stream-1.mkv", (work / "stream-1.mkv").stat().st_size, 0, 1000)
    manifest = manifest_json(ArchiveInfo(archive.id, archive.session_id, project.api_key, archive.name), now, [entry])
    key = f"{project.api_key}/{archive.id}.zip"
    size, digest = await asyncio.to_thread(write_package, work, services.settings.archives_dir / key, manifest)
    return stopped, RecordingOutcome(duration=1, size=size, storage_key=key, sha256=digest)


def _names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return sorted(z.namelist())


async def test_an_individual_archive_is_served_as_a_zip(tmp_path: Path) -> None:
    async with running_app(fast_settings(tmp_path / "data")) as (svc, http):
        project = await svc.projects.create("local")
        stopped, outcome = await finished_individual(svc, project)
        done = await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)
        assert done.status is ArchiveStatus.AVAILABLE
        got = (await http.get(f"/v2/project/{project.api_key}/archive/{done.id}", headers=auth(project))).json()
        assert got["outputMode"] == "individual" and got["size"] == outcome.size
        parts = urlsplit(got["url"])
        r = await http.get(f"{parts.path}?{parts.query}")
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        assert 'filename="per stream.zip"' in r.headers["content-disposition"]
        assert _names(r.content) == sorted([f"{done.id}.json", "stream-1.mkv"])


async def test_an_individual_archive_uploads_as_archive_zip(tmp_path: Path, moto: MotoServer) -> None:
    s3 = moto.client()
    s3.create_bucket(Bucket="individual")
    settings = fast_settings(tmp_path / "data")
    async with running_app(settings) as (svc, http):
        project = await svc.projects.create("s3")
        await StorageTargetRepository(svc.engine).add(StorageTarget(
            id="", project_key=project.api_key, backend=S3, bucket="individual", endpoint_url=moto.url,
            region="us-east-1", access_key_id="testing", secret_access_key="testing", prefix="p/"))
        stopped, outcome = await finished_individual(svc, project)
        original = (settings.archives_dir / str(outcome.storage_key)).read_bytes()
        await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)

        async def uploaded() -> bool:
            found = await svc.archives.find(stopped.id)
            return found is not None and found.status is ArchiveStatus.UPLOADED

        await wait_for(uploaded, what="uploaded")
        obj = s3.get_object(Bucket="individual", Key=f"p/{project.api_key}/{stopped.id}/archive.zip")
        assert obj["Body"].read() == original
        got = (await http.get(f"/v2/project/{project.api_key}/archive/{stopped.id}", headers=auth(project))).json()
        parts = urlsplit(got["url"])
        redirect = await http.get(f"{parts.path}?{parts.query}")
        assert redirect.status_code == 307
        async with httpx.AsyncClient() as web:
            body = await web.get(redirect.headers["location"])
        assert body.status_code == 200 and body.content == original
        assert body.headers["content-type"] == "application/zip"
        assert "per%20stream.zip" in body.headers["content-disposition"]
