"""The ASGI app and its lifespan: builds and wires every component (the only place that does)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine

from archivist import __version__, logs
from archivist.api import errors as api_errors
from archivist.api.router import build_rest_router
from archivist.archives.service import ArchiveService
from archivist.auth.tokens import TokenVerifier
from archivist.config import Settings
from archivist.rooms.reasons import CloseReason
from archivist.rooms.registry import Rooms
from archivist.sessions.service import SessionService
from archivist.store.archives import ArchiveRepository
from archivist.store.callbacks import CallbackRepository
from archivist.store.db import open_database
from archivist.store.projects import ProjectRepository
from archivist.store.sessions import SessionRepository

log = logs.get(__name__)


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    projects: ProjectRepository
    sessions: SessionService
    verifier: TokenVerifier
    rooms: Rooms
    archives: ArchiveService
    callbacks: CallbackRepository

    async def close(self) -> None:
        await self.rooms.close(CloseReason.SERVER_SHUTDOWN)
        await self.archives.close()
        await self.engine.dispose()


async def build_services(settings: Settings) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = await open_database(settings.db_url)
    projects = ProjectRepository(engine)
    sessions = SessionService(SessionRepository(engine))
    rooms = Rooms()
    archives = ArchiveService(ArchiveRepository(engine), sessions, rooms, settings)
    verifier = TokenVerifier(projects.get, sessions.find)
    return Services(
        settings=settings,
        engine=engine,
        projects=projects,
        sessions=sessions,
        verifier=verifier,
        rooms=rooms,
        archives=archives,
        callbacks=CallbackRepository(engine),
    )


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings)
        app.state.services = services
        await services.archives.recover()
        log.info("archivist ready", port=settings.port, data_dir=str(settings.data_dir))
        try:
            yield
        finally:
            await services.close()
            log.info("archivist stopped")

    app = FastAPI(
        title="Archivist",
        version=__version__,
        description="Self-hosted OpenTok 2.0 compatible session and archiving server.",
        lifespan=lifespan,
    )
    api_errors.install(app, settings.max_body_bytes)
    app.include_router(build_rest_router())
    # signaling router
    from archivist.signaling import build_signaling_router

    app.include_router(build_signaling_router())
    # web (client library, sample pages)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")
    return app
