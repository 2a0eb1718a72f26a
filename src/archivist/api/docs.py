"""The API docs, self-hosted: ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) work without internet.

The app is made by ``fastapi-offline``, which serves Swagger UI's and ReDoc's assets from the
package (under ``/docs/assets``) instead of a CDN. Both pages are sent with a
Content-Security-Policy that keeps the browser on this server: ReDoc's footer would otherwise
fetch its logo from its CDN.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ASSETS = "/docs/assets"
PAGES = ("/docs", "/redoc")
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'self'"
)


def install(app: FastAPI) -> None:
    """``/redoc`` from the package's assets, and the policy on both pages."""

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js", redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    app.add_middleware(_DocsPolicy)


class _DocsPolicy:
    """Adds the Content-Security-Policy to the responses of the docs pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") not in PAGES:
            await self.app(scope, receive, send)
            return

        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"content-security-policy", POLICY.encode())]
            await send(message)

        await self.app(scope, receive, send_with_policy)
