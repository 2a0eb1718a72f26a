"""Local storage through the real app: signed downloads with Range, delete, retention."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

from archivist.archives.status import ArchiveStatus, Reason
from archivist.storage.file_states import FileState
from archivist.store.archive_files import ArchiveFileRepository
from tests.storage.harness import auth, fast_settings, finished_archive, running_app, wait_for


def _local(url: str) -> str:
    """The path and query of a download URL (the in-process client serves any host)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def test_local_round_trip(tmp_path: Path) -> None:
    async with running_app(fast_settings(tmp_path / "data")) as (svc, http):
        project = await svc.projects.create("local")
        stopped, outcome = await finished_archive(svc, project, name="Réunion du lundi")
        path = svc.settings.archives_dir / str(outcome.storage_key)
        original = path.read_bytes()

        done = await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)
        assert done.status is ArchiveStatus.AVAILABLE and done.size == len(original) and done.sha256 == outcome.sha256
        row = await ArchiveFileRepository(svc.engine).get(done.id)
        assert row is not None and row.state is FileState.STORED and row.target_id is None

        got = (await http.get(f"/v2/partner/{project.api_key}/archive/{done.id}", headers=auth(project))).json()
        assert got["status"] == "available" and got["size"] == len(original)
        assert got["url"].startswith(f"http://archivist.test/archives/{done.id}/download?expires=")
        url = _local(got["url"])

        full = await http.get(url)
        assert full.status_code == 200 and full.content == original
        assert full.headers["content-type"] == "video/mp4"
        assert full.headers["accept-ranges"] == "bytes"
        assert full.headers["content-disposition"].startswith('attachment; filename="R_union du lundi.mp4"')
        assert "filename*=UTF-8''R%C3%A9union%20du%20lundi.mp4" in full.headers["content-disposition"]

        part = await http.get(url, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == original[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(original)}"
        tail = await http.get(url, headers={"Range": "bytes=-50"})
        assert tail.status_code == 206 and tail.content == original[-50:]
        head = await http.head(url)
        assert head.status_code == 200 and int(head.headers["content-length"]) == len(original) and not head.content

        for bad in (url.replace("signature=", "signature=x"), url.split("?")[0],
                    url.replace(done.id, "00000000-0000-0000-0000-000000000000")):
            refused = await http.get(bad)
            assert refused.status_code == 403 and refused.json()["code"] == 403, bad
        expired = svc.download_urls.path(done.id, now=1_000_000)
        refused = await http.get(expired)
        assert refused.status_code == 403 and "expired" in refused.json()["message"]

        deleted = await http.delete(f"/v2/project/{project.api_key}/archive/{done.id}", headers=auth(project))
        assert deleted.status_code == 204
        assert not path.exists()
        gone = await http.get(url)
        assert gone.status_code == 404 and gone.json() == {"code": 404, "message": "archive not available for download"}
        row = await ArchiveFileRepository(svc.engine).get(done.id)
        assert row is not None and row.state is FileState.REMOVED and not row.local_copy
        after = (await http.get(f"/v2/project/{project.api_key}/archive/{done.id}", headers=auth(project))).json()
        assert after["status"] == "deleted" and after["url"] is None


async def test_missing_file_is_404_not_500(tmp_path: Path) -> None:
    async with running_app(fast_settings(tmp_path / "data")) as (svc, http):
        project = await svc.projects.create("local")
        stopped, outcome = await finished_archive(svc, project)
        done = await svc.archives.place_file(stopped, outcome, Reason.USER_INITIATED)
        (svc.settings.archives_dir / str(outcome.storage_key)).unlink()
        r = await http.get(svc.download_urls.path(done.id))
        assert r.status_code == 404 and r.json()["code"] == 404


async def test_retention_expires_archives_and_removes_their_files(tmp_path: Path) -> None:
    settings = fast_settings(tmp_path / "data", archive_retention_days=30)
    async with running_app(settings) as (svc, http):
        project = await svc.projects.create("retention")
        old_stop, old_outcome = await finished_archive(svc, project, created_at=1_000_000)  # 1970: long expired
        new_stop, new_outcome = await finished_archive(svc, project)
        old = await svc.archives.place_file(old_stop, old_outcome, Reason.USER_INITIATED)
        new = await svc.archives.place_file(new_stop, new_outcome, Reason.USER_INITIATED)

        async def expired() -> bool:
            found = await svc.archives.find(old.id)
            return found is not None and found.status is ArchiveStatus.EXPIRED

        await wait_for(expired, what="the old archive to expire")
        await wait_for(lambda: not (settings.archives_dir / str(old_outcome.storage_key)).exists(), what="file gone")
        got = (await http.get(f"/v2/project/{project.api_key}/archive/{old.id}", headers=auth(project))).json()
        assert got["status"] == "expired" and got["url"] is None
        await asyncio.sleep(0.3)  # a few more sweeps: the recent archive stays
        kept = await svc.archives.find(new.id)
        assert kept is not None and kept.status is ArchiveStatus.AVAILABLE
        assert (settings.archives_dir / str(new_outcome.storage_key)).exists()
        r = await http.get(svc.download_urls.path(new.id))
        assert r.status_code == 200 and len(r.content) == new_outcome.size
