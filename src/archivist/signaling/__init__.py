"""WebSocket signaling (docs/protocol.md): typed messages and the per-connection endpoint."""

from archivist.signaling.endpoint import WebSocketSink, build_signaling_router

__all__ = ["WebSocketSink", "build_signaling_router"]
