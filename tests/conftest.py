from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentok import Client

from tests.servers import Postgres, Server, make_server, start_postgres


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    """Extra environment of the module's ``server`` (a module overrides this fixture to set
    its options, e.g. a short maximum archive duration)."""
    return {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, server_env: dict[str, str]) -> Iterator[Server]:
    """A real ``archivist serve`` process for the test module, with the module's ``server_env``."""
    srv = make_server(tmp_path_factory.mktemp("server"), extra_env=server_env)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def ot(server: Server) -> Client:
    return Client(server.project.api_key, server.project.api_secret, api_url=server.url, timeout=20)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    pg = start_postgres()
    yield pg
    pg.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh SQLite file, then the test run's PostgreSQL: a store test runs on both."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'db' / 'archivist.db'}"
    pg: Postgres = request.getfixturevalue("postgres")
    return pg.url


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path
