"""WebSocket signaling (docs/protocol.md): typed messages and the per-connection endpoint, which
translates each request into a call on the client's connection in the room tree (it makes no
media itself) and maps domain errors to error frames and close codes."""

from archivist.signaling.endpoint import WebSocketSink, build_signaling_router

__all__ = ["WebSocketSink", "build_signaling_router"]
