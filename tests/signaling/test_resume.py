"""A dropped WebSocket (docs/protocol.md, "Reconnecting"): the connection waits the grace
period for a ``connect`` with its resume token, its streams and subscriptions going on; after
the grace period it closes with networkDisconnected. Real server, real aiortc clients; the
drop is a real TCP abort (no close frame)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from opentok import Client
from websockets.asyncio.client import connect as ws_connect

from archivist.client import ConnectRefused, signaling_url
from tests.servers import Server
from tests.signaling.conftest import ClientFactory

GRACE = 3.0


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"ARCHIVIST_RECONNECT_GRACE": str(GRACE)}


async def test_dropped_websocket_is_resumed_and_the_media_never_stops(
    connect: ClientFactory, ot: Client, session_id: str
) -> None:
    alice = await connect(data="name=alice")
    bob = await connect(data="name=bob")
    assert alice.resume_token and alice.resume_token != bob.resume_token
    first_token = alice.resume_token
    pub = await alice.publish()
    sub = await bob.subscribe(pub.stream_id)
    await sub.wait_frames(10)

    await alice.vanish()
    await bob.signal("while you were away", signal_type="chat", to=alice.connection_id)
    frames = sub.video_frames
    await asyncio.sleep(GRACE / 2)
    assert sub.video_frames > frames + 10  # the stream goes on: its peer connection was never touched
    assert not bob.events_of("connectionDestroyed") and not bob.events_of("streamDestroyed")
    streams = await asyncio.to_thread(ot.list_streams, session_id)
    assert [s.id for s in streams.items] == [pub.stream_id]

    reply = await alice.resume()
    assert reply["resumed"] is True and reply["connection"]["connectionId"] == alice.connection_id
    assert reply["resumeToken"] != first_token and reply["resumeWindow"] == GRACE
    kept = await alice.wait_event("signal", lambda e: e["data"] == "while you were away")
    assert kept["from"]["connectionId"] == bob.connection_id
    assert not alice.events_of("sessionConnected")[1:]  # a resume is no new session
    # signaling works again both ways; nobody ever heard of a disconnect
    await alice.signal("back", signal_type="chat")
    await bob.wait_event("signal", lambda e: e["data"] == "back")
    await asyncio.sleep(GRACE + 1)
    assert not bob.events_of("connectionDestroyed")
    await sub.wait_frames(sub.video_frames + 10)

    # a resume token works once
    async with ws_connect(signaling_url(alice._open_args[0])) as ws:
        await ws.send(json.dumps({"type": "connect", "rid": 1, "apiKey": alice._open_args[1],
                                  "sessionId": session_id, "token": "x", "resume": first_token}))
        await ws.wait_closed()
        assert ws.close_code == 4010


async def test_a_client_that_does_not_come_back_is_cleaned_up(connect: ClientFactory) -> None:
    alice = await connect()
    bob = await connect()
    pub = await alice.publish()
    sub = await bob.subscribe(pub.stream_id)
    await sub.wait_frames(5)
    bob_pub = await bob.publish(audio=False)
    await alice.wait_event("streamCreated", lambda e: e["stream"]["streamId"] == bob_pub.stream_id)
    started = time.monotonic()
    await bob.vanish()
    ev = await alice.wait_event("connectionDestroyed", timeout=GRACE + 8)
    elapsed = time.monotonic() - started
    assert ev["reason"] == "networkDisconnected" and ev["connection"]["connectionId"] == bob.connection_id
    gone = await alice.wait_event("streamDestroyed", lambda e: e["stream"]["streamId"] == bob_pub.stream_id)
    assert gone["reason"] == "networkDisconnected"
    print(f"vanished client cleaned up after {elapsed:.2f} s")
    assert GRACE - 0.5 <= elapsed <= GRACE + 3
    assert (await alice.request("ping"))["type"] == "pong"
    with pytest.raises(ConnectRefused) as refused:
        await bob.resume()
    assert refused.value.close_code == 4010


async def test_a_clean_close_is_not_waited_for(connect: ClientFactory, server: Server) -> None:
    alice = await connect()
    bob = await connect()
    started = time.monotonic()
    await bob.disconnect()
    ev = await alice.wait_event("connectionDestroyed", timeout=GRACE)
    assert ev["reason"] == "clientDisconnected" and time.monotonic() - started < GRACE / 2


async def test_a_resume_takes_over_from_a_websocket_the_server_still_holds(
    connect: ClientFactory, session_id: str
) -> None:
    """A client whose address changed gives up on its quiet WebSocket (its heartbeat) before the
    server's pings notice: the resume moves the connection to the new WebSocket, the old one is
    closed with 4011, and its end changes nothing."""
    alice = await connect(data="name=alice")
    bob = await connect(data="name=bob")
    url, api_key = alice._open_args[0], alice._open_args[1]
    async with ws_connect(signaling_url(url)) as ws:
        await ws.send(json.dumps({"type": "connect", "rid": 1, "apiKey": api_key, "sessionId": session_id,
                                  "token": "x", "resume": alice.resume_token, "lastSeq": alice.last_seq}))
        reply = json.loads(await ws.recv())
        assert reply["type"] == "connected" and reply["resumed"] is True
        assert reply["connection"]["connectionId"] == alice.connection_id
        await alice._wait_closed(5)
        assert alice.close_code == 4011  # the old WebSocket, closed by the server
        await bob.signal("to the new WebSocket", signal_type="chat", to=alice.connection_id)
        while (frame := json.loads(await asyncio.wait_for(ws.recv(), 5)))["type"] != "signal":
            pass
        assert frame["data"] == "to the new WebSocket"
        await asyncio.sleep(GRACE + 1)  # the old WebSocket's end neither suspended nor closed it
        await ws.send(json.dumps({"type": "ping", "rid": 2}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "pong"
        assert not bob.events_of("connectionDestroyed")
