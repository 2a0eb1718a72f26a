"""The 2013 spec's curl examples, replayed over HTTP with X-TB-PARTNER-AUTH on /v2/partner."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid

import httpx
import pytest
from opentok import Client, MediaModes

from archivist.archives.status import ArchiveStatus, Reason
from tests.seed import seed_archive
from tests.servers import Server


@pytest.fixture(scope="module")
def auth(server: Server) -> dict[str, str]:
    return {"X-TB-PARTNER-AUTH": f"{server.project.api_key}:{server.project.api_secret}"}


@pytest.fixture(scope="module")
def base(server: Server) -> str:
    return f"{server.url}/v2/partner/{server.project.api_key}"


def curl(*args: str) -> tuple[int, str]:
    """Run the real curl like the spec's examples do (-i) and return (status, body)."""
    assert shutil.which("curl"), "curl is needed to replay the spec's examples"
    out = subprocess.run(["curl", "-s", "-i", *args], capture_output=True, text=True, timeout=30, check=True).stdout
    head, _, body = out.replace("\r\n", "\n").partition("\n\n")
    return int(head.split()[1]), body


def test_start_example(server: Server, ot: Client, base: str) -> None:
    session_id = ot.create_session(media_mode=MediaModes.routed).session_id
    data = '{"sessionId": "' + session_id + '", "action": "start", "name": "Foo"}'
    status, body = curl("-H", "Content-Type: application/json", "-X", "POST",
                        "-H", f"X-TB-PARTNER-AUTH:{server.project.api_key}:{server.project.api_secret}",
                        "-d", data, f"{base}/archive/")
    assert status == 400 and json.loads(body) == {"code": 400,
                                                  "message": "no clients are actively connected to the session"}


def test_start_action_rules(ot: Client, base: str, auth: dict[str, str]) -> None:
    session_id = ot.create_session(media_mode=MediaModes.routed).session_id
    r = httpx.post(f"{base}/archive", headers=auth, json={"sessionId": session_id, "action": "Start"})
    assert r.status_code == 400 and "case-sensitive" in r.json()["message"]
    r = httpx.post(f"{base}/archive", headers=auth, json={"action": "start"})
    assert r.status_code == 400 and "sessionId" in r.json()["message"]
    r = httpx.post(f"{base}/archive", headers=auth, json={"sessionId": "garbage", "action": "start"})
    assert r.status_code == 400


def test_stop_example(server: Server, ot: Client, base: str) -> None:
    session_id = ot.create_session(media_mode=MediaModes.routed).session_id
    running = seed_archive(server, session_id, ArchiveStatus.STARTED, name="The archive name you supplied")
    hdr = f"X-TB-PARTNER-AUTH:{server.project.api_key}:{server.project.api_secret}"
    status, body = curl("-H", "Content-Type: application/json", "-X", "POST", "-H", hdr,
                        "-d", '{"action" : "stop"}', f"{base}/archive/{running.id}")
    assert status == 200, body
    stopped = json.loads(body)
    assert stopped["status"] == "stopped" and stopped["id"] == running.id and stopped["url"] is None
    assert stopped["reason"] == "user initiated" and stopped["partnerId"] == int(server.project.api_key)
    assert set(stopped) >= {"createdAt", "duration", "id", "name", "partnerId", "reason", "sessionId", "size",
                            "status", "url"}
    status, body = curl("-H", "Content-Type: application/json", "-X", "POST", "-H", hdr,
                        "-d", '{"action" : "stop"}', f"{base}/archive/{running.id}")
    assert status == 409
    status, _ = curl("-X", "POST", "-H", hdr, "-d", '{"action" : "STOP"}', f"{base}/archive/{running.id}")
    assert status == 400
    status, _ = curl("-X", "POST", "-H", hdr, "-d", "{}", f"{base}/archive/{running.id}")
    assert status == 400
    status, _ = curl("-X", "POST", "-H", hdr, "-d", '{"action":"stop"}', f"{base}/archive/{uuid.uuid4()}")
    assert status == 404


def test_list_get_delete_examples(server: Server, ot: Client, base: str) -> None:
    session_id = ot.create_session(media_mode=MediaModes.routed).session_id
    done = seed_archive(server, session_id, ArchiveStatus.AVAILABLE, reason=Reason.MAX_DURATION)
    hdr = f"X-TB-PARTNER-AUTH:{server.project.api_key}:{server.project.api_secret}"
    status, body = curl("-X", "GET", "-H", hdr, f"{base}/archive")
    listing = json.loads(body)
    assert status == 200 and listing["count"] >= 1 and listing["items"][0]["id"] == done.id
    status, body = curl("-X", "GET", "-H", hdr, f"{base}/archive/{done.id}")
    got = json.loads(body)
    assert status == 200 and got["status"] == "available" and got["reason"] == "90 mins exceeded"
    assert f"/archives/{done.id}/download?expires=" in got["url"] and "&signature=" in got["url"]
    # today's API words the same reason differently
    today = httpx.get(f"{server.url}/v2/project/{server.project.api_key}/archive/{done.id}",
                      headers={"X-TB-PARTNER-AUTH": hdr.split(":", 1)[1]}).json()
    assert today["reason"] == "maximum duration exceeded"
    status, _ = curl("-X", "GET", "-H", hdr, f"{base}/archive/{uuid.uuid4()}")
    assert status == 400  # the spec: an invalid archive ID is a 400 on get
    status, body = curl("-X", "DELETE", "-H", hdr, f"{base}/archive/{done.id}")
    assert status == 204 and body == ""
    status, _ = curl("-X", "DELETE", "-H", hdr, f"{base}/archive/{uuid.uuid4()}")
    assert status == 403  # the spec: an invalid archive ID is a 403 on delete


def test_list_paging(server: Server, ot: Client, base: str, auth: dict[str, str]) -> None:
    session_id = ot.create_session(media_mode=MediaModes.routed).session_id
    made = [seed_archive(server, session_id, ArchiveStatus.AVAILABLE, name=f"a{i}") for i in range(5)]
    r = httpx.get(f"{base}/archive", headers=auth, params={"offset": 1, "count": 2, "sessionId": session_id})
    body = r.json()
    assert body["count"] == 5 and [a["name"] for a in body["items"]] == ["a3", "a2"]
    assert httpx.get(f"{base}/archive", headers=auth, params={"count": 5000}).status_code == 200
    for bad in ({"count": "x"}, {"offset": "-1"}):
        r = httpx.get(f"{base}/archive", headers=auth, params=bad)
        assert r.status_code == 400 and r.json()["code"] == 400
    assert made


def test_callback_examples(server: Server, base: str) -> None:
    hdr = f"X-TB-PARTNER-AUTH:{server.project.api_key}:{server.project.api_secret}"
    callback_url = "http://www.example.com"
    # exactly the spec's example, single quotes and all
    status, body = curl("-X", "POST", "-H", "Content-Type: application/json", "-H", hdr,
                        "-d", "{'url':'" + callback_url + "', 'group': 'archive','event': 'status'}",
                        f"{base}/callback")
    assert status == 200, body
    created = json.loads(body)
    assert created["uri"] == callback_url and created["id"]
    status, body = curl("-X", "GET", "-H", hdr, f"{base}/callback")
    listed = json.loads(body)
    assert status == 200 and any(c["id"] == created["id"] and c["group"] == "archive" and c["event"] == "status"
                                 for c in listed)
    assert len(listed[0]["createdAt"]) == len("2013-12-08 17:14:52.0")
    status, _ = curl("-X", "DELETE", "-H", hdr, f"{base}/callback/{created['id']}")
    assert status == 204
    status, _ = curl("-X", "DELETE", "-H", hdr, f"{base}/callback/{created['id']}")
    assert status == 404


def test_callback_errors(server: Server, base: str, auth: dict[str, str]) -> None:
    for body in ('{"url": "http://x.example", "group": "archive"', '{"group": "archive", "event": "status"}',
                 '["url"]', '{"url": "ftp://x", "group": "archive", "event": "status"}',
                 json.dumps({"url": "http://e.example/" + "a" * 8100, "group": "archive", "event": "status"})):
        r = httpx.post(f"{base}/callback", headers=auth | {"Content-Type": "application/json"}, content=body)
        assert r.status_code == 400, body
        assert r.json()["code"] == 400
    r = httpx.post(f"{base}/callback", headers={"X-TB-PARTNER-AUTH": f"{server.project.api_key}:nope"},
                   json={"url": "http://x.example", "group": "archive", "event": "status"})
    assert r.status_code == 403
    # today's API (Node SDK shape): a JSON array with numeric times
    today = f"{server.url}/v2/project/{server.project.api_key}/callback"
    r = httpx.post(today, headers=auth, json={"url": "https://h.example/cb", "group": "archive", "event": "status"})
    assert r.status_code == 200 and isinstance(r.json()["createdAt"], int)
    assert isinstance(httpx.get(today, headers=auth).json(), list)
