"""The archive-file state machine (storage/file_states.py) and the repository that enforces it,
on real SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from archivist.clock import now_ms
from archivist.storage.file_states import (
    TRANSITIONS,
    FileState,
    IllegalFileTransition,
    check_file_transition,
    leading_to,
)
from archivist.store.archive_files import ArchiveFile, ArchiveFileRepository
from archivist.store.db import open_database
from archivist.store.projects import ProjectRepository

F = FileState


def test_every_state_has_rules() -> None:
    assert set(TRANSITIONS) == set(FileState)
    assert set(leading_to(F.REMOVING)) == {F.STORED, F.UPLOADING, F.FALLBACK, F.UPLOADED, F.LOST, F.REMOVED}
    assert leading_to(F.UPLOADING) == ()  # a row starts uploading; nothing goes back to it


@pytest.mark.parametrize(("old", "new"), [(F.UPLOADED, F.UPLOADING), (F.STORED, F.UPLOADED), (F.REMOVING, F.STORED),
                                           (F.LOST, F.UPLOADED), (F.FALLBACK, F.UPLOADING)])
def test_illegal(old: FileState, new: FileState) -> None:
    with pytest.raises(IllegalFileTransition):
        check_file_transition(old, new)


async def test_the_repository_refuses_an_illegal_change(tmp_path: Path) -> None:
    engine = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'archivist.db'}")
    try:
        project = await ProjectRepository(engine).create("files")
        rows = ArchiveFileRepository(engine)
        now = now_ms()
        record = ArchiveFile(
            archive_id="5b1e5bd4-0f6e-4d3c-9a39-7f1d1f7e9e01", project_key=project.api_key, local_key="k.mp4",
            target_id=None, object_key=None, state=F.STORED, local_copy=True, duration=1, size=1, sha256=None,
            stop_reason="user_initiated", attempts=0, last_error=None, next_attempt_at=None, lease_until=None,
            created_at=now, updated_at=now,
        )
        await rows.add_or_get(record)
        with pytest.raises(IllegalFileTransition):
            await rows.change(record.archive_id, F.STORED, state=F.UPLOADED)
        with pytest.raises(ValueError, match="names the states it leaves"):
            await rows.change(record.archive_id, None, state=F.REMOVING)
        assert await rows.change(record.archive_id, None, attempts=3)  # keeping the state: any state
        assert await rows.change(record.archive_id, leading_to(F.REMOVING), state=F.REMOVING)
        found = await rows.get(record.archive_id)
        assert found is not None and found.state is F.REMOVING and found.attempts == 3
    finally:
        await engine.dispose()
