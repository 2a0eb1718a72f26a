"""The one place the server's peer connections are made (rooms are given a :class:`PeerFactory`).

``Connection.publish`` / ``Connection.subscribe`` (``rooms/connection.py``) call it; the stream
or subscription that owns the peer closes it (``rooms/stream.py``). The ICE settings every peer
shares are applied here.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiortc import RTCConfiguration

from archivist.media import seams
from archivist.media.peers import PacketSource, PublisherPeer, SubscriberPeer


class PeerFactory:
    def __init__(self, host_addresses: Sequence[str] = ()) -> None:
        # aioice gathers host candidates process-wide: the factory of the running app decides
        seams.restrict_host_addresses(tuple(host_addresses))

    def configuration(self) -> RTCConfiguration:
        return RTCConfiguration(iceServers=[])

    def publisher(self, label: str) -> PublisherPeer:
        return PublisherPeer(label, self.configuration())

    def subscriber(self, publisher: PacketSource, label: str) -> SubscriberPeer:
        return SubscriberPeer(publisher, label, self.configuration())
