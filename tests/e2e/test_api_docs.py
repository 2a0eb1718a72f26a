"""The API docs (/docs: Swagger UI, /redoc: ReDoc) render in Chromium with every request to
anything but this server refused: their scripts and styles come from the package, not a CDN.
The pages' Content-Security-Policy stops what would still leave (ReDoc's footer logo) before
a request is made: the browser reports it, and the test checks that it is the only one."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import E2EServer


def _offline_page(chromium: Any, e2e_server: E2EServer) -> tuple[Any, Any, list[str], list[str], list[str]]:
    """A tab that may reach only the server: any other request is recorded and refused."""
    local = urlsplit(e2e_server.local_url).netloc
    outside: list[str] = []
    served: list[str] = []
    context = chromium.new_context()

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).netloc == local:
            served.append(url)
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return context, page, outside, served, errors


@pytest.mark.parametrize(("path", "operation", "blocked"), [
    ("/docs", "#swagger-ui .opblock .opblock-summary-path", []),
    ("/redoc", "[data-section-id*='operation/'] h2", ["https://cdn.redoc.ly/redoc/logo-mini.svg"]),
])
def test_api_docs_render_without_internet(chromium: Any, e2e_server: E2EServer, path: str, operation: str,
                                          blocked: list[str]) -> None:
    context, page, outside, served, errors = _offline_page(chromium, e2e_server)
    try:
        page.goto(e2e_server.local_url + path)
        page.wait_for_selector(operation, timeout=20_000)
        texts = page.locator(operation).all_inner_texts()
        assert len(texts) >= 10, texts  # the REST operations, rendered from /openapi.json
        body = page.inner_text("body")
        assert "/v2/project/{key}/archive" in body.replace("\u200b", "")
        assert outside == [], f"requests outside the server: {outside}"
        refused = [e for e in errors if "Content Security Policy" in e]
        assert [e for e in errors if e not in refused] == []
        assert all(any(url in e for url in blocked) for e in refused), refused
        assert any("/docs/assets/" in url for url in served) and any("/openapi.json" in url for url in served)
    finally:
        context.close()
