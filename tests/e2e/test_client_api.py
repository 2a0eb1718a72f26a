"""archivist.js in a real Chromium, without media to the server: API shape, events, publisher
element, recording indicator (hidden), and errors that need no signaling server."""

from __future__ import annotations

import socket
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_globals_and_system_requirements(open_page: Any) -> None:
    p = open_page()
    info = p.eval(
        """() => ({
            ot: typeof OT, same: window.Archivist === OT && window.TB === OT,
            req: OT.checkSystemRequirements(),
            fns: ['initSession', 'initPublisher', 'on', 'off', 'once', 'checkSystemRequirements']
                  .every(n => typeof OT[n] === 'function'),
        })"""
    )
    assert info == {"ot": "object", "same": True, "req": 1, "fns": True}


def test_default_signaling_url_comes_from_the_script_src(open_page: Any) -> None:
    p = open_page()
    src, derived = p.eval(
        "() => [document.querySelector('script[src$=\"archivist.js\"]').src, OT.defaultSignalingUrl()]"
    )
    origin = src.split("/")[2]
    assert derived == f"ws://{origin}/v2/signaling"


def test_event_dispatcher_semantics(open_page: Any) -> None:
    p = open_page()
    out = p.eval(
        """() => {
            const s = OT.initSession('123', '1_abc');
            const calls = [];
            const ctx = {name: 'ctx'};
            function h(e) { calls.push(['h', e.type, this === ctx]); }
            s.on('a', h, ctx);
            s.once('a', (e) => calls.push(['once', e.type]));
            s.on({b: function (e) { calls.push(['map', e.type, this === ctx]); }}, ctx);
            s.addEventListener('c d', (e) => calls.push(['multi', e.type]));
            s.trigger('a'); s.trigger('a'); s.trigger('b'); s.trigger('c'); s.trigger('d');
            s.off('a', h, ctx); s.trigger('a');
            s.off(); s.trigger('b');
            const ev = new OT.Event('x', {}, true);
            const before = ev.isDefaultPrevented();
            ev.preventDefault();
            let defaultRan = false;
            s.dispatchEvent(new OT.Event('y', {}, true), () => { defaultRan = true; });
            let prevented = true;
            s.on('z', (e) => e.preventDefault());
            s.dispatchEvent(new OT.Event('z', {}, true), () => { prevented = false; });
            return {calls, before, after: ev.isDefaultPrevented(), defaultRan, prevented,
                    sessionId: s.sessionId, connection: s.connection};
        }"""
    )
    assert out["calls"] == [
        ["h", "a", True],
        ["once", "a"],
        ["h", "a", True],
        ["map", "b", True],
        ["multi", "c"],
        ["multi", "d"],
    ]
    assert out["before"] is False and out["after"] is True
    assert out["defaultRan"] is True and out["prevented"] is True
    assert out["sessionId"] == "1_abc" and out["connection"] is None


def test_publisher_element_preview_and_hidden_recording_indicator(open_page: Any) -> None:
    p = open_page()
    r = p.eval(
        """() => new Promise((resolve) => {
            const events = [];
            const pub = OT.initPublisher('target', {name: 'Alice', width: 320, height: 240,
                                                    resolution: '640x480'}, (err) => {
                events.push(['cb', err ? err.code : null]);
            });
            pub.on('accessAllowed', () => events.push(['accessAllowed']));
            pub.on('videoElementCreated', () => events.push(['videoElementCreated']));
            const started = Date.now();
            (function poll() {
                if (pub.videoWidth() > 0 || Date.now() - started > 10000) {
                    const el = pub.element;
                    const ind = el.querySelector('.OT_archiving');
                    resolve({events, w: pub.videoWidth(), h: pub.videoHeight(),
                             replaced: document.getElementById('target') === el,
                             cls: el.className, video: !!el.querySelector('video'),
                             ind: ind && {data: ind.getAttribute('data-archiving'),
                                          rootData: el.getAttribute('data-archiving'),
                                          display: getComputedStyle(ind).display,
                                          text: ind.textContent},
                             name: el.querySelector('.OT_name').textContent,
                             stream: pub.stream});
                } else setTimeout(poll, 50);
            })();
        })"""
    )
    assert ["accessAllowed"] in r["events"] and ["cb", None] in r["events"]
    assert ["videoElementCreated"] in r["events"]
    assert (r["w"], r["h"]) == (640, 480)
    assert r["replaced"] and "OT_publisher" in r["cls"] and r["video"]
    assert r["ind"] == {"data": "false", "rootData": "false", "display": "none", "text": "REC"}
    assert r["name"] == "Alice" and r["stream"] is None


def test_publisher_destroy_removes_element_and_stops_tracks(open_page: Any) -> None:
    p = open_page()
    assert p.eval("() => T.initPublisher({name: 'x'})") == {"ok": True}
    out = p.eval(
        """() => { const pub = T.publisher; const el = pub.element;
                   const tracks = [pub.getAudioSource(), pub.getVideoSource().track];
                   pub.destroy();
                   return {inDom: el.isConnected, states: tracks.map(t => t.readyState),
                           destroyed: T.has('publisher', 'destroyed')}; }"""
    )
    assert out == {"inDom": False, "states": ["ended", "ended"], "destroyed": True}


def test_publisher_without_video_and_toggles(open_page: Any) -> None:
    p = open_page()
    assert p.eval("() => T.initPublisher({videoSource: null})") == {"ok": True}
    out = p.eval(
        """() => { const pub = T.publisher; const audio = pub.getAudioSource();
                   pub.publishAudio(false); const off = audio.enabled;
                   pub.publishAudio(true); const on = audio.enabled;
                   return {video: pub.getVideoSource().track ? 1 : 0, audio: audio ? 1 : 0, off, on}; }"""
    )
    assert out == {"video": 0, "audio": 1, "off": False, "on": True}


def test_connect_to_a_dead_signaling_url_fails_with_1006(open_page: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave the block: nothing listens there
    p = open_page()
    r = p.eval(
        """(url) => new Promise((resolve) => {
            const exc = [];
            OT.on('exception', (e) => exc.push(e.code));
            const s = OT.initSession('123', '1_abc', {url});
            s.connect('T1==garbage', (err) => resolve({err: err && {code: err.code, name: err.name},
                                                       exc, connected: s.isConnected()}));
        })""",
        f"ws://127.0.0.1:{port}/v2/signaling",
    )
    assert r["err"] == {"code": 1006, "name": "OT_CONNECT_FAILED"}
    assert 1006 in r["exc"] and r["connected"] is False


def test_calls_before_connect_fail_with_1010(open_page: Any) -> None:
    p = open_page()
    r = p.eval(
        """() => new Promise((resolve) => {
            const s = OT.initSession('123', '1_abc');
            const out = {};
            s.signal({type: 'x', data: 'y'}, (err) => { out.signal = err && err.code;
                s.publish(OT.initPublisher(undefined, {insertMode: 'append'}), (err2) => {
                    out.publish = err2 && err2.code; out.publishName = err2 && err2.name;
                    s.forceDisconnect({connectionId: 'abc'}, (err3) => {
                        out.force = err3 && err3.code; resolve(out); });
                });
            });
        })"""
    )
    assert r == {"signal": 1010, "publish": 1010, "publishName": "OT_NOT_CONNECTED", "force": 1010}
