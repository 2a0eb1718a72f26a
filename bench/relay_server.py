"""The baseline the forwarding benchmark compares with: aiortc's own relay, which decodes the
published video and re-encodes it for every subscriber (``MediaRelay`` + ``RTCRtpSender``).

Run as a child process; it speaks JSON lines on stdin/stdout: ``{"op": "publish"|"subscribe",
"sdp": offer}`` -> ``{"sdp": answer}``. Not part of Archivist: a measuring stick.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay


async def main() -> None:
    relay = MediaRelay()
    tracks: list[Any] = []
    pcs: list[RTCPeerConnection] = []
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        request = json.loads(line)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pcs.append(pc)
        if request["op"] == "publish":
            pc.on("track", tracks.append)
        else:
            for track in tracks:
                pc.addTrack(relay.subscribe(track))
        await pc.setRemoteDescription(RTCSessionDescription(request["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        print(json.dumps({"sdp": pc.localDescription.sdp}), flush=True)
    for pc in pcs:
        await pc.close()


if __name__ == "__main__":
    asyncio.run(main())
