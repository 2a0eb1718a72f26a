"""The media ICE configuration (media/ice.py): settings, TURN REST credentials, and real aiortc
peers whose sockets bind inside the port range and whose candidates announce public addresses."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
from dataclasses import replace
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from archivist.client import TestPatternTrack
from archivist.config import Settings
from archivist.media import PublisherPeer
from archivist.media.ice import IceConfig, IceConfigError, IceUrl, PortRange, turn_rest_credentials
from archivist.media.peers import MediaError
from tests.servers import free_udp_range, host_address, udp_sockets


def test_port_range_parse() -> None:
    assert PortRange.parse("40000-40199") == PortRange(40000, 40199)
    assert PortRange.parse(" 5000 - 5001 ").size == 2  # type: ignore[union-attr]
    assert PortRange.parse("41000") == PortRange(41000, 41000)
    assert PortRange.parse("") is None
    assert 40199 in PortRange(40000, 40199) and 40200 not in PortRange(40000, 40199)
    for bad in ("40199-40000", "0-10", "40000-70000", "a-b", "40000:40199"):
        with pytest.raises(IceConfigError, match="ARCHIVIST_ICE_PORT_RANGE"):
            PortRange.parse(bad)


def test_rest_credentials_are_coturns_scheme() -> None:
    username, password = turn_rest_credentials("s3cret", "conn-1", 3600, now=1_700_000_000.7)
    assert username == "1700003600:conn-1"
    # the password is base64(HMAC-SHA1(secret, username)): check with openssl, not with Python
    out = subprocess.run(
        ["openssl", "dgst", "-sha1", "-hmac", "s3cret", "-binary"], input=username.encode(), capture_output=True,
        check=True,
    ).stdout
    assert password == base64.b64encode(out).decode()


def test_urls() -> None:
    u = IceUrl.parse("turns:turn.example.com:443?transport=tcp", "X")
    assert (u.scheme, u.host, u.port, u.transport, u.server_usable) == ("turns", "turn.example.com", 443, "tcp", True)
    assert IceUrl.parse("turn:10.0.0.1", "X").port == 3478 and IceUrl.parse("turn:10.0.0.1", "X").transport == "udp"
    assert IceUrl.parse("turns:t.example.com", "X").port == 5349
    assert not IceUrl.parse("stun:stun.example.com:3478", "X").is_turn
    for bad in ("http://x", "turn:x?transport=sctp", "stun:x?transport=udp", "turn:[::1]:3478"):
        with pytest.raises(IceConfigError, match="ARCHIVIST_TURN_URLS"):
            IceUrl.parse(bad, "ARCHIVIST_TURN_URLS")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"turn_urls": ("turn:t:3478",)}, "needs ARCHIVIST_TURN_SECRET"),
        ({"turn_urls": ("turn:t:3478",), "turn_secret": "x", "turn_username": "u", "turn_password": "p"}, "not both"),
        ({"turn_urls": ("turn:t:3478",), "turn_username": "u"}, "go together"),
        ({"ice_transport_policy": "relay"}, "needs a TURN server"),
        ({"ice_transport_policy": "nat"}, "all or relay"),
        ({"turn_urls": ("turn:t",), "turn_secret": "x", "turn_ttl": 0}, "ARCHIVIST_TURN_TTL"),
        ({"public_ips": ("turn.example.com",)}, "ARCHIVIST_PUBLIC_IPS"),
        ({"ice_hosts": ("eth0",)}, "ARCHIVIST_ICE_HOSTS"),
        ({"stun_urls": ("turn:t",)}, "ARCHIVIST_STUN_URLS"),
    ],
)
def test_bad_settings_name_the_variable(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(IceConfigError, match=message):
        IceConfig.from_settings(Settings(**settings))


def test_clients_get_fresh_credentials_per_connection() -> None:
    now = [1_700_000_000.0]
    ice = replace(
        IceConfig.from_settings(Settings(
            stun_urls=("stun:stun.example.com:3478",),
            turn_urls=("turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443?transport=tcp"),
            turn_secret="s3cret",
            turn_ttl=600,
        )),
        clock=lambda: now[0],
    )
    stun, turn = ice.client_servers("c1")
    assert stun == {"urls": ["stun:stun.example.com:3478"]}
    assert turn["urls"] == ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:443?transport=tcp"]
    assert turn["username"] == "1700000600:c1"
    assert (turn["username"], turn["credential"]) == turn_rest_credentials("s3cret", "c1", 600, now[0])
    now[0] += 5
    assert ice.client_servers("c1")[1]["username"] == "1700000605:c1"
    assert ice.client_servers("c2")[1]["username"] == "1700000605:c2"
    assert "s3cret" not in repr(ice) and "s3cret" not in str(ice.describe())

    static = IceConfig.from_settings(Settings(turn_urls=("turn:t:3478",), turn_username="alice", turn_password="pw"))
    assert static.client_servers("c1") == [{"urls": ["turn:t:3478"], "username": "alice", "credential": "pw"}]
    assert IceConfig().client_servers("c1") == []


def test_server_peers_configuration() -> None:
    base = Settings(
        stun_urls=("stun:stun.example.com:3478",),
        turn_urls=("turn:t.example.com:3478?transport=udp", "turn:t.example.com:3478?transport=tcp"),
        turn_secret="s3cret",
    )
    direct = IceConfig.from_settings(base).rtc_configuration("c1")
    assert direct.iceTransportPolicy.value == "all"
    # policy all: STUN for the public address; the server needs no TURN allocation of its own
    assert [s.urls for s in direct.iceServers or []] == ["stun:stun.example.com:3478"]
    relay = IceConfig.from_settings(base.replace(ice_transport_policy="relay")).rtc_configuration("c1")
    assert relay.iceTransportPolicy.value == "relay"
    [server] = relay.iceServers or []
    assert server.urls == "turn:t.example.com:3478?transport=udp"  # the first URL aiortc can use
    assert server.username is not None and server.username.endswith(":server-c1")
    assert IceConfig().rtc_configuration("c1").iceServers == []  # no default STUN lookup


# ---- real peers --------------------------------------------------------------------------------
async def offer() -> RTCPeerConnection:
    client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    client.addTransceiver(TestPatternTrack(160, 120, 15), direction="sendonly")
    await client.setLocalDescription(await client.createOffer())
    return client


def candidates(sdp: str) -> list[tuple[str, int, str]]:
    out = []
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            parts = line.split()
            out.append((parts[4], int(parts[5]), parts[7]))
    return out


def udp_ports() -> set[int]:
    return {port for _, port in udp_sockets(os.getpid())}


async def test_server_peer_binds_in_the_range_and_announces_public_ips() -> None:
    low, high = free_udp_range(4)
    ice = IceConfig(port_range=PortRange(low, high), hosts=(host_address(),), public_ips=("203.0.113.7",))
    client = await offer()
    peer = PublisherPeer("publisher c1", ice)
    try:
        before = udp_ports()
        answer = await peer.answer(client.localDescription.sdp)
        found = candidates(answer)
        assert found and all(host == "203.0.113.7" and typ == "host" for host, _, typ in found), found
        assert all(low <= port <= high for _, port, _ in found)
        bound = udp_ports() - before
        assert bound and all(low <= p <= high for p in bound), (bound, low, high)
    finally:
        await peer.close()
        await client.close()


async def test_media_flows_through_range_ports_and_the_client_is_untouched() -> None:
    low, high = free_udp_range(3)
    ice = IceConfig(port_range=PortRange(low, high), hosts=(host_address(),))
    client = await offer()
    peer = PublisherPeer("publisher c1", ice)
    try:
        answer = await peer.answer(client.localDescription.sdp)
        [(host, port, _)] = candidates(answer)
        assert host == host_address() and low <= port <= high
        await client.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        assert await peer.wait_flowing(10)
        # the in-process client gathered with aioice's defaults: ephemeral ports
        assert all(not low <= p <= high for _, p, _ in candidates(client.localDescription.sdp))
        from archivist.media import seams

        [route] = seams.ice_routes(peer.pc)
        assert route.local_port == port and route.local_type == "host"
    finally:
        await peer.close()
        await client.close()


async def test_a_full_range_is_a_clear_error_and_frees_up() -> None:
    low, _ = free_udp_range(1)
    ice = IceConfig(port_range=PortRange(low, low), hosts=(host_address(),))
    clients = [await offer() for _ in range(3)]
    first = PublisherPeer("publisher c1", ice)
    second = PublisherPeer("publisher c2", ice)
    third = PublisherPeer("publisher c3", ice)
    try:
        await first.answer(clients[0].localDescription.sdp)
        with pytest.raises(MediaError) as refused:
            await second.answer(clients[1].localDescription.sdp)
        assert refused.value.status == 503
        assert f"ARCHIVIST_ICE_PORT_RANGE {low}-{low} (1 ports) is full" in str(refused.value)
        await second.close()
        await first.close()
        await asyncio.sleep(0)
        answer = await third.answer(clients[2].localDescription.sdp)  # the port is free again
        assert [p for _, p, _ in candidates(answer)] == [low]
    finally:
        for thing in (first, second, third, *clients):
            await thing.close()
