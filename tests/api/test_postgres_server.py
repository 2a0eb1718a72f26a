"""The same server, unchanged, on a real PostgreSQL database (ARCHIVIST_DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentok import Client, MediaModes
from opentok.exceptions import NotFoundError, RequestError

from archivist.archives.status import ArchiveStatus
from tests.seed import seed_archive
from tests.servers import Postgres, Server, make_server

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_server(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(Path(tmp_path_factory.mktemp("pgserver")), database_url=postgres.url)
    yield srv
    srv.stop()


def test_sdk_flow_on_postgresql(pg_server: Server, postgres: Postgres) -> None:
    ot = Client(pg_server.project.api_key, pg_server.project.api_secret, api_url=pg_server.url)
    session_id = ot.create_session(media_mode=MediaModes.routed).session_id
    with pytest.raises(RequestError, match="no clients"):
        ot.start_archive(session_id)
    running = seed_archive(pg_server, session_id, ArchiveStatus.STARTED, database_url=postgres.url)
    done = seed_archive(pg_server, session_id, ArchiveStatus.AVAILABLE, database_url=postgres.url)
    assert [a.id for a in ot.list_archives(session_id=session_id).items] == [done.id, running.id]
    assert ot.stop_archive(running.id).status == "stopped"
    ot.delete_archive(done.id)
    assert ot.get_archive(done.id).status == "deleted"
    with pytest.raises(NotFoundError):
        ot.get_archive("00000000-0000-0000-0000-000000000000")
    assert not (pg_server.data_dir / "archivist.db").exists()
