"""What a fuzzer found answering 500 (issue 12) gets a JSON 4xx, on the same keep-alive
connection; an error nothing handles is a JSON 500 that keeps the connection too."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
import uvicorn
from opentok import Client, MediaModes

from archivist.app import create_app
from archivist.config import Settings
from tests.servers import Server, free_port

DEEP = "[" * 1000 + "]" * 1000


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    """One keep-alive connection for every request of a test: a reset shows as an error."""
    auth = {"X-TB-PARTNER-AUTH": f"{server.project.api_key}:{server.project.api_secret}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(base_url=server.url, headers=auth, limits=limits, timeout=10) as client:
        yield client


def expect(http: httpx.Client, status: int, method: str, url: str, *, text: str | None = None,
           words: str = "") -> None:
    headers = {"Content-Type": "application/json"} if text is not None else {}
    r = http.request(method, url, content=text, headers=headers)
    assert r.status_code == status, (method, url, r.status_code, r.text)
    if method != "HEAD":
        body = r.json()
        assert body["code"] == status and words in body["message"], body
    assert http.get("/health").status_code == 200  # the same connection still serves


def test_fuzz_findings(server: Server, http: httpx.Client, ot: Client) -> None:
    key = server.project.api_key
    base = f"/v2/project/{key}"
    sid = str(ot.create_session(media_mode=MediaModes.routed).session_id)
    expect(http, 403, "HEAD", "/archives/x/download?expires=9999999999&signature=%C3%A8")
    expect(http, 403, "GET", "/archives/x/download?expires=9999999999&signature=%C3%A8", words="signature")
    expect(http, 400, "GET", f"{base}/archive?offset=9223372036854775808", words="offset")
    expect(http, 400, "GET", f"{base}/archive?count=%D9%A1", words="count")
    expect(http, 400, "GET", f"{base}/webhooks/deliveries?limit=%C2%B2", words="limit")
    bodies = [("POST", f"{base}/archive"), ("POST", f"{base}/archive/abc"), ("PUT", f"{base}/archive/abc/layout"),
              ("POST", f"{base}/callback"), ("POST", f"{base}/session/{sid}/signal"),
              ("PUT", f"{base}/session/{sid}/stream"), ("PATCH", f"{base}/archive/abc/streams")]
    for method, url in bodies:
        expect(http, 400, method, url, text='{"x": ' + DEEP + "}", words="nested")
        expect(http, 400, method, url, text=DEEP, words="nested")
        expect(http, 400, method, url, text='{"x": "\\ud800"}', words="surrogate")
        expect(http, 400, method, url, text='{"x": NaN}', words="JSON")
    for text in ('{"sessionId": "' + sid + '", "name": "\\ud800"}',
                 '{"group": "archive", "event": "status", "url": "http://example.com/\\ud800"}',
                 '{"type": "\\udc00", "data": "x"}', '{"type": "chat", "data": "\\udbff"}'):
        url = {"s": f"{base}/archive", "g": f"{base}/callback", "t": f"{base}/session/{sid}/signal"}[text[2]]
        expect(http, 400, "POST", url, text=text, words="surrogate")


def test_unexpected_error_is_a_json_500_on_a_kept_connection(tmp_path: Path,
                                                             capfd: pytest.CaptureFixture[str]) -> None:
    """The real app under real uvicorn, with one route that fails as an unforeseen bug would."""
    settings = Settings(data_dir=tmp_path / "data", host="127.0.0.1", port=free_port(), sample_app=False)
    app = create_app(settings)

    async def broken() -> None:
        raise RuntimeError("a bug nobody foresaw")

    app.add_api_route("/broken", broken, methods=["GET"])
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(base_url=f"http://127.0.0.1:{settings.port}", limits=limits, timeout=30) as client:
            for _ in range(3):
                r = client.get("/broken")
                assert r.status_code == 500 and r.json() == {"code": 500, "message": "internal server error"}
                assert client.get("/health").status_code == 200  # before: "connection reset"
    finally:
        server.should_exit = True
        thread.join(20)
    logged = capfd.readouterr()
    text = logged.out + logged.err
    assert "unhandled error" in text and "RuntimeError: a bug nobody foresaw" in text and "Traceback" in text


def test_project_jwt_lifetime_is_limited(server: Server, http: httpx.Client) -> None:
    url = f"{server.url}/v2/project/{server.project.api_key}/archive"

    def token(exp_in: float) -> dict[str, str]:
        now = int(time.time())
        claims = {"iss": server.project.api_key, "ist": "project", "iat": now, "exp": now + int(exp_in)}
        return {"X-OPENTOK-AUTH": jwt.encode(claims, server.project.api_secret, algorithm="HS256")}

    for ok in (180, 300, 330):  # Python SDK, Node SDK, Node SDK with a client clock 30 s ahead
        assert httpx.get(url, headers=token(ok)).status_code == 200, ok
    for too_far in (10 * 365 * 86400, 3600, 400):
        r = httpx.get(url, headers=token(too_far))
        assert r.status_code == 403 and "too far ahead" in r.json()["message"], (too_far, r.text)
