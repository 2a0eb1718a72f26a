"""Error mapping: every error body is JSON ``{"code": <int>, "message": "<text>"}``.

Also the request-shaping middleware: path normalisation (duplicate and trailing slashes, which
the SDKs send for an ``api_url`` with a trailing slash and the spec's examples use) and the
request body size limit (413).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archivist import json_input, logs
from archivist.archives.status import IllegalTransition
from archivist.errors import (
    ArchivistError,
    AuthFailed,
    BadRequest,
    ConcurrentChange,
    Conflict,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RecordingFailed,
    Unavailable,
)

log = logs.get(__name__)

HTTP_STATUS: dict[type[ArchivistError], int] = {
    BadRequest: 400,
    AuthFailed: 403,  # always 403: the SDKs map 403 to their AuthError
    NotFound: 404,
    MethodNotAllowed: 405,
    Conflict: 409,
    ConcurrentChange: 409,
    PayloadTooLarge: 413,
    Unavailable: 503,
    RecordingFailed: 500,
}


def http_status(exc: ArchivistError) -> int:
    """The HTTP status of a domain error (its nearest mapped class; 500 if none)."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500

_MESSAGES = {404: "not found", 405: "method not allowed", 413: "request body too large"}


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status, headers=headers)


class RequestShaping:
    """ASGI middleware: normalise the path and cap the request body."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "/")
        clean = re.sub(r"/{2,}", "/", path)
        if len(clean) > 1 and clean.endswith("/"):
            clean = clean.rstrip("/") or "/"
        if clean != path:
            scope = dict(scope)
            scope["path"] = clean
            scope["raw_path"] = clean.encode()
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_body
                except ValueError:
                    too_big = False
                    await error_response(400, "invalid Content-Length")(scope, receive, send)
                    return
                if too_big:
                    await error_response(413, f"request body larger than {self.max_body} bytes")(
                        scope, receive, send
                    )
                    return
        received = 0
        limit = self.max_body

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await error_response(413, f"request body larger than {self.max_body} bytes")(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


class UnexpectedErrors:
    """ASGI middleware: an exception nothing else handled becomes a JSON 500, traceback logged.

    Starlette's ``ServerErrorMiddleware`` (where an ``Exception`` handler would be installed)
    sends the 500 and then re-raises, so uvicorn closes the keep-alive connection and the
    client's next request on it fails with "connection reset". Here the error ends with the
    response: the connection stays usable. Once a response has started nothing can be sent
    any more, and the error goes on up (the connection is then closed, as it must be).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error", method=scope.get("method"), path=scope.get("path"))
            if started:
                raise
            await error_response(500, "internal server error")(scope, receive, send)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route serves at the request's path. Each method of a path is its own
    route, and the router's 405 names only the first route's: probe them all."""
    return [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in app.router.routes)
    ]


def install(app: FastAPI, max_body: int) -> None:
    app.add_middleware(RequestShaping, max_body=max_body)
    app.add_middleware(UnexpectedErrors)  # outermost of ours: also covers RequestShaping

    @app.exception_handler(ArchivistError)
    async def _domain(_request: Request, exc: ArchivistError) -> JSONResponse:
        return error_response(http_status(exc), exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) and exc.detail else _MESSAGES.get(exc.status_code, "error")
        if exc.status_code == 404 and message == "Not Found":
            message = "not found"
        if exc.status_code == 405 and message == "Method Not Allowed":
            message = "method not allowed"
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # the router names only the first route's methods
            headers["Allow"] = ", ".join(allowed_methods(app, request.scope))
        return error_response(exc.status_code, message, headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        return error_response(400, f"invalid request: {where} {first.get('msg', '')}".strip())

    @app.exception_handler(IllegalTransition)
    async def _illegal(_request: Request, exc: IllegalTransition) -> JSONResponse:
        log.error("illegal archive transition", old=exc.old, new=exc.new)
        return error_response(409, f"archive cannot go from {exc.old.value} to {exc.new.value}")


async def json_body(request: Request, *, max_chars: int | None = None, lenient_quotes: bool = False) -> dict[str, Any]:
    """The request's JSON object. Empty body: ``{}`` (SDKs send bodiless POSTs labelled JSON).

    ``lenient_quotes`` also accepts the single-quoted object of the spec's own curl example
    for the callback registry (``{'url':'…', 'group': 'archive','event': 'status'}``).
    """
    from archivist.errors import BadRequest

    raw = await request.body()
    if max_chars is not None and len(raw) > max_chars:
        raise BadRequest(f"the JSON data cannot be longer than {max_chars} characters")
    if not raw.strip():
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not UTF-8") from None
    try:
        value = json_input.loads(text)
    except json_input.InvalidJson as exc:
        value = _single_quoted(text) if lenient_quotes else None
        if value is None:
            message = "request body is not valid JSON" if exc.message == "not valid JSON" else exc.message
            raise BadRequest(message) from None
    if not isinstance(value, dict):
        raise BadRequest("request body must be a JSON object")
    return value


_SQ_PAIR = re.compile(r"""\s*'([^'\\]*)'\s*:\s*'([^'\\]*)'\s*""")


def _single_quoted(text: str) -> dict[str, Any] | None:
    """Parse a flat object of single-quoted string pairs; anything else is None."""
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        return None
    inner = body[1:-1].strip()
    if not inner:
        return None
    out: dict[str, Any] = {}
    for part in inner.split(","):
        match = _SQ_PAIR.fullmatch(part)
        if match is None:
            return None
        out[match.group(1)] = match.group(2)
    return out
