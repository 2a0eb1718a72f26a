"""Acting on live sessions: signal, force disconnect, streams (opentok-rest-compat.md §6)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from archivist.api import schemas
from archivist.api.deps import project, services
from archivist.api.errors import json_body
from archivist.errors import BadRequest, NotFound
from archivist.rooms.reasons import CloseReason
from archivist.rooms.room import Room, check_signal

router = APIRouter(tags=["live sessions"])


async def _room(request: Request, key: str, session_id: str) -> Room | None:
    proj = await project(request, key)
    svc = services(request)
    await svc.sessions.get(proj.api_key, session_id)
    return svc.rooms.get(session_id)


async def _signal(request: Request, key: str, session_id: str, connection_id: str | None) -> Response:
    room = await _room(request, key, session_id)
    body = await json_body(request)
    check_signal(body.get("type"), body.get("data"))
    if room is None:
        if connection_id is not None:
            raise NotFound("connection not found")
        return Response(status_code=204)
    await room.signal(body.get("type"), body.get("data"), to=connection_id)
    return Response(status_code=204)


@router.post("/session/{session_id}/signal", summary="Signal every connection", **schemas.SIGNAL)
async def signal_all(request: Request, key: str, session_id: str) -> Response:
    return await _signal(request, key, session_id, None)


@router.post("/session/{session_id}/connection/{connection_id}/signal", summary="Signal one connection",
             **schemas.SIGNAL_ONE)
async def signal_one(request: Request, key: str, session_id: str, connection_id: str) -> Response:
    return await _signal(request, key, session_id, connection_id)


@router.delete("/session/{session_id}/connection/{connection_id}", summary="Force disconnect", **schemas.DISCONNECT)
async def force_disconnect(request: Request, key: str, session_id: str, connection_id: str) -> Response:
    room = await _room(request, key, session_id)
    if room is None:
        raise NotFound("connection not found")
    await room.connection(connection_id).close(CloseReason.FORCE_DISCONNECTED)
    return Response(status_code=204)


@router.get("/session/{session_id}/stream", summary="List a session's streams", **schemas.LIST_STREAMS)
async def list_streams(request: Request, key: str, session_id: str) -> JSONResponse:
    room = await _room(request, key, session_id)
    items = [s.rest_json() for s in room.streams()] if room else []
    return JSONResponse({"count": len(items), "items": items})


@router.get("/session/{session_id}/stream/{stream_id}", summary="Get a stream", response_class=Response,
            **schemas.GET_STREAM)
async def get_stream(request: Request, key: str, session_id: str, stream_id: str) -> Response:
    room = await _room(request, key, session_id)
    stream = room.find_stream(stream_id) if room else None
    if stream is None:
        raise NotFound("stream not found")
    # Served as text/plain: the Node SDK 2.23 parses a JSON-typed body twice (opentok-node#316).
    return Response(json.dumps(stream.rest_json()), media_type="text/plain")


@router.post("/session/{session_id}/mute", summary="Mute every stream (or end the mute state)", **schemas.MUTE_ALL)
async def mute_all(request: Request, key: str, session_id: str) -> JSONResponse:
    room = await _room(request, key, session_id)
    body = await json_body(request)
    active = body.get("active")
    if not isinstance(active, bool):
        raise BadRequest("active must be true or false")
    excluded: set[str] = set()
    for name in ("excludedStreamIds", "excludedStreams"):  # Node SDK / REST docs, Python SDK
        ids = body.get(name)
        if ids is None:
            continue
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or len(ids) > 1000:
            raise BadRequest(f"{name} must be an array of at most 1000 stream ids")
        excluded.update(ids)
    if room is not None:  # no client connected: nothing to mute (the state lives with the live session)
        if active:
            await room.force_mute_all(excluded)
        else:
            await room.disable_force_mute()
    return JSONResponse({})


@router.post("/session/{session_id}/stream/{stream_id}/mute", summary="Mute one stream", **schemas.MUTE_STREAM)
async def mute_stream(request: Request, key: str, session_id: str, stream_id: str) -> JSONResponse:
    room = await _room(request, key, session_id)
    if room is None:
        raise NotFound("stream not found")
    await room.force_mute_stream(stream_id)
    return JSONResponse({})


@router.put("/session/{session_id}/stream", summary="Set streams' layout class lists", **schemas.CLASS_LISTS)
async def set_class_lists(request: Request, key: str, session_id: str) -> JSONResponse:
    room = await _room(request, key, session_id)
    body = await json_body(request)
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise BadRequest("items must be a non-empty array")
    updates: list[tuple[Any, list[str]]] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise BadRequest("each item needs a stream id")
        classes = item.get("layoutClassList")
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise BadRequest("layoutClassList must be an array of strings")
        stream = room.find_stream(item["id"]) if room else None
        if stream is None:
            raise NotFound(f"stream {item['id'][:64]!r} not found in the session")
        updates.append((stream, classes))
    launcher = services(request).launcher
    for stream, classes in updates:
        stream.layout_classes = list(classes)
        launcher.stream_classes_changed(session_id, stream)  # the recordings' layouts follow, live
    return JSONResponse({})
