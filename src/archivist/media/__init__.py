"""aiortc glue: peer connections, packet pass-through forwarding, keyframe requests.

Imports nothing of Archivist above it. Every aiortc-internals seam lives in ``seams``.
"""

from archivist.media.peers import (
    CodecInfo,
    MediaError,
    PacketSink,
    PacketTrack,
    PublisherPeer,
    SubscriberPeer,
)

__all__ = ["CodecInfo", "MediaError", "PacketSink", "PacketTrack", "PublisherPeer", "SubscriberPeer"]
