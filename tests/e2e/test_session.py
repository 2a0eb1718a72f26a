"""archivist.js against a running Archivist server: signaling over /v2/signaling and WebRTC media
through the server, between real headless Chromium pages."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.conftest import E2EServer, Page, joined

pytestmark = pytest.mark.browser


def wait_video(page: Page, stream_id: str, min_frames: int = 1, timeout: float = 15) -> dict[str, Any]:
    page.wait(
        """([id, n]) => { const s = T.subscriberStats()[id];
                         return s && s.videoWidth > 0 && s.frames >= n; }""",
        [stream_id, min_frames],
        timeout,
    )
    return dict(page.stats()[stream_id])


def assert_frames_advance(page: Page, stream_id: str) -> None:
    before = page.stats()[stream_id]
    time.sleep(1.0)
    after = page.stats()[stream_id]
    assert after["frames"] - before["frames"] >= 5, (before, after)
    assert after["currentTime"] > before["currentTime"], (before, after)
    if before["totalVideoFrames"] is not None:
        assert after["totalVideoFrames"] > before["totalVideoFrames"], (before, after)


def test_two_publishers_see_each_other(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a, a_info = joined(live, open_page, sid, "A")
    b, b_info = joined(live, open_page, sid, "B")
    assert a_info["data"] == "name=A" and a_info["capabilities"]["publish"] == 1
    # sessionConnected: own connection, deprecated arrays empty; never a connectionCreated for oneself
    for page, info in ((a, a_info), (b, b_info)):
        sc = page.events("session", "sessionConnected")
        assert sc == [dict(sc[0], connectionId=info["connectionId"], streamsLen=0, connectionsLen=0)]
        own = [e for e in page.events("session", "connectionCreated") if e["connectionId"] == info["connectionId"]]
        assert own == []
    a.wait_event("session", "connectionCreated", "connectionId", b_info["connectionId"])
    created = b.wait_event("session", "connectionCreated", "connectionId", a_info["connectionId"])
    assert created["data"] == "name=A"  # present before B connected

    a_pub = a.publish({"name": "Alice"})
    b_pub = b.publish({"name": "Bob"})
    assert "streamId" in a_pub and "streamId" in b_pub, (a_pub, b_pub, a.console, b.console)
    # the publisher's own streamCreated; the session's streamCreated only for the other's stream
    assert a.wait_event("publisher", "streamCreated")["streamId"] == a_pub["streamId"]
    seen_by_b = b.wait_event("session", "streamCreated", "streamId", a_pub["streamId"])
    assert seen_by_b["name"] == "Alice" and seen_by_b["connectionId"] == a_info["connectionId"]
    a.wait_event("session", "streamCreated", "streamId", b_pub["streamId"])
    assert [e for e in a.events("session", "streamCreated") if e["streamId"] == a_pub["streamId"]] == []

    for page, other in ((a, b_pub["streamId"]), (b, a_pub["streamId"])):
        stats = wait_video(page, other, min_frames=3, timeout=20)
        assert (stats["videoWidth"], stats["videoHeight"]) == (640, 480), stats
        assert stats["inDom"]
        assert_frames_advance(page, other)
    # video senders keep resolution under congestion
    prefs = a.eval(
        """() => T.publisherPc().getSenders().filter(s => s.track && s.track.kind === 'video')
                 .map(s => s.getParameters().degradationPreference)"""
    )
    assert prefs == ["maintain-resolution"]


def test_late_joiner_gets_existing_streams_and_first_frame(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a, a_info = joined(live, open_page, sid, "A", auto_subscribe=False)
    b, b_info = joined(live, open_page, sid, "B", auto_subscribe=False)
    a_pub, b_pub = a.publish({"name": "Alice"}), b.publish({"name": "Bob"})
    assert "streamId" in a_pub and "streamId" in b_pub, (a_pub, b_pub)
    a.wait_event("publisher", "streamCreated")
    b.wait_event("publisher", "streamCreated")

    c, c_info = joined(live, open_page, sid, "C")
    for stream_id in (a_pub["streamId"], b_pub["streamId"]):
        c.wait_event("session", "streamCreated", "streamId", stream_id)
    log = c.eval("() => T.events.filter(e => e.source === 'session').map(e => [e.type, e.connectionId || e.streamId])")
    assert log[0] == ["sessionConnected", c_info["connectionId"]]
    conns = {x[1] for x in log if x[0] == "connectionCreated"}
    assert conns == {a_info["connectionId"], b_info["connectionId"]}
    first_stream = min(i for i, x in enumerate(log) if x[0] == "streamCreated")
    assert all(i < first_stream for i, x in enumerate(log) if x[0] == "connectionCreated")

    for stream_id in (a_pub["streamId"], b_pub["streamId"]):
        stats = wait_video(c, stream_id, timeout=20)
        assert stats["videoWidth"] == 640, stats
        assert stats["firstFrameMs"] is not None and stats["firstFrameMs"] < 5000, stats
    assert_frames_advance(c, a_pub["streamId"])


def test_unpublish_and_leave(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a, a_info = joined(live, open_page, sid, "A", auto_subscribe=False)
    b, _ = joined(live, open_page, sid, "B")
    pub = a.publish()
    assert "streamId" in pub, pub
    wait_video(b, pub["streamId"], timeout=20)

    a.eval("() => T.unpublish()")
    destroyed = a.wait_event("publisher", "streamDestroyed")
    assert destroyed["streamId"] == pub["streamId"]
    a.wait_event("publisher", "destroyed")  # default action: the publisher goes away
    assert a.eval("() => T.publisherState().inDom") is False
    seen = b.wait_event("session", "streamDestroyed", "streamId", pub["streamId"])
    assert seen["reason"] == "clientDisconnected", seen  # protocol.md: unpublish -> clientDisconnected
    b.wait_event("subscriber", "destroyed", "streamId", pub["streamId"])
    assert b.stats()[pub["streamId"]]["inDom"] is False

    # preventDefault() on the publisher's streamDestroyed keeps the publisher (and its element)
    b.eval("() => { T.preventPublisherDestroy = true; }")
    b_pub = b.publish()
    assert "streamId" in b_pub, b_pub
    b.wait_event("publisher", "streamCreated")
    b.eval("() => T.unpublish()")
    b.wait_event("publisher", "streamDestroyed")
    time.sleep(0.3)
    state = b.eval("() => T.publisherState()")
    assert state["inDom"] is True and state["streamId"] is None
    assert b.events("publisher", "destroyed") == []

    a.eval("() => T.disconnect()")
    assert a.wait_event("session", "sessionDisconnected")["reason"] == "clientDisconnected"
    gone = b.wait_event("session", "connectionDestroyed", "connectionId", a_info["connectionId"])
    assert gone["reason"] == "clientDisconnected"
    assert a.eval("() => T.session.isConnected()") is False


def test_signals_round_trip(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a, a_info = joined(live, open_page, sid, "A")
    b, b_info = joined(live, open_page, sid, "B")
    a.wait_event("session", "connectionCreated", "connectionId", b_info["connectionId"])

    assert a.eval("() => T.signal('chat', 'hello all')") == {"ok": True}
    got = b.wait_event("session", "signal:chat", "data", "hello all")
    assert got["from"] == a_info["connectionId"] and got["eventType"] == "signal:chat"
    generic = b.wait_event("session", "signal", "data", "hello all")
    assert generic["from"] == a_info["connectionId"]

    assert a.eval("([id]) => T.signal('chat', 'just you', id)", [b_info["connectionId"]]) == {"ok": True}
    assert b.wait_event("session", "signal:chat", "data", "just you")["from"] == a_info["connectionId"]

    assert b.eval("() => T.signal(null, 'untyped')") == {"ok": True}
    untyped = a.wait_event("session", "signal", "data", "untyped")
    assert untyped["eventType"] == "signal" and untyped["from"] == b_info["connectionId"]

    too_big = a.eval("() => T.signal('chat', 'x'.repeat(9000))")
    assert too_big["error"]["code"] == 413, too_big
    nobody = a.eval("() => T.signal('chat', 'hi', 'no-such-connection')")
    assert nobody["error"]["code"] == 404, nobody
    time.sleep(0.3)
    # the directed signal reached B only
    assert [e for e in a.events("session", "signal") if e["data"] == "just you"] == []


def test_subscriber_role_cannot_publish(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a, _ = joined(live, open_page, sid, "A", auto_subscribe=False)
    a_pub = a.publish()
    assert "streamId" in a_pub, a_pub
    s, s_info = joined(live, open_page, sid, "S", role="subscriber")
    caps = s_info["capabilities"]
    assert caps["publish"] == 0 and caps["subscribe"] == 1, caps
    refused = s.publish()
    assert refused["error"]["code"] == 1500 and refused["error"]["name"] == "OT_PERMISSION_DENIED", refused
    # the server refuses too when the client does not check (403 -> 1500 OT_PERMISSION_DENIED)
    s.eval("() => { T.session.capabilities.publish = 1; }")
    refused = s.eval(
        "() => new Promise(r => T.session.publish(T.publisher, (e) => r(e && {code: e.code, name: e.name})))"
    )
    assert refused == {"code": 1500, "name": "OT_PERMISSION_DENIED"}, refused
    # ...and a subscriber can still watch
    wait_video(s, a_pub["streamId"], timeout=20)


def test_bad_tokens_are_refused_with_1004(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    other_sid = live.routed_session()
    p = open_page()
    garbage = p.connect(live.api_key, sid, "T1==bm90IGEgdG9rZW4=")
    assert garbage["error"]["code"] == 1004 and garbage["error"]["name"] == "OT_AUTHENTICATION_ERROR", garbage
    wrong_session = p.connect(live.api_key, sid, live.token(other_sid))
    assert wrong_session["error"]["code"] == 1004, wrong_session
    assert 1004 in [e["code"] for e in p.eval("() => T.exceptions")]
    assert p.events("session", "sessionConnected") == []
    ok = p.connect(live.api_key, sid, live.token(sid))  # the same page can still connect properly
    assert "connectionId" in ok, ok


def test_killed_page_is_cleaned_up(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a, a_info = joined(live, open_page, sid, "A", auto_subscribe=False)
    b, _ = joined(live, open_page, sid, "B")
    pub = a.publish()
    assert "streamId" in pub, pub
    wait_video(b, pub["streamId"], timeout=20)
    started = time.monotonic()
    a.page.close(run_before_unload=False)
    a.context.close()
    gone = b.wait_event("session", "connectionDestroyed", "connectionId", a_info["connectionId"], timeout=12)
    elapsed = time.monotonic() - started
    b.wait_event("session", "streamDestroyed", "streamId", pub["streamId"], timeout=2)
    b.wait_event("subscriber", "destroyed", "streamId", pub["streamId"], timeout=2)
    assert elapsed < 5, f"connectionDestroyed after {elapsed:.1f} s ({gone})"
    assert gone["reason"] in ("networkDisconnected", "clientDisconnected"), gone


def test_moderator_force_disconnect(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    m, m_info = joined(live, open_page, sid, "M", role="moderator")
    b, b_info = joined(live, open_page, sid, "B")
    assert m_info["capabilities"]["forceDisconnect"] == 1
    denied = b.eval(
        "([id]) => new Promise(r => T.session.forceDisconnect({connectionId: id}, e => r(e && e.code)))",
        [m_info["connectionId"]],
    )
    assert denied == 1520
    ok = m.eval(
        "([id]) => new Promise(r => T.session.forceDisconnect(T.session.connections.get(id), e => r(e && e.code)))",
        [b_info["connectionId"]],
    )
    assert ok is None
    assert b.wait_event("session", "sessionDisconnected")["reason"] == "forceDisconnected"
    gone = m.wait_event("session", "connectionDestroyed", "connectionId", b_info["connectionId"])
    assert gone["reason"] == "forceDisconnected"


def test_recording_indicator_present_and_hidden_while_not_recording(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a, _ = joined(live, open_page, sid, "A")
    assert "streamId" in a.publish()
    state = a.eval("() => T.publisherState()")
    assert state["indicator"] == {
        "dataArchiving": "false",
        "rootDataArchiving": "false",
        "display": "none",
        "visible": False,
        "text": "REC",
    }


def test_recording_indicator_toggles_with_archive_events(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a, _ = joined(live, open_page, sid, "A", auto_subscribe=False)
    assert "streamId" in a.publish()
    a.wait_event("publisher", "streamCreated")
    archive = live.ot.start_archive(sid, name="e2e")
    started = a.wait_event("session", "archiveStarted", timeout=20)
    assert started["id"] == archive.id and started["archiveId"] == archive.id and started["name"] == "e2e"
    a.wait("() => T.publisherState().indicator.visible")
    state = a.eval("() => T.publisherState()")["indicator"]
    assert state["dataArchiving"] == "true" and state["rootDataArchiving"] == "true"

    # connecting to a session that is already being recorded: archiveStarted on connect
    c, _ = joined(live, open_page, sid, "C", auto_subscribe=False)
    assert c.wait_event("session", "archiveStarted")["id"] == archive.id
    assert "streamId" in c.publish()
    c.wait("() => T.publisherState().indicator.visible")

    live.ot.stop_archive(archive.id)
    stopped = a.wait_event("session", "archiveStopped", timeout=20)
    assert stopped["id"] == archive.id
    for page in (a, c):
        page.wait("() => !T.publisherState().indicator.visible")
        assert page.eval("() => T.publisherState().indicator.dataArchiving") == "false"
