"""The ASGI app and its lifespan: builds and wires every component (the only place that does)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
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
from archivist.media.factory import PeerFactory
from archivist.media.ice import IceConfig
from archivist.monitor import LoopMonitor
from archivist.recording.launcher import InServerLauncher
from archivist.rooms.host import RoomHost
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
    """Everything the app runs, built and wired by :func:`build_services`."""

    settings: Settings
    engine: AsyncEngine
    projects: ProjectRepository
    sessions: SessionService
    verifier: TokenVerifier
    rooms: Rooms
    host: RoomHost
    ice: IceConfig
    """How media crosses networks: the peers' ICE settings, the clients' ICE servers."""
    archives: ArchiveService
    callbacks: CallbackRepository
    launcher: InServerLauncher
    supervisor: ArchiveSupervisor
    monitor: LoopMonitor
    download_urls: DownloadUrls
    files: ArchiveFiles
    transfers: TransferWorker
    retention: RetentionSweeper
    delivery_log: OutboxRepository
    """The status-callback outbox: the deliveries and their attempts (REST log, retries)."""
    delivery_worker: DeliveryWorker
    """Sends the outbox's due deliveries."""
    exit_stack: AsyncExitStack
    """Closes everything in the reverse order of :func:`build_services`."""

    def start(self) -> None:
        """Start the background work: uploads and removals, retention, status callbacks."""
        self.transfers.start()
        self.retention.start()
        self.delivery_worker.start()

    async def close(self) -> None:
        """Clients leave first (their sessions' archives stop as the rooms empty), then whatever
        still records is stopped, then the background work ends, the database last. Every
        component is closed even when an earlier one fails (the failure is raised at the end)."""
        await self.exit_stack.aclose()


async def build_services(settings: Settings) -> Services:
    """Build every component through its constructor, in dependency order; each one's close is
    pushed on the exit stack as it is built, so shutdown runs in the reverse order."""
    stack = AsyncExitStack()
    try:
        return await _build(settings, stack)
    except BaseException:
        await stack.aclose()
        raise


async def _build(settings: Settings, stack: AsyncExitStack) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = await open_database(settings.db_url)
    stack.push_async_callback(engine.dispose)
    projects = ProjectRepository(engine)
    sessions = SessionService(SessionRepository(engine))
    verifier = TokenVerifier(projects.get, sessions.find)
    download_urls = DownloadUrls(load_key(settings), settings.download_url_ttl)
    monitor = LoopMonitor()
    monitor.start()
    stack.push_async_callback(monitor.close)

    # status callbacks: written in the transaction of each status change, sent by the worker
    delivery_log = OutboxRepository(engine)
    public_base = settings.public_url.rstrip("/") or self_url(settings)

    async def signing_secret(project_key: str) -> str | None:
        found = await projects.get(project_key)
        return found.api_secret if found else None

    delivery_worker = DeliveryWorker(
        delivery_log, signing_secret, lambda archive_id: download_urls.url(public_base, archive_id), settings
    )
    stack.push_async_callback(delivery_worker.close)

    # archives: rooms (the lookup), recorders, file storage, the service, then its workers
    rooms = Rooms()
    launcher = InServerLauncher(rooms, settings.archives_dir, settings.video_preset,
                                min_free_bytes=settings.min_free_mb * 2**20,
                                recorder_process=settings.recorder_process)
    stack.push_async_callback(launcher.close)
    launcher.prepare()
    file_rows = ArchiveFileRepository(engine)
    transfers_due = asyncio.Event()
    files = ArchiveFiles(settings, file_rows, StorageTargetRepository(engine), transfers_due)
    stack.push_async_callback(files.live.close)  # after the archives' close has placed their files
    # every committed status change writes its status-callback events in the same transaction
    if settings.callback_url:
        targets.check_url(settings.callback_url, allow_private=settings.callback_allow_private)
    archives = ArchiveService(
        ArchiveRepository(engine, [Outbox(settings.callback_url).enqueue]),
        sessions,
        rooms,
        launcher=launcher,
        files=files,
        listeners=[delivery_worker.on_status, files.live.on_status],
        max_duration_s=settings.max_archive_duration,
        idle_timeout_s=settings.archive_idle_timeout,
    )
    stack.push_async_callback(archives.close)
    transfers = TransferWorker(files, file_rows, archives, settings, wake=transfers_due)
    stack.push_async_callback(transfers.close)
    retention = RetentionSweeper(archives, files, file_rows, settings)
    stack.push_async_callback(retention.close)
    supervisor = ArchiveSupervisor(archives)
    stack.push_async_callback(supervisor.close)

    # the live sessions: peers made by the media factory; observers told in this order (the
    # launcher feeds a new stream to running recordings, then the supervisor may auto-start)
    ice = IceConfig.from_settings(settings)
    host = RoomHost(rooms, PeerFactory(ice), observers=(launcher, supervisor))
    stack.push_async_callback(host.close, CloseReason.SERVER_SHUTDOWN)
    await launcher.ready()  # its spare recorder process, started above, has imported what it needs
    return Services(
        settings=settings,
        engine=engine,
        projects=projects,
        sessions=sessions,
        verifier=verifier,
        rooms=rooms,
        host=host,
        ice=ice,
        archives=archives,
        callbacks=CallbackRepository(engine),
        launcher=launcher,
        supervisor=supervisor,
        monitor=monitor,
        download_urls=download_urls,
        files=files,
        transfers=transfers,
        retention=retention,
        delivery_log=delivery_log,
        delivery_worker=delivery_worker,
        exit_stack=stack,
    )


def self_url(settings: Settings) -> str:
    """How a process on this machine reaches this server (the embedded sample app's API URL).
    With TLS, the public URL (its certificate names that host, not the loopback address)."""
    if settings.tls_certfile and settings.public_url:
        return settings.public_url.rstrip("/")
    host = settings.host
    if host in ("", "0.0.0.0", "localhost"):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host:
        host = f"[{host}]"
    scheme = "https" if settings.tls_certfile else "http"
    return f"{scheme}://{host}:{settings.port}"


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
        try:
            await services.archives.recover()
            services.start()
            if sample is not None:
                await configure_sample(sample, settings, services.projects)
            log.info("archivist ready", port=settings.port, data_dir=str(settings.data_dir),
                     tls=bool(settings.tls_certfile), **services.ice.describe())
            yield
        finally:
            try:
                await services.close()
            except Exception:
                log.exception("shutdown failed")
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

    app.include_router(build_signaling_router(reconnect_grace=settings.reconnect_grace))
    # web (client library, sample pages)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")
    if settings.sample_app:  # last: it claims only its own paths (/, /host, /history, /archive/…)
        from archivist.sample import create_sample_app, embedded_routes

        sample = create_sample_app()
        app.router.routes.extend(embedded_routes(sample))
    return app
