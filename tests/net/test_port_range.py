"""``ARCHIVIST_ICE_PORT_RANGE``: every media socket of the server (``ss -uanp`` of its process)
is inside the range with ten clients publishing and subscribing; a full range refuses the next
peer connection with a clear error and frees up when one closes. No privileges needed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentok import Client, MediaModes

from archivist.client import ArchivistClient, ClientError
from tests.net.support import sdk
from tests.servers import Server, free_udp_range, host_address, make_server, udp_sockets

CLIENTS, PUBLISHERS = 10, 2
PEERS = PUBLISHERS + PUBLISHERS * (CLIENTS - 1)  # each stream subscribed by the 9 others
SPARE = 2


@pytest.fixture
def ranged(tmp_path: Path) -> Iterator[tuple[Server, tuple[int, int]]]:
    ports = free_udp_range(PEERS + SPARE)
    server = make_server(tmp_path, extra_env={
        "ARCHIVIST_ICE_PORT_RANGE": f"{ports[0]}-{ports[1]}",
        "ARCHIVIST_ICE_HOSTS": host_address(),  # one host candidate (one socket) per peer connection
    })
    yield server, ports
    server.stop()


async def test_every_media_socket_is_in_the_range_and_a_full_range_is_refused(
    ranged: tuple[Server, tuple[int, int]],
) -> None:
    server, (low, high) = ranged
    assert server.proc is not None
    ot: Client = sdk(server.url, server.project.api_key, server.project.api_secret)
    sid = ot.create_session(media_mode=MediaModes.routed).session_id
    clients = [
        await ArchivistClient.open(server.url, server.project.api_key, sid, ot.generate_token(sid))
        for _ in range(CLIENTS)
    ]
    try:
        pubs = [await c.publish(width=160, height=120, fps=15) for c in clients[:PUBLISHERS]]

        async def watch(client: ArchivistClient) -> None:
            for pub in pubs:
                if pub not in client.publications:
                    sub = await client.subscribe(pub.stream_id, decode=False)
                    await sub.wait_frames(10, timeout=30)

        await asyncio.gather(*(watch(c) for c in clients))
        sockets = udp_sockets(server.proc.pid)
        assert len(sockets) == PEERS, sockets
        assert all(low <= port <= high for _, port in sockets), (sockets, low, high)

        # two ports left: two more subscriptions, then the range is full
        extra = [await clients[0].subscribe(pubs[1].stream_id, decode=False) for _ in range(SPARE)]
        with pytest.raises(ClientError) as refused:
            await clients[0].subscribe(pubs[1].stream_id, decode=False)
        assert refused.value.code == 503
        assert f"ARCHIVIST_ICE_PORT_RANGE {low}-{high} ({high - low + 1} ports) is full" in refused.value.message
        with pytest.raises(ClientError) as refused_publish:
            await clients[5].publish(width=160, height=120, fps=15, wait_created=False)
        assert refused_publish.value.code == 503
        assert (await clients[0].request("ping"))["type"] == "pong"  # the connection stays up
        assert all(low <= port <= high for _, port in udp_sockets(server.proc.pid))

        await clients[0].unsubscribe(extra[0])
        again = await clients[0].subscribe(pubs[1].stream_id, decode=False)  # a port is free again
        await again.wait_frames(10)
    finally:
        for client in clients:
            await client.close()
    assert "Traceback" not in server.logs()
