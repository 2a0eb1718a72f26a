"""S3-compatible storage against moto's standalone server (a real S3 protocol process).

Upload after stop (``stopped`` → ``uploaded``), download by redirect, delete everywhere; the
upload that keeps failing (local fallback copy, downloadable, said so by the reason; nothing
deleted until the upload is confirmed); an upload that resumes after a restart; retention.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from archivist.archives.status import ArchiveStatus, Reason
from archivist.storage.file_states import FileState
from archivist.store.archive_files import ArchiveFile, ArchiveFileRepository
from archivist.store.projects import ProjectRepository
from archivist.store.storage_targets import S3, StorageTarget, StorageTargetRepository
from tests.servers import free_port
from tests.storage.harness import (
    MotoServer,
    auth,
    fast_settings,
    finished_archive,
    running_app,
    start_moto,
    wait_for,
)


async def _status(svc: object, archive_id: str, status: ArchiveStatus) -> bool:
    found = await svc.archives.find(archive_id)  # type: ignore[attr-defined]
    return found is not None and found.status is status


def _s3_target(project_key: str, endpoint: str, bucket: str, prefix: str = "") -> StorageTarget:
    return StorageTarget(id="", project_key=project_key, backend=S3, bucket=bucket, endpoint_url=endpoint,
                         region="us-east-1", access_key_id="testing", secret_access_key="testing", prefix=prefix)


def _object_missing(s3: object, bucket: str, key: str) -> bool:
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]

    try:
        s3.head_object(Bucket=bucket, Key=key)  # type: ignore[attr-defined]
    except ClientError as exc:
        return int(exc.response["ResponseMetadata"]["HTTPStatusCode"]) == 404
    return False


async def test_s3_round_trip_set_by_cli(tmp_path: Path, moto: MotoServer) -> None:
    s3 = moto.client()
    s3.create_bucket(Bucket="round-trip")
    data = tmp_path / "data"
    settings = fast_settings(data)
    async with running_app(settings) as (svc, http):
        project = await svc.projects.create("s3")
        # the operator's way: the CLI, with the secret from an environment variable and a probe
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ARCHIVIST_", "AWS_"))}
        env["S3_SECRET"] = "testing"
        cli = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "archivist.cli", "--data-dir", str(data), "projects", "set-storage",
             project.api_key, "--s3-bucket", "round-trip", "--s3-endpoint-url", moto.url, "--s3-region",
             "us-east-1", "--s3-prefix", "recordings/", "--s3-access-key-id", "testing",
             "--s3-secret-access-key-env", "S3_SECRET", "--check", "--json"],
            env=env, capture_output=True, text=True, timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        shown = json.loads(cli.stdout)
        assert shown["backend"] == "s3" and shown["bucket"] == "round-trip" and "testing" not in cli.stdout

        stopped, outcome = await finished_archive(svc, project)
        path = settings.archives_dir / str(outcome.storage_key)
        original = path.read_bytes()
        after_stop = await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)
        assert after_stop.status is ArchiveStatus.STOPPED  # stop stays fast: the upload runs in the background

        await wait_for(lambda: _status(svc, stopped.id, ArchiveStatus.UPLOADED), what="uploaded")
        key = f"recordings/{project.api_key}/{stopped.id}/archive.mp4"
        obj = s3.get_object(Bucket="round-trip", Key=key)
        assert obj["Body"].read() == original and obj["ContentType"] == "video/mp4"
        assert obj["Metadata"]["sha256"] == outcome.sha256
        await wait_for(lambda: not path.exists(), what="the local copy to go once the upload is confirmed")

        got = (await http.get(f"/v2/project/{project.api_key}/archive/{stopped.id}", headers=auth(project))).json()
        assert got["status"] == "uploaded" and got["reason"] == "user initiated" and got["size"] == len(original)
        parts = urlsplit(got["url"])
        redirect = await http.get(f"{parts.path}?{parts.query}")
        assert redirect.status_code == 307
        presigned = redirect.headers["location"]
        assert presigned.startswith(f"{moto.url}/round-trip/recordings/") and "Signature=" in presigned
        async with httpx.AsyncClient() as web:
            body = await web.get(presigned)
            assert body.status_code == 200 and body.content == original
            assert body.headers["content-type"] == "video/mp4"
            assert body.headers["content-disposition"].startswith("attachment;")
            ranged = await web.get(presigned, headers={"Range": "bytes=0-99"})
            assert ranged.status_code == 206 and ranged.content == original[:100]

        deleted = await http.delete(f"/v2/project/{project.api_key}/archive/{stopped.id}", headers=auth(project))
        assert deleted.status_code == 204
        assert _object_missing(s3, "round-trip", key)
        row = await ArchiveFileRepository(svc.engine).get(stopped.id)
        assert row is not None and row.state is FileState.REMOVED
        assert (await http.get(f"{parts.path}?{parts.query}")).status_code == 404


async def test_upload_failure_keeps_a_downloadable_fallback_then_recovers(tmp_path: Path, moto: MotoServer) -> None:
    s3 = moto.client()
    settings = fast_settings(tmp_path / "data")
    async with running_app(settings) as (svc, http):
        project = await svc.projects.create("fallback")
        await StorageTargetRepository(svc.engine).add(_s3_target(project.api_key, moto.url, "not-created-yet"))
        stopped, outcome = await finished_archive(svc, project)
        path = settings.archives_dir / str(outcome.storage_key)
        original = path.read_bytes()
        await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)

        await wait_for(lambda: _status(svc, stopped.id, ArchiveStatus.AVAILABLE), what="the fallback")

        async def fallback_row() -> ArchiveFile | None:  # written right after the archive's status
            found = await ArchiveFileRepository(svc.engine).get(stopped.id)
            return found if found is not None and found.state is FileState.FALLBACK else None

        row = await wait_for(fallback_row, what="the file's fallback state")
        assert row.local_copy
        assert row.attempts >= settings.upload_attempts and "NoSuchBucket" in (row.last_error or "")
        got = (await http.get(f"/v2/project/{project.api_key}/archive/{stopped.id}", headers=auth(project))).json()
        assert got["status"] == "available" and got["reason"] == "upload failed: local fallback copy"
        legacy = (await http.get(f"/v2/partner/{project.api_key}/archive/{stopped.id}", headers=auth(project))).json()
        assert legacy["reason"] == "upload failed: local fallback copy"
        parts = urlsplit(got["url"])
        served = await http.get(f"{parts.path}?{parts.query}")
        assert served.status_code == 200 and served.content == original  # the fallback copy, from this server
        assert path.exists()

        s3.create_bucket(Bucket="not-created-yet")  # storage is back: the slow retry gets it there
        await wait_for(lambda: _status(svc, stopped.id, ArchiveStatus.UPLOADED), what="the retried upload")
        key = f"{project.api_key}/{stopped.id}/archive.mp4"
        assert s3.get_object(Bucket="not-created-yet", Key=key)["Body"].read() == original
        await wait_for(lambda: not path.exists(), what="the fallback copy to go after the confirmed upload")
        got = (await http.get(f"/v2/project/{project.api_key}/archive/{stopped.id}", headers=auth(project))).json()
        assert got["status"] == "uploaded" and got["reason"] == "user initiated"


async def test_pending_upload_survives_a_restart(tmp_path: Path) -> None:
    port = free_port()  # the storage is down: nothing listens there yet
    settings = fast_settings(tmp_path / "data", upload_attempts=1000)
    async with running_app(settings) as (svc, _http):
        project = await svc.projects.create("restart")
        await StorageTargetRepository(svc.engine).add(_s3_target(project.api_key, f"http://127.0.0.1:{port}", "later"))
        stopped, outcome = await finished_archive(svc, project)
        await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)

        async def tried() -> bool:
            row = await ArchiveFileRepository(svc.engine).get(stopped.id)
            return row is not None and row.attempts >= 2

        await wait_for(tried, what="failed upload attempts")
    path = settings.archives_dir / str(outcome.storage_key)
    original = path.read_bytes()
    assert len(original) == outcome.size  # nothing was deleted: the upload was never confirmed

    moto = start_moto(tmp_path, port)
    try:
        moto.client().create_bucket(Bucket="later")
        async with running_app(settings) as (svc, _http):
            await wait_for(lambda: _status(svc, stopped.id, ArchiveStatus.UPLOADED), what="the resumed upload")
            body = moto.client().get_object(Bucket="later", Key=f"{project.api_key}/{stopped.id}/archive.mp4")["Body"]
            assert body.read() == original
            await wait_for(lambda: not path.exists(), what="the local copy to go")
    finally:
        moto.stop()


async def test_retention_removes_the_object_too(tmp_path: Path, moto: MotoServer) -> None:
    s3 = moto.client()
    s3.create_bucket(Bucket="retention")
    settings = fast_settings(tmp_path / "data", archive_retention_days=1)
    async with running_app(settings) as (svc, _http):
        project = await svc.projects.create("retention")
        await StorageTargetRepository(svc.engine).add(_s3_target(project.api_key, moto.url, "retention"))
        stopped, outcome = await finished_archive(svc, project, created_at=1_000_000)
        await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)
        key = f"{project.api_key}/{stopped.id}/archive.mp4"

        async def expired() -> bool:
            row = await ArchiveFileRepository(svc.engine).get(stopped.id)
            return await _status(svc, stopped.id, ArchiveStatus.EXPIRED) and row is not None and \
                row.state is FileState.REMOVED

        await wait_for(expired, what="expiry")
        assert _object_missing(s3, "retention", key)
        assert not (settings.archives_dir / str(outcome.storage_key)).exists()


@pytest.mark.parametrize("backend", ["local", "s3"])
async def test_settings_storage_applies_to_projects_without_their_own(
    tmp_path: Path, moto: MotoServer, backend: str
) -> None:
    s3 = moto.client()
    s3.create_bucket(Bucket=f"config-{backend}")
    settings = fast_settings(tmp_path / "data", s3_bucket=f"config-{backend}", s3_endpoint_url=moto.url,
                             s3_access_key_id="testing", s3_secret_access_key="testing", s3_prefix="cfg/")
    async with running_app(settings) as (svc, _http):
        project = await svc.projects.create("config")
        if backend == "local":  # its own setting wins over the server-wide default
            await StorageTargetRepository(svc.engine).add(
                StorageTarget(id="", project_key=project.api_key, backend="local"))
        stopped, outcome = await finished_archive(svc, project)
        done = await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)
        if backend == "local":
            assert done.status is ArchiveStatus.AVAILABLE
            assert _object_missing(s3, "config-local", f"cfg/{project.api_key}/{stopped.id}/archive.mp4")
        else:
            await wait_for(lambda: _status(svc, stopped.id, ArchiveStatus.UPLOADED), what="uploaded")
            head = s3.head_object(Bucket="config-s3", Key=f"cfg/{project.api_key}/{stopped.id}/archive.mp4")
            assert head["ContentLength"] == outcome.size
        assert await ProjectRepository(svc.engine).get(project.api_key) is not None
