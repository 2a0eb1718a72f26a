"""POST /session/create driven by the official opentok SDK (3.15) and by legacy-shaped requests."""

from __future__ import annotations

import re

import httpx
import pytest
from opentok import ArchiveModes, Client, MediaModes
from opentok.exceptions import OpenTokException

from archivist.sessions import ids
from tests.servers import Server


def test_routed_session_has_opentok_format(ot: Client, server: Server) -> None:
    session = ot.create_session(media_mode=MediaModes.routed)
    assert session.session_id.startswith("1_MX4")
    assert ids.project_key_of(session.session_id) == server.project.api_key
    assert len(session.session_id) <= 255


def test_relayed_always_location(ot: Client, server: Server) -> None:
    relayed = ot.create_session()
    always = ot.create_session(media_mode=MediaModes.routed, archive_mode=ArchiveModes.always,
                               archive_name="auto", archive_resolution="1280x720")
    located = ot.create_session(location="10.1.2.3")
    assert len({relayed.session_id, always.session_id, located.session_id}) == 3
    # the sessions are stored with their modes: starting an archive tells them apart
    headers = {"X-TB-PARTNER-AUTH": f"{server.project.api_key}:{server.project.api_secret}"}
    r = httpx.post(f"{server.url}/v2/partner/{server.project.api_key}/archive", headers=headers,
                   json={"sessionId": relayed.session_id, "action": "start"})
    assert r.status_code == 409, r.text
    r = httpx.post(f"{server.url}/v2/partner/{server.project.api_key}/archive", headers=headers,
                   json={"sessionId": always.session_id, "action": "start"})
    assert r.status_code == 400 and "no clients" in r.json()["message"]


def test_json_response_is_exactly_application_json(server: Server) -> None:
    headers = {"X-TB-PARTNER-AUTH": f"{server.project.api_key}:{server.project.api_secret}",
               "Accept": "application/json"}
    r = httpx.post(f"{server.url}/session/create", headers=headers, data={"p2p.preference": "disabled"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert isinstance(body, list) and body[0]["session_id"].startswith("1_")


def test_xml_for_legacy_accept(server: Server) -> None:
    headers = {"X-TB-PARTNER-AUTH": f"{server.project.api_key}:{server.project.api_secret}", "Accept": "*/*"}
    r = httpx.post(f"{server.url}/session/create", headers=headers, data={"p2p.preference": "enabled"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/xml")
    match = re.search(r"<session_id>([^<]+)</session_id>", r.text)
    assert match and ids.project_key_of(match.group(1)) == server.project.api_key
    assert f"<partner_id>{server.project.api_key}</partner_id>" in r.text


def test_bad_form_values_are_400(server: Server) -> None:
    headers = {"X-TB-PARTNER-AUTH": f"{server.project.api_key}:{server.project.api_secret}",
               "Accept": "application/json"}
    for data in ({"p2p.preference": "sometimes"}, {"archiveMode": "never"},
                 {"p2p.preference": "enabled", "archiveMode": "always"}, {"location": "not-an-ip"},
                 {"p2p.preference": "disabled", "archiveMode": "always", "archiveResolution": "10x10"}):
        r = httpx.post(f"{server.url}/session/create", headers=headers, data=data)
        assert r.status_code == 400, (data, r.text)
        assert r.json()["code"] == 400 and r.json()["message"]


def test_wrong_secret_is_refused(server: Server) -> None:
    bad = Client(server.project.api_key, "wrongsecret0123456789", api_url=server.url)
    with pytest.raises(OpenTokException, match=r"invalid credentials|Failed"):
        bad.create_session()
    r = httpx.post(f"{server.url}/session/create", data={})
    assert r.status_code == 403 and r.json()["code"] == 403


def test_trailing_slash_api_url(server: Server) -> None:
    client = Client(server.project.api_key, server.project.api_secret, api_url=server.url + "/")
    session = client.create_session(media_mode=MediaModes.routed)
    assert session.session_id.startswith("1_")
