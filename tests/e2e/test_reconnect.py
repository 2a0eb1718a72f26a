"""Reconnection between real Chromium clients: the publisher's WebSocket goes through a TCP
relay the test cuts (a real network cut: the sockets are reset, new ones refused) while its
media keeps flowing directly. The publisher gets sessionReconnecting / sessionReconnected,
nobody else hears of it, the archive keeps one continuous stream; a cut longer than the
server's grace period ends in sessionDisconnected (networkDisconnected)."""

from __future__ import annotations

import socket
import struct
import threading
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from opentok import Client as OpenTokClient
from opentok import MediaModes

from tests.e2e.conftest import Page, wait_until
from tests.e2e.test_recording import wait_available
from tests.e2e.test_session import assert_frames_advance, wait_video
from tests.recording.media import read_output
from tests.servers import Server, make_server

pytestmark = pytest.mark.browser

GRACE = 6.0


class TcpRelay:
    """Forwards localhost:<port> to the server; :meth:`cut` resets every relayed connection and
    refuses new ones until :meth:`heal`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                self._reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                self._reset(client)
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    @staticmethod
    def _reset(s: socket.socket) -> None:
        """End the TCP connection with no WebSocket close frame (the relay thread blocked in
        recv() on it is woken by the shutdown; a plain close() would wait for it)."""
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()

    def cut(self) -> None:
        self.up = False
        with self._lock:
            sockets, self._open = self._open, []
        for s in sockets:
            try:
                self._reset(s)
            except OSError:
                pass

    def heal(self) -> None:
        self.up = True

    def close(self) -> None:
        self._stopped = True
        self.cut()
        self.listener.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("reconnect"), extra_env={"ARCHIVIST_RECONNECT_GRACE": str(GRACE)})
    yield srv
    srv.stop()


@pytest.fixture
def relay(server: Server) -> Iterator[TcpRelay]:
    parts = urllib.parse.urlsplit(server.url)
    r = TcpRelay((parts.hostname or "127.0.0.1", parts.port or 80))
    yield r
    r.close()


LISTEN = """() => {
    window.R = [];
    T.session.on('sessionReconnecting sessionReconnected sessionDisconnected', (e) =>
        R.push([e.type, e.reason || null, performance.now()]));
}"""


def join(page: Page, server: Server, ot: OpenTokClient, sid: str, name: str, url: str) -> dict[str, Any]:
    token = ot.generate_token(sid, data=f"name={name}")
    info = dict(page.eval("([k, s, t, u]) => T.connect(k, s, t, u)", [server.project.api_key, sid, token, url]))
    assert "error" not in info, info
    return info


def test_websocket_cut_mid_call_is_healed_and_the_archive_stays_continuous(
    server: Server, relay: TcpRelay, open_page: Any
) -> None:
    ot = OpenTokClient(server.project.api_key, server.project.api_secret, api_url=server.url, timeout=20)
    sid = str(ot.create_session(media_mode=MediaModes.routed).session_id)
    direct = server.url.replace("http", "ws", 1) + "/v2/signaling"
    a, b = open_page(), open_page()
    a.eval("() => { T.autoSubscribe = false; }")
    a_info = join(a, server, ot, sid, "A", f"ws://localhost:{relay.port}/v2/signaling")
    join(b, server, ot, sid, "B", direct)
    pub = a.publish({"name": "Alice"})
    stream_id = pub["streamId"]
    wait_video(b, stream_id, timeout=20)
    a.eval(LISTEN)
    archive = ot.start_archive(sid, name="across a cut")
    a.wait_event("session", "archiveStarted", timeout=10)
    time.sleep(2)

    t_cut = time.monotonic()
    relay.cut()
    a.wait("() => R.length >= 1", timeout=10)
    assert a.eval("() => R.map((e) => e[0])") == ["sessionReconnecting"]
    assert a.eval("() => T.session.isConnected()") is False
    assert_frames_advance(b, stream_id)  # the media never stopped
    b.eval("(to) => T.signal('chat', 'sent while A was away', to)", a_info["connectionId"])
    time.sleep(max(0.0, 2.5 - (time.monotonic() - t_cut)))
    relay.heal()
    a.wait("() => R.length >= 2", timeout=15)
    healed = time.monotonic() - t_cut
    assert a.eval("() => R.map((e) => e[0])") == ["sessionReconnecting", "sessionReconnected"]
    assert a.eval("() => T.session.isConnected()") is True
    # what was sent meanwhile arrives, signaling works both ways again
    a.wait_event("session", "signal:chat", "data", "sent while A was away")
    a.eval("() => T.signal('chat', 'A is back')")
    b.wait_event("session", "signal:chat", "data", "A is back")
    a.eval("() => T.publisher.publishVideo(false)")
    b.wait(f"() => T.session.streams.get('{stream_id}').hasVideo === false")
    a.eval("() => T.publisher.publishVideo(true)")
    b.wait(f"() => T.session.streams.get('{stream_id}').hasVideo === true")
    # nobody else heard of it; the stream is the same one
    assert b.events("session", "connectionDestroyed") == [] and b.events("session", "streamDestroyed") == []
    assert [s.id for s in ot.list_streams(sid).items] == [stream_id]
    assert_frames_advance(b, stream_id)
    time.sleep(1)
    ot.stop_archive(archive.id)
    done = wait_available(_Live(ot), archive.id, timeout=20)  # type: ignore[arg-type]
    out = read_output(server.archive_file(archive.id), keep_every=10)
    assert abs(done.duration - out.container_duration) <= 1
    # one stream all along: every picture from its first on is the camera filling the frame
    # (or, while its video was off, its placeholder: grey, mean ~45); a stream that left and
    # came back would leave the black background meanwhile
    shown = [f for f in out.video_rgb if f is not None]
    first = next(i for i, f in enumerate(shown) if float(f.mean()) > 40)
    assert first * 10 / 30 < 2.0
    assert all(float(f.mean()) > 30 for f in shown[first:]), [round(float(f.mean())) for f in shown]
    print(f"reconnected after {healed:.1f} s; archive {out.container_duration:.1f} s")
    assert not [line for line in a.console + b.console if "pageerror" in line]


class _Live:
    """What ``wait_available`` needs of the e2e server: its SDK client."""

    def __init__(self, ot: OpenTokClient) -> None:
        self.ot = ot


def test_a_cut_longer_than_the_grace_period_ends_the_session(
    server: Server, relay: TcpRelay, open_page: Any
) -> None:
    ot = OpenTokClient(server.project.api_key, server.project.api_secret, api_url=server.url, timeout=20)
    sid = str(ot.create_session(media_mode=MediaModes.routed).session_id)
    direct = server.url.replace("http", "ws", 1) + "/v2/signaling"
    a, b = open_page(), open_page()
    a.eval("() => { T.autoSubscribe = false; }")
    a_info = join(a, server, ot, sid, "A", f"ws://localhost:{relay.port}/v2/signaling")
    join(b, server, ot, sid, "B", direct)
    pub = a.publish()
    wait_video(b, pub["streamId"], timeout=20)
    a.eval(LISTEN)
    started = time.monotonic()
    relay.cut()
    gone = b.wait_event("session", "connectionDestroyed", "connectionId", a_info["connectionId"], timeout=GRACE + 10)
    assert gone["reason"] == "networkDisconnected"
    assert time.monotonic() - started >= GRACE - 1
    a.wait("() => R.some((e) => e[0] === 'sessionDisconnected')", timeout=10)
    events = a.eval("() => R.map((e) => [e[0], e[1]])")
    assert events == [["sessionReconnecting", None], ["sessionDisconnected", "networkDisconnected"]], events
    assert wait_until(lambda: a.events("publisher", "streamDestroyed"), timeout=5)
