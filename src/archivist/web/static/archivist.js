/*!
 * archivist.js: the browser client of Archivist, shaped like OpenTok.js 2.2.
 *
 * Plain ES2018, no dependencies, no build step. Load it with
 *   <script src="https://your-archivist-host/static/archivist.js"></script>
 * and use the global `OT` (aliases: `Archivist`, and `TB` when nothing else defines it).
 *
 * It speaks the WebSocket signaling protocol of docs/protocol.md at /v2/signaling and sets up
 * one RTCPeerConnection per published stream and per subscription. The client always offers
 * (sendonly to publish, recvonly to subscribe) after ICE gathering completes (no trickle).
 */
(function (global) {
  'use strict';

  var VERSION = '2.2.0-archivist.1';

  // The script's own URL, used to derive the default signaling URL.
  var SCRIPT_SRC = (function () {
    try {
      if (typeof document !== 'undefined' && document.currentScript && document.currentScript.src) {
        return document.currentScript.src;
      }
    } catch (e) { /* ignore */ }
    return null;
  })();

  // ---------------------------------------------------------------------------------------------
  // Small helpers
  // ---------------------------------------------------------------------------------------------

  var LOG_LEVELS = { NONE: 0, ERROR: 1, WARN: 2, INFO: 3, LOG: 4, DEBUG: 5 };
  var logLevel = LOG_LEVELS.WARN;

  function logAt(level, method, args) {
    if (logLevel >= level && typeof console !== 'undefined' && console[method]) {
      console[method].apply(console, ['[archivist]'].concat(Array.prototype.slice.call(args)));
    }
  }
  var log = {
    error: function () { logAt(LOG_LEVELS.ERROR, 'error', arguments); },
    warn: function () { logAt(LOG_LEVELS.WARN, 'warn', arguments); },
    info: function () { logAt(LOG_LEVELS.INFO, 'info', arguments); },
    debug: function () { logAt(LOG_LEVELS.DEBUG, 'debug', arguments); }
  };

  var uidCounter = 0;
  function uid(prefix) {
    uidCounter += 1;
    return prefix + '_' + Date.now().toString(36) + '_' + uidCounter;
  }

  function isFunction(x) { return typeof x === 'function'; }
  function isObject(x) { return x !== null && typeof x === 'object'; }

  function delay(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  function cssSize(v) {
    if (v === undefined || v === null || v === '') return null;
    if (typeof v === 'number' || /^\d+(\.\d+)?$/.test(String(v))) return v + 'px';
    return String(v);
  }

  /**
   * (targetElement, properties, completionHandler), each optional as in OpenTok.js: a function
   * in any place is the handler, an object that is no element is the properties.
   */
  function optionalArgs(targetElement, properties, completionHandler) {
    if (isFunction(targetElement)) {
      completionHandler = targetElement;
      targetElement = undefined;
      properties = undefined;
    } else if (isFunction(properties)) {
      completionHandler = properties;
      properties = undefined;
    }
    if (isObject(targetElement) && !resolveElement(targetElement) && properties === undefined) {
      properties = targetElement;
      targetElement = undefined;
    }
    return [targetElement, properties, completionHandler];
  }

  function resolveElement(target) {
    if (target === undefined || target === null) return null;
    if (typeof target === 'string') {
      if (typeof document === 'undefined') return null;
      return document.getElementById(target);
    }
    if (typeof HTMLElement !== 'undefined' && target instanceof HTMLElement) return target;
    if (isObject(target) && target.nodeType === 1) return target;
    return null;
  }

  // Places `el` relative to `target` following OpenTok's insertMode.
  function insertElement(el, target, insertMode) {
    var mode = insertMode || 'replace';
    if (!target) {
      if (typeof document !== 'undefined' && document.body) document.body.appendChild(el);
      return;
    }
    switch (mode) {
      case 'append':
        target.appendChild(el);
        break;
      case 'before':
        target.parentNode ? target.parentNode.insertBefore(el, target) : document.body.appendChild(el);
        break;
      case 'after':
        if (target.parentNode) target.parentNode.insertBefore(el, target.nextSibling);
        else document.body.appendChild(el);
        break;
      default: // 'replace'
        if (target.parentNode) {
          if (target.id && !el.id) {
            var id = target.id;
            target.removeAttribute('id');
            el.id = id;
          }
          target.parentNode.replaceChild(el, target);
        } else {
          document.body.appendChild(el);
        }
    }
  }

  function removeElement(el) {
    if (el && el.parentNode) el.parentNode.removeChild(el);
  }

  // ---------------------------------------------------------------------------------------------
  // Errors
  // ---------------------------------------------------------------------------------------------

  /** An error as OpenTok.js hands it to completion handlers: {code, name, message}. */
  function OTError(code, name, message) {
    var e = new Error(message || name);
    e.code = code;
    e.name = name;
    return e;
  }

  var ExceptionCodes = {
    JS_EXCEPTION: 2000,
    AUTHENTICATION_ERROR: 1004,
    INVALID_SESSION_ID: 1005,
    CONNECT_FAILED: 1006,
    CONNECT_REJECTED: 1007,
    CONNECTION_TIMEOUT: 1008,
    NOT_CONNECTED: 1010,
    INVALID_PARAMETER: 1011,
    PEER_CONNECTION_NOT_CONNECTED: 1012,
    PERMISSION_DENIED: 1013,
    UNABLE_TO_PUBLISH: 1500,
    UNABLE_TO_SIGNAL: 1510,
    UNABLE_TO_FORCE_DISCONNECT: 1520,
    UNABLE_TO_FORCE_UNPUBLISH: 1530,
    UNABLE_TO_SUBSCRIBE: 1600,
    UNEXPECTED_SERVER_RESPONSE: 2001,
    UNSUPPORTED_BROWSER: 2002
  };

  function notConnectedError(what) {
    return OTError(ExceptionCodes.NOT_CONNECTED, 'OT_NOT_CONNECTED',
      (what ? what + ': ' : '') + 'the client is not connected to the session');
  }

  // Maps a WebSocket close code of a refused connect (docs/protocol.md) onto an OpenTok error.
  function connectErrorFromClose(code, serverMessage) {
    var msg = serverMessage ? ' (' + serverMessage + ')' : '';
    switch (code) {
      case 4001:
        return OTError(ExceptionCodes.AUTHENTICATION_ERROR, 'OT_AUTHENTICATION_ERROR', 'invalid token' + msg);
      case 4002:
        return OTError(ExceptionCodes.AUTHENTICATION_ERROR, 'OT_AUTHENTICATION_ERROR', 'token expired' + msg);
      case 4003:
        return OTError(ExceptionCodes.PERMISSION_DENIED, 'OT_PERMISSION_DENIED', 'forbidden' + msg);
      case 4004:
        return OTError(ExceptionCodes.AUTHENTICATION_ERROR, 'OT_AUTHENTICATION_ERROR',
          'session not found, or the token is for another session or API key' + msg);
      case 4008:
        return OTError(ExceptionCodes.CONNECT_REJECTED, 'OT_CONNECT_REJECTED', 'force-disconnected' + msg);
      case 4408:
        return OTError(ExceptionCodes.CONNECTION_TIMEOUT, 'OT_CONNECTION_TIMEOUT', 'connect timed out' + msg);
      case 4400:
        return OTError(ExceptionCodes.CONNECT_FAILED, 'OT_CONNECT_FAILED', 'malformed connect request' + msg);
      case 1001:
        return OTError(ExceptionCodes.CONNECT_FAILED, 'OT_CONNECT_FAILED', 'server shutting down' + msg);
      default:
        return OTError(ExceptionCodes.CONNECT_FAILED, 'OT_CONNECT_FAILED',
          'could not connect to the signaling server (close code ' + code + ')' + msg);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Events
  // ---------------------------------------------------------------------------------------------

  /** Base event: `type`, `target`, `cancelable`, preventDefault(), isDefaultPrevented(). */
  function Event(type, props, cancelable) {
    this.type = type;
    this.cancelable = cancelable !== false;
    this.target = null;
    this._defaultPrevented = false;
    if (props) {
      for (var k in props) {
        if (Object.prototype.hasOwnProperty.call(props, k)) this[k] = props[k];
      }
    }
  }
  Event.prototype.preventDefault = function () {
    if (this.cancelable) this._defaultPrevented = true;
  };
  Event.prototype.isDefaultPrevented = function () { return this._defaultPrevented; };

  /** on/off/once, addEventListener/removeEventListener, dispatchEvent; mixed into our classes. */
  function EventDispatcher() {}
  EventDispatcher.prototype._listeners = function () {
    if (!this.__listeners) {
      Object.defineProperty(this, '__listeners', { value: {}, enumerable: false, writable: true });
    }
    return this.__listeners;
  };
  EventDispatcher.prototype._addListener = function (types, handler, context, once) {
    if (!isFunction(handler)) return this;
    var listeners = this._listeners();
    String(types).split(/\s+/).forEach(function (type) {
      if (!type) return;
      (listeners[type] = listeners[type] || []).push({ handler: handler, context: context, once: !!once });
    });
    return this;
  };
  EventDispatcher.prototype.on = function (types, handler, context) {
    if (isObject(types)) {
      for (var t in types) {
        if (Object.prototype.hasOwnProperty.call(types, t)) this._addListener(t, types[t], handler, false);
      }
      return this;
    }
    return this._addListener(types, handler, context, false);
  };
  EventDispatcher.prototype.once = function (types, handler, context) {
    if (isObject(types)) {
      for (var t in types) {
        if (Object.prototype.hasOwnProperty.call(types, t)) this._addListener(t, types[t], handler, true);
      }
      return this;
    }
    return this._addListener(types, handler, context, true);
  };
  EventDispatcher.prototype.off = function (types, handler, context) {
    var listeners = this._listeners();
    if (types === undefined) {
      this.__listeners = {};
      return this;
    }
    if (isObject(types)) {
      for (var t in types) {
        if (Object.prototype.hasOwnProperty.call(types, t)) this.off(t, types[t], handler);
      }
      return this;
    }
    String(types).split(/\s+/).forEach(function (type) {
      if (!type || !listeners[type]) return;
      if (!handler) {
        delete listeners[type];
        return;
      }
      listeners[type] = listeners[type].filter(function (l) {
        return !(l.handler === handler && (context === undefined || l.context === context));
      });
      if (!listeners[type].length) delete listeners[type];
    });
    return this;
  };
  EventDispatcher.prototype.addEventListener = function (type, handler, context) {
    return this.on(type, handler, context);
  };
  EventDispatcher.prototype.removeEventListener = function (type, handler, context) {
    return this.off(type, handler, context);
  };
  /** Calls every listener, then `defaultAction` unless a listener called preventDefault(). */
  EventDispatcher.prototype.dispatchEvent = function (event, defaultAction) {
    var self = this;
    if (!event.target) event.target = this;
    var listeners = this._listeners();
    var list = (listeners[event.type] || []).slice();
    list.forEach(function (l) {
      if (l.once) self.off(event.type, l.handler, l.context);
      try {
        l.handler.call(l.context || self, event);
      } catch (err) {
        log.error('an event handler for "' + event.type + '" threw', err);
        if (self !== OT) {
          dispatchException(ExceptionCodes.JS_EXCEPTION, 'Exception in an event handler',
            String(err && err.message || err), self);
        }
      }
    });
    if (isFunction(defaultAction) && !event.isDefaultPrevented()) {
      try {
        defaultAction(event);
      } catch (err) {
        log.error('default action of "' + event.type + '" failed', err);
      }
    }
    return event;
  };
  EventDispatcher.prototype.trigger = function (type, props) {
    return this.dispatchEvent(new Event(type, props));
  };

  function mixinEvents(Ctor) {
    ['_listeners', '_addListener', 'on', 'once', 'off', 'addEventListener', 'removeEventListener',
      'dispatchEvent', 'trigger'].forEach(function (name) {
      Ctor.prototype[name] = EventDispatcher.prototype[name];
    });
  }

  // ---------------------------------------------------------------------------------------------
  // OT (global)
  // ---------------------------------------------------------------------------------------------

  var OT = {
    version: VERSION,
    ExceptionCodes: ExceptionCodes,
    Event: Event,
    NONE: LOG_LEVELS.NONE,
    ERROR: LOG_LEVELS.ERROR,
    WARN: LOG_LEVELS.WARN,
    INFO: LOG_LEVELS.INFO,
    LOG: LOG_LEVELS.LOG,
    DEBUG: LOG_LEVELS.DEBUG
  };
  ['_listeners', '_addListener', 'on', 'once', 'off', 'addEventListener', 'removeEventListener',
    'dispatchEvent', 'trigger'].forEach(function (name) {
    Object.defineProperty(OT, name, { value: EventDispatcher.prototype[name], enumerable: false, writable: true });
  });

  function dispatchException(code, title, message, target) {
    try {
      OT.dispatchEvent(new Event('exception', {
        code: code, title: title, message: message, target: target || null
      }, false));
    } catch (e) { /* never let exception reporting throw */ }
  }

  // Hands `error` to a completion handler (if any) and reports it as an OT 'exception' event.
  function complete(handler, error, value, target) {
    if (error) {
      dispatchException(error.code, error.name, error.message, target);
      if (!isFunction(handler)) log.error(error.name + ' (' + error.code + '): ' + error.message);
    }
    if (isFunction(handler)) {
      try {
        if (error) handler(error);
        else if (value !== undefined) handler(undefined, value);
        else handler(undefined);
      } catch (err) {
        log.error('a completion handler threw', err);
      }
    }
  }

  OT.setLogLevel = function (level) {
    if (typeof level === 'string') level = LOG_LEVELS[level.toUpperCase()];
    if (typeof level === 'number') logLevel = level;
  };
  OT.getLogLevel = function () { return logLevel; };
  OT.log = function () { logAt(LOG_LEVELS.LOG, 'log', arguments); };

  /** 1 when this browser has what archivist.js needs (WebRTC, getUserMedia, WebSocket), else 0. */
  OT.checkSystemRequirements = function () {
    var ok = typeof global.RTCPeerConnection === 'function' &&
      typeof global.WebSocket === 'function' &&
      typeof navigator !== 'undefined' && !!navigator.mediaDevices &&
      typeof navigator.mediaDevices.getUserMedia === 'function';
    return ok ? 1 : 0;
  };
  OT.upgradeSystemRequirements = function () {
    log.warn('this browser lacks WebRTC support needed by archivist.js');
  };

  /** The default signaling URL: ws(s)://<origin of this script>/v2/signaling. */
  OT.defaultSignalingUrl = function () {
    var base = SCRIPT_SRC || (typeof location !== 'undefined' ? location.href : null);
    if (!base) return null;
    var u;
    try { u = new URL(base); } catch (e) { return null; }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      if (typeof location !== 'undefined' && /^https?:$/.test(location.protocol)) u = new URL(location.href);
      else return null;
    }
    return (u.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + u.host + '/v2/signaling';
  };

  // ---------------------------------------------------------------------------------------------
  // Collections, Connection, Stream
  // ---------------------------------------------------------------------------------------------

  /** A tiny id-keyed collection, like OpenTok.js's session.connections / session.streams. */
  function Collection(idKey) {
    Object.defineProperty(this, '_idKey', { value: idKey, enumerable: false });
    Object.defineProperty(this, '_map', { value: new Map(), enumerable: false });
  }
  Object.defineProperty(Collection.prototype, 'length', { get: function () { return this._map.size; } });
  Collection.prototype.get = function (id) { return this._map.get(id); };
  Collection.prototype.has = function (id) { return this._map.has(id); };
  Collection.prototype.add = function (item) { this._map.set(item[this._idKey], item); return item; };
  Collection.prototype.remove = function (id) { var v = this._map.get(id); this._map.delete(id); return v; };
  Collection.prototype.clear = function () { this._map.clear(); };
  Collection.prototype.toArray = function () { return Array.from(this._map.values()); };
  Collection.prototype.forEach = function (fn, ctx) { this.toArray().forEach(fn, ctx); };
  Collection.prototype.where = function (filter, ctx) {
    return this.toArray().filter(isFunction(filter) ? filter.bind(ctx) : function (item) {
      for (var k in filter) if (item[k] !== filter[k]) return false;
      return true;
    });
  };
  Collection.prototype.find = function (filter, ctx) {
    if (typeof filter === 'string') return this.get(filter);
    return this.where(filter, ctx)[0];
  };

  /** A client connected to a session: connectionId (alias id), creationTime, data. */
  function Connection(raw) {
    raw = raw || {};
    this.connectionId = raw.connectionId;
    this.id = raw.connectionId;
    this.creationTime = raw.creationTime;
    this.data = raw.data === undefined || raw.data === null ? '' : raw.data;
  }

  /** A published stream: streamId (alias id), connection, name, hasAudio, hasVideo, videoType,... */
  function Stream(raw, connection) {
    this._update(raw, connection);
  }
  Stream.prototype._update = function (raw, connection) {
    raw = raw || {};
    this.streamId = raw.streamId;
    this.id = raw.streamId;
    this.connection = connection || new Connection(raw.connection || { connectionId: raw.connectionId });
    this.name = raw.name === undefined || raw.name === null ? '' : raw.name;
    this.hasAudio = raw.hasAudio !== false;
    this.hasVideo = raw.hasVideo !== false;
    this.videoType = raw.videoType || (this.hasVideo ? 'camera' : null);
    this.creationTime = raw.creationTime;
    this.videoDimensions = raw.videoDimensions || null;
    this.frameRate = raw.frameRate || null;
  };

  // ---------------------------------------------------------------------------------------------
  // WebRTC helpers
  // ---------------------------------------------------------------------------------------------

  /** Resolves once ICE gathering is complete (no trickle), or after `timeoutMs` regardless. */
  function waitForIceGathering(pc, timeoutMs) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise(function (resolve) {
      var done = false;
      function finish() {
        if (done) return;
        done = true;
        pc.removeEventListener('icegatheringstatechange', onChange);
        pc.removeEventListener('icecandidate', onCandidate);
        clearTimeout(timer);
        resolve();
      }
      function onChange() { if (pc.iceGatheringState === 'complete') finish(); }
      function onCandidate(ev) { if (!ev.candidate) finish(); }
      var timer = setTimeout(finish, timeoutMs || 5000);
      pc.addEventListener('icegatheringstatechange', onChange);
      pc.addEventListener('icecandidate', onCandidate);
    });
  }

  /** Resolves when the peer connection is connected; rejects when it fails or times out. */
  function waitForConnected(pc, timeoutMs) {
    function state() { return pc.connectionState || pc.iceConnectionState; }
    function isUp() {
      var s = state();
      return s === 'connected' || s === 'completed';
    }
    if (isUp()) return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { cleanup(); reject(new Error('media connection timed out')); },
        timeoutMs || 20000);
      function onChange() {
        var s = state();
        if (isUp()) { cleanup(); resolve(); }
        else if (s === 'failed' || s === 'closed') { cleanup(); reject(new Error('media connection ' + s)); }
      }
      function cleanup() {
        clearTimeout(timer);
        pc.removeEventListener('connectionstatechange', onChange);
        pc.removeEventListener('iceconnectionstatechange', onChange);
      }
      pc.addEventListener('connectionstatechange', onChange);
      pc.addEventListener('iceconnectionstatechange', onChange);
    });
  }

  async function preferResolution(sender) {
    if (!sender || !sender.getParameters || !sender.setParameters) return false;
    try {
      var params = sender.getParameters();
      if (params.degradationPreference === 'maintain-resolution') return true;
      params.degradationPreference = 'maintain-resolution';
      await sender.setParameters(params);
      return true;
    } catch (e) {
      log.debug('setParameters(degradationPreference) failed', e);
      return false;
    }
  }

  function closePeer(pc) {
    if (!pc) return;
    try { pc.close(); } catch (e) { /* ignore */ }
  }

  function makeVideoElement(muted) {
    var video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute('playsinline', '');
    video.muted = !!muted;
    if (muted) video.setAttribute('muted', '');
    video.className = 'OT_video-element';
    video.style.width = '100%';
    video.style.height = '100%';
    video.style.objectFit = 'cover';
    video.style.display = 'block';
    video.style.background = '#000';
    return video;
  }

  // Starts playback; if the browser's autoplay policy refuses sound, plays muted and unmutes on
  // the next user gesture.
  function startPlayback(video, wantSound) {
    var p;
    try { p = video.play(); } catch (e) { return; }
    if (!p || !isFunction(p.catch)) return;
    p.catch(function (err) {
      if (err && err.name === 'NotAllowedError' && !video.muted) {
        video.muted = true;
        video.play().catch(function () { /* ignore */ });
        if (wantSound) {
          var unmute = function () {
            video.muted = false;
            document.removeEventListener('click', unmute, true);
            document.removeEventListener('keydown', unmute, true);
          };
          document.addEventListener('click', unmute, true);
          document.addEventListener('keydown', unmute, true);
        }
      }
    });
  }

  var styleInstalled = false;
  function installStyle() {
    if (styleInstalled || typeof document === 'undefined') return;
    styleInstalled = true;
    var css = [
      '.OT_root{position:relative;overflow:hidden;background:#000;display:inline-block;vertical-align:top}',
      '.OT_root .OT_name{position:absolute;left:0;right:0;bottom:0;padding:2px 6px;font:12px sans-serif;',
      'color:#fff;background:rgba(0,0,0,.45);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}',
      '.OT_root .OT_name:empty{display:none}',
      '.OT_archiving{position:absolute;top:6px;left:6px;z-index:10;display:none;align-items:center;gap:4px;',
      'padding:2px 6px;border-radius:3px;background:rgba(0,0,0,.55);color:#fff;font:bold 11px sans-serif;',
      'letter-spacing:.05em;pointer-events:none}',
      '.OT_archiving[data-archiving="true"]{display:flex}',
      '.OT_archiving .OT_archiving-light{width:10px;height:10px;border-radius:50%;background:#e00;',
      'box-shadow:0 0 4px #f00}'
    ].join('');
    var style = document.createElement('style');
    style.setAttribute('data-archivist', 'style');
    style.textContent = css;
    (document.head || document.documentElement).appendChild(style);
  }

  // ---------------------------------------------------------------------------------------------
  // Publisher
  // ---------------------------------------------------------------------------------------------

  function parseResolution(res) {
    var m = /^(\d+)x(\d+)$/.exec(String(res || ''));
    return m ? { width: parseInt(m[1], 10), height: parseInt(m[2], 10) } : { width: 640, height: 480 };
  }

  function isTrack(x) {
    return typeof MediaStreamTrack !== 'undefined' && x instanceof MediaStreamTrack;
  }
  function isMediaStream(x) {
    return typeof MediaStream !== 'undefined' && x instanceof MediaStream;
  }

  /**
   * OT.initPublisher(targetElement, properties, completionHandler): a camera/microphone preview
   * that Session.publish() sends to the session.
   */
  function Publisher(targetElement, properties, completionHandler) {
    installStyle();
    var props = Object.assign({}, properties || {});
    this.id = uid('OT_publisher');
    this.guid = this.id;
    this.stream = null;
    this.session = null;
    this.streamId = null;
    this.accessAllowed = false;
    this._props = props;
    this._publishAudio = props.publishAudio !== false;
    this._publishVideo = props.publishVideo !== false;
    this._mediaStream = null;
    this._pc = null;
    this._destroyed = false;
    this._publishing = false;
    this._streamDestroyedSent = false;
    this._streamCreatedSent = false;
    this._archiving = false;
    this._videoType = 'camera';

    var el = document.createElement('div');
    el.className = 'OT_root OT_publisher';
    el.setAttribute('data-archivist', 'publisher');
    el.setAttribute('data-archiving', 'false');
    var w = cssSize(props.width === undefined ? 264 : props.width);
    var h = cssSize(props.height === undefined ? 198 : props.height);
    if (w) el.style.width = w;
    if (h) el.style.height = h;
    var video = makeVideoElement(true);
    if (props.mirror !== false) video.style.transform = 'scaleX(-1)';
    el.appendChild(video);
    var nameBar = document.createElement('div');
    nameBar.className = 'OT_name';
    nameBar.textContent = props.showControls === false ? '' : (props.name || '');
    el.appendChild(nameBar);
    var indicator = document.createElement('div');
    indicator.className = 'OT_archiving';
    indicator.setAttribute('data-archiving', 'false');
    indicator.setAttribute('role', 'status');
    indicator.setAttribute('aria-label', 'Recording');
    indicator.setAttribute('title', 'This session is being recorded');
    indicator.setAttribute('aria-hidden', 'true');
    var light = document.createElement('span');
    light.className = 'OT_archiving-light';
    var label = document.createElement('span');
    label.className = 'OT_archiving-status';
    label.textContent = 'REC';
    indicator.appendChild(light);
    indicator.appendChild(label);
    el.appendChild(indicator);
    this.element = el;
    this._video = video;
    this._indicator = indicator;
    insertElement(el, resolveElement(targetElement), props.insertMode);

    var self = this;
    this._ready = this._acquireMedia().then(function (ms) {
      self._mediaStream = ms;
      video.srcObject = ms;
      startPlayback(video, false);
      self.accessAllowed = true;
      self._applyEnabled();
      self.dispatchEvent(new Event('videoElementCreated', { element: video }, false));
      self.dispatchEvent(new Event('accessAllowed', {}, false));
      complete(completionHandler, null, undefined, self);
      return ms;
    }, function (err) {
      var e = OTError(ExceptionCodes.UNABLE_TO_PUBLISH,
        err && (err.name === 'NotAllowedError' || err.name === 'SecurityError')
          ? 'OT_USER_MEDIA_ACCESS_DENIED' : 'OT_HARDWARE_UNAVAILABLE',
        'could not get the camera/microphone: ' + (err && (err.name + ': ' + err.message) || err));
      self.dispatchEvent(new Event('accessDenied', { error: e }, false));
      complete(completionHandler, e, undefined, self);
      throw e;
    });
    this._ready.catch(function () { /* reported above */ });
  }
  mixinEvents(Publisher);

  Publisher.prototype._acquireMedia = async function () {
    var props = this._props;
    var videoSource = props.videoSource;
    var audioSource = props.audioSource;
    var tracks = [];
    var needVideo = videoSource !== null && videoSource !== false;
    var needAudio = audioSource !== null && audioSource !== false;

    // Caller-supplied tracks/streams (canvas.captureStream(), WebAudio, ...).
    if (needVideo && (isTrack(videoSource) || isMediaStream(videoSource))) {
      var vt = isTrack(videoSource) ? videoSource : videoSource.getVideoTracks()[0];
      if (vt) tracks.push(vt);
      this._videoType = 'custom';
      needVideo = false;
    }
    if (needAudio && (isTrack(audioSource) || isMediaStream(audioSource))) {
      var at = isTrack(audioSource) ? audioSource : audioSource.getAudioTracks()[0];
      if (at) tracks.push(at);
      needAudio = false;
    }
    if (needVideo && (videoSource === 'screen' || videoSource === 'window' || videoSource === 'application')) {
      var screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      tracks = tracks.concat(screen.getVideoTracks());
      this._videoType = 'screen';
      needVideo = false;
    }
    if (needVideo || needAudio) {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        var unsupported = new Error('getUserMedia is not available (insecure origin or unsupported browser)');
        unsupported.name = 'NotSupportedError';
        throw unsupported;
      }
      var constraints = {};
      if (needVideo) {
        var res = parseResolution(props.resolution);
        var v = { width: { ideal: res.width }, height: { ideal: res.height } };
        if (props.frameRate) v.frameRate = { ideal: Number(props.frameRate) };
        if (typeof videoSource === 'string' && videoSource) v.deviceId = { exact: videoSource };
        constraints.video = v;
      }
      if (needAudio) {
        constraints.audio = (typeof audioSource === 'string' && audioSource)
          ? { deviceId: { exact: audioSource } } : true;
      }
      var ms = await navigator.mediaDevices.getUserMedia(constraints);
      tracks = tracks.concat(ms.getTracks());
    }
    return new MediaStream(tracks);
  };

  Publisher.prototype._track = function (kind) {
    if (!this._mediaStream) return null;
    var list = kind === 'audio' ? this._mediaStream.getAudioTracks() : this._mediaStream.getVideoTracks();
    return list[0] || null;
  };

  Publisher.prototype._applyEnabled = function () {
    var a = this._track('audio');
    var v = this._track('video');
    if (a) a.enabled = this._publishAudio;
    if (v) v.enabled = this._publishVideo;
  };

  /** Starts or stops sending audio (the track stays negotiated; it sends silence when off). */
  Publisher.prototype.publishAudio = function (value) {
    this._publishAudio = value !== false;
    this._applyEnabled();
    return this;
  };
  /** Starts or stops sending video (black frames when off). */
  Publisher.prototype.publishVideo = function (value) {
    this._publishVideo = value !== false;
    this._applyEnabled();
    return this;
  };
  Publisher.prototype.videoWidth = function () { return this._video ? this._video.videoWidth : undefined; };
  Publisher.prototype.videoHeight = function () { return this._video ? this._video.videoHeight : undefined; };
  Publisher.prototype.getImgData = function () {
    var v = this._video;
    if (!v || !v.videoWidth) return null;
    var c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    c.getContext('2d').drawImage(v, 0, 0);
    return c.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
  };
  Publisher.prototype.getStyle = function () { return {}; };
  Publisher.prototype.setStyle = function () { return this; };

  /** Shows/hides the red recording indicator (driven by the session's archive events). */
  Publisher.prototype._setArchiving = function (on) {
    this._archiving = !!on;
    var v = on ? 'true' : 'false';
    if (this.element) {
      this.element.setAttribute('data-archiving', v);
      if (on) this.element.classList.add('OT_archiving-on');
      else this.element.classList.remove('OT_archiving-on');
    }
    if (this._indicator) {
      this._indicator.setAttribute('data-archiving', v);
      this._indicator.setAttribute('aria-hidden', on ? 'false' : 'true');
      this._indicator.style.display = on ? 'flex' : 'none';
    }
  };

  Publisher.prototype._publishTo = async function (session, completionHandler) {
    var self = this;
    if (this._destroyed) {
      complete(completionHandler, OTError(ExceptionCodes.UNABLE_TO_PUBLISH, 'OT_UNABLE_TO_PUBLISH',
        'this publisher was destroyed'), undefined, this);
      return;
    }
    if (this._publishing || this.stream) {
      complete(completionHandler, OTError(ExceptionCodes.UNABLE_TO_PUBLISH, 'OT_UNABLE_TO_PUBLISH',
        'this publisher is already publishing'), undefined, this);
      return;
    }
    this._publishing = true;
    this._streamDestroyedSent = false;
    this._streamCreatedSent = false;
    this.session = session;
    session._publishers.add(this);
    this._setArchiving(session._archiving);
    var attempt = {};
    this._attempt = attempt;

    function fail(code, name, message) {
      if (self._attempt !== attempt) return;
      self._attempt = null;
      self._publishing = false;
      closePeer(self._pc);
      self._pc = null;
      session._publishers.delete(self);
      var stream = self.stream;
      self.stream = null;
      self.streamId = null;
      if (stream) {
        session._ownStreams.delete(stream.streamId);
        session.streams.remove(stream.streamId);
        session._sendQuiet({ type: 'unpublish', streamId: stream.streamId });
      }
      complete(completionHandler, OTError(code, name, message), undefined, self);
    }

    try {
      await this._ready;
    } catch (e) {
      fail(ExceptionCodes.UNABLE_TO_PUBLISH, e.name || 'OT_USER_MEDIA_ACCESS_DENIED', e.message);
      return;
    }
    if (self._attempt !== attempt) return;
    if (!session.isConnected()) {
      fail(ExceptionCodes.NOT_CONNECTED, 'OT_NOT_CONNECTED', 'publish: the client is not connected');
      return;
    }

    var pc;
    var answerTimer = null;
    try {
      pc = new RTCPeerConnection(session._rtcConfig());
      this._pc = pc;
      var ms = this._mediaStream;
      var videoSender = null;
      ms.getTracks().forEach(function (track) {
        var t = pc.addTransceiver(track, { direction: 'sendonly', streams: [ms] });
        if (track.kind === 'video') videoSender = t.sender;
      });
      if (!ms.getTracks().length) throw new Error('nothing to publish: no audio and no video');
      var offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      var degradationSet = await preferResolution(videoSender);
      await waitForIceGathering(pc, 5000);
      if (self._attempt !== attempt) return;

      var v = this._track('video');
      var settings = v && v.getSettings ? v.getSettings() : {};
      var req = {
        type: 'publish',
        name: this._props.name || '',
        hasAudio: !!this._track('audio'),
        hasVideo: !!v,
        videoType: v ? this._videoType : undefined,
        sdp: pc.localDescription.sdp
      };
      if (v) {
        var res = parseResolution(this._props.resolution);
        req.width = settings.width || res.width;
        req.height = settings.height || res.height;
        var fr = settings.frameRate || Number(this._props.frameRate) || undefined;
        if (fr) req.frameRate = Math.round(fr);
      }
      var reply;
      try {
        reply = await session._request(req);
      } catch (err) {
        if (err && err.code === 403) {
          fail(ExceptionCodes.PERMISSION_DENIED, 'OT_PERMISSION_DENIED', err.message ||
            'this token cannot publish');
        } else if (err && err.code === ExceptionCodes.NOT_CONNECTED) {
          fail(ExceptionCodes.NOT_CONNECTED, 'OT_NOT_CONNECTED', err.message);
        } else {
          fail(ExceptionCodes.UNABLE_TO_PUBLISH, 'OT_UNABLE_TO_PUBLISH',
            'the server refused to publish: ' + (err && err.message || err));
        }
        return;
      }
      if (self._attempt !== attempt) {
        if (reply && reply.stream) session._sendQuiet({ type: 'unpublish', streamId: reply.stream.streamId });
        return;
      }
      var stream = new Stream(reply.stream, session.connection);
      this.stream = stream;
      this.streamId = stream.streamId;
      session._ownStreams.set(stream.streamId, this);
      session.streams.add(stream);
      this._onCreated = function () {
        clearTimeout(answerTimer);
        self._attempt = null;
        self._publishing = false;
        complete(completionHandler, null, undefined, self);
      };
      await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
      if (!degradationSet) await preferResolution(videoSender);
      // The server may already have announced the stream (media flowing before we got here).
      var early = session._earlyOwnStreams.get(stream.streamId);
      if (early) {
        session._earlyOwnStreams.delete(stream.streamId);
        this._handleStreamCreated(early);
      } else {
        answerTimer = setTimeout(function () {
          if (!self._streamCreatedSent) {
            fail(ExceptionCodes.UNABLE_TO_PUBLISH, 'OT_TIMEOUT', 'the stream did not start within 20 s');
          }
        }, 20000);
        pc.addEventListener('connectionstatechange', function () {
          if (pc.connectionState === 'failed' && !self._streamCreatedSent) {
            clearTimeout(answerTimer);
            fail(ExceptionCodes.UNABLE_TO_PUBLISH, 'OT_ICE_WORKFLOW_FAILED', 'the media connection failed');
          }
        });
      }
    } catch (err) {
      clearTimeout(answerTimer);
      fail(ExceptionCodes.UNABLE_TO_PUBLISH, 'OT_UNABLE_TO_PUBLISH',
        'could not set up the media connection: ' + (err && err.message || err));
    }
  };

  // The server announced our own stream (streamCreated with publisher: true).
  Publisher.prototype._handleStreamCreated = function (raw) {
    if (!this.stream || this._streamCreatedSent) return;
    this.stream._update(raw, this.session && this.session.connection);
    this._streamCreatedSent = true;
    this.dispatchEvent(new Event('streamCreated', { stream: this.stream }, false));
    if (this._onCreated) {
      var cb = this._onCreated;
      this._onCreated = null;
      cb();
    }
  };

  // Our stream is gone (unpublished, force-unpublished, disconnected): fire streamDestroyed,
  // whose default action destroys the publisher.
  Publisher.prototype._handleStreamDestroyed = function (reason, deferClose) {
    var stream = this.stream;
    var session = this.session;
    this._attempt = null;
    this._publishing = false;
    this._onCreated = null;
    var pc = this._pc;
    this._pc = null;
    // When we end the stream ourselves, let the server see the unpublish before the peer
    // connection goes away (else it may report the stream as lost: networkDisconnected).
    if (deferClose) setTimeout(function () { closePeer(pc); }, 1000);
    else closePeer(pc);
    if (session) {
      if (stream) {
        session._ownStreams.delete(stream.streamId);
        session.streams.remove(stream.streamId);
      }
      session._publishers.delete(this);
    }
    this.stream = null;
    this.streamId = null;
    this.session = null;
    this._setArchiving(false);
    if (!stream || this._streamDestroyedSent) return;
    this._streamDestroyedSent = true;
    var self = this;
    this.dispatchEvent(new Event('streamDestroyed', { stream: stream, reason: reason || 'clientDisconnected' }, true),
      function () { self.destroy(); });
  };

  /** Stops publishing, releases the camera/microphone and removes the element. */
  Publisher.prototype.destroy = function () {
    if (this._destroyed) return this;
    if (this.session && (this.stream || this._publishing)) {
      var session = this.session;
      var stream = this.stream;
      this._destroyed = true; // no default action re-entry
      if (stream) session._sendQuiet({ type: 'unpublish', streamId: stream.streamId });
      this._handleStreamDestroyed('unpublished', true);
    }
    this._destroyed = true;
    this._attempt = null;
    if (this._pc) {
      var pc = this._pc;
      this._pc = null;
      setTimeout(function () { closePeer(pc); }, 1000);
    }
    if (this._mediaStream) {
      var external = [this._props.videoSource, this._props.audioSource];
      this._mediaStream.getTracks().forEach(function (t) {
        // Tracks the application handed in are the application's to stop.
        if (external.indexOf(t) === -1) t.stop();
      });
    }
    if (this._video) this._video.srcObject = null;
    removeElement(this.element);
    this.dispatchEvent(new Event('destroyed', { reason: 'unpublished' }, false));
    return this;
  };

  // ---------------------------------------------------------------------------------------------
  // Subscriber
  // ---------------------------------------------------------------------------------------------

  function Subscriber(session, stream, targetElement, properties) {
    installStyle();
    var props = Object.assign({}, properties || {});
    this.id = uid('OT_subscriber');
    this.guid = this.id;
    this.session = session;
    this.stream = stream;
    this.streamId = stream && stream.streamId;
    this.subscriptionId = null;
    this._props = props;
    this._audio = props.subscribeToAudio !== false;
    this._videoOn = props.subscribeToVideo !== false;
    this._pc = null;
    this._destroyed = false;
    this._connected = false;

    var el = document.createElement('div');
    el.className = 'OT_root OT_subscriber';
    el.setAttribute('data-archivist', 'subscriber');
    if (this.streamId) el.setAttribute('data-stream-id', this.streamId);
    var w = cssSize(props.width === undefined ? 264 : props.width);
    var h = cssSize(props.height === undefined ? 198 : props.height);
    if (w) el.style.width = w;
    if (h) el.style.height = h;
    var video = makeVideoElement(false);
    el.appendChild(video);
    var nameBar = document.createElement('div');
    nameBar.className = 'OT_name';
    nameBar.textContent = props.showControls === false ? '' : ((stream && stream.name) || '');
    el.appendChild(nameBar);
    this.element = el;
    this._video = video;
    insertElement(el, resolveElement(targetElement), props.insertMode);
    if (props.audioVolume !== undefined) this.setAudioVolume(props.audioVolume);
  }
  mixinEvents(Subscriber);

  Subscriber.prototype._start = async function (completionHandler) {
    var self = this;
    var session = this.session;
    var stream = this.stream;
    var done = false;
    function fail(code, name, message) {
      if (done) return;
      done = true;
      complete(completionHandler, OTError(code, name, message), undefined, self);
      self._teardown('subscribeFailed');
    }
    if (!session.isConnected()) {
      fail(ExceptionCodes.NOT_CONNECTED, 'OT_NOT_CONNECTED', 'subscribe: the client is not connected');
      return;
    }
    if (!stream || !stream.streamId) {
      fail(ExceptionCodes.INVALID_PARAMETER, 'OT_INVALID_PARAMETER', 'subscribe needs a Stream');
      return;
    }
    if (session.capabilities && session.capabilities.subscribe === 0) {
      fail(ExceptionCodes.PERMISSION_DENIED, 'OT_PERMISSION_DENIED', 'this token cannot subscribe');
      return;
    }
    try {
      var pc = new RTCPeerConnection(session._rtcConfig());
      this._pc = pc;
      var tracks = [];
      if (stream.hasAudio) tracks.push(pc.addTransceiver('audio', { direction: 'recvonly' }).receiver.track);
      if (stream.hasVideo) tracks.push(pc.addTransceiver('video', { direction: 'recvonly' }).receiver.track);
      if (!tracks.length) tracks.push(pc.addTransceiver('video', { direction: 'recvonly' }).receiver.track);
      this._mediaStream = new MediaStream(tracks);
      this._applyEnabled();
      pc.addEventListener('track', function (ev) {
        // A receiver's track is already in our MediaStream; add any other the answer brings.
        if (self._mediaStream && self._mediaStream.getTrackById(ev.track.id) === null) {
          self._mediaStream.addTrack(ev.track);
        }
      });
      this._video.srcObject = this._mediaStream;
      this.dispatchEvent(new Event('videoElementCreated', { element: this._video }, false));
      var offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      await waitForIceGathering(pc, 5000);
      if (this._destroyed) return;
      var reply;
      try {
        reply = await session._request({
          type: 'subscribe',
          streamId: stream.streamId,
          subscribeToAudio: this._audio,
          subscribeToVideo: this._videoOn,
          sdp: pc.localDescription.sdp
        });
      } catch (err) {
        if (err && err.code === 403) fail(ExceptionCodes.PERMISSION_DENIED, 'OT_PERMISSION_DENIED', err.message);
        else if (err && err.code === 404) {
          fail(ExceptionCodes.UNABLE_TO_SUBSCRIBE, 'OT_STREAM_NOT_FOUND', err.message || 'no such stream');
        } else if (err && err.code === ExceptionCodes.NOT_CONNECTED) {
          fail(ExceptionCodes.NOT_CONNECTED, 'OT_NOT_CONNECTED', err.message);
        } else {
          fail(ExceptionCodes.UNABLE_TO_SUBSCRIBE, 'OT_UNABLE_TO_SUBSCRIBE', 'the server refused: ' +
            (err && err.message || err));
        }
        return;
      }
      this.subscriptionId = reply.subscriptionId;
      session._subscriptions.set(reply.subscriptionId, this);
      if (this._destroyed) {
        session._sendQuiet({ type: 'unsubscribe', subscriptionId: reply.subscriptionId });
        return;
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
      startPlayback(this._video, this._audio);
      await waitForConnected(pc, 20000);
      if (this._destroyed) return;
      this._connected = true;
      done = true;
      pc.addEventListener('connectionstatechange', function () {
        if (pc.connectionState === 'failed' && !self._destroyed) {
          self.dispatchEvent(new Event('disconnected', { reason: 'networkDisconnected' }, false));
        }
      });
      this.dispatchEvent(new Event('connected', { stream: stream }, false));
      complete(completionHandler, null, undefined, this);
    } catch (err) {
      if (this._destroyed) return;
      fail(ExceptionCodes.UNABLE_TO_SUBSCRIBE, 'OT_UNABLE_TO_SUBSCRIBE',
        'could not set up the media connection: ' + (err && err.message || err));
    }
  };

  Subscriber.prototype._applyEnabled = function () {
    if (!this._mediaStream) return;
    var a = this._audio;
    var v = this._videoOn;
    this._mediaStream.getAudioTracks().forEach(function (t) { t.enabled = a; });
    this._mediaStream.getVideoTracks().forEach(function (t) { t.enabled = v; });
  };
  Subscriber.prototype.subscribeToAudio = function (value) {
    this._audio = value !== false;
    this._applyEnabled();
    return this;
  };
  Subscriber.prototype.subscribeToVideo = function (value) {
    this._videoOn = value !== false;
    this._applyEnabled();
    if (this._videoOn && this.session && this.subscriptionId) {
      this.session._sendQuiet({ type: 'keyframe', subscriptionId: this.subscriptionId });
    }
    return this;
  };
  Subscriber.prototype.setAudioVolume = function (value) {
    var v = Math.max(0, Math.min(100, Number(value)));
    if (this._video) this._video.volume = v / 100;
    return this;
  };
  Subscriber.prototype.getAudioVolume = function () {
    return this._video ? Math.round(this._video.volume * 100) : 0;
  };
  Subscriber.prototype.videoWidth = function () { return this._video ? this._video.videoWidth : undefined; };
  Subscriber.prototype.videoHeight = function () { return this._video ? this._video.videoHeight : undefined; };
  Subscriber.prototype.getImgData = Publisher.prototype.getImgData;
  Subscriber.prototype.getStyle = function () { return {}; };
  Subscriber.prototype.setStyle = function () { return this; };

  Subscriber.prototype._teardown = function (reason) {
    if (this._destroyed) return false;
    this._destroyed = true;
    closePeer(this._pc);
    this._pc = null;
    if (this.session) {
      this.session._subscribers.delete(this);
      if (this.subscriptionId) this.session._subscriptions.delete(this.subscriptionId);
    }
    if (this._mediaStream) this._mediaStream.getTracks().forEach(function (t) { t.stop(); });
    if (this._video) this._video.srcObject = null;
    removeElement(this.element);
    this.dispatchEvent(new Event('destroyed', { reason: reason || 'unsubscribe' }, false));
    return true;
  };

  /** Ends this subscription (same as session.unsubscribe(subscriber)). */
  Subscriber.prototype.destroy = function () {
    if (this._destroyed) return this;
    if (this.session && this.subscriptionId) {
      this.session._sendQuiet({ type: 'unsubscribe', subscriptionId: this.subscriptionId });
    }
    this._teardown('unsubscribe');
    return this;
  };

  // ---------------------------------------------------------------------------------------------
  // Session
  // ---------------------------------------------------------------------------------------------

  function Session(apiKey, sessionId, options) {
    this.apiKey = apiKey === undefined || apiKey === null ? null : String(apiKey);
    this.sessionId = sessionId;
    this.id = sessionId;
    this.connection = null;
    this.capabilities = { publish: 0, subscribe: 0, forceDisconnect: 0, forceUnpublish: 0, supportsWebRTC: 1 };
    this.connections = new Collection('connectionId');
    this.streams = new Collection('streamId');
    this.archives = {};
    this._options = options || {};
    this._url = this._options.url || null;
    this._state = 'disconnected';
    this._ws = null;
    this._rid = 0;
    this._pending = new Map();
    this._publishers = new Set();
    this._subscribers = new Set();
    this._subscriptions = new Map();
    this._ownStreams = new Map();
    this._earlyOwnStreams = new Map();
    this._archiving = false;
    this._archive = null;
    this._iceServers = [];
    this._disconnectReason = null;
  }
  mixinEvents(Session);

  Session.prototype.isConnected = function () { return this._state === 'connected'; };

  Session.prototype._signalingUrl = function () {
    return this._url || OT.defaultSignalingUrl();
  };

  Session.prototype._rtcConfig = function () {
    var cfg = { iceServers: this._iceServers || [] };
    if (this._options.iceTransportPolicy) cfg.iceTransportPolicy = this._options.iceTransportPolicy;
    return cfg;
  };

  /**
   * connect(token, completionHandler). The OpenTok 2.0 form connect(apiKey, token, completionHandler)
   * is accepted too.
   */
  Session.prototype.connect = function (token, completionHandler) {
    var self = this;
    if (arguments.length >= 2 && typeof arguments[1] === 'string') {
      this.apiKey = String(arguments[0]);
      token = arguments[1];
      completionHandler = arguments[2];
    }
    if (this._state === 'connected') {
      complete(completionHandler, null, undefined, this);
      return this;
    }
    if (this._state === 'connecting') {
      complete(completionHandler, OTError(ExceptionCodes.CONNECT_FAILED, 'OT_CONNECT_FAILED',
        'a connect is already in progress'), undefined, this);
      return this;
    }
    if (!token || typeof token !== 'string') {
      complete(completionHandler, OTError(ExceptionCodes.AUTHENTICATION_ERROR, 'OT_AUTHENTICATION_ERROR',
        'connect needs a token'), undefined, this);
      return this;
    }
    if (!this.sessionId) {
      complete(completionHandler, OTError(ExceptionCodes.INVALID_SESSION_ID, 'OT_INVALID_SESSION_ID',
        'no session ID'), undefined, this);
      return this;
    }
    var url = this._signalingUrl();
    if (!url) {
      complete(completionHandler, OTError(ExceptionCodes.CONNECT_FAILED, 'OT_CONNECT_FAILED',
        'no signaling URL: pass {url: "wss://host/v2/signaling"} to OT.initSession'), undefined, this);
      return this;
    }
    this.token = token;
    this._state = 'connecting';
    this._disconnectReason = null;
    this._sessionDisconnectedSent = false;
    var ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      this._state = 'disconnected';
      complete(completionHandler, OTError(ExceptionCodes.CONNECT_FAILED, 'OT_CONNECT_FAILED',
        'bad signaling URL ' + url + ': ' + e.message), undefined, this);
      return this;
    }
    this._ws = ws;
    var connectRid = this._nextRid();
    var refusal = null;
    var finished = false;
    var timer = setTimeout(function () {
      if (finished) return;
      finished = true;
      self._state = 'disconnected';
      try { ws.close(); } catch (e) { /* ignore */ }
      self._ws = null;
      complete(completionHandler, OTError(ExceptionCodes.CONNECTION_TIMEOUT, 'OT_CONNECTION_TIMEOUT',
        'no reply from the signaling server within 15 s'), undefined, self);
    }, this._options.connectTimeout || 15000);

    this._finishConnect = function (error) {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      self._finishConnect = null;
      if (error) {
        self._state = 'disconnected';
        complete(completionHandler, error, undefined, self);
        return;
      }
      self.dispatchEvent(new Event('sessionConnected', {
        connection: self.connection, connections: [], streams: [], archives: []
      }, false));
      complete(completionHandler, null, undefined, self);
    };

    ws.onopen = function () {
      if (self._ws !== ws) return;
      ws.send(JSON.stringify({
        type: 'connect', rid: connectRid, apiKey: self.apiKey, sessionId: self.sessionId, token: token
      }));
    };
    ws.onmessage = function (ev) {
      if (self._ws !== ws) return;
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) {
        log.warn('ignoring a non-JSON frame from the server');
        return;
      }
      if (self._state === 'connecting') {
        if (msg.type === 'error') {
          refusal = msg;
          return;
        }
        if (msg.type === 'connected' && (msg.rid === connectRid || msg.rid === undefined)) {
          self._onConnected(msg);
          return;
        }
      }
      self._handleMessage(msg);
    };
    ws.onerror = function () { /* a close event follows */ };
    ws.onclose = function (ev) {
      if (self._ws !== ws) return;
      self._ws = null;
      if (self._state === 'connecting') {
        self._rejectPending();
        if (self._finishConnect) {
          self._finishConnect(connectErrorFromClose(ev.code, refusal && refusal.message));
        }
        self._state = 'disconnected';
        return;
      }
      if (self._state === 'connected' || self._state === 'disconnecting') {
        var reason = self._disconnectReason;
        if (!reason) {
          if (ev.code === 4008) reason = 'forceDisconnected';
          else if (ev.code === 1000 && self._state === 'disconnecting') reason = 'clientDisconnected';
          else reason = 'networkDisconnected';
        }
        self._onDisconnected(reason);
      }
    };
    return this;
  };

  Session.prototype._onConnected = function (msg) {
    this._state = 'connected';
    if (msg.sessionId) this.sessionId = msg.sessionId;
    this.connection = new Connection(msg.connection);
    var caps = msg.capabilities || {};
    this.capabilities = {
      publish: caps.publish ? 1 : 0,
      subscribe: caps.subscribe ? 1 : 0,
      forceDisconnect: caps.forceDisconnect ? 1 : 0,
      forceUnpublish: caps.forceUnpublish ? 1 : 0,
      supportsWebRTC: 1
    };
    this._iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : [];
    if (this._finishConnect) this._finishConnect(null);
  };

  Session.prototype._nextRid = function () {
    this._rid += 1;
    return this._rid;
  };

  /** Sends a request and resolves with the reply (rejects with {code, message} on an error frame). */
  Session.prototype._request = function (msg, timeoutMs) {
    var self = this;
    if (!this._ws || this._state !== 'connected' || this._ws.readyState !== 1) {
      return Promise.reject(notConnectedError(msg.type));
    }
    var rid = this._nextRid();
    var frame = Object.assign({}, msg, { rid: rid });
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () {
        self._pending.delete(rid);
        reject(OTError(ExceptionCodes.UNEXPECTED_SERVER_RESPONSE, 'OT_TIMEOUT',
          'no reply to "' + msg.type + '" within ' + Math.round((timeoutMs || 20000) / 1000) + ' s'));
      }, timeoutMs || 20000);
      self._pending.set(rid, { resolve: resolve, reject: reject, timer: timer });
      try {
        self._ws.send(JSON.stringify(frame));
      } catch (e) {
        clearTimeout(timer);
        self._pending.delete(rid);
        reject(notConnectedError(msg.type));
      }
    });
  };

  /** Fire-and-forget: a request whose reply nobody waits for. */
  Session.prototype._sendQuiet = function (msg) {
    if (!this._ws || this._ws.readyState !== 1 || this._state !== 'connected') return;
    var frame = Object.assign({}, msg, { rid: this._nextRid() });
    try { this._ws.send(JSON.stringify(frame)); } catch (e) { /* ignore */ }
  };

  Session.prototype._rejectPending = function () {
    this._pending.forEach(function (p) {
      clearTimeout(p.timer);
      p.reject(notConnectedError());
    });
    this._pending.clear();
  };

  Session.prototype._connectionFor = function (raw, connectionId) {
    var id = (raw && raw.connectionId) || connectionId;
    if (!id) return raw ? new Connection(raw) : null;
    if (this.connection && this.connection.connectionId === id) return this.connection;
    var known = this.connections.get(id);
    if (known) return known;
    return new Connection(raw || { connectionId: id });
  };

  Session.prototype._handleMessage = function (msg) {
    var self = this;
    if (msg.rid !== undefined && msg.rid !== null && this._pending.has(msg.rid)) {
      var p = this._pending.get(msg.rid);
      this._pending.delete(msg.rid);
      clearTimeout(p.timer);
      if (msg.type === 'error') {
        var err = new Error(msg.message || 'error');
        err.code = msg.code;
        err.name = 'ServerError';
        p.reject(err);
      } else {
        p.resolve(msg);
      }
      return;
    }
    switch (msg.type) {
      case 'sessionConnected':
        if (this._finishConnect && msg.connection) {
          this._onConnected({ connection: msg.connection, sessionId: msg.sessionId, capabilities: {} });
        }
        break;
      case 'connectionCreated': {
        if (!msg.connection) break;
        if (this.connection && msg.connection.connectionId === this.connection.connectionId) break;
        if (this.connections.has(msg.connection.connectionId)) break;
        var c = this.connections.add(new Connection(msg.connection));
        this.dispatchEvent(new Event('connectionCreated', { connection: c, connections: [c] }, false));
        break;
      }
      case 'connectionDestroyed': {
        if (!msg.connection) break;
        var id = msg.connection.connectionId;
        var conn = this.connections.remove(id) || new Connection(msg.connection);
        this.dispatchEvent(new Event('connectionDestroyed', {
          connection: conn, connections: [conn], reason: msg.reason || 'clientDisconnected'
        }, true));
        break;
      }
      case 'streamCreated': {
        if (!msg.stream) break;
        var own = msg.publisher === true ||
          (this.connection && msg.stream.connectionId === this.connection.connectionId);
        if (own) {
          var pub = this._ownStreams.get(msg.stream.streamId);
          if (pub) pub._handleStreamCreated(msg.stream);
          else this._earlyOwnStreams.set(msg.stream.streamId, msg.stream);
          break;
        }
        if (this.streams.has(msg.stream.streamId)) break;
        var s = this.streams.add(new Stream(msg.stream,
          this._connectionFor(msg.stream.connection, msg.stream.connectionId)));
        this.dispatchEvent(new Event('streamCreated', { stream: s, streams: [s] }, false));
        break;
      }
      case 'streamDestroyed': {
        if (!msg.stream) break;
        var sid = msg.stream.streamId;
        var ownPub = this._ownStreams.get(sid);
        if (ownPub || msg.publisher === true) {
          this._earlyOwnStreams.delete(sid);
          if (ownPub) ownPub._handleStreamDestroyed(msg.reason);
          break;
        }
        var stream = this.streams.remove(sid) || new Stream(msg.stream,
          this._connectionFor(msg.stream.connection, msg.stream.connectionId));
        this.dispatchEvent(new Event('streamDestroyed', {
          stream: stream, streams: [stream], reason: msg.reason || 'clientDisconnected'
        }, true), function () {
          self.getSubscribersForStream(stream).forEach(function (sub) {
            sub._teardown('streamDestroyed');
          });
        });
        break;
      }
      case 'subscriptionClosed': {
        var sub = this._subscriptions.get(msg.subscriptionId);
        if (sub) sub._teardown(msg.reason || 'streamDestroyed');
        break;
      }
      case 'signal': {
        // Like OpenTok.js: one SignalEvent whose type is 'signal:<type>' (or 'signal' when untyped),
        // delivered to 'signal:<type>' listeners and then to 'signal' listeners.
        var from = msg.from ? this._connectionFor(msg.from, msg.from.connectionId) : null;
        var sigType = msg.signalType === undefined || msg.signalType === null ? '' : String(msg.signalType);
        var data = msg.data === undefined || msg.data === null ? '' : msg.data;
        var sev = new Event(sigType ? 'signal:' + sigType : 'signal',
          { data: data, from: from, signalType: sigType }, false);
        sev.target = this;
        if (sigType) this.dispatchEvent(sev);
        var list = (this._listeners().signal || []).slice();
        list.forEach(function (l) {
          if (l.once) self.off('signal', l.handler, l.context);
          try { l.handler.call(l.context || self, sev); } catch (e) {
            log.error('a "signal" handler threw', e);
          }
        });
        break;
      }
      case 'archiveStarted':
        this._setArchive(true, msg);
        this.dispatchEvent(new Event('archiveStarted', {
          id: msg.id || msg.archiveId, archiveId: msg.archiveId || msg.id, name: msg.name || ''
        }, false));
        break;
      case 'archiveStopped':
        this._setArchive(false, msg);
        this.dispatchEvent(new Event('archiveStopped', {
          id: msg.id || msg.archiveId, archiveId: msg.archiveId || msg.id, name: msg.name || ''
        }, false));
        break;
      case 'sessionDisconnected':
        this._disconnectReason = msg.reason || 'clientDisconnected';
        break;
      case 'pong':
        break;
      case 'error':
        log.warn('server error: ' + msg.code + ' ' + msg.message);
        break;
      default:
        log.debug('ignoring a "' + msg.type + '" frame');
    }
  };

  Session.prototype._setArchive = function (on, msg) {
    var id = msg.archiveId || msg.id;
    if (on) {
      this.archives[id] = { id: id, name: msg.name || '' };
      this._archive = this.archives[id];
    } else {
      delete this.archives[id];
      this._archive = null;
    }
    this._archiving = Object.keys(this.archives).length > 0;
    var archiving = this._archiving;
    this._publishers.forEach(function (p) { p._setArchiving(archiving); });
  };

  Session.prototype.isArchiving = function () { return this._archiving; };

  Session.prototype._onDisconnected = function (reason) {
    if (this._sessionDisconnectedSent) return;
    this._sessionDisconnectedSent = true;
    this._state = 'disconnected';
    this._rejectPending();
    if (this._disconnectTimer) clearTimeout(this._disconnectTimer);
    var self = this;
    // Our own publishers' streams end with the session.
    Array.from(this._publishers).forEach(function (pub) {
      if (pub.stream) pub._handleStreamDestroyed(reason);
      else {
        pub._attempt = null;
        pub._publishing = false;
        closePeer(pub._pc);
        pub._pc = null;
        pub.session = null;
        pub._setArchiving(false);
      }
    });
    this._publishers.clear();
    this._ownStreams.clear();
    this._earlyOwnStreams.clear();
    this.archives = {};
    this._archiving = false;
    this.dispatchEvent(new Event('sessionDisconnected', { reason: reason }, true), function () {
      Array.from(self._subscribers).forEach(function (sub) { sub._teardown(reason); });
    });
    // Subscriptions cannot outlive the session, even when the default action was prevented.
    Array.from(this._subscribers).forEach(function (sub) {
      closePeer(sub._pc);
      sub._pc = null;
    });
    this._subscribers.clear();
    this._subscriptions.clear();
    this.connections.clear();
    this.streams.clear();
  };

  /** Leaves the session: sessionDisconnected (reason clientDisconnected) follows. */
  Session.prototype.disconnect = function () {
    var self = this;
    var ws = this._ws;
    if (this._state === 'connecting') {
      this._ws = null;
      if (this._finishConnect) {
        this._finishConnect(OTError(ExceptionCodes.CONNECT_FAILED, 'OT_CONNECT_FAILED',
          'disconnect() was called while connecting'));
      }
      this._state = 'disconnected';
      if (ws) try { ws.close(1000); } catch (e) { /* ignore */ }
      return this;
    }
    if (this._state !== 'connected') return this;
    this._state = 'disconnecting';
    this._disconnectReason = 'clientDisconnected';
    // Peer connections close once the server has closed the WebSocket (_onDisconnected), so
    // it sees a clean disconnect rather than lost media.
    try {
      if (ws && ws.readyState === 1) ws.send(JSON.stringify({ type: 'disconnect', rid: this._nextRid() }));
    } catch (e) { /* ignore */ }
    // If the server does not close within 2 s, close ourselves.
    this._disconnectTimer = setTimeout(function () {
      if (self._ws === ws) {
        self._ws = null;
        try { ws.close(1000); } catch (e) { /* ignore */ }
        self._onDisconnected('clientDisconnected');
      }
    }, 2000);
    return this;
  };

  /**
   * publish(publisher, completionHandler), or publish(targetElement, properties, completionHandler)
   * to create the publisher on the fly. Returns the Publisher.
   */
  Session.prototype.publish = function (publisher, properties, completionHandler) {
    if (isFunction(properties)) {
      completionHandler = properties;
      properties = undefined;
    }
    if (!(publisher instanceof Publisher)) {
      publisher = new Publisher(publisher, properties);
    }
    if (this._state !== 'connected') {
      complete(completionHandler, notConnectedError('publish'), undefined, this);
      return publisher;
    }
    if (!this.capabilities.publish) {
      complete(completionHandler, OTError(ExceptionCodes.PERMISSION_DENIED, 'OT_PERMISSION_DENIED',
        'this token\'s role does not allow publishing'), undefined, this);
      return publisher;
    }
    publisher._publishTo(this, completionHandler);
    return publisher;
  };

  /** Stops publishing; the Publisher gets streamDestroyed (default: the publisher is destroyed). */
  Session.prototype.unpublish = function (publisher) {
    if (!publisher || !(publisher instanceof Publisher) || publisher.session !== this) return this;
    var stream = publisher.stream;
    if (!stream) {
      // Not yet published: cancel the attempt.
      closePeer(publisher._pc);
      publisher._pc = null;
      publisher._attempt = null;
      publisher._publishing = false;
      publisher.session = null;
      this._publishers.delete(publisher);
      return this;
    }
    var self = this;
    this._request({ type: 'unpublish', streamId: stream.streamId }).then(function () {
      // streamDestroyed normally arrives with the reply; give it a moment, then end locally.
      return delay(1000);
    }, function () { /* fall through */ }).then(function () {
      if (self._ownStreams.get(stream.streamId) === publisher) publisher._handleStreamDestroyed('unpublished');
    });
    return this;
  };

  /**
   * subscribe(stream, targetElement, properties, completionHandler): returns a Subscriber that
   * shows the stream in a <video>.
   */
  Session.prototype.subscribe = function (stream, targetElement, properties, completionHandler) {
    var args = optionalArgs(targetElement, properties, completionHandler);
    targetElement = args[0]; properties = args[1]; completionHandler = args[2];
    if (stream && !(stream instanceof Stream) && stream.streamId && this.streams.get(stream.streamId)) {
      stream = this.streams.get(stream.streamId);
    }
    var sub = new Subscriber(this, stream, targetElement, properties);
    this._subscribers.add(sub);
    // Start on the next tick so that listeners added right after subscribe() returns get
    // videoElementCreated and connected.
    Promise.resolve().then(function () { return sub._start(completionHandler); });
    return sub;
  };

  Session.prototype.unsubscribe = function (subscriber) {
    if (subscriber && subscriber instanceof Subscriber) subscriber.destroy();
    return this;
  };

  Session.prototype.getSubscribersForStream = function (stream) {
    var id = stream && (stream.streamId || stream);
    return Array.from(this._subscribers).filter(function (s) { return s.streamId === id; });
  };
  Session.prototype.getPublisherForStream = function (stream) {
    var id = stream && (stream.streamId || stream);
    return this._ownStreams.get(id);
  };

  /** signal({type, data, to}, completionHandler); `to` is one Connection (all when omitted). */
  Session.prototype.signal = function (signal, completionHandler) {
    if (isFunction(signal)) {
      completionHandler = signal;
      signal = {};
    }
    signal = signal || {};
    if (this._state !== 'connected') {
      complete(completionHandler, notConnectedError('signal'), undefined, this);
      return this;
    }
    var req = { type: 'signal' };
    if (signal.type !== undefined && signal.type !== null) req.signalType = String(signal.type);
    if (signal.data !== undefined && signal.data !== null) {
      req.data = typeof signal.data === 'string' ? signal.data : JSON.stringify(signal.data);
    }
    if (signal.to) {
      if (Array.isArray(signal.to)) {
        complete(completionHandler, OTError(400, 'OT_INVALID_PARAMETER',
          'signal "to" takes a single Connection, not an array'), undefined, this);
        return this;
      }
      req.to = typeof signal.to === 'string' ? signal.to : signal.to.connectionId;
    }
    var self = this;
    this._request(req).then(function () {
      complete(completionHandler, null, undefined, self);
    }, function (err) {
      var code = err && err.code;
      var e;
      if (code === 400) e = OTError(400, 'OT_INVALID_PARAMETER', err.message);
      else if (code === 404) e = OTError(404, 'OT_NOT_FOUND', err.message || 'no such connection');
      else if (code === 413) e = OTError(413, 'OT_INVALID_PARAMETER', err.message || 'signal too large');
      else if (code === 403) e = OTError(ExceptionCodes.PERMISSION_DENIED, 'OT_PERMISSION_DENIED', err.message);
      else if (code === ExceptionCodes.NOT_CONNECTED) e = err;
      else e = OTError(ExceptionCodes.UNABLE_TO_SIGNAL, 'OT_UNABLE_TO_SIGNAL', err && err.message);
      complete(completionHandler, e, undefined, self);
    });
    return this;
  };

  function moderation(session, kind, body, code, completionHandler) {
    if (session._state !== 'connected') {
      complete(completionHandler, notConnectedError(kind), undefined, session);
      return;
    }
    if (!session.capabilities[kind]) {
      complete(completionHandler, OTError(code, 'OT_PERMISSION_DENIED',
        kind + ': the token\'s role is not moderator'), undefined, session);
      return;
    }
    session._request(body).then(function () {
      complete(completionHandler, null, undefined, session);
    }, function (err) {
      var name = err && err.code === 403 ? 'OT_PERMISSION_DENIED'
        : err && err.code === 404 ? 'OT_NOT_FOUND' : 'OT_UNEXPECTED_SERVER_RESPONSE';
      complete(completionHandler, OTError(code, name, err && err.message), undefined, session);
    });
  }

  /** Moderators: disconnects another client (it gets sessionDisconnected, reason forceDisconnected). */
  Session.prototype.forceDisconnect = function (connection, completionHandler) {
    var id = connection && (connection.connectionId || connection);
    moderation(this, 'forceDisconnect', { type: 'forceDisconnect', connectionId: id },
      ExceptionCodes.UNABLE_TO_FORCE_DISCONNECT, completionHandler);
    return this;
  };

  /** Moderators: stops another client's stream. */
  Session.prototype.forceUnpublish = function (stream, completionHandler) {
    var id = stream && (stream.streamId || stream);
    moderation(this, 'forceUnpublish', { type: 'forceUnpublish', streamId: id },
      ExceptionCodes.UNABLE_TO_FORCE_UNPUBLISH, completionHandler);
    return this;
  };

  // ---------------------------------------------------------------------------------------------
  // Factories
  // ---------------------------------------------------------------------------------------------

  /**
   * OT.initSession(apiKey, sessionId[, options]); options.url overrides the signaling URL.
   * Also accepted: OT.initSession(sessionId) and OT.initSession({apiKey, sessionId, url}).
   */
  OT.initSession = function (apiKey, sessionId, options) {
    if (isObject(apiKey)) {
      options = apiKey;
      apiKey = options.apiKey;
      sessionId = options.sessionId;
    } else if (isObject(sessionId)) {
      options = sessionId;
      sessionId = options.sessionId;
    }
    if (sessionId === undefined && typeof apiKey === 'string' && !/^\d+$/.test(apiKey)) {
      sessionId = apiKey;
      apiKey = null;
    }
    return new Session(apiKey, sessionId, options);
  };

  /** OT.initPublisher(targetElement, properties, completionHandler). */
  OT.initPublisher = function (targetElement, properties, completionHandler) {
    // OpenTok 2.0 form: initPublisher(apiKey, targetElement, properties).
    if (typeof targetElement === 'string' && /^\d+$/.test(targetElement) && arguments.length >= 2 &&
        !resolveElement(targetElement) && !isFunction(properties)) {
      targetElement = arguments[1];
      properties = arguments[2];
      completionHandler = arguments[3];
    }
    var args = optionalArgs(targetElement, properties, completionHandler);
    return new Publisher(args[0], args[1], args[2]);
  };

  OT.Session = Session;
  OT.Publisher = Publisher;
  OT.Subscriber = Subscriber;
  OT.Stream = Stream;
  OT.Connection = Connection;

  global.OT = OT;
  global.Archivist = OT;
  if (!global.TB) global.TB = OT;
})(typeof window !== 'undefined' ? window : this);
