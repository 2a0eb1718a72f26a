"""The sample app without a browser: its pages, its JSON endpoints and their errors, pagination,
running it alone (``archivist sample``) and turning it off, against real server processes."""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from opentok import Client, MediaModes

from archivist.client import ArchivistClient
from tests.servers import Server, free_port, make_server


def data_attrs(page: str, element_id: str) -> dict[str, str]:
    tag = re.search(rf'<[a-z]+ id="{element_id}"([^>]*)>', page, re.S)
    assert tag, f"no #{element_id} in the page"
    return {k: html.unescape(v) for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', tag.group(1))}


def assert_json_error(r: httpx.Response, status: int, words: str = "") -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert body["code"] == status and isinstance(body["message"], str) and body["message"], body
    assert words.lower() in body["message"].lower(), body


def assert_html_error(r: httpx.Response, status: int, words: str) -> None:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("text/html"), r.headers
    message = re.search(r'<p id="error-message">(.*?)</p>', r.text, re.S)
    assert message and words.lower() in html.unescape(message.group(1)).lower(), r.text[-800:]


def test_home_page_and_the_servers_own_routes(server: Server) -> None:
    home = httpx.get(server.url + "/")
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    for link in ('id="host-view" href="/host"', 'id="participant-view" href="/participant"', 'href="/history"'):
        assert link in home.text
    assert httpx.get(server.url + "/sample/static/sample.css").status_code == 200
    # the server's own routes are untouched, and unknown paths keep the REST error shape
    assert httpx.get(server.url + "/static/archivist.js").status_code == 200
    assert httpx.get(server.url + "/docs").status_code == 200
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    assert "/session/create" in paths and not any(p in paths for p in ("/", "/host", "/archive/start"))
    assert_json_error(httpx.get(server.url + "/no/such/thing"), 404)
    auth = {"X-TB-PARTNER-AUTH": f"{server.project.api_key}:{server.project.api_secret}"}
    assert httpx.get(f"{server.url}/v2/partner/{server.project.api_key}/archive", headers=auth).status_code == 200


def test_host_and_participant_join_one_routed_session(server: Server, ot: Client) -> None:
    host = httpx.get(server.url + "/host", timeout=20)
    participant = httpx.get(server.url + "/participant", timeout=20)
    assert host.status_code == 200 and participant.status_code == 200
    h, p = data_attrs(host.text, "app"), data_attrs(participant.text, "app")
    assert h["api-key"] == p["api-key"] == server.project.api_key
    assert h["session-id"] == p["session-id"] and h["session-id"].startswith("1_")
    assert (h["role"], p["role"]) == ("host", "participant")
    host_claims = jwt.decode(h["token"], options={"verify_signature": False})
    participant_claims = jwt.decode(p["token"], options={"verify_signature": False})
    assert (host_claims["role"], participant_claims["role"]) == ("moderator", "publisher")
    assert host_claims["session_id"] == h["session-id"]
    assert json.loads(host_claims["connection_data"]) == {"name": "Host"}
    # the page loads the client library from the server (same origin when embedded)
    assert '<script src="/static/archivist.js"></script>' in host.text
    # the session exists on the server (the app created it through the SDK) and stays the same
    assert ot.list_streams(h["session-id"]).count == 0
    again = data_attrs(httpx.get(server.url + "/participant", timeout=20).text, "app")
    assert again["session-id"] == h["session-id"]
    # the host page has the Ruby sample's buttons
    assert 'id="start"' in host.text and 'id="stop"' in host.text and 'id="recording"' in host.text


def test_json_endpoints_answer_errors_as_code_and_message(server: Server) -> None:
    url, missing = server.url, str(uuid.uuid4())
    assert_json_error(httpx.post(url + "/archive/start"), 400, "sessionId is required")
    assert_json_error(httpx.post(url + "/archive/start", json={"sessionId": 5}), 400, "sessionId")
    broken = httpx.post(url + "/archive/start", content=b"{nope", headers={"content-type": "application/json"})
    assert_json_error(broken, 400, "not valid JSON")
    sid = data_attrs(httpx.get(url + "/host", timeout=20).text, "app")["session-id"]
    # the server's own answer comes through: nobody is connected to the session
    assert_json_error(httpx.post(url + "/archive/start", data={"sessionId": sid}, timeout=20), 400, "no clients")
    assert_json_error(httpx.post(url + "/start", timeout=20), 400, "no clients")
    assert_json_error(httpx.post(url + "/archive/start", data={"sessionId": "not a session"}, timeout=20), 400,
                      "invalid")
    # well-formed but no session of this project: not found (docs/rest-api.md)
    assert_json_error(httpx.post(url + "/archive/start", data={"sessionId": "1_nope"}, timeout=20), 404)
    assert_json_error(httpx.post(f"{url}/archive/{missing}/stop", timeout=20), 404)
    assert_json_error(httpx.post(f"{url}/stop/{missing}", timeout=20), 404)
    assert_json_error(httpx.get(f"{url}/archive/{missing}", timeout=20), 404)
    assert_json_error(httpx.get(f"{url}/archive/bad%20id!", timeout=20), 404)
    assert_json_error(httpx.get(f"{url}/archive?count=lots"), 400, "count must be an integer")
    assert_json_error(httpx.delete(f"{url}/archive/start"), 405)


def test_pages_answer_errors_as_friendly_html(server: Server) -> None:
    url, missing = server.url, str(uuid.uuid4())
    assert_html_error(httpx.get(f"{url}/download/{missing}", timeout=20), 404, "not found")
    assert_html_error(httpx.get(f"{url}/archive/{missing}/view", timeout=20), 404, "not found")
    assert_html_error(httpx.get(f"{url}/download/bad%20id!", timeout=20), 404, "not found")
    assert_html_error(httpx.get(f"{url}/history?page=first", timeout=20), 400, "page must be an integer")
    far = httpx.get(f"{url}/history?page=999", timeout=20)
    assert far.status_code == 200 and 'id="no-archives"' in far.text and 'id="newer"' in far.text


async def test_history_pages_newest_first(server: Server, ot: Client) -> None:
    async with httpx.AsyncClient(timeout=20) as http:
        sid = data_attrs((await http.get(server.url + "/host")).text, "app")["session-id"]
    client = await ArchivistClient.open(server.url, server.project.api_key, sid, ot.generate_token(sid))
    ids: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            for i in range(7):
                # the three ways in: the Ruby sample's buttons, the browser sample's endpoints, the SDK
                if i % 3 == 0:
                    started = (await http.post("/start")).json()
                    stopped = (await http.post(f"/stop/{started['id']}")).json()
                elif i % 3 == 1:
                    started = (await http.post("/archive/start", data={"sessionId": sid, "name": f"n{i}"})).json()
                    stopped = (await http.post(f"/archive/{started['id']}/stop")).json()
                else:
                    archive = await asyncio.to_thread(ot.start_archive, sid, name=f"n{i}")
                    started = {"id": archive.id, "status": archive.status}
                    stopped = {"status": (await asyncio.to_thread(ot.stop_archive, archive.id)).status}
                assert started["status"] == "started", started
                assert stopped["status"] in ("stopped", "available", "failed"), stopped
                ids.append(started["id"])
                await asyncio.sleep(0.01)
            newest_first = ids[::-1]
            first = await http.get("/history")
            rows = re.findall(r'<tr class="archive" data-id="([^"]+)"', first.text)
            assert rows == newest_first[:5]
            assert 'id="older" href="/history?page=2"' in first.text and 'id="newer"' not in first.text
            assert "Archives 1\N{EN DASH}5 of 7" in first.text
            second = await http.get("/history", params={"page": 2})
            assert re.findall(r'<tr class="archive" data-id="([^"]+)"', second.text) == newest_first[5:]
            assert 'id="newer" href="/history?page=1"' in second.text and 'id="older"' not in second.text
            listing = (await http.get("/archive", params={"count": 3, "offset": 1})).json()
            assert listing["count"] == 7 and [a["id"] for a in listing["items"]] == newest_first[1:4]
            one = (await http.get(f"/archive/{ids[1]}")).json()
            assert one["name"] == "n1" and one["sessionId"] == sid
            assert_json_error(await http.post(f"/archive/{ids[1]}/stop"), 409)
    finally:
        await client.close()


# ---- running the sample app alone, and without it ---------------------------------------------


def start_sample(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith(("ARCHIVIST_", "API_"))} | env
    proc = subprocess.Popen([sys.executable, "-m", "archivist.cli", "sample", "--port", str(port)],
                            env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(proc.stdout.read().decode() if proc.stdout else "sample exited")
        try:
            httpx.get(url + "/", timeout=1)
            return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("the sample app did not start")


@pytest.fixture
def samples() -> Iterator[Any]:
    started: list[subprocess.Popen[bytes]] = []

    def run(env: dict[str, str]) -> str:
        proc, url = start_sample(env)
        started.append(proc)
        return url

    yield run
    for proc in started:
        proc.terminate()
        proc.wait(timeout=20)


def test_standalone_sample_app_talks_to_api_url(server: Server, ot: Client, samples: Any) -> None:
    key, secret = server.project.api_key, server.project.api_secret
    url = samples({"API_KEY": key, "API_SECRET": secret, "API_URL": server.url + "/"})
    host = httpx.get(url + "/host", timeout=20)
    assert host.status_code == 200
    attrs = data_attrs(host.text, "app")
    assert attrs["api-key"] == key
    # its own routed session on that server, and the client library from that server
    assert f'<script src="{server.url}/static/archivist.js"></script>' in host.text
    assert ot.list_streams(attrs["session-id"]).count == 0
    history = httpx.get(url + "/history", timeout=20)
    assert history.status_code == 200
    total = ot.list_archives().count
    assert (f"of {total}," in history.text) if total else ('id="no-archives"' in history.text)

    wrong = samples({"API_KEY": key, "API_SECRET": "x" * 40, "API_URL": server.url})
    assert_html_error(httpx.get(wrong + "/history", timeout=20), 502, "refused the sample app's API key")
    assert_json_error(httpx.post(wrong + "/start", timeout=20), 502, "refused")

    nowhere = samples({"API_KEY": key, "API_SECRET": secret, "API_URL": f"http://127.0.0.1:{free_port()}"})
    assert_html_error(httpx.get(nowhere + "/participant", timeout=20), 502, "cannot reach the Archivist server")

    unconfigured = subprocess.run([sys.executable, "-m", "archivist.cli", "sample"], capture_output=True, text=True,
                                  env={k: v for k, v in os.environ.items() if not k.startswith("API_")}, timeout=60)
    assert unconfigured.returncode == 2 and "API_KEY and API_SECRET" in unconfigured.stderr


def test_serve_with_api_key_from_env_and_without_the_sample(tmp_path: Path) -> None:
    configured = make_server(tmp_path / "env", extra_env={"API_KEY": "4567123", "API_SECRET": "e" * 40})
    try:
        page = httpx.get(configured.url + "/participant", timeout=20)
        assert page.status_code == 200 and data_attrs(page.text, "app")["api-key"] == "4567123"
        ot = Client("4567123", "e" * 40, api_url=configured.url)
        assert ot.create_session(media_mode=MediaModes.routed).session_id  # the project exists
        assert "API secret" not in configured.logs() and "e" * 40 not in configured.logs()
    finally:
        configured.stop()
    off = make_server(tmp_path / "off", extra_env={"ARCHIVIST_SAMPLE_APP": "false"})
    try:
        assert_json_error(httpx.get(off.url + "/"), 404)
        assert_json_error(httpx.get(off.url + "/host"), 404)
        assert httpx.get(off.url + "/static/archivist.js").status_code == 200
    finally:
        off.stop()
