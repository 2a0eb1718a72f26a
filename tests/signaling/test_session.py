"""The signaling protocol (docs/protocol.md) against a real server with real aiortc clients."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import jwt
import pytest
from opentok import Client, MediaModes
from websockets.asyncio.client import connect as ws_connect

from archivist.client import ArchivistClient, ClientError, ConnectRefused, signaling_url
from tests.servers import Server
from tests.signaling.conftest import ClientFactory


def _resign(token: str, secret: str, **changes: object) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(changes)
    return jwt.encode(claims, secret, algorithm="HS256")


async def test_late_joiner_gets_state_and_first_frame(connect: ClientFactory) -> None:
    alice = await connect(data="name=alice")
    bob = await connect(role="subscriber", data="name=bob")
    pub = await alice.publish(name="cam")
    await asyncio.sleep(1.0)  # media has been flowing for a while
    carol = await connect(data="name=carol")
    # the state replay follows the connect reply on the wire: wait for its last part
    await carol.wait_event("streamCreated")
    types = [e["type"] for e in carol.events[:4]]
    assert types[0] == "sessionConnected"
    assert carol.events[0]["connection"]["connectionId"] == carol.connection_id
    created = {e["connection"]["connectionId"] for e in carol.events_of("connectionCreated")}
    assert created == {alice.connection_id, bob.connection_id}
    [stream_ev] = carol.events_of("streamCreated")
    stream = stream_ev["stream"]
    assert stream["streamId"] == pub.stream_id and stream["name"] == "cam"
    assert stream["videoDimensions"] == {"width": 640, "height": 480} and stream["hasAudio"]
    # the others hear about carol, never about themselves
    await alice.wait_event("connectionCreated", lambda e: e["connection"]["connectionId"] == carol.connection_id)
    own = alice.connection_id
    assert not [e for e in alice.events_of("connectionCreated") if e["connection"]["connectionId"] == own]
    sub = await carol.subscribe(pub.stream_id)
    await sub.wait_frames(10, timeout=10)
    latency = sub.first_frame_latency
    assert latency is not None
    print(f"late joiner first frame after {latency * 1000:.0f} ms")
    assert latency < 1.5
    assert (sub.width, sub.height) == (640, 480)


async def test_unpublish_and_leave_reasons(connect: ClientFactory) -> None:
    alice = await connect()
    bob = await connect()
    pub = await alice.publish()
    await bob.wait_event("streamCreated")
    sub = await bob.subscribe(pub.stream_id)
    await sub.wait_frames(5)
    reply = await alice.unpublish(pub)
    assert reply["type"] == "unpublished" and reply["streamId"] == pub.stream_id
    gone = await bob.wait_event("streamDestroyed")
    assert gone["reason"] == "clientDisconnected" and gone["stream"]["streamId"] == pub.stream_id
    own = await alice.wait_event("streamDestroyed")
    assert own["publisher"] is True
    closed = await bob.wait_event("subscriptionClosed", timeout=2) if bob.events_of("subscriptionClosed") else None
    assert closed is None  # a stream going away is told by streamDestroyed, not subscriptionClosed

    pub2 = await alice.publish()
    await bob.wait_event("streamCreated", lambda e: e["stream"]["streamId"] == pub2.stream_id)
    await alice.disconnect()
    assert alice.close_code == 1000
    assert alice.events_of("sessionDisconnected")[-1]["reason"] == "clientDisconnected"
    destroyed = await bob.wait_event("connectionDestroyed")
    assert destroyed["reason"] == "clientDisconnected"
    assert destroyed["connection"]["connectionId"] == alice.connection_id
    stream_gone = await bob.wait_event("streamDestroyed", lambda e: e["stream"]["streamId"] == pub2.stream_id)
    assert stream_gone["reason"] == "clientDisconnected"


async def test_unsubscribe(connect: ClientFactory) -> None:
    alice = await connect()
    bob = await connect()
    pub = await alice.publish(audio=False)
    sub = await bob.subscribe(pub.stream_id)
    await sub.wait_frames(3)
    reply = await bob.unsubscribe(sub)
    assert reply == {"type": "unsubscribed", "subscriptionId": sub.subscription_id, "rid": reply["rid"]}
    with pytest.raises(ClientError) as err:
        await bob.request("unsubscribe", subscriptionId=sub.subscription_id)
    assert err.value.code == 404
    with pytest.raises(ClientError) as err:
        await bob.request("subscribe", streamId="nope", sdp="v=0")
    assert err.value.code == 404


async def test_signals_to_all_and_to_one(connect: ClientFactory) -> None:
    alice = await connect(data="alice")
    bob = await connect(data="bob")
    carol = await connect(data="carol")
    assert (await alice.signal("hello all", "chat"))["type"] == "signalSent"
    for client in (alice, bob, carol):
        ev = await client.wait_event("signal", lambda e: e["data"] == "hello all")
        assert ev["signalType"] == "chat" and ev["from"]["connectionId"] == alice.connection_id
    await bob.signal("just you", "dm", to=carol.connection_id)
    ev = await carol.wait_event("signal", lambda e: e["data"] == "just you")
    assert ev["from"]["data"] == "bob"
    await alice.request("ping")  # alice's events up to now are in
    assert not [e for e in alice.events_of("signal") if e["data"] == "just you"]
    with pytest.raises(ClientError) as err:
        await alice.signal("x" * 9000)
    assert err.value.code == 413
    with pytest.raises(ClientError) as err:
        await alice.signal("x", to="no-such-connection")
    assert err.value.code == 404


async def test_roles_are_enforced(connect: ClientFactory) -> None:
    publisher = await connect()
    subscriber = await connect(role="subscriber")
    pub_only = await connect(role="publisheronly")
    moderator = await connect(role="moderator")
    assert subscriber.capabilities == {
        "publish": False, "subscribe": True, "forceDisconnect": False, "forceUnpublish": False,
        "forceMute": False,
    }
    assert moderator.capabilities["forceDisconnect"] and moderator.capabilities["forceUnpublish"]
    with pytest.raises(ClientError) as err:
        await subscriber.publish()
    assert err.value.code == 403
    pub = await publisher.publish(audio=False)
    with pytest.raises(ClientError) as err:
        await pub_only.subscribe(pub.stream_id)
    assert err.value.code == 403
    for request, field in (("forceDisconnect", "connectionId"), ("forceUnpublish", "streamId")):
        target = subscriber.connection_id if field == "connectionId" else pub.stream_id
        with pytest.raises(ClientError) as err:
            await publisher.request(request, **{field: target})
        assert err.value.code == 403
    # everyone is still connected after being refused
    for client in (publisher, subscriber, pub_only):
        assert (await client.request("ping"))["type"] == "pong"
    # the moderator may
    reply = await moderator.request("forceUnpublish", streamId=pub.stream_id)
    assert reply["type"] == "forceUnpublished"
    ev = await subscriber.wait_event("streamDestroyed")
    assert ev["reason"] == "forceUnpublished"
    reply = await moderator.request("forceDisconnect", connectionId=subscriber.connection_id)
    assert reply["type"] == "forceDisconnected"
    await subscriber._wait_closed(5)
    assert subscriber.close_code == 4008
    assert subscriber.events_of("sessionDisconnected")[-1]["reason"] == "forceDisconnected"
    ev = await publisher.wait_event("connectionDestroyed")
    assert ev["reason"] == "forceDisconnected" and ev["connection"]["connectionId"] == subscriber.connection_id


async def test_refused_tokens_get_close_codes(
    server: Server, ot: Client, session_id: str, token: Callable[..., str], connect: ClientFactory
) -> None:
    bystander = await connect()
    key, secret = server.project.api_key, server.project.api_secret
    good = token()
    other_session = str(ot.create_session(media_mode=MediaModes.routed).session_id)
    cases = {
        "forged": (_resign(good, "not-the-secret"), session_id, key, 4001),
        "garbage": ("eyJnot.a.token", session_id, key, 4001),
        "expired": (_resign(good, secret, exp=int(time.time()) - 3600), session_id, key, 4002),
        "other session": (token(sid=other_session), session_id, key, 4004),
        "unknown session": (_resign(good, secret, session_id=session_id[:-4] + "AAAA"), session_id[:-4] + "AAAA",
                            key, 4004),
        "other apiKey": (good, session_id, "12345", 4004),
    }
    for name, (tok, sid, api_key, code) in cases.items():
        with pytest.raises(ConnectRefused) as err:
            await ArchivistClient.open(server.url, api_key, sid, tok)
        assert err.value.close_code == code, name
        assert err.value.error is not None and err.value.error["type"] == "error", name
        assert tok not in server.logs()
    assert (await bystander.request("ping"))["type"] == "pong"
    assert not bystander.events_of("connectionCreated")


async def test_malformed_messages(server: Server, connect: ClientFactory) -> None:
    client = await connect()
    for bad in ("{not json", "[1,2]", json.dumps({"type": "dance", "rid": 5}), json.dumps({"rid": 6}),
                json.dumps({"type": "publish", "rid": 7, "hasAudio": "yes", "sdp": "v=0"}),
                json.dumps({"type": "subscribe", "rid": 8})):
        await client.send_raw(bad)
    await client.request("ping")
    errors = client.events_of("error") + [e for e in client.events if e.get("type") == "error"]
    codes = [e["code"] for e in client.events_of("error")]
    assert len(client.events_of("error")) >= 2 and set(codes) == {400}
    assert errors  # and replies with a rid went to their request: none is lost
    # before connect: 4400
    async with ws_connect(signaling_url(server.url)) as ws:
        await ws.send("hello")
        frame = json.loads(await ws.recv())
        assert frame["type"] == "error" and frame["code"] == 400
        await ws.wait_closed()
        assert ws.close_code == 4400
    async with ws_connect(signaling_url(server.url)) as ws:
        await ws.send(json.dumps({"type": "ping", "rid": 1}))
        assert json.loads(await ws.recv())["rid"] == 1
        await ws.wait_closed()
        assert ws.close_code == 4400


async def test_connect_timeout(server: Server) -> None:
    async with ws_connect(signaling_url(server.url)) as ws:
        started = time.monotonic()
        await ws.wait_closed()
        assert ws.close_code == 4408
        assert 9 < time.monotonic() - started < 13
