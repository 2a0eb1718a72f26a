"""archivist.js features between real Chromium clients through the server: audio levels, device
switching by replaceTrack, the Promise forms, screen sharing, statistics and ICE configuration."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM, E2EServer
from tests.e2e.test_session import assert_frames_advance, joined, wait_video

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Chromium with two fake cameras and three fake microphones; screen capture auto-accepted."""
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    browser = pw.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream=device-count=2",
            "--auto-select-desktop-capture-source=Entire screen",
            "--no-sandbox",
            "--disable-gpu",
        ],
    )
    yield browser
    browser.close()
    pw.stop()


def collect_levels(page: Any, target: str, seconds: float) -> list[list[float]]:
    return list(
        page.eval(
            """([target, ms]) => new Promise((resolve) => {
                const obj = target === 'publisher' ? T.publisher : Object.values(T.subscribers)[0];
                const got = []; const t0 = performance.now();
                const h = (e) => got.push([performance.now() - t0, e.audioLevel]);
                obj.on('audioLevelUpdated', h);
                setTimeout(() => { obj.off('audioLevelUpdated', h); resolve(got); }, ms);
            })""",
            [target, seconds * 1000],
        )
    )


def test_audio_levels_move_on_publisher_and_subscriber(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a, _ = joined(live, open_page, sid, "A", auto_subscribe=False)
    b, _ = joined(live, open_page, sid, "B")
    pub = a.publish()
    assert "streamId" in pub, pub
    wait_video(b, pub["streamId"], timeout=20)
    for page, target in ((a, "publisher"), (b, "subscriber")):
        levels = collect_levels(page, target, 2.0)
        values = [v for _, v in levels]
        rate = (len(levels) - 1) / ((levels[-1][0] - levels[0][0]) / 1000)
        assert 10 <= rate <= 20, (target, rate, len(levels))  # ~60 ms, as OpenTok.js
        assert all(0 <= v <= 1 for v in values), target
        # Chromium's fake microphone beeps: the level rises and falls
        assert max(values) > 0.02 and max(values) - min(values) > 0.02, (target, values)
    # the chosen speaker plays the subscribers' audio, this one and later ones
    sinks = b.eval(
        """async () => { const outs = await OT.getAudioOutputDevices();
                         await OT.setAudioOutputDevice(outs[1].deviceId);
                         const sub = Object.values(T.subscribers)[0];
                         return [outs[1].deviceId, sub.element.querySelector('video').sinkId,
                                 (await OT.getActiveAudioOutputDevice()).deviceId]; }"""
    )
    assert sinks[0] == sinks[1] == sinks[2] and sinks[0] not in ("", "default"), sinks
    # subscribeToVideo(false/true): videoDisabled / videoEnabled with reason subscribeToVideo
    toggled = b.eval(
        """async () => { const sub = Object.values(T.subscribers)[0]; const got = [];
                         sub.on('videoDisabled videoEnabled', (e) => got.push([e.type, e.reason]));
                         sub.subscribeToVideo(false);
                         const hidden = sub.element.classList.contains('OT_no-video');
                         await sub.subscribeToVideo.promise(true);
                         return {got, hidden, shown: !sub.element.classList.contains('OT_no-video')}; }"""
    )
    assert toggled == {
        "got": [["videoDisabled", "subscribeToVideo"], ["videoEnabled", "subscribeToVideo"]],
        "hidden": True,
        "shown": True,
    }
    assert_frames_advance(b, pub["streamId"])


def test_device_switch_replaces_the_sender_track_without_republishing(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a, _ = joined(live, open_page, sid, "A", auto_subscribe=False)
    b, _ = joined(live, open_page, sid, "B")
    pub = a.publish()
    assert "streamId" in pub, pub
    wait_video(b, pub["streamId"], timeout=20)
    out = a.eval(
        """async () => {
            const pc = T.publisherPc(); const pcs = T.peerConnections.length;
            const senders = () => pc.getSenders().map((s) => s.track && s.track.id);
            const before = senders();
            const mics = (await OT.getDevices()).filter((d) => d.kind === 'audioInput');
            const cams = (await OT.getDevices()).filter((d) => d.kind === 'videoInput');
            const oldCam = T.publisher.getVideoSource().deviceId;
            const setAudio = await T.publisher.setAudioSource(mics[1].deviceId);
            const cycled = await T.publisher.cycleVideo();
            const after = senders();
            const now = [T.publisher.getAudioSource().id, T.publisher.getVideoSource().track.id];
            const back = await T.publisher.setVideoSource(oldCam);
            return {setAudio: setAudio === undefined, back: back === undefined, cams: cams.length,
                    changed: before.every((id) => !after.includes(id)),
                        senderHasNew: now.every((id) => after.includes(id)),
                    samePc: T.publisherPc() === pc && pc.connectionState === 'connected',
                    pcsSame: T.peerConnections.length === pcs, newCam: cycled.deviceId !== oldCam,
                    finalCam: T.publisher.getVideoSource().deviceId === oldCam,
                    finalSender: pc.getSenders().some((s) => s.track === T.publisher.getVideoSource().track),
                    streamId: T.publisher.stream.streamId};
        }"""
    )
    assert out["cams"] == 2 and out["setAudio"] and out["back"]
    assert out["changed"] and out["senderHasNew"] and out["samePc"] and out["pcsSame"], out
    assert out["newCam"] and out["finalCam"] and out["finalSender"] and out["streamId"] == pub["streamId"]
    # the other side keeps its one subscription, and the pictures keep coming
    time.sleep(0.5)
    assert_frames_advance(b, pub["streamId"])
    assert b.events("session", "streamDestroyed") == [] and b.events("subscriber", "destroyed") == []
    assert len(b.events("session", "streamCreated")) == 1


def test_promise_forms_stats_and_moderation(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a = open_page()
    b = open_page()
    tokens = {"a": live.token(sid, "moderator", "name=A"), "b": live.token(sid, "publisher", "name=B")}
    out_a = a.eval(
        """async ([key, sid, token, url]) => {
            const s = OT.initSession(key, sid, url ? {url} : undefined);
            window.S = s;
            const connected = await s.connect.promise(token);
            const pub = await s.publish.promise(undefined, {insertMode: 'append', name: 'A'});
            return {connected: connected === s, pub: pub instanceof OT.Publisher && !!pub.stream,
                    streamId: pub.stream.streamId, conns: s.connections.length(), id: pub.id === pub.element.id};
        }""",
        [live.api_key, sid, tokens["a"], None],
    )
    assert out_a["connected"] and out_a["pub"] and out_a["conns"] == 0 and out_a["id"], out_a
    out_b = b.eval(
        """async ([key, sid, token, url, streamId]) => {
            const s = OT.initSession(key, sid, url ? {url} : undefined);
            window.S = s;
            const cbErr = await new Promise((resolve) => {
                const ret = s.connect(token, (err) => resolve(err === undefined ? 'none' : err));
                window.returned = ret === s;
            });
            await new Promise((r) => { if (s.streams.get(streamId)) r(); else s.on('streamCreated', r); });
            let videoEl;
            const sub0 = s.subscribe(s.streams.get(streamId), undefined, {insertDefaultUI: false});
            sub0.on('videoElementCreated', (e) => { videoEl = e.element; });
            const sub = await s.subscribe.promise(s.streams.get(streamId), undefined, {insertMode: 'append'});
            const sigErr = await s.signal({type: 'x', data: 'y', to: {connectionId: 'nobody'}}).catch((e) => [e.name,
                e.code]);
            const sig = await s.signal({type: 'hello', data: 'there'});
            const denied = await new Promise((resolve) => {
                s.forceDisconnect(s.connections.find(() => true), (err) => resolve([err.name, err.code]));
            });
            const deniedPromise = await s.forceUnpublish(s.streams.get(streamId)).catch((e) => [e.name, e.code]);
            await new Promise((r) => setTimeout(r, 1500));
            const stats = await sub.getStats();
            const rtc = await sub.getRtcStatsReport();
            let inbound = 0; rtc.forEach((x) => { if (x.type === 'inbound-rtp') inbound += 1; });
            return {cbErr, returned: window.returned, conns: s.connections.length(), sigErr, sig: sig === undefined,
                    denied, deniedPromise, sub: sub instanceof OT.Subscriber, subId: sub.id === sub.element.id,
                    headless: sub0.element === undefined && !!videoEl && !videoEl.isConnected && videoEl.videoWidth,
                    statsVideo: [stats.video.width, stats.video.height, stats.video.bytesReceived > 0],
                    statsAudio: stats.audio.packetsReceived > 0, inbound};
        }""",
        [live.api_key, sid, tokens["b"], None, out_a["streamId"]],
    )
    assert out_b["cbErr"] == "none" and out_b["returned"] and out_b["conns"] == 1
    assert out_b["sigErr"] == ["OT_NOT_FOUND", 404] and out_b["sig"]
    assert out_b["denied"] == ["OT_PERMISSION_DENIED", 1520]
    assert out_b["deniedPromise"] == ["OT_PERMISSION_DENIED", 1530]
    assert out_b["sub"] and out_b["subId"] and out_b["headless"] == 640
    assert out_b["statsVideo"] == [640, 480, True] and out_b["statsAudio"] and out_b["inbound"] == 2

    out_a2 = a.eval(
        """async () => {
            const s = window.S;
            const pub = s.getPublisherForStream(s.streams.find((x) => x.connection === s.connection));
            const stats = await pub.getStats();
            const rtc = await pub.getRtcStatsReport();
            let outbound = 0; rtc[0].rtcStatsReport.forEach((x) => { if (x.type === 'outbound-rtp') outbound += 1; });
            const other = s.connections.find(() => true);
            const otherStream = s.streams.find((x) => x.connection.connectionId === other.connectionId);
            const forced = await s.forceDisconnect(other);
            return {entries: stats.length,
                bytes: stats[0].stats.video.bytesSent > 0 && stats[0].stats.audio.bytesSent > 0,
                    outbound, forced: forced === undefined, otherStream: otherStream === undefined};
        }"""
    )
    assert out_a2 == {"entries": 1, "bytes": True, "outbound": 2, "forced": True, "otherStream": True}
    b.wait("() => !window.S.isConnected()")
    done = a.eval(
        """async () => { const events = []; S.on('sessionDisconnected', (e) => events.push(e.reason));
                         const p = S.disconnect(); const r = await p;
                         return {isPromise: p instanceof Promise, r: r === undefined, events,
                                 connected: S.isConnected()}; }"""
    )
    assert done == {"isPromise": True, "r": True, "events": ["clientDisconnected"], "connected": False}


def test_screen_share_is_published_as_video_type_screen(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a, _ = joined(live, open_page, sid, "A", auto_subscribe=False)
    b, _ = joined(live, open_page, sid, "B")
    capability = a.eval("() => OT.checkScreenSharingCapability()")
    assert capability["supported"] is True and capability["supportedSources"]["screen"] is True
    pub = a.publish({"videoSource": "screen", "audioSource": None, "name": "slides"})
    assert "streamId" in pub, (pub, a.console)
    seen = b.wait_event("session", "streamCreated", "streamId", pub["streamId"])
    assert seen["videoType"] == "screen" and seen["hasAudio"] is False and seen["name"] == "slides"
    own = a.wait_event("publisher", "streamCreated")
    assert own["videoType"] == "screen"
    stats = wait_video(b, pub["streamId"], timeout=20)
    assert stats["videoWidth"] >= 640, stats
    assert_frames_advance(b, pub["streamId"])
    local = a.eval(
        """() => { const v = T.publisher.element.querySelector('video');
                   return [v.style.transform, v.style.objectFit, T.publisher.getVideoSource().type]; }"""
    )
    assert local == ["", "contain", "screen"]  # never mirrored; fitted whole


def test_ice_config_reaches_every_peer_connection(live: E2EServer, open_page: Any) -> None:
    sid = live.routed_session()
    a = open_page()
    b = open_page()
    ice = {"includeServers": "all", "transportPolicy": "all", "customServers": [{"urls": "stun:127.0.0.1:9"}]}
    for page, name in ((a, "A"), (b, "B")):
        info = page.eval(
            "([k, s, t, u, o]) => T.connect(k, s, t, u, o)",
            [live.api_key, sid, live.token(sid, data=f"name={name}"), None, {"iceConfig": ice}],
        )
        assert "connectionId" in info, info
    pub = a.publish()
    assert "streamId" in pub, pub
    wait_video(b, pub["streamId"], timeout=20)
    for page in (a, b):
        configs = page.eval(
            "() => T.peerConnections.map((pc) => { const c = pc.getConfiguration();"
            " return [c.iceTransportPolicy, c.iceServers.map((s) => s.urls).flat()]; })"
        )
        assert configs and all(c == ["all", ["stun:127.0.0.1:9"]] for c in configs), configs
    # a relay-only policy set later applies to the next peer connection
    relay = b.eval(
        """async () => { await T.session.setIceConfig({includeServers: 'custom', transportPolicy: 'relay',
                                                        customServers: [{urls: 'turn:127.0.0.1:9', username: 'u',
                                                                         credential: 'p'}]});
                         const n = T.peerConnections.length;
                         T.session.subscribe(T.session.streams.find(() => true), undefined, {insertMode: 'append'});
                         await new Promise((r) => setTimeout(r, 300));
                         const c = T.peerConnections[n].getConfiguration();
                         return [c.iceTransportPolicy, c.iceServers.map((s) => [s.urls, s.username])]; }"""
    )
    assert relay == ["relay", [[["turn:127.0.0.1:9"], "u"]]]
