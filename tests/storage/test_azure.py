"""Azure Blob Storage against Azurite (Microsoft's emulator: a real Blob protocol process).

The same guarantees as S3: upload after stop (``stopped`` → ``uploaded``), verified (size and
SHA-256 read back); download by a redirect to a SAS URL, or through this server when the target
has only a SAS token; delete everywhere; the local fallback copy while the upload fails, then
the retried upload; the server-wide default (``ARCHIVIST_AZURE_*``); the CLI with ``--check``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContainerSasPermissions, generate_container_sas

from archivist.archives.status import ArchiveStatus, Reason
from archivist.store.archive_files import ArchiveFile, ArchiveFileRepository, FileState
from archivist.store.storage_targets import AZURE, StorageTarget, StorageTargetRepository
from tests.storage.harness import (
    AZURITE_ACCOUNT,
    AZURITE_KEY,
    Azurite,
    auth,
    fast_settings,
    finished_archive,
    running_app,
    wait_for,
)


async def _status(svc: Any, archive_id: str, status: ArchiveStatus) -> bool:
    found = await svc.archives.find(archive_id)
    return found is not None and found.status is status


def _missing(container: Any, name: str) -> bool:
    try:
        container.get_blob_client(name).get_blob_properties()
    except ResourceNotFoundError:
        return True
    return False


def _sas(container: str) -> str:
    return generate_container_sas(
        AZURITE_ACCOUNT, container, account_key=AZURITE_KEY,
        permission=ContainerSasPermissions(read=True, write=True, delete=True, create=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )


async def _cli(data: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ARCHIVIST_", "AZURE_"))} | env
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "archivist.cli", "--data-dir", str(data), *args],
        env=clean, capture_output=True, text=True, timeout=60,
    )


async def test_azure_round_trip_set_by_cli(tmp_path: Path, azurite: Azurite) -> None:
    container = azurite.container("round-trip")
    data = tmp_path / "data"
    settings = fast_settings(data)
    async with running_app(settings) as (svc, http):
        project = await svc.projects.create("azure")
        # a check against a container that does not exist fails, says why, and saves nothing
        secret_env = {"AZ_CONN": azurite.connection_string}
        failed = await _cli(data, "projects", "set-storage", project.api_key, "--azure-container", "nope",
                            "--azure-connection-string-env", "AZ_CONN", "--check", env=secret_env)
        assert failed.returncode == 1 and "ContainerNotFound" in failed.stderr, failed.stderr
        assert AZURITE_KEY not in failed.stderr
        assert await StorageTargetRepository(svc.engine).current(project.api_key) is None
        cli = await _cli(data, "projects", "set-storage", project.api_key, "--azure-container", "round-trip",
                         "--azure-connection-string-env", "AZ_CONN", "--azure-prefix", "recordings/", "--check",
                         "--json", env=secret_env)
        assert cli.returncode == 0, cli.stderr
        shown = json.loads(cli.stdout)
        assert shown == {"id": shown["id"], "projectKey": project.api_key, "backend": "azure",
                         "container": "round-trip", "accountUrl": None, "accountName": None,
                         "prefix": "recordings/", "credentials": "connection string"}
        assert AZURITE_KEY not in cli.stdout + cli.stderr
        assert _missing(container, "recordings/.archivist-check")  # the probe cleaned up after itself

        stopped, outcome = await finished_archive(svc, project)
        path = settings.archives_dir / str(outcome.storage_key)
        original = path.read_bytes()
        after_stop = await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)
        assert after_stop.status is ArchiveStatus.STOPPED  # stop stays fast: the upload runs in the background

        await wait_for(lambda: _status(svc, stopped.id, ArchiveStatus.UPLOADED), what="uploaded")
        name = f"recordings/{project.api_key}/{stopped.id}/archive.mp4"
        blob = container.get_blob_client(name)
        props = blob.get_blob_properties()
        assert props.content_settings.content_type == "video/mp4" and props.metadata["sha256"] == outcome.sha256
        assert blob.download_blob().readall() == original
        await wait_for(lambda: not path.exists(), what="the local copy to go once the upload is confirmed")

        got = (await http.get(f"/v2/project/{project.api_key}/archive/{stopped.id}", headers=auth(project))).json()
        assert got["status"] == "uploaded" and got["reason"] == "user initiated" and got["size"] == len(original)
        parts = urlsplit(got["url"])
        redirect = await http.get(f"{parts.path}?{parts.query}")
        assert redirect.status_code == 307
        sas_url = redirect.headers["location"]
        assert sas_url.startswith(f"{azurite.account_url}/round-trip/recordings/")
        query = parse_qs(urlsplit(sas_url).query)
        assert query["sp"] == ["r"] and "sig" in query  # read-only, signed, expiring
        expiry = datetime.fromisoformat(query["se"][0].replace("Z", "+00:00"))
        assert expiry - datetime.now(UTC) <= timedelta(seconds=settings.download_url_ttl + 5)
        async with httpx.AsyncClient() as web:
            body = await web.get(sas_url)
            assert body.status_code == 200 and body.content == original
            assert body.headers["content-type"] == "video/mp4"
            assert body.headers["content-disposition"].startswith("attachment;")
            ranged = await web.get(sas_url, headers={"Range": "bytes=0-99"})
            assert ranged.status_code == 206 and ranged.content == original[:100]

        deleted = await http.delete(f"/v2/project/{project.api_key}/archive/{stopped.id}", headers=auth(project))
        assert deleted.status_code == 204
        assert _missing(container, name)
        row = await ArchiveFileRepository(svc.engine).get(stopped.id)
        assert row is not None and row.state is FileState.REMOVED
        assert (await http.get(f"{parts.path}?{parts.query}")).status_code == 404


async def test_sas_token_target_downloads_through_this_server(tmp_path: Path, azurite: Azurite) -> None:
    container = azurite.container("sas-only")
    settings = fast_settings(tmp_path / "data")
    async with running_app(settings) as (svc, http):
        project = await svc.projects.create("sas")
        await StorageTargetRepository(svc.engine).add(StorageTarget(
            id="", project_key=project.api_key, backend=AZURE, bucket="sas-only",
            endpoint_url=azurite.account_url, sas_token=_sas("sas-only")))
        stopped, outcome = await finished_archive(svc, project, name="Réunion")
        original = (settings.archives_dir / str(outcome.storage_key)).read_bytes()
        await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)
        await wait_for(lambda: _status(svc, stopped.id, ArchiveStatus.UPLOADED), what="uploaded")
        name = f"{project.api_key}/{stopped.id}/archive.mp4"
        assert container.get_blob_client(name).get_blob_properties().metadata["sha256"] == outcome.sha256

        got = (await http.get(f"/v2/project/{project.api_key}/archive/{stopped.id}", headers=auth(project))).json()
        parts = urlsplit(got["url"])
        link = f"{parts.path}?{parts.query}"
        # a SAS token cannot sign another one: the bytes come through this server, never the token
        whole = await http.get(link)
        assert whole.status_code == 200 and whole.content == original
        assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"
        assert whole.headers["content-disposition"] == "attachment; filename=\"R_union.mp4\"; " \
                                                      "filename*=UTF-8''R%C3%A9union.mp4"
        assert "sig=" not in str(whole.headers)
        ranged = await http.get(link, headers={"Range": "bytes=100-199"})
        assert ranged.status_code == 206 and ranged.content == original[100:200]
        assert ranged.headers["content-range"] == f"bytes 100-199/{len(original)}"
        tail = await http.get(link, headers={"Range": "bytes=-50"})
        assert tail.status_code == 206 and tail.content == original[-50:]
        head = await http.head(link)
        assert head.status_code == 200 and head.headers["content-length"] == str(len(original))
        beyond = await http.get(link, headers={"Range": f"bytes={len(original)}-"})
        assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(original)}"

        deleted = await http.delete(f"/v2/project/{project.api_key}/archive/{stopped.id}", headers=auth(project))
        assert deleted.status_code == 204 and _missing(container, name)


async def test_upload_failure_keeps_a_downloadable_fallback_then_recovers(tmp_path: Path, azurite: Azurite) -> None:
    settings = fast_settings(tmp_path / "data")
    async with running_app(settings) as (svc, http):
        project = await svc.projects.create("fallback")
        await StorageTargetRepository(svc.engine).add(StorageTarget(
            id="", project_key=project.api_key, backend=AZURE, bucket="not-created-yet",
            connection_string=azurite.connection_string))
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
        assert row.attempts >= settings.upload_attempts and "ContainerNotFound" in (row.last_error or "")
        assert AZURITE_KEY not in (row.last_error or "")
        got = (await http.get(f"/v2/project/{project.api_key}/archive/{stopped.id}", headers=auth(project))).json()
        assert got["status"] == "available" and got["reason"] == "upload failed: local fallback copy"
        parts = urlsplit(got["url"])
        served = await http.get(f"{parts.path}?{parts.query}")
        assert served.status_code == 200 and served.content == original  # the fallback copy, from this server

        container = azurite.container("not-created-yet")  # storage is back: the slow retry gets it there
        await wait_for(lambda: _status(svc, stopped.id, ArchiveStatus.UPLOADED), what="the retried upload")
        blob = container.get_blob_client(f"{project.api_key}/{stopped.id}/archive.mp4")
        assert blob.download_blob().readall() == original
        await wait_for(lambda: not path.exists(), what="the fallback copy to go after the confirmed upload")
        got = (await http.get(f"/v2/project/{project.api_key}/archive/{stopped.id}", headers=auth(project))).json()
        assert got["status"] == "uploaded" and got["reason"] == "user initiated"


async def test_settings_azure_storage_with_account_key(tmp_path: Path, azurite: Azurite) -> None:
    container = azurite.container("server-default")
    settings = fast_settings(tmp_path / "data", azure_container="server-default", azure_account_name=AZURITE_ACCOUNT,
                             azure_account_key=AZURITE_KEY, azure_account_url=azurite.account_url,
                             azure_prefix="cfg/")
    async with running_app(settings) as (svc, http):
        project = await svc.projects.create("config")
        stopped, outcome = await finished_archive(svc, project)
        await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)
        await wait_for(lambda: _status(svc, stopped.id, ArchiveStatus.UPLOADED), what="uploaded")
        props = container.get_blob_client(f"cfg/{project.api_key}/{stopped.id}/archive.mp4").get_blob_properties()
        assert props.size == outcome.size
        row = await ArchiveFileRepository(svc.engine).get(stopped.id)
        assert row is not None and row.target_id == "config-azure"
        got = (await http.get(f"/v2/project/{project.api_key}/archive/{stopped.id}", headers=auth(project))).json()
        parts = urlsplit(got["url"])
        redirect = await http.get(f"{parts.path}?{parts.query}")
        assert redirect.status_code == 307 and redirect.headers["location"].startswith(azurite.account_url)
