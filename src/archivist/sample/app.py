"""The sample app's routes: the Ruby sample's pages and the OpenTok.js sample's endpoints.

Pages (HTML; errors are friendly HTML pages):
``/`` home, ``/host``, ``/participant``, ``/history?page=N`` (past archives),
``/download/{id}`` (redirect to the archive's URL), ``/archive/{id}/view`` (redirect to the
file when available, else a page that waits and plays it as soon as it is).

JSON endpoints (errors are ``{"code", "message"}``): ``/start`` and ``/stop/{id}`` (the Ruby
sample's host buttons), and the OpenTok.js samples' "test web service" (the learning-opentok
server's routes, with CORS for pages served from another origin): ``GET /session`` and
``GET /room/{name}`` (``{apiKey, sessionId, token}``), ``POST /archive/start`` (form or JSON
``sessionId``), ``POST /archive/{id}/stop``, ``GET /archive/{id}`` (also the status the view page
polls) and ``GET /archive`` (``offset``, ``count``).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Mount, Route
from starlette.templating import Jinja2Templates

from archivist import logs
from archivist.sample.backend import ArchiveView, Backend, BackendError
from archivist.sample.config import SampleConfig

log = logs.get(__name__)

HERE = Path(__file__).resolve().parent
STATIC_PREFIX = "/sample/static"
_ARCHIVE_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_MAX_PAGE = 100_000
_ROOM_NAME = re.compile(r"^[A-Za-z0-9_.~-]{1,64}$")
_MAX_ROOMS = 1000
MAIN_ROOM = "session"  # GET /session: the room of the app's own session (host and participant pages)


class SampleApp:
    """The app's state: its configuration (set later when embedded) and the SDK backend."""

    def __init__(self, config: SampleConfig | None = None) -> None:
        self._backend: Backend | None = None
        self.unavailable_reason = "the sample app is starting"
        self.rooms: dict[str, str] = {}  # room name -> session id (in memory, like learning-opentok)
        self.rooms_lock = asyncio.Lock()
        if config is not None:
            self.configure(config)

    def configure(self, config: SampleConfig) -> None:
        self._backend = Backend(config)
        self.rooms = {}
        log.info("sample app configured", api_url=config.api_url, api_key=config.api_key)

    def disable(self, reason: str) -> None:
        self._backend = None
        self.unavailable_reason = reason

    @property
    def configured(self) -> bool:
        return self._backend is not None

    @property
    def backend(self) -> Backend:
        if self._backend is None:
            raise BackendError(503, f"The sample app is not available: {self.unavailable_reason}.")
        return self._backend


def _wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/archive", "/start", "/stop/", "/room/")) and not path.endswith("/view"):
        return True
    if path == "/session":
        return True
    accept = request.headers.get("accept", "")
    return "text/html" not in accept and "application/json" in accept


def _json_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status)


def _archive_id(archive_id: str) -> str:
    if not _ARCHIVE_ID.match(archive_id):
        raise BackendError(404, "archive not found")
    return archive_id


def _int_query(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BackendError(400, f"{name} must be an integer") from None
    return min(max(value, lo), hi)


async def _form_or_json(request: Request) -> dict[str, Any]:
    """The fields of a POST: a form (jQuery's ``$.post``), a JSON object, or nothing."""
    ctype = request.headers.get("content-type", "")
    if "application/json" in ctype:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise BackendError(400, "the request body is not valid JSON") from None
        if not isinstance(value, dict):
            raise BackendError(400, "the request body must be a JSON object")
        return value
    if "form" in ctype:
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    return {}


def create_sample_app(config: SampleConfig | None = None) -> FastAPI:
    """The sample app. Without ``config`` it answers 503 until ``app.state.sample.configure()``."""
    state = SampleApp(config)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app = FastAPI(title="Archivist sample app", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sample = state
    # The OpenTok.js samples are pages of their own origin calling this service (fetch with JSON
    # bodies, so preflighted): any origin may call it. No cookies or credentials are involved.
    app.add_middleware(
        CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST"], allow_headers=["Content-Type"], max_age=600
    )

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        backend_config = state.backend.config if state.configured else None
        context.setdefault("library_url", backend_config.client_library_url if backend_config else "")
        context["static"] = STATIC_PREFIX
        return templates.TemplateResponse(request, template, context, status_code=status)

    def error_page(request: Request, status: int, message: str) -> Response:
        if _wants_json(request):
            return _json_error(status, message)
        titles = {400: "Bad request", 404: "Not found", 409: "Not possible right now", 503: "Not available"}
        title = titles.get(status, "Something went wrong")
        return templates.TemplateResponse(
            request,
            "error.html",
            {"title": title, "message": message, "status": status, "static": STATIC_PREFIX},
            status_code=status,
        )

    @app.exception_handler(BackendError)
    async def _backend_error(request: Request, exc: BackendError) -> Response:
        return error_page(request, exc.status, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) and exc.detail else "error"
        if exc.status_code == 404:
            message = "There is no such page in the sample app."
        elif exc.status_code == 405:
            message = "method not allowed"
        return error_page(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, _exc: RequestValidationError) -> Response:
        return error_page(request, 400, "invalid request")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("sample app error", path=request.url.path, exc_info=exc)
        return error_page(request, 500, "The sample app hit an unexpected error; the server log has the details.")

    # ---- pages ----------------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    async def index(request: Request) -> Response:
        return page(request, "index.html", configured=state.configured)

    async def _live_page(request: Request, template: str, role: str, name: str) -> Response:
        backend = state.backend
        session_id = await backend.session_id()
        token = await backend.token(session_id, role, json.dumps({"name": name}))
        return page(
            request,
            template,
            api_key=backend.config.api_key,
            session_id=session_id,
            token=token,
            name=name,
        )

    @app.get("/host", response_class=HTMLResponse)
    async def host(request: Request) -> Response:
        return await _live_page(request, "host.html", "moderator", "Host")

    @app.get("/participant", response_class=HTMLResponse)
    async def participant(request: Request) -> Response:
        return await _live_page(request, "participant.html", "publisher", "Participant")

    @app.get("/history", response_class=HTMLResponse)
    async def history(request: Request) -> Response:
        backend = state.backend
        size = backend.config.page_size
        number = _int_query(request, "page", 1, 1, _MAX_PAGE)
        offset = (number - 1) * size
        listing = await backend.page(offset, size)
        return page(
            request,
            "history.html",
            archives=listing.items,
            total=listing.total,
            page=number,
            first=offset + 1 if listing.items else 0,
            last=offset + len(listing.items),
            previous_page=number - 1 if number > 1 else None,
            next_page=number + 1 if listing.total > offset + size else None,
        )

    @app.get("/download/{archive_id}")
    async def download(request: Request, archive_id: str) -> Response:
        archive = await state.backend.get(_archive_id(archive_id))
        if archive.url is None:
            raise BackendError(409, f"The archive is not available for download (status: {archive.status}).")
        return RedirectResponse(archive.url, status_code=302)

    @app.get("/archive/{archive_id}/view", response_class=HTMLResponse)
    async def view(request: Request, archive_id: str) -> Response:
        archive = await state.backend.get(_archive_id(archive_id))
        if archive.available and archive.url:
            return RedirectResponse(archive.url, status_code=302)
        return page(request, "view.html", archive=archive)

    # ---- JSON endpoints -------------------------------------------------------------------
    async def room_credentials(name: str) -> Response:
        backend = state.backend
        if name == MAIN_ROOM:
            session_id = await backend.session_id()
        else:
            if not _ROOM_NAME.match(name):
                raise BackendError(400, "a room name is 1 to 64 letters, digits or -_.~")
            async with state.rooms_lock:
                known = state.rooms.get(name)
                if known is None:
                    if len(state.rooms) >= _MAX_ROOMS:
                        raise BackendError(409, "this sample app has too many rooms; restart it")
                    known = state.rooms[name] = await backend.new_session()
                    log.info("sample room created", room=name, session=known)
            session_id = known
        token = await backend.token(session_id, "publisher", json.dumps({"name": name}))
        return JSONResponse(
            {"apiKey": backend.config.api_key, "sessionId": session_id, "token": token},
            headers={"Cache-Control": "no-store"},
        )

    @app.get("/session")
    async def session_credentials() -> Response:
        """The test web service's GET /session: the app's own session (the room 'session')."""
        return await room_credentials(MAIN_ROOM)

    @app.get("/room/{name}")
    async def room(name: str) -> Response:
        """GET /room/:name: one session per room name, created on first use."""
        return await room_credentials(name)

    def archive_json(archive: ArchiveView) -> JSONResponse:
        return JSONResponse(archive.to_json(), headers={"Cache-Control": "no-store"})

    @app.api_route("/start", methods=["GET", "POST"])
    async def start(request: Request) -> Response:
        backend = state.backend
        fields = await _form_or_json(request) if request.method == "POST" else {}
        name = fields.get("name") or request.query_params.get("name")
        return archive_json(await backend.start(await backend.session_id(), str(name) if name else None))

    @app.api_route("/stop/{archive_id}", methods=["GET", "POST"])
    async def stop(archive_id: str) -> Response:
        return archive_json(await state.backend.stop(_archive_id(archive_id)))

    @app.post("/archive/start")
    async def archive_start(request: Request) -> Response:
        fields = await _form_or_json(request)
        session_id = fields.get("sessionId") or request.query_params.get("sessionId")
        if not isinstance(session_id, str) or not session_id.strip():
            raise BackendError(400, "sessionId is required")
        name = fields.get("name")
        return archive_json(await state.backend.start(session_id.strip(), str(name) if name else None))

    @app.post("/archive/{archive_id}/stop")
    async def archive_stop(archive_id: str) -> Response:
        return archive_json(await state.backend.stop(_archive_id(archive_id)))

    @app.get("/archive/{archive_id}")
    async def archive_status(archive_id: str) -> Response:
        return archive_json(await state.backend.get(_archive_id(archive_id)))

    @app.get("/archive")
    async def archive_list(request: Request) -> Response:
        offset = _int_query(request, "offset", 0, 0, 1_000_000)
        count = _int_query(request, "count", 50, 1, 1000)
        listing = await state.backend.page(offset, count, request.query_params.get("sessionId") or None)
        return JSONResponse({"count": listing.total, "items": [a.to_json() for a in listing.items]})

    app.mount(STATIC_PREFIX, StaticFiles(directory=str(HERE / "static")), name="sample-static")
    return app


def embedded_routes(sample: FastAPI) -> list[BaseRoute]:
    """Routes that hand exactly the sample app's paths to it, unchanged, inside another app.

    Unlike ``mount("/", …)`` this claims no other path: the host app's own 404s stay its own.
    """
    routes: list[BaseRoute] = []
    for route in sample.routes:
        if isinstance(route, Mount):
            routes.append(Route(route.path + "/{path:path}", endpoint=sample, include_in_schema=False))
        elif isinstance(route, Route):
            routes.append(Route(route.path, endpoint=sample, include_in_schema=False))
    return routes
