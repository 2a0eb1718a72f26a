"""Frames a fuzzer found crashing the signaling endpoint (issue 12) get what docs/protocol.md says:
before connect an ``error`` frame and close 4400 (4001 for a bad token); after connect an
``error`` frame with the connection still up."""

from __future__ import annotations

import base64
import json

from websockets.asyncio.client import connect as ws_connect

from archivist.client import ArchivistClient, signaling_url
from tests.servers import Server
from tests.signaling.conftest import ClientFactory

DEEP = "[" * 5000 + "]" * 5000


async def _refused(server: Server, text: str) -> tuple[dict[str, object], int | None]:
    async with ws_connect(signaling_url(server.url)) as ws:
        await ws.send(text)
        frame = json.loads(await ws.recv())
        await ws.wait_closed()
        return frame, ws.close_code


def _connect_frame(server: Server, session_id: str, token_json: str) -> str:
    """A connect frame with the token spliced in as raw JSON text (so it can hold ``\\ud800``)."""
    head = json.dumps({"type": "connect", "rid": 1, "apiKey": server.project.api_key, "sessionId": session_id})
    return head[:-1] + ', "token": ' + token_json + "}"


async def test_before_connect(server: Server, session_id: str) -> None:
    frame, code = await _refused(server, '{"type": "connect", "rid": 1, "x": ' + DEEP + "}")
    assert frame["type"] == "error" and frame["code"] == 400 and "nested" in str(frame["message"])
    assert code == 4400
    t1 = "T1==" + base64.b64encode(
        f"partner_id={server.project.api_key}&sig=\u00e8:session_id={session_id}&role=publisher".encode()
    ).decode()
    for token_json in (json.dumps(t1), '"eyJ\\ud800.x.y"', '"T1==\\udc00"'):
        frame, code = await _refused(server, _connect_frame(server, session_id, token_json))
        assert frame["type"] == "error" and frame["code"] == 403, token_json
        assert code == 4001, token_json
    frame, code = await _refused(server, '{"type": "connect", "rid": 1, "apiKey": "\\ud800", "sessionId": "x", '
                                         '"token": "y"}')
    assert frame["code"] == 400 and code == 4400


async def test_after_connect(server: Server, connect: ClientFactory) -> None:
    alice: ArchivistClient = await connect()
    bob: ArchivistClient = await connect()
    await alice.send_raw('{"type": "ping", "rid": "deep", "x": ' + DEEP + "}")
    await alice.send_raw('{"type": "signal", "rid": "s1", "signalType": "\\ud800", "data": "x"}')
    await alice.send_raw('{"type": "signal", "rid": "s2", "signalType": "chat", "data": "a\\udfffb"}')
    await alice.send_raw('{"type": "ping", "rid": "\\ud800"}')
    await alice.send_raw('{"type": "ping", "rid": NaN}')
    assert (await alice.request("ping"))["type"] == "pong"
    errors = alice.events_of("error")
    assert len(errors) == 5 and {e["code"] for e in errors} == {400}, errors
    assert [e.get("rid") for e in errors] == [None, "s1", "s2", None, None]
    assert "nested" in errors[0]["message"] and "surrogate" in errors[1]["message"]
    # still connected, as seen by the others too
    await alice.request("signal", signalType="chat", data="still here")
    got = await bob.wait_event("signal", lambda e: e["data"] == "still here")
    assert got["from"]["connectionId"] == alice.connection_id
    assert not bob.events_of("connectionDestroyed")
