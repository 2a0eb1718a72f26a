"""The one place the server's peer connections are made (rooms are given a :class:`PeerFactory`).

``Connection.publish`` / ``Connection.subscribe`` (``rooms/connection.py``) call it; the stream
or subscription that owns the peer closes it (``rooms/stream.py``). The ICE settings every peer
shares (``media/ice.py``: port range, addresses, STUN/TURN, policy) are applied here.
"""

from __future__ import annotations

from archivist.media.ice import IceConfig
from archivist.media.peers import PacketSource, PublisherPeer, SubscriberPeer


class PeerFactory:
    def __init__(self, ice: IceConfig | None = None) -> None:
        self.ice = ice or IceConfig()

    def publisher(self, label: str) -> PublisherPeer:
        return PublisherPeer(label, self.ice)

    def subscriber(self, publisher: PacketSource, label: str) -> SubscriberPeer:
        return SubscriberPeer(publisher, label, self.ice)
