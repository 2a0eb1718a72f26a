"""Bad input gets a JSON {"code","message"} with the right status, never a 500."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest
from opentok import Client, MediaModes

from tests.servers import Server


@pytest.fixture(scope="module")
def auth(server: Server) -> dict[str, str]:
    return {"X-TB-PARTNER-AUTH": f"{server.project.api_key}:{server.project.api_secret}"}


def project_jwt(server: Server, **over: object) -> str:
    now = int(time.time())
    claims = {"iss": server.project.api_key, "ist": "project", "iat": now, "exp": now + 180} | over
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, server.project.api_secret,
                      algorithm="HS256")


def assert_error(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == status and isinstance(body["message"], str) and body["message"]


def test_malformed_bodies(server: Server, auth: dict[str, str]) -> None:
    url = f"{server.url}/v2/project/{server.project.api_key}/archive"
    for content in (b"{not json", b"[1,2]", b'"text"', b"\xff\xfe", b'{"sessionId": 5}',
                    b'{"sessionId": "1_x", "hasAudio": "yes"}', b'{"sessionId": "1_x", "maxBitrate": "big"}'):
        assert_error(httpx.post(url, headers=auth | {"Content-Type": "application/json"}, content=content), 400)


def test_huge_body_is_413(server: Server, auth: dict[str, str]) -> None:
    url = f"{server.url}/v2/project/{server.project.api_key}/archive"
    assert_error(httpx.post(url, headers=auth, content=b"{" + b" " * 2_000_000 + b"}"), 413)

    def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(40):
            yield b" " * 65536

    assert_error(httpx.post(url, headers=auth, content=chunks()), 413)


def test_unknown_route_and_method(server: Server, auth: dict[str, str]) -> None:
    assert_error(httpx.get(f"{server.url}/v2/project/{server.project.api_key}/nothing", headers=auth), 404)
    assert_error(httpx.put(f"{server.url}/v2/project/{server.project.api_key}/archive", headers=auth), 405)


def test_project_jwt_rules(server: Server) -> None:
    url = f"{server.url}/v2/project/{server.project.api_key}/archive"
    assert httpx.get(url, headers={"X-OPENTOK-AUTH": project_jwt(server)}).status_code == 200
    assert httpx.get(url, headers={"X-OPENTOK-AUTH": project_jwt(server, ist=None)}).status_code == 200
    for token in (project_jwt(server, exp=int(time.time()) - 600), project_jwt(server, ist="account"),
                  project_jwt(server, iss="999"), project_jwt(server, exp=None), "garbage",
                  jwt.encode({"iss": server.project.api_key, "ist": "project", "exp": int(time.time()) + 60},
                             "wrong-secret-wrong-secret-wrong-secret", algorithm="HS256")):
        assert_error(httpx.get(url, headers={"X-OPENTOK-AUTH": token}), 403)
    assert_error(httpx.get(url), 403)
    assert_error(httpx.get(url, headers={"X-TB-PARTNER-AUTH": "nocolon"}), 403)
    # either scheme on either prefix
    legacy = f"{server.url}/v2/partner/{server.project.api_key}/archive"
    assert httpx.get(legacy, headers={"X-OPENTOK-AUTH": project_jwt(server)}).status_code == 200


def test_live_endpoints_without_connections(server: Server, ot: Client, auth: dict[str, str]) -> None:
    session_id = ot.create_session(media_mode=MediaModes.routed).session_id
    base = f"{server.url}/v2/project/{server.project.api_key}/session/{session_id}"
    assert httpx.get(f"{base}/stream", headers=auth).json() == {"count": 0, "items": []}
    assert ot.list_streams(session_id).items == []
    assert_error(httpx.get(f"{base}/stream/nope", headers=auth), 404)
    assert httpx.post(f"{base}/signal", headers=auth, json={"type": "chat", "data": "hi"}).status_code == 204
    ot.send_signal(session_id, {"type": "chat", "data": "hello"})
    assert_error(httpx.post(f"{base}/connection/abc/signal", headers=auth, json={"data": "x"}), 404)
    assert_error(httpx.delete(f"{base}/connection/abc", headers=auth), 404)
    from opentok.exceptions import ForceDisconnectError

    with pytest.raises(ForceDisconnectError):
        ot.force_disconnect(session_id, "abc")
    assert_error(httpx.post(f"{base}/signal", headers=auth, json={"type": 5}), 400)
    assert_error(httpx.post(f"{base}/signal", headers=auth, json={"type": "t" * 200, "data": ""}), 413)
    assert_error(httpx.post(f"{base}/signal", headers=auth, json={"data": "d" * 9000}), 413)
    # malformed: 400; well-formed but none of ours (base64 of "not-a-session"): not found, as documented
    base_sessions = f"{server.url}/v2/project/{server.project.api_key}/session"
    assert_error(httpx.get(f"{base_sessions}/2_x!y/stream", headers=auth), 400)
    assert_error(httpx.get(f"{base_sessions}/1_bm90LWEtc2Vzc2lvbg/stream", headers=auth), 404)


def test_openapi_docs(server: Server) -> None:
    r = httpx.get(f"{server.url}/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert "/v2/project/{key}/archive" in spec["paths"] and "/session/create" in spec["paths"]
