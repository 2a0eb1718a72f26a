"""Mute state between real Chromium clients through the server: publishVideo / publishAudio
reach the others (streamPropertyChanged, videoDisabled / videoEnabled with reason publishVideo,
stream.hasVideo), the server stops sending what is off, and moderators force mutes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.conftest import E2EServer, Page, joined
from tests.e2e.test_session import assert_frames_advance, wait_video

pytestmark = pytest.mark.browser

LISTEN = """() => {
    window.M = {session: [], subscriber: [], publisher: []};
    T.session.on('streamPropertyChanged muteForced', (e) => M.session.push(
        {type: e.type, streamId: e.stream && e.stream.streamId, changedProperty: e.changedProperty,
         oldValue: e.oldValue, newValue: e.newValue, active: e.active}));
    for (const sub of Object.values(T.subscribers)) {
        sub.on('videoDisabled videoEnabled', (e) => M.subscriber.push({type: e.type, reason: e.reason}));
    }
    if (T.publisher) T.publisher.on('muteForced', (e) => M.publisher.push({type: e.type}));
}"""


def inbound(page: Page, kind: str) -> int:
    """Packets received so far of ``kind`` by the page's (only) subscriber."""
    return int(page.eval(
        """async (kind) => { const sub = Object.values(T.subscribers)[0];
                             const st = await sub.getStats(); return st[kind].packetsReceived; }""", kind))


def stops(page: Page, kind: str) -> None:
    """The server stopped sending ``kind``: no packet for a second (after it settled)."""
    deadline = time.monotonic() + 10
    while True:
        before = inbound(page, kind)
        time.sleep(1.0)
        if inbound(page, kind) == before:
            return
        assert time.monotonic() < deadline, f"{kind} kept coming"


def grows(page: Page, kind: str) -> None:
    deadline = time.monotonic() + 10
    before = inbound(page, kind)
    while inbound(page, kind) < before + 20:
        assert time.monotonic() < deadline, f"{kind} did not come back"
        time.sleep(0.2)


def test_mute_travels_between_two_browsers(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a, _ = joined(live, open_page, sid, "A", auto_subscribe=False)
    b, _ = joined(live, open_page, sid, "B")
    pub = a.publish({"name": "Alice"})
    stream_id = pub["streamId"]
    wait_video(b, stream_id, timeout=20)
    a.eval(LISTEN)
    b.eval(LISTEN)

    a.eval("() => T.publisher.publishVideo(false)")
    b.wait("() => M.subscriber.length >= 1 && M.session.length >= 1")
    a.wait("() => M.session.length >= 1")
    changed = {"type": "streamPropertyChanged", "streamId": stream_id, "changedProperty": "hasVideo",
               "oldValue": True, "newValue": False, "active": None}
    assert b.eval("() => M.session") == [changed]
    assert a.eval("() => M.session") == [changed]  # the publisher's own session too, as OpenTok.js
    assert b.eval("() => M.subscriber") == [{"type": "videoDisabled", "reason": "publishVideo"}]
    assert b.eval(f"() => T.session.streams.get('{stream_id}').hasVideo") is False
    assert a.eval("() => T.publisher.stream.hasVideo") is False
    assert b.eval("() => Object.values(T.subscribers)[0].element.classList.contains('OT_no-video')")
    stops(b, "video")
    grows(b, "audio")

    a.eval("() => T.publisher.publishVideo(true)")
    b.wait("() => M.subscriber.length >= 2")
    assert b.eval("() => M.subscriber[1]") == {"type": "videoEnabled", "reason": "publishVideo"}
    assert b.eval(f"() => T.session.streams.get('{stream_id}').hasVideo") is True
    assert_frames_advance(b, stream_id)

    a.eval("() => T.publisher.publishAudio(false)")
    b.wait("() => M.session.some((e) => e.changedProperty === 'hasAudio' && e.newValue === false)")
    stops(b, "audio")
    a.eval("() => T.publisher.publishAudio(true)")
    b.wait("() => M.session.some((e) => e.changedProperty === 'hasAudio' && e.newValue === true)")
    grows(b, "audio")

    # subscribeToVideo(false): the server stops sending it to this subscriber only
    b.eval("() => Object.values(T.subscribers)[0].subscribeToVideo(false)")
    stops(b, "video")
    b.eval("() => Object.values(T.subscribers)[0].subscribeToVideo(true)")
    grows(b, "video")
    assert_frames_advance(b, stream_id)
    assert not [line for line in a.console + b.console if "pageerror" in line], a.console + b.console


def test_moderator_force_mutes_from_the_browser(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    m, _ = joined(live, open_page, sid, "M", role="moderator")
    a, _ = joined(live, open_page, sid, "A", auto_subscribe=False)
    pub = a.publish({"name": "Alice"})
    stream_id = pub["streamId"]
    wait_video(m, stream_id, timeout=20)
    a.eval(LISTEN)
    m.eval(LISTEN)
    assert m.eval("() => T.session.capabilities.forceMute") == 1
    assert a.eval("() => T.session.capabilities.forceMute") == 0
    refused = a.eval("""() => T.session.forceMuteAll().then(() => 'ok', (e) => [e.name, e.code])""")
    assert refused == ["OT_PERMISSION_DENIED", 1540]

    assert m.eval(f"() => T.session.forceMuteStream(T.session.streams.get('{stream_id}')).then(() => 'ok')") == "ok"
    a.wait("() => M.publisher.length === 1 && M.session.some((e) => e.type === 'muteForced')")
    assert [e for e in a.eval("() => M.session") if e["type"] == "muteForced"] == [
        {"type": "muteForced", "streamId": None, "changedProperty": None, "oldValue": None, "newValue": None,
         "active": True}]
    m.wait("() => M.session.some((e) => e.changedProperty === 'hasAudio' && e.newValue === false)")
    assert a.eval("() => T.publisher.stream.hasAudio") is False
    assert a.eval("() => T.publisher.getAudioSource().enabled") is False  # the microphone is off
    stops(m, "audio")

    # the publisher unmutes itself; forceMuteAll mutes it again and keeps the session muted
    a.eval("() => T.publisher.publishAudio(true)")
    m.wait("() => M.session.some((e) => e.changedProperty === 'hasAudio' && e.newValue === true)")
    assert m.eval("() => T.session.forceMuteAll([]).then(() => 'ok')") == "ok"
    a.wait("() => M.publisher.length === 2")
    m.wait("() => M.session.some((e) => e.type === 'muteForced' && e.active === true)")
    assert m.eval("() => T.session.disableForceMute().then(() => 'ok')") == "ok"
    for page in (a, m):
        page.wait("() => M.session.some((e) => e.type === 'muteForced' && e.active === false)")
    assert not [line for line in a.console + m.console if "pageerror" in line]
