"""archivist.js without a server: the ES modules' event and state logic, the widget options,
devices, audio levels and mediaStopped, in a real Chromium (fake camera and microphone)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_event_dispatcher_and_event(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { Event, EventDispatcher } = await import('/src/events.js');
            const d = new EventDispatcher();
            const calls = [];
            const ctx = {name: 'ctx'};
            function h(e) { calls.push(['h', e.type, this === ctx]); }
            d.on('a', h, ctx);
            d.once('a b', (e) => calls.push(['once', e.type]));
            d.on({c: function (e) { calls.push(['map', e.type, this === ctx]); }}, ctx);
            d.trigger('a'); d.trigger('a'); d.trigger('b'); d.trigger('b'); d.trigger('c');
            d.off('a', h, ctx); d.trigger('a');
            d.on('t', function () { calls.push(['this', this === d]); }); d.trigger('t');
            d.on('boom', () => { throw new Error('x'); });
            d.on('boom', () => calls.push(['after-throw']));
            d.trigger('boom');
            const ev = new Event('y', {extra: 1}, true);
            let ran = 0;
            d.on('y', (e) => e.preventDefault());
            d.dispatchEvent(ev, () => { ran += 1; });
            const nc = new Event('z', {}, false);
            nc.preventDefault();
            d.off();
            d.trigger('c');
            return {calls, prevented: ev.isDefaultPrevented(), ran, extra: ev.extra, target: ev.target === d,
                    nonCancelable: nc.isDefaultPrevented()};
        }"""
    )
    assert out["calls"] == [
        ["h", "a", True], ["once", "a"], ["h", "a", True], ["once", "b"], ["map", "c", True],
        ["this", True], ["after-throw"],
    ]
    assert out["prevented"] is True and out["ran"] == 0 and out["extra"] == 1 and out["target"] is True
    assert out["nonCancelable"] is False


def test_exceptions_are_ot_events_and_handler_errors_are_2000(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { globalEvents, EventDispatcher } = await import('/src/events.js');
            const got = [];
            globalEvents.on('exception', (e) => got.push([e.code, e.title, e.message, e.target !== null]));
            const d = new EventDispatcher();
            d.on('x', () => { throw new Error('handler broke'); });
            d.trigger('x');
            const { settle } = await import('/src/callbacks.js');
            const { otError } = await import('/src/errors.js');
            let cb;
            await settle(Promise.reject(otError('OT_NOT_CONNECTED', 'nope', 1010)), (e) => { cb = [e.name,
                e.code]; }, d)
                .catch((e) => got.push(['rejected', e.code]));
            await new Promise((r) => setTimeout(r, 0));
            return {got, cb};
        }"""
    )
    assert out["got"][0] == [2000, "Internal Error", "handler broke", True]
    assert out["got"][1] == [1010, "Not Connected", "nope", True]
    assert out["got"][2] == ["rejected", 1010]
    assert out["cb"] == ["OT_NOT_CONNECTED", 1010]


def test_error_codes_and_names_are_opentok_js(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const e = await import('/src/errors.js');
            const c = e.ExceptionCodes;
            const close = [4001, 4002, 4004, 4008, 4408, 4400, 1001, 1006].map((code) => {
                const err = e.connectErrorFromClose(code, 'why');
                return [code, err.name, err.code, err instanceof Error, err.message.includes('why')];
            });
            const media = ['NotAllowedError', 'NotFoundError', 'NotReadableError', 'OverconstrainedError',
                           'NotSupportedError', 'Weird'].map((n) => {
                const err = e.mediaError(Object.assign(new Error('m'), {name: n}));
                return [n, err.name, err.code];
            });
            return {codes: [c.AUTHENTICATION_ERROR, c.CONNECT_FAILED, c.NOT_CONNECTED, c.INVALID_PARAMETER,
                            c.UNABLE_TO_PUBLISH, c.UNABLE_TO_SUBSCRIBE, c.UNABLE_TO_FORCE_DISCONNECT,
                            c.UNABLE_TO_FORCE_UNPUBLISH, c.UNABLE_TO_FORCE_MUTE, c.JS_EXCEPTION], close, media,
                    screen: e.mediaError(Object.assign(new Error('m'), {name: 'NotAllowedError'}), true).name};
        }"""
    )
    assert out["codes"] == [1004, 1006, 1010, 1011, 1500, 1501, 1520, 1530, 1540, 2000]
    assert out["close"] == [
        [4001, "OT_AUTHENTICATION_ERROR", 1004, True, True],
        [4002, "OT_AUTHENTICATION_ERROR", 1004, True, True],
        [4004, "OT_AUTHENTICATION_ERROR", 1004, True, True],
        [4008, "OT_CONNECT_REJECTED", 1007, True, True],
        [4408, "OT_CONNECTION_TIMEOUT", 1008, True, True],
        [4400, "OT_CONNECT_FAILED", 1006, True, True],
        [1001, "OT_CONNECT_FAILED", 1006, True, True],
        [1006, "OT_CONNECT_FAILED", 1006, True, True],
    ]
    assert out["media"] == [
        ["NotAllowedError", "OT_USER_MEDIA_ACCESS_DENIED", 1500],
        ["NotFoundError", "OT_NO_DEVICES_FOUND", 1500],
        ["NotReadableError", "OT_HARDWARE_UNAVAILABLE", 1500],
        ["OverconstrainedError", "OT_CONSTRAINTS_NOT_SATISFIED", 1500],
        ["NotSupportedError", "OT_NOT_SUPPORTED", 1500],
        ["Weird", "OT_UNABLE_TO_CAPTURE_MEDIA", 1500],
    ]
    assert out["screen"] == "OT_USER_MEDIA_ACCESS_DENIED"


def test_collection_and_stream_updates(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { Collection } = await import('/src/collection.js');
            const { Stream } = await import('/src/stream.js');
            const { kAdd, kRemove, kUpdate } = await import('/src/internal.js');
            const c = new Collection('streamId');
            const s1 = new Stream({streamId: 's1', connectionId: 'c1', name: 'A', hasAudio: true, hasVideo: true});
            const s2 = new Stream({streamId: 's2', connectionId: 'c2', name: 'B', hasVideo: false, videoType: null});
            c[kAdd](s1); c[kAdd](s2);
            const names = []; c.forEach((s) => names.push(s.name));
            const res = {len: c.length(), lenType: typeof c.length, get: c.get('s2').name, has: c.has('s1'),
                         find: c.find((s) => !s.hasVideo).streamId, findId: c.find('s1').name,
                         where: c.where({hasVideo: true}).map((s) => s.streamId), names,
                         s2VideoType: s2.videoType === undefined || s2.videoType === null,
                         conn: s1.connection.connectionId};
            c[kRemove]('s1');
            res.after = c.length();
            res.changes = s1[kUpdate]({streamId: 's1', connectionId: 'c1', name: 'A', hasAudio: false, hasVideo: true,
                                       videoDimensions: {width: 320, height: 240}}, s1.connection);
            res.hasAudio = s1.hasAudio;
            return res;
        }"""
    )
    assert out["len"] == 2 and out["lenType"] == "function" and out["get"] == "B" and out["has"] is True
    assert out["find"] == "s2" and out["findId"] == "A" and out["where"] == ["s1"] and out["names"] == ["A", "B"]
    assert out["s2VideoType"] is True and out["conn"] == "c1" and out["after"] == 1
    assert out["changes"] == [
        {"changedProperty": "hasAudio", "oldValue": True, "newValue": False},
        {"changedProperty": "videoDimensions", "oldValue": None, "newValue": {"width": 320, "height": 240}},
    ]
    assert out["hasAudio"] is False


def test_ice_configuration(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { rtcConfiguration } = await import('/src/rtc.js');
            const server = [{urls: ['turn:10.0.0.1:3478?transport=udp'], username: 'u', credential: 'p'}];
            const custom = [{urls: 'stun:stun.example.org:3478'}];
            return [
                rtcConfiguration(server, undefined),
                rtcConfiguration(server, {includeServers: 'all', transportPolicy: 'all', customServers: custom}),
                rtcConfiguration(server, {includeServers: 'custom', transportPolicy: 'relay', customServers: custom}),
                rtcConfiguration([], {includeServers: 'custom'}),
            ];
        }"""
    )
    turn = {"urls": ["turn:10.0.0.1:3478?transport=udp"], "username": "u", "credential": "p"}
    stun = {"urls": ["stun:stun.example.org:3478"]}
    assert out == [
        {"iceServers": [turn]},
        {"iceServers": [turn, stun]},
        {"iceServers": [stun], "iceTransportPolicy": "relay"},
        {"iceServers": []},
    ]


def test_session_before_connect_promises_and_collections(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { OT } = await import('/src/ot.js');
            const s = OT.initSession('123', '1_abc', {url: 'ws://127.0.0.1:9/v2/signaling'});
            const r = {};
            r.connectReturns = s.connect('tok', () => {}) === s;
            r.promiseFns = ['connect', 'publish', 'subscribe'].every((n) => typeof s[n].promise === 'function');
            r.connections = [typeof s.connections.length, s.connections.length(), s.streams.length()];
            const sig = s.signal({type: 'x', data: 'y'});
            r.signalIsPromise = sig instanceof Promise;
            r.signal = await sig.then(() => 'resolved', (e) => [e.name, e.code]);
            r.force = await s.forceDisconnect({connectionId: 'x'}).catch((e) => [e.name, e.code]);
            r.unpublish = await s.forceUnpublish({streamId: 'x'}).catch((e) => [e.name, e.code]);
            r.disconnect = s.disconnect() instanceof Promise;
            r.sub = await s.subscribe.promise({streamId: 's'}).catch((e) => [e.name, e.code]);
            r.capabilities = s.capabilities;
            r.ice = await s.setIceConfig({includeServers: 'custom', customServers: []}).then(() => 'ok');
            return r;
        }"""
    )
    assert out["connectReturns"] and out["promiseFns"] and out["signalIsPromise"] and out["disconnect"]
    assert out["connections"] == ["function", 0, 0]
    assert out["signal"] == ["OT_NOT_CONNECTED", 1010]
    assert out["force"] == ["OT_NOT_CONNECTED", 1010] and out["unpublish"] == ["OT_NOT_CONNECTED", 1010]
    assert out["sub"] == ["OT_NOT_CONNECTED", 1501]
    assert out["capabilities"]["forceMute"] == 0 and out["ice"] == "ok"


def test_widget_insert_modes_ids_and_replace_reuses_the_target(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { OT } = await import('/src/ot.js');
            const tgt = document.getElementById('target');
            tgt.className = 'app-class';
            const opts = {videoSource: null, audioSource: null};
            const audioOnly = {videoSource: null};
            const rep = OT.initPublisher('target', audioOnly);
            const app = OT.initPublisher('holder', {insertMode: 'append', ...audioOnly});
            const before = OT.initPublisher('b', {insertMode: 'before', ...audioOnly});
            const after = OT.initPublisher(document.getElementById('a'), {insertMode: 'after', ...audioOnly});
            const body = OT.initPublisher({...audioOnly});
            await Promise.all([rep, app, before, after, body].map((p) => new Promise((r) => p.on('accessAllowed', r))));
            const ids = [...document.getElementById('holder').children].map((e) => e.id);
            const r = {
                replaceReuses: rep.element === tgt && rep.id === 'target' && document.getElementById('target') === tgt,
                keepsAppClass: tgt.classList.contains('app-class') && tgt.classList.contains('OT_root'),
                ids, appendId: app.id, beforeId: before.id, afterId: after.id,
                elementIds: [app, before, after, body].every((p) => p.element.id === p.id),
                bodyParent: body.element.parentNode === document.body,
                unique: new Set([app.id, before.id, after.id, body.id]).size,
            };
            // 'replace' on an element that already is a widget: a new element takes its place
            const again = OT.initPublisher(app.id, audioOnly);
            await new Promise((res) => again.on('accessAllowed', res));
            r.replaceWidget = again.element !== app.element && again.id !== app.id && !app.element.isConnected
                && again.element.parentNode === document.getElementById('holder');
            let self;
            OT.on('exception', function () { self = this === OT; });
            OT.dispatchEvent(new OT.Event('exception', {code: 1}));
            r.otThis = self;
            rep.destroy();
            r.replacedRemoved = !document.getElementById('target');
            try { OT.initPublisher(opts); } catch (e) { r.noSources = 'threw'; }
            return r;
        }"""
    )
    assert out["replaceReuses"] and out["keepsAppClass"] and out["elementIds"] and out["bodyParent"]
    assert out["ids"] == ["a", out["afterId"], out["beforeId"], "b", out["appendId"]]
    assert out["unique"] == 4 and out["replacedRemoved"] and out["replaceWidget"] and out["otThis"]


def test_insert_default_ui_false_fit_mode_mirror_and_style(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { OT } = await import('/src/ot.js');
            const before = document.body.innerHTML;
            const headless = OT.initPublisher('target', {insertDefaultUI: false});
            const el = await new Promise((r) => headless.on('videoElementCreated', (e) => r(e.element)));
            const r = {noElement: headless.element === undefined, bodySame: document.body.innerHTML === before,
                       isVideo: el.tagName, inDom: el.isConnected, hasStream: !!el.srcObject,
                       headlessId: typeof headless.id === 'string' && headless.id.length > 0};
            const cam = OT.initPublisher(undefined, {insertMode: 'append', fitMode: 'contain',
                style: {nameDisplayMode: 'on', buttonDisplayMode: 'off', audioLevelDisplayMode: 'on',
                        archiveStatusDisplayMode: 'off', backgroundImageURI: 'https://example.org/bg.png'},
                            name: 'Ann'});
            await new Promise((r) => cam.on('accessAllowed', r));
            const v = cam.element.querySelector('video');
            r.cam = {fit: v.style.objectFit, mirror: v.style.transform, style: cam.getStyle(),
                     name: getComputedStyle(cam.element.querySelector('.OT_name')).display,
                     button: getComputedStyle(cam.element.querySelector('.OT_mute')).display,
                     meter: getComputedStyle(cam.element.querySelector('.OT_audio-level-meter')).display,
                     bg: cam.element.style.backgroundImage};
            const meterOf = (p) => getComputedStyle(p.element.querySelector('.OT_audio-level-meter')).display;
            cam.setStyle('audioLevelDisplayMode', 'auto');
            const autoWithVideo = meterOf(cam);
            cam.publishVideo(false);
            r.videoOff = [autoWithVideo, meterOf(cam), cam.element.classList.contains('OT_no-video'),
                cam.getVideoSource().track.enabled];
            await cam.publishVideo.promise(true);
            r.videoOn = [meterOf(cam), cam.getVideoSource().track.enabled];
            cam.setStyle('audioLevelDisplayMode', 'on');
            cam.setStyle('buttonDisplayMode', 'on');
            cam.setStyle({nameDisplayMode: 'off', bogus: 'x', audioLevelDisplayMode: 'nonsense'});
            r.cam.after = [getComputedStyle(cam.element.querySelector('.OT_mute')).display,
                           getComputedStyle(cam.element.querySelector('.OT_name')).display,
                               cam.getStyle().audioLevelDisplayMode];
            const canvas = document.createElement('canvas'); canvas.width = 320; canvas.height = 240;
            canvas.getContext('2d').fillRect(0, 0, 320, 240);
            const custom = OT.initPublisher(undefined, {insertMode: 'append',
                videoSource: canvas.captureStream(10).getVideoTracks()[0]});
            await new Promise((r) => custom.on('accessAllowed', r));
            const forced = OT.initPublisher(undefined, {insertMode: 'append', mirror: false});
            await new Promise((r) => forced.on('accessAllowed', r));
            r.mirror = {custom: custom.element.querySelector('video').style.transform,
                        forced: forced.element.querySelector('video').style.transform,
                        fitDefault: custom.element.querySelector('video').style.objectFit,
                        type: custom.getVideoSource().type, camType: cam.getVideoSource().type,
                        camDevice: typeof cam.getVideoSource().deviceId};
            return r;
        }"""
    )
    assert out["noElement"] and out["bodySame"] and out["isVideo"] == "VIDEO" and not out["inDom"]
    assert out["hasStream"] and out["headlessId"]
    cam = out["cam"]
    assert cam["fit"] == "contain" and cam["mirror"] == "scaleX(-1)"
    assert cam["style"] == {
        "archiveStatusDisplayMode": "off", "audioLevelDisplayMode": "on",
            "backgroundImageURI": "https://example.org/bg.png",
        "buttonDisplayMode": "off", "nameDisplayMode": "on", "videoDisabledDisplayMode": "auto",
    }
    assert (cam["name"], cam["button"], cam["meter"]) == ("block", "none", "block")
    assert cam["bg"] == 'url("https://example.org/bg.png")'
    assert cam["after"] == ["block", "none", "on"]
    # 'auto' shows the audio meter (and the background image) while the video is off
    assert out["videoOff"] == ["none", "block", True, False] and out["videoOn"] == ["none", True]
    assert out["mirror"] == {"custom": "", "forced": "", "fitDefault": "cover", "type": "custom",
                             "camType": "camera", "camDevice": "string"}


def test_dom_ready_insertion(page: Any, unit_url: str) -> None:
    page.goto(unit_url + "/domready.html")
    page.wait_for_function("() => window.pub && window.pub.accessAllowed && window.pub2.accessAllowed")
    out = page.evaluate(
        """() => ({early: window.early, same: pub.element === document.getElementById('late'),
                   id: pub.id, cls: pub.element.className, video: !!pub.element.querySelector('video'),
                   appended: pub2.element.parentNode.id})"""
    )
    assert out["early"] == {"existedAtCall": False, "idAtCall": "late", "elementAtCall": True}
    assert out["same"] and out["id"] == "late" and "mine" in out["cls"] and "OT_publisher" in out["cls"]
    assert out["video"] and out["appended"] == "late2"


def test_devices_get_user_media_and_audio_output(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { OT } = await import('/src/ot.js');
            const ms = await OT.getUserMedia();
            const r = {tracks: ms.getTracks().map((t) => t.kind).sort()};
            ms.getTracks().forEach((t) => t.stop());
            const audioOnly = await OT.getUserMedia({videoSource: null});
            r.audioOnly = audioOnly.getTracks().map((t) => t.kind);
            r.none = await OT.getUserMedia({videoSource: null, audioSource: null}).catch((e) => [e.name, e.code]);
            const devices = await OT.getDevices();
            let cb; await OT.getDevices((err, list) => { cb = [err, list.length]; });
            r.kinds = [...new Set(devices.map((d) => d.kind))].sort();
            r.counts = [devices.filter((d) => d.kind === 'videoInput').length,
                devices.filter((d) => d.kind === 'audioInput').length];
            r.cb = cb;
            const cam1 = devices.filter((d) => d.kind === 'videoInput')[1];
            const one = await OT.getUserMedia({videoSource: cam1.deviceId, audioSource: null});
            r.chosen = one.getVideoTracks()[0].getSettings().deviceId === cam1.deviceId;
            const outs = await OT.getAudioOutputDevices();
            r.outs = outs.length;
            r.active0 = (await OT.getActiveAudioOutputDevice()).deviceId;
            await OT.setAudioOutputDevice(outs[1].deviceId);
            r.active1 = (await OT.getActiveAudioOutputDevice()).deviceId === outs[1].deviceId;
            r.bad = await OT.setAudioOutputDevice('nope').catch((e) => e.name);
            const screen = await OT.checkScreenSharingCapability((resp) => { r.cbScreen = resp.supported; });
            r.screen = [screen.supported, screen.supportedSources.screen];
            return r;
        }"""
    )
    assert out["tracks"] == ["audio", "video"] and out["audioOnly"] == ["audio"]
    assert out["none"] == ["OT_NO_VALID_CONSTRAINTS", 1500]
    assert out["kinds"] == ["audioInput", "videoInput"] and out["counts"] == [2, 3] and out["cb"] == [None, 5]
    assert out["chosen"] and out["outs"] >= 2 and out["active0"] == "default" and out["active1"]
    assert out["bad"] == "OT_INVALID_AUDIO_OUTPUT_SOURCE"
    assert out["screen"] == [True, True] and out["cbScreen"] is True


def test_publisher_audio_levels_and_source_switching_unpublished(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { OT } = await import('/src/ot.js');
            const pub = await OT.initPublisher.promise(undefined, {insertMode: 'append'});
            const levels = [];
            const t0 = performance.now();
            const h = (e) => levels.push([performance.now() - t0, e.audioLevel]);
            pub.on('audioLevelUpdated', h);
            await new Promise((r) => setTimeout(r, 1500));
            pub.off('audioLevelUpdated', h);
            const n = levels.length;
            await new Promise((r) => setTimeout(r, 300));
            const mics = (await OT.getDevices()).filter((d) => d.kind === 'audioInput');
            const oldAudio = pub.getAudioSource();
            const changed = [];
            pub.on('audioInputDeviceChanged', (e) => changed.push(e.device.deviceId));
            const res = await pub.setAudioSource(mics[2].deviceId);
            const cams = (await OT.getDevices()).filter((d) => d.kind === 'videoInput');
            const oldVideo = pub.getVideoSource();
            const cycled = await pub.cycleVideo();
            const bad = await pub.setVideoSource('no-such-camera').catch((e) => [e.name, e.code]);
            const bad2 = await pub.setAudioSource(42).catch((e) => [e.name, e.code]);
            const preview = pub.element.querySelector('video').srcObject.getTracks().map((t) => t.id);
            return {n, afterOff: levels.length, max: Math.max(...levels.map((l) => l[1])),
                    min: Math.min(...levels.map((l) => l[1])), span: levels[n - 1][0] - levels[0][0],
                    inRange: levels.every((l) => l[1] >= 0 && l[1] <= 1), res: res === undefined,
                    oldEnded: oldAudio.readyState,
                        newMic: pub.getAudioSource().getSettings().deviceId === mics[2].deviceId,
                    changed: changed[0] === mics[2].deviceId,
                    cycled: cycled.deviceId !== oldVideo.deviceId && cams.some((c) => c.deviceId === cycled.deviceId),
                    videoNow: pub.getVideoSource().deviceId === cycled.deviceId,
                        oldVideoEnded: oldVideo.track.readyState,
                    preview: preview.includes(pub.getAudioSource().id)
                        && preview.includes(pub.getVideoSource().track.id),
                    bad, bad2};
        }"""
    )
    # about one level every 60 ms (OpenTok.js's cadence), moving with Chromium's beeping fake microphone
    rate = (out["n"] - 1) / (out["span"] / 1000)
    assert 10 <= rate <= 20, out
    assert out["afterOff"] == out["n"]
    assert out["inRange"] and out["max"] > 0.05 and out["max"] - out["min"] > 0.05, out
    assert out["res"] and out["oldEnded"] == "ended" and out["newMic"] and out["changed"]
    assert out["cycled"] and out["videoNow"] and out["oldVideoEnded"] == "ended" and out["preview"]
    assert out["bad"] == ["OT_INVALID_VIDEO_SOURCE", 1041] and out["bad2"] == ["OT_INVALID_PARAMETER", 1011]


def test_media_stopped_on_custom_tracks_then_destroyed(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const { OT } = await import('/src/ot.js');
            const canvas = document.createElement('canvas'); canvas.width = 160; canvas.height = 120;
            canvas.getContext('2d').fillRect(0, 0, 160, 120);
            const video = canvas.captureStream(10).getVideoTracks()[0];
            const ctx = new AudioContext();
            const osc = ctx.createOscillator(); const dest = ctx.createMediaStreamDestination();
            osc.connect(dest); osc.start();
            const audio = dest.stream.getAudioTracks()[0];
            const pub = await OT.initPublisher.promise(undefined, {insertMode: 'append', videoSource: video,
                audioSource: audio});
            const events = [];
            pub.on('mediaStopped', (e) => events.push(['mediaStopped', e.track ? e.track.kind : null]));
            pub.on('destroyed', (e) => events.push(['destroyed', e.reason]));
            video.stop();
            await new Promise((r) => setTimeout(r, 800));
            const mid = events.slice();
            audio.stop();
            await new Promise((r) => setTimeout(r, 800));
            return {mid, events, inDom: !!(pub.element && pub.element.isConnected)};
        }"""
    )
    assert out["mid"] == [["mediaStopped", "video"]]
    assert out["events"] == [
        ["mediaStopped", "video"], ["mediaStopped", "audio"], ["mediaStopped", None], ["destroyed", "mediaStopped"],
    ]
    assert out["inDom"] is False


def test_esm_bundle_exports_the_namespace(page: Any) -> None:
    out = page.evaluate(
        """async () => {
            const m = await import('/static/archivist.esm.js');
            return {same: m.default === m.OT, fns: ['initSession', 'initPublisher',
                'getDevices'].every((n) => typeof m[n] === 'function'),
                    url: m.default.defaultSignalingUrl(), version: m.default.version, global: typeof window.OT};
        }"""
    )
    assert out["same"] and out["fns"] and out["global"] == "undefined"
    assert out["url"].startswith("ws://localhost:") and out["url"].endswith("/v2/signaling")
