"""TURN with a real coturn: clients whose network blocks UDP relay over TURN/TCP; a server that
no UDP can reach relays itself (``ARCHIVIST_ICE_TRANSPORT_POLICY=relay``); the per-connection
credentials are coturn's REST scheme, refused when forged or expired, and never logged."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest
from aioice import stun, turn
from opentok import MediaModes

from archivist.client import ArchivistClient, SyncMarks
from archivist.media import seams
from archivist.media.ice import turn_rest_credentials
from tests.coturn import Coturn, start_coturn
from tests.net.support import archive_path, nft_counter, sdk, sdp_candidates, wait_available
from tests.netns import Network
from tests.recording.media import av_offsets, read_output
from tests.servers import free_port, free_udp_range, host_address, make_server, udp_sockets

SERVER, TURN, CLIENT = "203.0.113.10", "203.0.113.5", "203.0.113.20"
TURN_PORT = 3478  # inside a namespace of its own: nothing else can hold it

OFFICE_FIREWALL = """
table inet fw {{
  counter udp_dropped {{ }}
  chain forward {{
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "{lan}" meta l4proto udp counter name udp_dropped drop
    iifname "{lan}" ip daddr {server} tcp dport {http} accept
    iifname "{lan}" ip daddr {turn} tcp dport {turn_port} accept
  }}
}}
table ip nat {{
  chain post {{ type nat hook postrouting priority srcnat; oifname "{wan}" masquerade; }}
}}
"""
NO_INBOUND_UDP = """
table inet fw {
  counter udp_dropped { }
  chain input { type filter hook input priority filter; meta l4proto udp counter name udp_dropped drop; }
}
"""


@pytest.fixture
def secret() -> str:
    return "turn-" + os.urandom(12).hex()


def coturn_in(network: Network, tmp: Path, secret: str) -> Coturn:
    ns, _ = network.public_host("turn", TURN)
    return start_coturn(tmp / "coturn", TURN, TURN_PORT, secret, relay_ports=(49160, 49260), netns=ns.name)


async def test_client_behind_a_udp_blocking_firewall_relays_over_turn_tcp(
    network: Network, coturn_installed: None, tmp_path: Path, secret: str
) -> None:
    srv, _ = network.public_host("srv", SERVER)
    turn_server = coturn_in(network, tmp_path, secret)
    cli, cli_rtr, wan, lan = network.site_behind_router("cli", CLIENT, "192.168.77.1/24", "192.168.77.2/24")
    server = make_server(
        tmp_path,
        extra_env={
            "ARCHIVIST_TURN_URLS": ",".join(turn_server.urls("udp", "tcp")),
            "ARCHIVIST_TURN_SECRET": secret,
        },
        netns=srv.name,
        url=f"http://{SERVER}:{{port}}",
    )
    cli_rtr.nft(OFFICE_FIREWALL.format(
        lan=lan, wan=wan, server=SERVER, http=server.env["ARCHIVIST_PORT"], turn=TURN, turn_port=TURN_PORT
    ))
    key, api_secret = server.project.api_key, server.project.api_secret
    try:
        ot = sdk(server.url, key, api_secret)

        async def session() -> dict[str, Any]:
            sid = (await asyncio.to_thread(ot.create_session, media_mode=MediaModes.routed)).session_id
            # aiortc takes one TURN URL per peer connection: the TCP one, as a browser here ends up with
            alice = await ArchivistClient.open(server.url, key, sid, ot.generate_token(sid), turn_transport="tcp")
            bob = await ArchivistClient.open(server.url, key, sid, ot.generate_token(sid), turn_transport="tcp")
            try:
                pub = await alice.publish(marks=SyncMarks(period=1.0), width=320, height=240)  # a cheap source
                sub = await bob.subscribe(pub.stream_id, decode=False)  # cheap: the recording is checked
                await sub.wait_frames(30)
                archive = await asyncio.to_thread(ot.start_archive, sid, name="turn-tcp")
                await asyncio.sleep(8)
                await asyncio.to_thread(ot.stop_archive, archive.id)
                await wait_available(ot, archive.id)
                return {
                    "routes": seams.ice_routes(pub.pc) + seams.ice_routes(sub.pc),
                    "archive": archive.id,
                    "servers": alice.ice_servers,
                }
            finally:
                await alice.close()
                await bob.close()

        result = await cli.run_async(session)
    finally:
        server.stop()
        turn_server.stop()

    [relay_server] = result["servers"]
    assert relay_server["urls"] == turn_server.urls("udp", "tcp")
    assert len(result["routes"]) == 2
    for route in result["routes"]:
        assert route.local_type == "relay" and route.local_address == TURN, route
    assert server.logs().count(f"remote='relay {TURN}:") >= 2  # the server saw the clients at coturn
    assert nft_counter(cli_rtr, "fw", "udp_dropped") > 0  # the clients did try UDP
    assert len(turn_server.allocations()) >= 2
    path = archive_path(server.data_dir, key, result["archive"])
    out = read_output(path, keep_every=10)
    assert sorted(out.codecs) == ["aac", "h264"] and out.container_duration >= 7
    offsets = av_offsets(path)
    print("A/V offsets through TURN/TCP (ms):", [round(o * 1000) for o in offsets])
    assert len(offsets) >= 6
    assert max(abs(o) for o in offsets) <= 0.040


async def test_server_without_inbound_udp_relays_itself(
    network: Network, coturn_installed: None, tmp_path: Path, secret: str
) -> None:
    srv, _ = network.public_host("srv", SERVER)
    srv.nft(NO_INBOUND_UDP)
    turn_server = coturn_in(network, tmp_path, secret)
    cli, _ = network.public_host("cli", CLIENT)
    server = make_server(
        tmp_path,
        extra_env={
            "ARCHIVIST_TURN_URLS": ",".join(turn_server.urls("tcp", "udp")),  # the server allocates over TCP
            "ARCHIVIST_TURN_SECRET": secret,
            "ARCHIVIST_ICE_TRANSPORT_POLICY": "relay",
        },
        netns=srv.name,
        url=f"http://{SERVER}:{{port}}",
    )
    key, api_secret = server.project.api_key, server.project.api_secret
    assert server.proc is not None
    try:
        ot = sdk(server.url, key, api_secret)

        async def session() -> dict[str, Any]:
            sid = (await asyncio.to_thread(ot.create_session, media_mode=MediaModes.routed)).session_id
            alice = await ArchivistClient.open(server.url, key, sid, ot.generate_token(sid))
            bob = await ArchivistClient.open(server.url, key, sid, ot.generate_token(sid))
            try:
                pub = await alice.publish(width=320, height=240)
                sub = await bob.subscribe(pub.stream_id)
                await sub.wait_frames(30)
                assert server.proc is not None
                sockets = udp_sockets(server.proc.pid, srv.name)
                archive = await asyncio.to_thread(ot.start_archive, sid, name="relay")
                await asyncio.sleep(3)
                await asyncio.to_thread(ot.stop_archive, archive.id)
                await wait_available(ot, archive.id)
                return {
                    "answers": [pub.pc.remoteDescription.sdp, sub.pc.remoteDescription.sdp],
                    "archive": archive.id,
                    "server_udp": sockets,
                }
            finally:
                await alice.close()
                await bob.close()

        result = await cli.run_async(session)
    finally:
        server.stop()
        turn_server.stop()

    for answer in result["answers"]:
        found = sdp_candidates(answer)
        assert found and {(host, typ) for host, _, typ in found} == {(TURN, "relay")}, found
    assert result["server_udp"] == []  # the server's media went over its TCP connections to coturn
    assert server.logs().count("local='relay ") >= 2
    out = read_output(archive_path(server.data_dir, key, result["archive"]), keep_every=10)
    assert sorted(out.codecs) == ["aac", "h264"] and 2.5 <= out.container_duration <= 4.5


async def allocate(server: tuple[str, int], username: str, password: str) -> tuple[str, int]:
    """One real TURN allocation (aioice's client over UDP); returns the relayed address."""
    transport, _ = await turn.create_turn_endpoint(
        asyncio.DatagramProtocol, server_addr=server, username=username, password=password
    )
    try:
        address: tuple[str, int] = transport.get_extra_info("sockname")
        return address
    finally:
        transport.close()


async def test_turn_credentials_are_checked_by_coturn_and_never_logged(
    coturn_installed: None, tmp_path: Path, secret: str
) -> None:
    host = host_address()
    low, high = free_udp_range(40)
    turn_server = start_coturn(tmp_path / "coturn", host, free_port(), secret, relay_ports=(low, high))
    media_ports = free_udp_range(4)
    server = make_server(
        tmp_path,
        extra_env={
            "ARCHIVIST_ICE_PORT_RANGE": f"{media_ports[0]}-{media_ports[1]}",  # its TURN/UDP sockets too
            "ARCHIVIST_TURN_URLS": ",".join(turn_server.urls("udp", "tcp")),
            "ARCHIVIST_TURN_SECRET": secret,
            "ARCHIVIST_TURN_TTL": "600",
            "ARCHIVIST_ICE_TRANSPORT_POLICY": "relay",  # the server allocates with credentials of its own
            "ARCHIVIST_LOG_LEVEL": "DEBUG",
        },
    )
    key = server.project.api_key
    ot = sdk(server.url, key, server.project.api_secret)
    address = (host, turn_server.port)
    clients: list[ArchivistClient] = []
    try:
        sid = ot.create_session(media_mode=MediaModes.routed).session_id
        before = time.time()
        for _ in range(2):
            clients.append(await ArchivistClient.open(
                server.url, key, sid, ot.generate_token(sid), ice_transport_policy="relay"
            ))
        after = time.time()
        alice, bob = clients
        [ice] = alice.ice_servers
        username, credential = ice["username"], ice["credential"]
        expiry, _, name = username.partition(":")
        assert name == alice.connection_id and before + 600 - 1 <= int(expiry) <= after + 600
        assert bob.ice_servers[0]["username"].endswith(":" + bob.connection_id)

        relayed = await allocate(address, username, credential)
        assert relayed[0] == host and low <= relayed[1] <= high
        forged = [
            (username, credential[:-6] + ("AAAAA=" if not credential.endswith("AAAAA=") else "BBBBB=")),
            (f"{int(expiry) + 3600}:{name}", credential),  # a longer life, same password
            turn_rest_credentials("not-the-secret", name, 600, time.time()),
            turn_rest_credentials(secret, name, -60, time.time()),  # expired a minute ago
        ]
        for user, password in forged:
            with pytest.raises(stun.TransactionFailed) as refused:
                await allocate(address, user, password)
            assert refused.value.response.attributes["ERROR-CODE"][0] == 401, (user, refused.value)

        # media relayed both ways: relay-only clients, a relay-only server
        pub = await alice.publish(width=320, height=240)
        sub = await bob.subscribe(pub.stream_id)
        await sub.wait_frames(20)
        for pc in (pub.pc, sub.pc):
            assert {r.local_type for r in seams.ice_routes(pc)} == {"relay"}
        assert server.proc is not None
        sockets = udp_sockets(server.proc.pid)  # one allocation per server peer, over UDP
        assert len(sockets) == 2 and all(media_ports[0] <= port <= media_ports[1] for _, port in sockets), sockets
    finally:
        for client in clients:
            await client.close()
        server.stop()
        turn_server.stop()

    log = server.logs()
    assert "DEBUG" in log.upper() and "peer connected" in log  # the log is verbose and the session happened
    assert secret not in log
    for client in clients:
        [ice] = client.ice_servers
        assert ice["username"] not in log and ice["credential"] not in log
    # nor the server's own credentials (named after its peers): every one it could have made then
    for peer in (f"publisher-{pub.stream_id}", f"subscriber-{sub.subscription_id}"):
        for t in range(int(before) - 1, int(time.time()) + 2):
            user, password = turn_rest_credentials(secret, f"server-{peer}", 600, t)
            assert user not in log and password not in log
    assert ":server-" not in log
    assert "'USERNAME': '***'" in log  # aioice's debug dumps of the server's TURN requests, masked
