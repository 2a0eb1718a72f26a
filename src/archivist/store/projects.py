"""Projects: an API key (decimal string) and its secret."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from archivist.clock import now_ms
from archivist.store.schema import projects

_SDK_KEYFILE_SUFFIX = re.compile(r"[.][A-Za-z0-9_]+$")
_SECRET_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class Project:
    api_key: str
    api_secret: str
    name: str
    created_at: int
    callback_url: str | None = None


def new_secret() -> str:
    """40 lower-case alphanumerics: never contains a '.', so the official Python SDK never
    mistakes it for a key file (a secret ending in '.word' makes it ignore its API URL)."""
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def new_api_key() -> str:
    return str(secrets.randbelow(90_000_000) + 10_000_000)


class ProjectRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, name: str, api_key: str | None = None, api_secret: str | None = None) -> Project:
        key = api_key or new_api_key()
        if not key.isdigit():
            raise ValueError("an API key is a decimal string")
        secret = api_secret or new_secret()
        if _SDK_KEYFILE_SUFFIX.search(secret):
            raise ValueError(
                "a secret must not end in '.' + word characters: the official Python SDK would take it "
                "for a key file and ignore its API URL"
            )
        if len(secret) < 8:
            raise ValueError("a secret must be at least 8 characters")
        project = Project(api_key=key, api_secret=secret, name=name, created_at=now_ms())
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(projects).values(
                    api_key=project.api_key,
                    api_secret=project.api_secret,
                    name=project.name,
                    created_at=project.created_at,
                    callback_url=None,
                )
            )
        return project

    async def get(self, api_key: str) -> Project | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(projects).where(projects.c.api_key == api_key))).mappings().first()
        return Project(**row) if row else None

    async def all(self) -> list[Project]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(projects).order_by(projects.c.created_at))).mappings().all()
        return [Project(**r) for r in rows]

    async def set_callback_url(self, api_key: str, url: str | None) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(projects).where(projects.c.api_key == api_key).values(callback_url=url))
