"""The sample app as the OpenTok.js samples' "test web service" (learning-opentok's routes):
credentials for a room, archive control, and CORS for pages served from another origin."""

from __future__ import annotations

import httpx
import jwt

from tests.servers import Server

ORIGIN = "http://127.0.0.1:9"  # a page's origin: any other origin than the service's


def claims(token: str) -> dict[str, object]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_session_and_rooms_give_credentials(server: Server) -> None:
    first = httpx.get(server.url + "/session", headers={"Origin": ORIGIN}, timeout=20)
    assert first.status_code == 200, first.text
    assert first.headers["access-control-allow-origin"] == "*"
    body = first.json()
    assert set(body) == {"apiKey", "sessionId", "token"}
    assert body["apiKey"] == server.project.api_key and body["sessionId"].startswith("1_")
    assert claims(body["token"])["session_id"] == body["sessionId"]
    assert claims(body["token"])["role"] == "publisher"
    # /session is the app's own session: the host and participant pages are in it too
    host = httpx.get(server.url + "/host", timeout=20).text
    assert f'data-session-id="{body["sessionId"]}"' in host
    again = httpx.get(server.url + "/session").json()
    assert again["sessionId"] == body["sessionId"] and again["token"] != body["token"]
    assert httpx.get(server.url + "/room/session").json()["sessionId"] == body["sessionId"]

    a1 = httpx.get(server.url + "/room/alpha", timeout=20).json()
    a2 = httpx.get(server.url + "/room/alpha", timeout=20).json()
    b = httpx.get(server.url + "/room/beta", timeout=20).json()
    assert a1["sessionId"] == a2["sessionId"] != b["sessionId"]
    assert body["sessionId"] not in (a1["sessionId"], b["sessionId"])

    bad = httpx.get(server.url + "/room/" + "x" * 65)
    assert bad.status_code == 400 and bad.json()["code"] == 400, bad.text


def test_cors_preflight_and_errors_carry_cors_headers(server: Server) -> None:
    pre = httpx.options(
        server.url + "/archive/start",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )
    assert pre.status_code == 200, pre.text
    assert pre.headers["access-control-allow-origin"] == "*"
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert "content-type" in pre.headers["access-control-allow-headers"].lower()
    sid = httpx.get(server.url + "/session").json()["sessionId"]
    # nobody is connected: the server's refusal comes through as JSON, readable cross-origin
    refused = httpx.post(server.url + "/archive/start", json={"sessionId": sid}, headers={"Origin": ORIGIN}, timeout=20)
    assert refused.status_code == 400 and refused.json()["code"] == 400, refused.text
    assert refused.headers["access-control-allow-origin"] == "*"
    listing = httpx.get(server.url + "/archive", headers={"Origin": ORIGIN}, timeout=20)
    assert listing.status_code == 200 and set(listing.json()) == {"count", "items"}
    assert listing.headers["access-control-allow-origin"] == "*"
    missing = httpx.get(server.url + "/archive/nope", headers={"Origin": ORIGIN}, timeout=20)
    assert missing.status_code == 404 and missing.headers["access-control-allow-origin"] == "*"
