"""The ASGI app and its lifespan: builds and wires every component (the only place that does)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext.asyncio import AsyncEngine

from archivist import __version__, logs
from archivist.api import docs as api_docs
from archivist.api import errors as api_errors
from archivist.api import schemas as api_schemas
from archivist.api.router import build_rest_router
from archivist.archives.service import ArchiveService
from archivist.archives.supervisor import ArchiveSupervisor
from archivist.auth.tokens import TokenVerifier
from archivist.config import Settings
from archivist.monitor import LoopMonitor
from archivist.recording.launcher import InServerLauncher
from archivist.rooms.reasons import CloseReason
from archivist.rooms.registry import Rooms
from archivist.sessions.service import SessionService
from archivist.storage.files import ArchiveFiles
from archivist.storage.retention import RetentionSweeper
from archivist.storage.signing import DownloadUrls, load_key
from archivist.storage.transfers import TransferWorker
from archivist.store.archive_files import ArchiveFileRepository
from archivist.store.archives import ArchiveRepository
from archivist.store.callbacks import CallbackRepository
from archivist.store.db import open_database
from archivist.store.outbox import OutboxRepository
from archivist.store.projects import ProjectRepository
from archivist.store.sessions import SessionRepository
from archivist.store.storage_targets import StorageTargetRepository
from archivist.webhooks import targets
from archivist.webhooks.delivery import DeliveryWorker
from archivist.webhooks.outbox import Outbox

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
    launcher: InServerLauncher
    supervisor: ArchiveSupervisor
    monitor: LoopMonitor
    download_urls: DownloadUrls
    files: ArchiveFiles
    transfers: TransferWorker
    retention: RetentionSweeper
    deliveries: OutboxRepository
    webhooks: DeliveryWorker

    def start(self) -> None:
        """Start the background work: uploads and removals, retention, status callbacks."""
        self.transfers.start()
        self.retention.start()
        self.webhooks.start()

    async def close(self) -> None:
        # Clients leave first (their recordings stop and complete as the rooms empty), then
        # whatever still records is stopped, then the background work ends.
        await self.rooms.close(CloseReason.SERVER_SHUTDOWN)
        await self.archives.close()
        await self.supervisor.close()
        await self.launcher.close()
        await self.monitor.close()
        for name, closing in (("retention", self.retention.close), ("transfers", self.transfers.close),
                              ("webhooks", self.webhooks.close)):
            try:
                await closing()
            except Exception as exc:
                log.error("background work failed to close", component=name, error=repr(exc))
        await self.engine.dispose()


async def build_services(settings: Settings) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = await open_database(settings.db_url)
    projects = ProjectRepository(engine)
    sessions = SessionService(SessionRepository(engine))
    rooms = Rooms()
    launcher = InServerLauncher(rooms, settings.archives_dir, settings.video_preset)
    # every committed status change writes its status-callback events in the same transaction
    if settings.callback_url:
        targets.check_url(settings.callback_url, allow_private=settings.callback_allow_private)
    outbox = Outbox(settings.callback_url)
    archive_rows = ArchiveRepository(engine, [outbox.enqueue])
    archives = ArchiveService(archive_rows, sessions, rooms, settings, launcher)
    supervisor = ArchiveSupervisor(archives, sessions, rooms, settings.max_archive_duration)
    launcher.on_failure = supervisor.recording_failed
    rooms.observers += [launcher, supervisor]  # the launcher first: a new stream is fed before auto-start
    verifier = TokenVerifier(projects.get, sessions.find)
    monitor = LoopMonitor()
    monitor.start()
    download_urls = DownloadUrls(load_key(settings), settings.download_url_ttl)
    file_rows = ArchiveFileRepository(engine)
    files = ArchiveFiles(settings, file_rows, StorageTargetRepository(engine), archives)
    archives.files = files
    deliveries = OutboxRepository(engine)
    public_base = settings.public_url.rstrip("/") or self_url(settings)

    async def signing_secret(project_key: str) -> str | None:
        found = await projects.get(project_key)
        return found.api_secret if found else None

    webhooks = DeliveryWorker(
        deliveries, signing_secret, lambda archive_id: download_urls.url(public_base, archive_id), settings
    )
    archives.listeners.append(webhooks.on_status)
    return Services(
        settings=settings,
        engine=engine,
        projects=projects,
        sessions=sessions,
        verifier=verifier,
        rooms=rooms,
        archives=archives,
        callbacks=CallbackRepository(engine),
        launcher=launcher,
        supervisor=supervisor,
        monitor=monitor,
        download_urls=download_urls,
        files=files,
        transfers=TransferWorker(files, file_rows, settings),
        retention=RetentionSweeper(archives, files, file_rows, settings),
        deliveries=deliveries,
        webhooks=webhooks,
    )


def self_url(settings: Settings) -> str:
    """How a process on this machine reaches this server (the embedded sample app's API URL)."""
    host = settings.host
    if host in ("", "0.0.0.0", "localhost"):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


async def configure_sample(sample: FastAPI, settings: Settings, projects: ProjectRepository) -> None:
    """The embedded sample app: the spec's API_KEY/API_SECRET/API_URL, else the first project
    (the development project of the first start) and this server's own URL."""
    from archivist.sample import SampleConfig, SampleConfigError

    key, secret = settings.sample_api_key, settings.sample_api_secret
    if not (key and secret):
        found = await projects.all()
        chosen = next((p for p in found if p.name == "default"), found[0] if found else None)
        if chosen is None:
            sample.state.sample.disable("the server has no project yet (archivist projects create)")
            log.warning("sample app disabled: no project")
            return
        key, secret = chosen.api_key, chosen.api_secret
    try:
        config = SampleConfig(key, secret, api_url=(settings.sample_api_url or self_url(settings)).rstrip("/"))
    except SampleConfigError as exc:
        sample.state.sample.disable(str(exc))
        log.warning("sample app disabled", reason=str(exc))
        return
    sample.state.sample.configure(config)


def create_app(settings: Settings) -> FastAPI:
    sample: FastAPI | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = await build_services(settings)
        app.state.services = services
        await services.archives.recover()
        services.start()
        if sample is not None:
            await configure_sample(sample, settings, services.projects)
        log.info("archivist ready", port=settings.port, data_dir=str(settings.data_dir))
        try:
            yield
        finally:
            await services.close()
            log.info("archivist stopped")

    # /docs (Swagger UI) and /redoc with their assets served from the package, not a CDN
    app = FastAPIOffline(
        title="Archivist",
        version=__version__,
        description="Self-hosted OpenTok 2.0 compatible session and archiving server.",
        lifespan=lifespan,
        static_url=api_docs.ASSETS,
        redoc_url=None,  # api_docs serves it, under a policy that keeps it off ReDoc's CDN
        favicon_url=f"{api_docs.ASSETS}/favicon.png",
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from validator.swagger.io
    )
    api_docs.install(app)
    api_errors.install(app, settings.max_body_bytes)
    api_schemas.install(app)
    app.include_router(build_rest_router())
    # signaling router
    from archivist.signaling import build_signaling_router

    app.include_router(build_signaling_router())
    # web (client library, sample pages)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")
    if settings.sample_app:  # last: it claims only its own paths (/, /host, /history, /archive/…)
        from archivist.sample import create_sample_app, embedded_routes

        sample = create_sample_app()
        app.router.routes.extend(embedded_routes(sample))
    return app
