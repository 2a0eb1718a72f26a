"""Archive resources under ``/v2/project/{key}`` and ``/v2/partner/{key}`` (see docs/rest-api.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from archivist.api import schemas
from archivist.api.deps import is_legacy, project, services
from archivist.api.errors import json_body
from archivist.archives.model import Archive
from archivist.archives.options import parse_layout, parse_start
from archivist.archives.status import DOWNLOADABLE, RECORDING
from archivist.errors import AuthFailed, BadRequest, NotFound

router = APIRouter(tags=["archives"])

DEFAULT_COUNT = 50
MAX_COUNT = 1000
MAX_QUERY_INT = 2**31 - 1


def archive_url(request: Request, archive: Archive) -> str | None:
    """A signed download URL, valid ``ARCHIVIST_DOWNLOAD_URL_TTL`` seconds (docs/storage.md); None
    unless the archive is downloadable."""
    if archive.status not in DOWNLOADABLE or archive.storage_key is None:
        return None
    svc = services(request)
    base = svc.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return svc.download_urls.url(base, archive.id)


def render(request: Request, archive: Archive) -> dict[str, Any]:
    body = archive.to_json(legacy=is_legacy(request), url=archive_url(request, archive))
    if archive.status in RECORDING:
        body["streams"] = services(request).launcher.recorded_streams(archive.id)
    return body


def _int_param(raw: str | None, name: str, default: int) -> int:
    """A non-negative integer query parameter of at most ``MAX_QUERY_INT`` (the database's
    integers are 64-bit: a larger offset overflowed into a 500)."""
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()):  # int() also takes "+1", " 1", "1_0" and Arabic-Indic digits
        raise BadRequest(f"{name} must be a non-negative integer")
    value = int(raw) if len(raw) <= 20 else MAX_QUERY_INT + 1
    if value > MAX_QUERY_INT:
        raise BadRequest(f"{name} must be at most {MAX_QUERY_INT}")
    return value


@router.post("/archive", summary="Start recording an archive", **schemas.START)
async def start_archive(request: Request, key: str) -> JSONResponse:
    proj = await project(request, key)
    body = await json_body(request)
    action = body.get("action")
    if action is not None and action != "start":
        raise BadRequest("action must be \"start\" (case-sensitive)")
    opts = parse_start(body)
    archive = await services(request).archives.start(proj.api_key, opts)
    return JSONResponse(render(request, archive))


@router.get("/archive", summary="List archives, newest first", **schemas.LIST)
async def list_archives(request: Request, key: str) -> JSONResponse:
    proj = await project(request, key)
    q = request.query_params
    offset = _int_param(q.get("offset"), "offset", 0)
    count = min(_int_param(q.get("count"), "count", DEFAULT_COUNT), MAX_COUNT)
    session_id = q.get("sessionId") or None
    total, items = await services(request).archives.page(proj.api_key, offset, count, session_id)
    return JSONResponse({"count": total, "items": [render(request, a) for a in items]})


@router.get("/archive/{archive_id}", summary="Get an archive", **schemas.GET)
async def get_archive(request: Request, key: str, archive_id: str) -> JSONResponse:
    proj = await project(request, key)
    try:
        archive = await services(request).archives.get(proj.api_key, archive_id)
    except NotFound:
        if is_legacy(request):  # the spec answers an invalid archive id with 400
            raise BadRequest("invalid archive ID") from None
        raise
    return JSONResponse(render(request, archive))


@router.post("/archive/{archive_id}", summary="Stop an archive (the spec's {\"action\":\"stop\"})", **schemas.STOP_SPEC)
async def post_archive(request: Request, key: str, archive_id: str) -> JSONResponse:
    proj = await project(request, key)
    body = await json_body(request)
    action = body.get("action")
    if action is None:
        raise BadRequest("action is required: set it to \"stop\" (case-sensitive)")
    if action != "stop":
        raise BadRequest("action must be \"stop\" (case-sensitive)")
    archive = await services(request).archives.stop(proj.api_key, archive_id)
    return JSONResponse(render(request, archive))


@router.post("/archive/{archive_id}/stop", summary="Stop an archive", **schemas.STOP)
async def stop_archive(request: Request, key: str, archive_id: str) -> JSONResponse:
    proj = await project(request, key)
    archive = await services(request).archives.stop(proj.api_key, archive_id)
    return JSONResponse(render(request, archive))


@router.delete("/archive/{archive_id}", summary="Delete an available archive", **schemas.DELETE)
async def delete_archive(request: Request, key: str, archive_id: str) -> Response:
    proj = await project(request, key)
    try:
        await services(request).archives.delete(proj.api_key, archive_id)
    except NotFound:
        if is_legacy(request):  # the spec answers an invalid archive id with 403
            raise AuthFailed("invalid archive ID") from None
        raise
    return Response(status_code=204)


@router.put("/archive/{archive_id}/layout", summary="Change the layout of a recording archive", **schemas.LAYOUT)
async def set_layout(request: Request, key: str, archive_id: str) -> JSONResponse:
    proj = await project(request, key)
    body = await json_body(request)
    await services(request).archives.get(proj.api_key, archive_id)  # an unknown archive: 404 first
    await services(request).archives.set_layout(proj.api_key, archive_id, parse_layout(body))
    return JSONResponse({})


@router.patch("/archive/{archive_id}/streams", summary="Add or remove a stream (manual stream mode)",
              **schemas.STREAMS)
async def patch_streams(request: Request, key: str, archive_id: str) -> Response:
    proj = await project(request, key)
    body = await json_body(request)
    add, remove = body.get("addStream"), body.get("removeStream")
    if (add is None) == (remove is None):
        raise BadRequest("exactly one of addStream and removeStream is required")
    stream_id = add if add is not None else remove
    if not isinstance(stream_id, str) or not stream_id:
        raise BadRequest(f"{'addStream' if add is not None else 'removeStream'} must be a stream id")
    has_audio, has_video = body.get("hasAudio", True), body.get("hasVideo", True)
    if not isinstance(has_audio, bool) or not isinstance(has_video, bool):
        raise BadRequest("hasAudio and hasVideo must be booleans")
    if add is not None and not has_audio and not has_video:
        raise BadRequest("hasAudio and hasVideo cannot both be false")
    await services(request).archives.select_stream(
        proj.api_key, archive_id, stream_id, add=add is not None, has_audio=has_audio, has_video=has_video)
    return Response(status_code=204)
