from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from opentok import Client, MediaModes, Roles

from archivist.client import ArchivistClient
from tests.servers import Server


@pytest.fixture(scope="module")
def session_id(ot: Client) -> str:
    return str(ot.create_session(media_mode=MediaModes.routed).session_id)


@pytest.fixture
def token(ot: Client, session_id: str) -> Callable[..., str]:
    def make(role: str = "publisher", data: str = "", sid: str | None = None, **kw: Any) -> str:
        return str(ot.generate_token(sid or session_id, role=Roles(role), data=data or None, **kw))

    return make


ClientFactory = Callable[..., Any]


@pytest.fixture
async def connect(server: Server, session_id: str, token: Callable[..., str]) -> AsyncIterator[ClientFactory]:
    """Open real clients; every one is closed at the end of the test."""
    opened: list[ArchivistClient] = []

    async def open_client(role: str = "publisher", data: str = "", sid: str | None = None) -> ArchivistClient:
        client = await ArchivistClient.open(
            server.url, server.project.api_key, sid or session_id, token(role, data, sid)
        )
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.close()
