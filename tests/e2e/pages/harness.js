// Test harness loaded next to archivist.js: wraps the public API in promise-returning helpers
// and records every event in T.events so the Python tests can poll for them.
(function () {
  'use strict';

  function strm(s) {
    return s ? {
      streamId: s.streamId, name: s.name, hasAudio: s.hasAudio, hasVideo: s.hasVideo,
      videoType: s.videoType, connectionId: s.connection && s.connection.connectionId,
      videoDimensions: s.videoDimensions
    } : null;
  }
  function err(e) {
    return e ? { code: e.code, name: e.name, message: e.message } : null;
  }

  var T = {
    events: [],
    session: null,
    publisher: null,
    subscribers: {}, // streamId -> Subscriber
    autoSubscribe: true,
    preventPublisherDestroy: false,
    exceptions: []
  };

  function record(source, type, data) {
    var e = Object.assign({ source: source, type: type, t: Date.now() }, data || {});
    T.events.push(e);
    return e;
  }

  T.find = function (source, type, pred) {
    return T.events.filter(function (e) {
      return e.source === source && e.type === type && (!pred || pred(e));
    });
  };
  T.has = function (source, type, key, value) {
    return T.events.some(function (e) {
      return e.source === source && e.type === type && (key === undefined || e[key] === value);
    });
  };

  // Every RTCPeerConnection the page makes (the library's are private): T.publisherPc() is the
  // live one that sends, T.peerConnections all of them.
  var NativePC = window.RTCPeerConnection;
  T.peerConnections = [];
  window.RTCPeerConnection = class extends NativePC {
    constructor(cfg) {
      super(cfg);
      T.peerConnections.push(this);
    }
  };
  T.publisherPc = function () {
    return T.peerConnections.filter(function (pc) {
      return pc.signalingState !== 'closed' &&
        pc.getTransceivers().some(function (t) { return t.direction === 'sendonly'; });
    }).pop() || null;
  };

  OT.on('exception', function (ev) {
    T.exceptions.push({ code: ev.code, title: ev.title, message: ev.message });
  });

  // Counts decoded frames on a <video> with requestVideoFrameCallback.
  function countFrames(video, holder) {
    holder.frames = 0;
    holder.firstFrameAt = null;
    function tick() {
      holder.frames += 1;
      if (holder.firstFrameAt === null) holder.firstFrameAt = Date.now();
      video.requestVideoFrameCallback(tick);
    }
    video.requestVideoFrameCallback(tick);
  }

  T.subscribe = function (streamId) {
    var session = T.session;
    var stream = session.streams.get(streamId);
    if (!stream) return Promise.resolve({ error: { code: -1, message: 'no such stream ' + streamId } });
    return new Promise(function (resolve) {
      var started = Date.now();
      var holder = { subscribedAt: started };
      var sub = session.subscribe(stream, undefined, { insertMode: 'append', width: 320, height: 240 },
        function (error) {
          if (error) {
            record('subscriber', 'error', { streamId: streamId, error: err(error) });
            resolve({ error: err(error) });
          } else {
            holder.connectedAt = Date.now();
            resolve({ ok: true, ms: Date.now() - started });
          }
        });
      sub._holder = holder;
      T.subscribers[streamId] = sub;
      sub.on('videoElementCreated', function (ev) {
        record('subscriber', 'videoElementCreated', { streamId: streamId });
        countFrames(ev.element, holder);
      });
      sub.on('connected', function () { record('subscriber', 'connected', { streamId: streamId }); });
      sub.on('disconnected', function (ev) {
        record('subscriber', 'disconnected', { streamId: streamId, reason: ev.reason });
      });
      sub.on('destroyed', function (ev) {
        holder.destroyed = true;
        record('subscriber', 'destroyed', { streamId: streamId, reason: ev.reason });
      });
    });
  };

  T.connect = function (apiKey, sessionId, token, url, extraOptions) {
    var options = Object.assign(url ? { url: url } : {}, extraOptions || {});
    var session = OT.initSession(apiKey, sessionId, options);
    T.session = session;
    session.on({
      sessionConnected: function (ev) {
        record('session', 'sessionConnected', {
          connectionId: ev.connection && ev.connection.connectionId,
          streamsLen: ev.streams.length, connectionsLen: ev.connections.length
        });
      },
      connectionCreated: function (ev) {
        record('session', 'connectionCreated', { connectionId: ev.connection.connectionId, data: ev.connection.data });
      },
      connectionDestroyed: function (ev) {
        record('session', 'connectionDestroyed', { connectionId: ev.connection.connectionId, reason: ev.reason });
      },
      streamCreated: function (ev) {
        record('session', 'streamCreated', strm(ev.stream));
        if (T.autoSubscribe) T.subscribe(ev.stream.streamId);
      },
      streamDestroyed: function (ev) {
        record('session', 'streamDestroyed', Object.assign(strm(ev.stream), { reason: ev.reason }));
      },
      signal: function (ev) {
        record('session', 'signal', {
          eventType: ev.type, data: ev.data, from: ev.from && ev.from.connectionId
        });
      },
      archiveStarted: function (ev) {
        record('session', 'archiveStarted', { id: ev.id, archiveId: ev.archiveId, name: ev.name });
      },
      archiveStopped: function (ev) {
        record('session', 'archiveStopped', { id: ev.id, archiveId: ev.archiveId, name: ev.name });
      },
      sessionDisconnected: function (ev) {
        record('session', 'sessionDisconnected', { reason: ev.reason });
      }
    });
    session.on('signal:chat', function (ev) {
      record('session', 'signal:chat', { eventType: ev.type, data: ev.data, from: ev.from && ev.from.connectionId });
    });
    return new Promise(function (resolve) {
      session.connect(token, function (error) {
        if (error) resolve({ error: err(error) });
        else resolve({
          connectionId: session.connection.connectionId,
          data: session.connection.data,
          capabilities: session.capabilities
        });
      });
    });
  };

  T.initPublisher = function (props) {
    return new Promise(function (resolve) {
      var pub = OT.initPublisher(undefined, Object.assign({ insertMode: 'append' }, props || {}),
        function (error) { resolve(error ? { error: err(error) } : { ok: true }); });
      T.publisher = pub;
      pub.on('accessAllowed', function () { record('publisher', 'accessAllowed'); });
      pub.on('accessDenied', function () { record('publisher', 'accessDenied'); });
      pub.on('streamCreated', function (ev) { record('publisher', 'streamCreated', strm(ev.stream)); });
      pub.on('streamDestroyed', function (ev) {
        record('publisher', 'streamDestroyed', Object.assign(strm(ev.stream), { reason: ev.reason }));
        if (T.preventPublisherDestroy) ev.preventDefault();
      });
      pub.on('destroyed', function () { record('publisher', 'destroyed'); });
    });
  };

  T.publish = function (props) {
    var ready = T.publisher ? Promise.resolve({ ok: true }) : T.initPublisher(props);
    return ready.then(function (r) {
      if (r.error) return r;
      return new Promise(function (resolve) {
        T.session.publish(T.publisher, function (error) {
          if (error) resolve({ error: err(error) });
          else resolve({ streamId: T.publisher.stream.streamId });
        });
      });
    });
  };

  // A/V sync source: a canvas that flashes white and an oscillator that beeps at the same
  // instants (every `period` s, on the audio clock), published with videoSource/audioSource.
  T.publishSyncMarks = function (period) {
    period = period || 1;
    var canvas = document.createElement('canvas');
    canvas.width = 640; canvas.height = 480;
    var g = canvas.getContext('2d');
    var ctx = new AudioContext();
    var osc = ctx.createOscillator();
    osc.frequency.value = 1000;
    var gain = ctx.createGain();
    gain.gain.value = 0;
    var dest = ctx.createMediaStreamDestination();
    osc.connect(gain).connect(dest);
    osc.start();
    var t0 = ctx.currentTime + 0.5;
    for (var k = 0; k < 600; k++) {  // ten minutes of beeps, scheduled on the audio clock
      gain.gain.setValueAtTime(0.5, t0 + k * period);
      gain.gain.setValueAtTime(0, t0 + k * period + 0.1);
    }
    function draw() {
      var t = ctx.currentTime - t0;
      var flash = t >= 0 && (t % period) < 0.1;
      g.fillStyle = flash ? '#ffffff' : '#808080';
      g.fillRect(0, 0, 640, 480);
    }
    draw();
    T.syncTimer = setInterval(draw, 5);
    var video = canvas.captureStream(30).getVideoTracks()[0];
    var audio = dest.stream.getAudioTracks()[0];
    return T.publish({ videoSource: video, audioSource: audio, width: 640, height: 480 });
  };

  // Records the publisher's own tracks in the page (MediaRecorder: Chromium's capture timestamps,
  // no network, no server) for `ms`; resolves with the WebM as base64. What the source itself
  // says of its A/V offset, to hold a recording of the same tracks against.
  T.recordLocally = function (ms) {
    var tracks = [T.publisher.getAudioSource(), T.publisher.getVideoSource().track].filter(Boolean);
    var rec = new MediaRecorder(new MediaStream(tracks), { mimeType: 'video/webm;codecs=vp8,opus' });
    var chunks = [];
    rec.ondataavailable = function (ev) { if (ev.data.size) chunks.push(ev.data); };
    return new Promise(function (resolve) {
      rec.onstop = function () {
        new Blob(chunks, { type: 'video/webm' }).arrayBuffer().then(function (buf) {
          var bytes = new Uint8Array(buf);
          var bin = '';
          for (var i = 0; i < bytes.length; i += 0x8000) {
            bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
          }
          resolve(btoa(bin));
        });
      };
      rec.start(1000);
      setTimeout(function () { rec.stop(); }, ms);
    });
  };

  T.unpublish = function () { T.session.unpublish(T.publisher); };
  T.disconnect = function () { T.session.disconnect(); };

  T.signal = function (type, data, toConnectionId) {
    var sig = {};
    if (type !== null && type !== undefined) sig.type = type;
    if (data !== null && data !== undefined) sig.data = data;
    if (toConnectionId) {
      sig.to = T.session.connections.get(toConnectionId) ||
        (T.session.connection.connectionId === toConnectionId ? T.session.connection
          : { connectionId: toConnectionId });
    }
    return new Promise(function (resolve) {
      T.session.signal(sig, function (error) { resolve(error ? { error: err(error) } : { ok: true }); });
    });
  };

  // Video facts for every subscriber: intrinsic size, frames rendered, playback quality.
  T.subscriberStats = function () {
    var out = {};
    Object.keys(T.subscribers).forEach(function (id) {
      var sub = T.subscribers[id];
      var v = sub.element && sub.element.querySelector('video');
      var q = v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
      out[id] = {
        destroyed: !!sub._holder.destroyed,
        inDom: !!(sub.element && sub.element.isConnected),
        videoWidth: sub.videoWidth(),
        videoHeight: sub.videoHeight(),
        frames: sub._holder.frames || 0,
        firstFrameMs: sub._holder.firstFrameAt ? sub._holder.firstFrameAt - sub._holder.subscribedAt : null,
        currentTime: v ? v.currentTime : null,
        totalVideoFrames: q ? q.totalVideoFrames : null
      };
    });
    return out;
  };

  T.publisherState = function () {
    var p = T.publisher;
    if (!p) return null;
    var el = p.element;
    var ind = el && el.querySelector('.OT_archiving');
    return {
      inDom: !!(el && el.isConnected),
      videoWidth: p.videoWidth(),
      videoHeight: p.videoHeight(),
      streamId: p.stream ? p.stream.streamId : null,
      indicator: ind ? {
        dataArchiving: ind.getAttribute('data-archiving'),
        rootDataArchiving: el.getAttribute('data-archiving'),
        display: getComputedStyle(ind).display,
        visible: ind.offsetWidth > 0 && ind.offsetHeight > 0,
        text: ind.textContent
      } : null
    };
  };

  window.T = T;
})();
