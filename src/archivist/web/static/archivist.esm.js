/*! archivist.esm.js: Archivist's browser client (OpenTok.js API). Built by esbuild from
 * src/archivist/web/src (npm run build): edit the sources, not this file. docs/client.md. */

// src/archivist/web/src/config.js
var scriptUrl = null;
var config = {
  /** Set by the entry point: document.currentScript.src (script tag) or import.meta.url (module). */
  setScriptUrl(url) {
    if (url) scriptUrl = String(url);
  },
  /** ws(s)://<host of the script>/v2/signaling (or of the page when the script URL is unusable). */
  signalingUrl() {
    const base = scriptUrl || (typeof location !== "undefined" ? location.href : null);
    if (!base) return null;
    let u;
    try {
      u = new URL(base);
    } catch {
      return null;
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") {
      if (typeof location === "undefined" || !/^https?:$/.test(location.protocol)) return null;
      u = new URL(location.href);
    }
    return `${u.protocol === "https:" ? "wss:" : "ws:"}//${u.host}/v2/signaling`;
  }
};

// src/archivist/web/src/errors.js
var ExceptionCodes = Object.freeze({
  JS_EXCEPTION: 2e3,
  AUTHENTICATION_ERROR: 1004,
  INVALID_SESSION_ID: 1005,
  CONNECT_FAILED: 1006,
  CONNECT_REJECTED: 1007,
  CONNECTION_TIMEOUT: 1008,
  NOT_CONNECTED: 1010,
  INVALID_PARAMETER: 1011,
  P2P_CONNECTION_FAILED: 1013,
  API_RESPONSE_FAILURE: 1014,
  PEER_CONNECTION_NOT_CONNECTED: 1015,
  TERMS_OF_SERVICE_FAILURE: 1026,
  CONNECTION_LIMIT_EXCEEDED: 1027,
  SET_VIDEO_SOURCE_FAILURE: 1040,
  INVALID_VIDEO_SOURCE: 1041,
  UNABLE_TO_PUBLISH: 1500,
  UNABLE_TO_SUBSCRIBE: 1501,
  UNSUPPORTED_VIDEO_CODEC: 1502,
  UNABLE_TO_FORCE_DISCONNECT: 1520,
  UNABLE_TO_FORCE_UNPUBLISH: 1530,
  UNABLE_TO_FORCE_MUTE: 1540,
  PUBLISHER_ICE_WORKFLOW_FAILED: 1553,
  SUBSCRIBER_ICE_WORKFLOW_FAILED: 1554,
  STREAM_LIMIT_EXCEEDED: 1605,
  UNEXPECTED_SERVER_RESPONSE: 2001,
  REPORT_ISSUE_ERROR: 2011,
  GET_RTC_STATS_REPORT_NOT_SUPPORTED: 2031
});
var Errors = Object.freeze({
  AUTHENTICATION_ERROR: "OT_AUTHENTICATION_ERROR",
  CONNECT_FAILED: "OT_CONNECT_FAILED",
  CONNECT_REJECTED: "OT_CONNECT_REJECTED",
  CONNECTION_TIMEOUT: "OT_CONNECTION_TIMEOUT",
  CONSTRAINTS_NOT_SATISFIED: "OT_CONSTRAINTS_NOT_SATISFIED",
  CREATE_PEER_CONNECTION_FAILED: "OT_CREATE_PEER_CONNECTION_FAILED",
  DISCONNECTED: "OT_DISCONNECTED",
  HARDWARE_UNAVAILABLE: "OT_HARDWARE_UNAVAILABLE",
  ICE_WORKFLOW_FAILED: "OT_ICE_WORKFLOW_FAILED",
  INVALID_AUDIO_OUTPUT_SOURCE: "OT_INVALID_AUDIO_OUTPUT_SOURCE",
  INVALID_PARAMETER: "OT_INVALID_PARAMETER",
  INVALID_SESSION_ID: "OT_INVALID_SESSION_ID",
  INVALID_VIDEO_SOURCE: "OT_INVALID_VIDEO_SOURCE",
  MEDIA_ENDED: "OT_MEDIA_ENDED",
  NO_DEVICES_FOUND: "OT_NO_DEVICES_FOUND",
  NO_VALID_CONSTRAINTS: "OT_NO_VALID_CONSTRAINTS",
  NOT_CONNECTED: "OT_NOT_CONNECTED",
  NOT_FOUND: "OT_NOT_FOUND",
  NOT_SUPPORTED: "OT_NOT_SUPPORTED",
  PERMISSION_DENIED: "OT_PERMISSION_DENIED",
  RATE_LIMIT_EXCEEDED: "OT_RATE_LIMIT_EXCEEDED",
  SCREEN_SHARING_NOT_SUPPORTED: "OT_SCREEN_SHARING_NOT_SUPPORTED",
  SET_REMOTE_DESCRIPTION_FAILED: "OT_SET_REMOTE_DESCRIPTION_FAILED",
  SET_VIDEO_SOURCE_FAILURE: "OT_SET_VIDEO_SOURCE_FAILURE",
  STREAM_CREATE_FAILED: "OT_STREAM_CREATE_FAILED",
  STREAM_DESTROYED: "OT_STREAM_DESTROYED",
  STREAM_NOT_FOUND: "OT_STREAM_NOT_FOUND",
  TIMEOUT: "OT_TIMEOUT",
  UNABLE_TO_CAPTURE_MEDIA: "OT_UNABLE_TO_CAPTURE_MEDIA",
  UNABLE_TO_CAPTURE_SCREEN: "OT_UNABLE_TO_CAPTURE_SCREEN",
  UNABLE_TO_SUBSCRIBE: "OT_UNABLE_TO_SUBSCRIBE",
  UNEXPECTED_SERVER_RESPONSE: "OT_UNEXPECTED_SERVER_RESPONSE",
  UNSUPPORTED_BROWSER: "OT_UNSUPPORTED_BROWSER",
  USER_MEDIA_ACCESS_DENIED: "OT_USER_MEDIA_ACCESS_DENIED"
});
var ErrorTitles = Object.freeze({
  1004: "Authentication error",
  1005: "Invalid Session ID",
  1006: "Connect Failed",
  1007: "Connect Rejected",
  1008: "Connect Time-out",
  1010: "Not Connected",
  1011: "Invalid Parameter",
  1015: "PeerConnection not connected, cannot call this method",
  1040: "Set Video Source Failure",
  1041: "Invalid Video Source",
  1500: "Unable to Publish",
  1501: "Unable to Subscribe",
  1520: "Unable to Force Disconnect",
  1530: "Unable to Force Unpublish",
  1540: "Unable to Force Mute",
  1553: "Publisher ICEWorkflow failed",
  1554: "Subscriber ICEWorkflow failed",
  2e3: "Internal Error",
  2001: "Unexpected Server Response"
});
var OTError = class extends Error {
  constructor(name, message, code) {
    super(message || name);
    this.name = name;
    if (code !== void 0) this.code = code;
  }
};
function otError(name, message, code) {
  return new OTError(name, message, code);
}
function notConnected(what, code = ExceptionCodes.NOT_CONNECTED) {
  return otError(Errors.NOT_CONNECTED, `${what ? `${what}: ` : ""}the client is not connected to the session`, code);
}
function connectErrorFromClose(code, serverMessage) {
  const msg = serverMessage ? ` (${serverMessage})` : "";
  const auth = (text) => otError(Errors.AUTHENTICATION_ERROR, text + msg, ExceptionCodes.AUTHENTICATION_ERROR);
  switch (code) {
    case 4001:
      return auth("invalid token");
    case 4002:
      return auth("token expired");
    case 4003:
      return otError(Errors.PERMISSION_DENIED, `forbidden${msg}`, ExceptionCodes.CONNECT_REJECTED);
    case 4004:
      return auth("session not found, or the token is for another session or API key");
    case 4008:
      return otError(Errors.CONNECT_REJECTED, `force-disconnected${msg}`, ExceptionCodes.CONNECT_REJECTED);
    case 4408:
      return otError(Errors.CONNECTION_TIMEOUT, `connect timed out${msg}`, ExceptionCodes.CONNECTION_TIMEOUT);
    case 4400:
      return otError(Errors.CONNECT_FAILED, `malformed connect request${msg}`, ExceptionCodes.CONNECT_FAILED);
    case 1001:
      return otError(Errors.CONNECT_FAILED, `server shutting down${msg}`, ExceptionCodes.CONNECT_FAILED);
    default:
      return otError(
        Errors.CONNECT_FAILED,
        `could not connect to the signaling server (close code ${code})${msg}`,
        ExceptionCodes.CONNECT_FAILED
      );
  }
}
function mediaError(err, screen = false) {
  const name = err && err.name;
  const detail = err ? `${err.name}: ${err.message}` : String(err);
  const code = ExceptionCodes.UNABLE_TO_PUBLISH;
  if (err instanceof OTError) return err;
  switch (name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
    case "SecurityError":
      return otError(Errors.USER_MEDIA_ACCESS_DENIED, `access to the ${screen ? "screen" : "camera/microphone"} was denied: ${detail}`, code);
    case "NotFoundError":
    case "DevicesNotFoundError":
      return otError(Errors.NO_DEVICES_FOUND, `no device found: ${detail}`, code);
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return otError(Errors.HARDWARE_UNAVAILABLE, `the device could not be started: ${detail}`, code);
    case "OverconstrainedError":
    case "ConstraintNotSatisfiedError":
      return otError(Errors.CONSTRAINTS_NOT_SATISFIED, `the constraints cannot be satisfied: ${detail}`, code);
    case "NotSupportedError":
    case "TypeError":
      return otError(screen ? Errors.SCREEN_SHARING_NOT_SUPPORTED : Errors.NOT_SUPPORTED, `not supported: ${detail}`, code);
    default:
      return otError(screen ? Errors.UNABLE_TO_CAPTURE_SCREEN : Errors.UNABLE_TO_CAPTURE_MEDIA, `could not capture media: ${detail}`, code);
  }
}

// src/archivist/web/src/internal.js
var kAdd = /* @__PURE__ */ Symbol("archivist.add");
var kRemove = /* @__PURE__ */ Symbol("archivist.remove");
var kClear = /* @__PURE__ */ Symbol("archivist.clear");
var kUpdate = /* @__PURE__ */ Symbol("archivist.update");
var kDispatchTo = /* @__PURE__ */ Symbol("archivist.dispatchTo");
var kListenersChanged = /* @__PURE__ */ Symbol("archivist.listenersChanged");
var kListenerCount = /* @__PURE__ */ Symbol("archivist.listenerCount");
var kPublishTo = /* @__PURE__ */ Symbol("archivist.publishTo");
var kStreamCreated = /* @__PURE__ */ Symbol("archivist.streamCreated");
var kStreamDestroyed = /* @__PURE__ */ Symbol("archivist.streamDestroyed");
var kSetArchiving = /* @__PURE__ */ Symbol("archivist.setArchiving");
var kDetach = /* @__PURE__ */ Symbol("archivist.detach");
var kMuteForced = /* @__PURE__ */ Symbol("archivist.muteForced");
var kResync = /* @__PURE__ */ Symbol("archivist.resync");
var kStart = /* @__PURE__ */ Symbol("archivist.start");
var kTeardown = /* @__PURE__ */ Symbol("archivist.teardown");
var kStreamChanged = /* @__PURE__ */ Symbol("archivist.streamChanged");

// src/archivist/web/src/log.js
var LOG_LEVELS = Object.freeze({ NONE: 0, ERROR: 1, WARN: 2, INFO: 3, LOG: 4, DEBUG: 5 });
var level = LOG_LEVELS.WARN;
function setLogLevel(value) {
  const v = typeof value === "string" ? LOG_LEVELS[value.toUpperCase()] : value;
  if (typeof v === "number") level = v;
}
function getLogLevel() {
  return level;
}
function at(threshold, method, args) {
  if (level >= threshold && typeof console !== "undefined" && console[method]) {
    console[method]("[archivist]", ...args);
  }
}
var log = Object.freeze({
  error: (...args) => at(LOG_LEVELS.ERROR, "error", args),
  warn: (...args) => at(LOG_LEVELS.WARN, "warn", args),
  info: (...args) => at(LOG_LEVELS.INFO, "info", args),
  log: (...args) => at(LOG_LEVELS.LOG, "log", args),
  debug: (...args) => at(LOG_LEVELS.DEBUG, "debug", args)
});

// src/archivist/web/src/util.js
var counter = 0;
function uid(prefix) {
  counter += 1;
  const rnd = Math.random().toString(36).slice(2, 10);
  return `${prefix}_${Date.now().toString(36)}${rnd}_${counter}`;
}
var isFunction = (x) => typeof x === "function";
var isObject = (x) => x !== null && typeof x === "object";
var delay = (ms) => new Promise((resolve) => {
  setTimeout(resolve, ms);
});
var noop = () => {
};
function isElement(x) {
  return isObject(x) && x.nodeType === 1;
}
function isTrack(x) {
  return typeof MediaStreamTrack !== "undefined" && x instanceof MediaStreamTrack;
}
function isMediaStream(x) {
  return typeof MediaStream !== "undefined" && x instanceof MediaStream;
}
function cssSize(v) {
  if (v === void 0 || v === null || v === "") return null;
  if (typeof v === "number" || /^\d+(\.\d+)?$/.test(String(v))) return `${v}px`;
  return String(v);
}
function parseResolution(res) {
  const m = /^(\d+)x(\d+)$/.exec(String(res || ""));
  return m ? { width: Number(m[1]), height: Number(m[2]) } : { width: 640, height: 480 };
}
function domReady() {
  if (typeof document === "undefined" || document.readyState !== "loading") return Promise.resolve();
  return new Promise((resolve) => {
    document.addEventListener("DOMContentLoaded", () => resolve(), { once: true });
  });
}

// src/archivist/web/src/events.js
var Event = class {
  #defaultPrevented = false;
  constructor(type, props, cancelable) {
    if (props) Object.assign(this, props);
    this.type = type;
    this.cancelable = cancelable !== false;
    if (!("target" in this)) this.target = null;
  }
  preventDefault() {
    if (this.cancelable) this.#defaultPrevented = true;
  }
  isDefaultPrevented() {
    return this.#defaultPrevented;
  }
};
var EventDispatcher = class {
  #listeners = /* @__PURE__ */ new Map();
  // type -> [{handler, context, once}]
  #add(types, handler, context2, once) {
    if (!isFunction(handler)) return;
    for (const type of String(types).split(/\s+/)) {
      if (!type) continue;
      if (!this.#listeners.has(type)) this.#listeners.set(type, []);
      this.#listeners.get(type).push({ handler, context: context2, once });
      this[kListenersChanged](type);
    }
  }
  #each(types, handler, context2, once) {
    if (isObject(types)) {
      for (const [type, fn] of Object.entries(types)) this.#add(type, fn, handler, once);
    } else {
      this.#add(types, handler, context2, once);
    }
    return this;
  }
  on(types, handler, context2) {
    return this.#each(types, handler, context2, false);
  }
  once(types, handler, context2) {
    return this.#each(types, handler, context2, true);
  }
  off(types, handler, context2) {
    if (types === void 0 || types === null) {
      const all = [...this.#listeners.keys()];
      this.#listeners.clear();
      all.forEach((t) => this[kListenersChanged](t));
      return this;
    }
    if (isObject(types)) {
      for (const [type, fn] of Object.entries(types)) this.off(type, fn, handler);
      return this;
    }
    for (const type of String(types).split(/\s+/)) {
      const list = this.#listeners.get(type);
      if (!type || !list) continue;
      const kept = handler ? list.filter((l) => !(l.handler === handler && (context2 === void 0 || l.context === context2))) : [];
      if (kept.length) this.#listeners.set(type, kept);
      else this.#listeners.delete(type);
      this[kListenersChanged](type);
    }
    return this;
  }
  addEventListener(type, handler, context2) {
    return this.on(type, handler, context2);
  }
  removeEventListener(type, handler, context2) {
    return this.off(type, handler, context2);
  }
  /** Calls every listener of the event's type, then `defaultAction` unless one prevented it. */
  dispatchEvent(event, defaultAction) {
    if (!event.target) event.target = this;
    this[kDispatchTo](event.type, event);
    if (isFunction(defaultAction) && !event.isDefaultPrevented()) {
      try {
        defaultAction(event);
      } catch (err) {
        log.error(`the default action of "${event.type}" failed`, err);
      }
    }
    return event;
  }
  trigger(type, props) {
    return this.dispatchEvent(new Event(type, props));
  }
  /** Delivers `event` to the listeners of `type` (which may differ from event.type). */
  [kDispatchTo](type, event) {
    const list = (this.#listeners.get(type) || []).slice();
    for (const l of list) {
      if (l.once) this.off(type, l.handler, l.context);
      try {
        l.handler.call(l.context || this, event);
      } catch (err) {
        log.error(`an event handler for "${event.type}" threw`, err);
        if (this !== globalEvents) {
          dispatchException(ExceptionCodes.JS_EXCEPTION, String(err && err.message || err), this);
        }
      }
    }
  }
  [kListenerCount](type) {
    return (this.#listeners.get(type) || []).length;
  }
  /** Called whenever listeners of `type` are added or removed; subclasses override it. */
  [kListenersChanged](_type) {
  }
};
var globalEvents = new EventDispatcher();
function dispatchException(code, message, target, title) {
  try {
    globalEvents.dispatchEvent(new Event("exception", {
      code,
      title: title || ErrorTitles[code] || "Error",
      message,
      target: target || null
    }, false));
  } catch {
  }
}

// src/archivist/web/src/callbacks.js
function settle(promise, handler, target, withValue = false) {
  const reported = promise.then(void 0, (error) => {
    dispatchException(error && error.code, error && error.message || String(error), target);
    if (!isFunction(handler)) log.error(`${error && error.name} (${error && error.code}): ${error && error.message}`);
    throw error;
  });
  if (isFunction(handler)) {
    reported.then(
      (value) => callSafely(handler, withValue ? [void 0, value] : [void 0]),
      (error) => callSafely(handler, [error])
    );
    reported.catch(noop);
  }
  return reported;
}
function callSafely(handler, args) {
  try {
    handler(...args);
  } catch (err) {
    log.error("a completion handler threw", err);
  }
}
function optionalArgs(targetElement, properties, completionHandler) {
  let target = targetElement;
  let props = properties;
  let handler = completionHandler;
  if (isFunction(target)) {
    handler = target;
    target = void 0;
    props = void 0;
  } else if (isFunction(props)) {
    handler = props;
    props = void 0;
  }
  if (target !== null && typeof target === "object" && target.nodeType !== 1 && props === void 0) {
    props = target;
    target = void 0;
  }
  return [target, props, handler];
}

// src/archivist/web/src/connection.js
var Connection = class {
  constructor(raw = {}) {
    this.connectionId = raw.connectionId;
    this.id = raw.connectionId;
    this.creationTime = raw.creationTime;
    this.data = raw.data === void 0 || raw.data === null ? "" : raw.data;
  }
};

// src/archivist/web/src/media.js
var SCREEN_SOURCES = ["screen", "window", "application", "browser"];
function isScreenSource(v) {
  return typeof v === "string" && SCREEN_SOURCES.includes(v);
}
function mediaDevices() {
  return typeof navigator !== "undefined" ? navigator.mediaDevices : void 0;
}
function audioConstraints(props) {
  const c = {};
  const src = props.audioSource;
  if (typeof src === "string" && src) c.deviceId = { exact: src };
  const processing = props.disableAudioProcessing ? false : void 0;
  for (const k of ["echoCancellation", "noiseSuppression", "autoGainControl"]) {
    const v = props[k] !== void 0 ? !!props[k] : processing;
    if (v !== void 0) c[k] = v;
  }
  return Object.keys(c).length ? c : true;
}
function videoConstraints(props, deviceId) {
  const res = parseResolution(props.resolution);
  const c = { width: { ideal: res.width }, height: { ideal: res.height } };
  if (props.maxResolution) {
    c.width.max = props.maxResolution.width;
    c.height.max = props.maxResolution.height;
  }
  if (props.frameRate) c.frameRate = { ideal: Number(props.frameRate) };
  const id = deviceId !== void 0 ? deviceId : props.videoSource;
  if (typeof id === "string" && id && !isScreenSource(id)) c.deviceId = { exact: id };
  else if (props.facingMode) c.facingMode = props.facingMode;
  return c;
}
async function captureScreen(props) {
  const md = mediaDevices();
  if (!md || typeof md.getDisplayMedia !== "function") {
    throw otError(
      Errors.SCREEN_SHARING_NOT_SUPPORTED,
      "screen sharing is not supported by this browser",
      ExceptionCodes.UNABLE_TO_PUBLISH
    );
  }
  const video = {};
  if (props.frameRate) video.frameRate = { ideal: Number(props.frameRate) };
  if (props.maxResolution) {
    video.width = { max: props.maxResolution.width };
    video.height = { max: props.maxResolution.height };
  }
  try {
    const stream = await md.getDisplayMedia({ video: Object.keys(video).length ? video : true, audio: false });
    return stream.getVideoTracks()[0];
  } catch (err) {
    throw mediaError(err, true);
  }
}
async function acquireTracks(props) {
  const out = { audio: null, video: null, videoType: null, external: [] };
  let needVideo = props.videoSource !== null && props.videoSource !== false;
  let needAudio = props.audioSource !== null && props.audioSource !== false;
  if (!needAudio && !needVideo) {
    throw otError(
      Errors.NO_VALID_CONSTRAINTS,
      "videoSource and audioSource are both null: nothing to capture",
      ExceptionCodes.UNABLE_TO_PUBLISH
    );
  }
  const given = (src, kind) => {
    if (isTrack(src)) return src;
    if (isMediaStream(src)) return (kind === "audio" ? src.getAudioTracks() : src.getVideoTracks())[0] || null;
    return void 0;
  };
  const gv = needVideo ? given(props.videoSource, "video") : void 0;
  if (gv !== void 0) {
    out.video = gv;
    out.videoType = "custom";
    if (gv) out.external.push(gv);
    needVideo = false;
  }
  const ga = needAudio ? given(props.audioSource, "audio") : void 0;
  if (ga !== void 0) {
    out.audio = ga;
    if (ga) out.external.push(ga);
    needAudio = false;
  }
  if (needVideo && isScreenSource(props.videoSource)) {
    out.video = await captureScreen(props);
    out.videoType = "screen";
    needVideo = false;
  }
  if (needVideo || needAudio) {
    const md = mediaDevices();
    if (!md || typeof md.getUserMedia !== "function") {
      throw otError(
        Errors.NOT_SUPPORTED,
        "getUserMedia is not available (insecure origin or unsupported browser)",
        ExceptionCodes.UNABLE_TO_PUBLISH
      );
    }
    const constraints = {};
    if (needVideo) constraints.video = videoConstraints(props);
    if (needAudio) constraints.audio = audioConstraints(props);
    let ms;
    try {
      ms = await md.getUserMedia(constraints);
    } catch (err) {
      if (out.video && out.videoType === "screen") out.video.stop();
      throw mediaError(err);
    }
    if (needVideo) {
      out.video = ms.getVideoTracks()[0] || null;
      out.videoType = "camera";
    }
    if (needAudio) out.audio = ms.getAudioTracks()[0] || null;
  }
  return out;
}
async function getUserMedia(properties = {}) {
  const t = await acquireTracks(properties);
  return new MediaStream([t.audio, t.video].filter(Boolean));
}
async function listDevices() {
  const md = mediaDevices();
  if (!md || typeof md.enumerateDevices !== "function") {
    throw otError(Errors.NOT_SUPPORTED, "enumerateDevices is not supported by this browser");
  }
  const all = await md.enumerateDevices();
  const kinds = { audioinput: "audioInput", videoinput: "videoInput" };
  return all.filter((d) => kinds[d.kind]).map((d) => ({ kind: kinds[d.kind], deviceId: d.deviceId, label: d.label }));
}
async function videoInputIds() {
  return (await listDevices()).filter((d) => d.kind === "videoInput").map((d) => d.deviceId);
}
var sinks = /* @__PURE__ */ new Set();
var activeOutput = null;
async function audioOutputDevices() {
  const md = mediaDevices();
  if (!md || typeof md.enumerateDevices !== "function") return [];
  return (await md.enumerateDevices()).filter((d) => d.kind === "audiooutput").map((d) => ({ deviceId: d.deviceId, label: d.label || null }));
}
async function setAudioOutputDevice(deviceId) {
  const known = await audioOutputDevices();
  if (typeof deviceId !== "string" || !known.some((d) => d.deviceId === deviceId)) {
    throw otError(
      Errors.INVALID_AUDIO_OUTPUT_SOURCE,
      `${deviceId} is not an audio output device`,
      ExceptionCodes.INVALID_PARAMETER
    );
  }
  activeOutput = deviceId;
  await Promise.all([...sinks].map((el) => applySink(el)));
}
async function activeAudioOutputDevice() {
  const known = await audioOutputDevices();
  const id = activeOutput || "default";
  const found = known.find((d) => d.deviceId === id) || known[0];
  return found || { deviceId: null, label: null };
}
async function applySink(el) {
  if (!activeOutput || typeof el.setSinkId !== "function" || el.sinkId === activeOutput) return;
  try {
    await el.setSinkId(activeOutput);
  } catch (err) {
    log.warn("setSinkId failed", err);
  }
}
function registerSink(el) {
  sinks.add(el);
  applySink(el);
}
function unregisterSink(el) {
  sinks.delete(el);
}

// src/archivist/web/src/audio-level.js
var AUDIO_LEVEL_PERIOD_MS = 60;
var context = null;
function audioContext() {
  if (context || typeof AudioContext === "undefined") return context;
  context = new AudioContext();
  if (context.state === "suspended" && typeof document !== "undefined") {
    const resume = () => {
      context.resume().catch(() => {
      });
      document.removeEventListener("click", resume, true);
      document.removeEventListener("keydown", resume, true);
    };
    document.addEventListener("click", resume, true);
    document.addEventListener("keydown", resume, true);
  }
  return context;
}
var AnalyserProbe = class {
  #source = null;
  #analyser = null;
  #buffer = null;
  constructor(track) {
    const ctx = audioContext();
    if (!ctx || !track) return;
    this.#source = ctx.createMediaStreamSource(new MediaStream([track]));
    this.#analyser = ctx.createAnalyser();
    this.#analyser.fftSize = 1024;
    this.#buffer = new Float32Array(this.#analyser.fftSize);
    this.#source.connect(this.#analyser);
  }
  get running() {
    return !!this.#analyser && context.state === "running";
  }
  level() {
    if (!this.running) return null;
    this.#analyser.getFloatTimeDomainData(this.#buffer);
    let peak = 0;
    for (const v of this.#buffer) {
      const a = Math.abs(v);
      if (a > peak) peak = a;
    }
    return Math.min(1, peak);
  }
  close() {
    try {
      if (this.#source) this.#source.disconnect();
    } catch {
    }
    this.#source = null;
    this.#analyser = null;
  }
};
async function statsLevel(pc, type) {
  if (!pc) return null;
  const report = await pc.getStats();
  let level2 = null;
  report.forEach((s) => {
    const kind = s.kind || s.mediaType;
    if (kind === "audio" && s.type === type && typeof s.audioLevel === "number") level2 = s.audioLevel;
  });
  return level2;
}
var AudioLevelSampler = class {
  #timer = null;
  #probe = null;
  #probeTrack = null;
  #busy = false;
  #opts;
  /** @param {{track: () => MediaStreamTrack|null, pc: () => RTCPeerConnection|null, remote: boolean, onLevel: (n: number) => void}} opts */
  constructor(opts) {
    this.#opts = opts;
  }
  get running() {
    return this.#timer !== null;
  }
  start() {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => this.#tick(), AUDIO_LEVEL_PERIOD_MS);
  }
  stop() {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#probe) this.#probe.close();
    this.#probe = null;
    this.#probeTrack = null;
  }
  async #tick() {
    if (this.#busy) return;
    this.#busy = true;
    try {
      const level2 = await this.#measure();
      if (level2 !== null && this.#timer !== null) this.#opts.onLevel(level2);
    } catch {
    } finally {
      this.#busy = false;
    }
  }
  async #measure() {
    const track = this.#opts.track();
    if (!track || track.readyState === "ended") return null;
    if (!track.enabled) return 0;
    if (this.#probeTrack !== track) {
      if (this.#probe) this.#probe.close();
      this.#probe = new AnalyserProbe(track);
      this.#probeTrack = track;
    }
    const level2 = this.#probe.level();
    if (level2 !== null) return level2;
    return statsLevel(this.#opts.pc(), this.#opts.remote ? "inbound-rtp" : "media-source");
  }
};

// src/archivist/web/src/repair.js
var DISCONNECTED_GRACE_MS = 2500;
var QUIET_MS = 2500;
var POLL_MS = 1e3;
var RETRY_MS = [500, 1e3, 2e3, 4e3];
function isHealthy(pc) {
  if (!pc) return false;
  const ice = pc.iceConnectionState;
  const state = pc.connectionState;
  if (state === "failed" || state === "disconnected" || state === "closed") return false;
  return ice !== "failed" && ice !== "disconnected" && ice !== "closed";
}
async function quietFor(pc) {
  let report;
  try {
    report = await pc.getStats();
  } catch {
    return null;
  }
  let pair = null;
  report.forEach((s) => {
    if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId) || pair;
  });
  if (!pair) {
    report.forEach((s) => {
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
    });
  }
  if (!pair || typeof pair.lastPacketReceivedTimestamp !== "number") return null;
  return pair.timestamp - pair.lastPacketReceivedTimestamp;
}
var PeerWatch = class {
  #pc;
  #onBroken;
  #graceMs;
  #timer = null;
  #poll = null;
  #stopped = false;
  #listener = () => this.#check();
  constructor(pc, onBroken, graceMs = DISCONNECTED_GRACE_MS) {
    this.#pc = pc;
    this.#onBroken = onBroken;
    this.#graceMs = graceMs;
    pc.addEventListener("iceconnectionstatechange", this.#listener);
    pc.addEventListener("connectionstatechange", this.#listener);
    this.#poll = setInterval(() => this.#checkQuiet(), POLL_MS);
    this.#check();
  }
  async #checkQuiet() {
    if (this.#stopped || this.#pc.connectionState !== "connected") return;
    const quiet = await quietFor(this.#pc);
    if (quiet !== null && quiet > QUIET_MS) {
      log.debug(`nothing received for ${Math.round(quiet)} ms`);
      this.#fire();
    }
  }
  #check() {
    if (this.#stopped) return;
    const pc = this.#pc;
    if (pc.connectionState === "closed") {
      this.stop();
      return;
    }
    if (pc.iceConnectionState === "failed" || pc.connectionState === "failed") {
      this.#fire();
    } else if (pc.iceConnectionState === "disconnected" || pc.connectionState === "disconnected") {
      if (this.#timer === null) {
        this.#timer = setTimeout(() => {
          this.#timer = null;
          if (!isHealthy(pc)) this.#fire();
        }, this.#graceMs);
      }
    } else {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }
  #fire() {
    if (this.#stopped) return;
    log.debug(`peer connection broken (ice ${this.#pc.iceConnectionState}, ${this.#pc.connectionState})`);
    this.stop();
    this.#onBroken();
  }
  stop() {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#poll);
    this.#timer = null;
    this.#poll = null;
    this.#pc.removeEventListener("iceconnectionstatechange", this.#listener);
    this.#pc.removeEventListener("connectionstatechange", this.#listener);
  }
};
var MediaRepair = class {
  #replace;
  #isConnected;
  #onGone;
  #label;
  #wanted = false;
  #running = false;
  #closed = false;
  #attempts = 0;
  #timer = null;
  constructor({ replace, isConnected, onGone, label }) {
    this.#replace = replace;
    this.#isConnected = isConnected;
    this.#onGone = onGone;
    this.#label = label;
  }
  get pending() {
    return this.#wanted || this.#running;
  }
  /** The peer connection is broken: replace it now, or once the session is connected again. */
  request() {
    if (this.#closed) return;
    this.#wanted = true;
    this.#run();
  }
  async #run() {
    if (this.#running || !this.#wanted || this.#closed || this.#timer !== null) return;
    if (!this.#isConnected()) {
      log.debug(`${this.#label}: media repair waits for the session to reconnect`);
      return;
    }
    this.#running = true;
    this.#wanted = false;
    try {
      await this.#replace();
      this.#attempts = 0;
      log.info(`${this.#label}: media connection replaced`);
    } catch (err) {
      if (this.#closed) return;
      if (err && err.code === 404) {
        this.#closed = true;
        this.#onGone(err);
        return;
      }
      const level2 = this.#isConnected() ? "warn" : "debug";
      log[level2](`${this.#label}: replacing the media connection failed: ${err && err.message || err}`);
      this.#wanted = true;
      const wait = RETRY_MS[Math.min(this.#attempts, RETRY_MS.length - 1)];
      this.#attempts += 1;
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#run();
      }, wait);
    } finally {
      this.#running = false;
    }
  }
  close() {
    this.#closed = true;
    this.#wanted = false;
    clearTimeout(this.#timer);
    this.#timer = null;
  }
};

// src/archivist/web/src/rtc.js
function rtcConfiguration(serverIceServers, iceConfig) {
  const cfg = iceConfig || {};
  const custom = Array.isArray(cfg.customServers) ? cfg.customServers.map(iceServer) : [];
  const fromServer = Array.isArray(serverIceServers) ? serverIceServers.map(iceServer) : [];
  const servers = cfg.includeServers === "custom" ? custom : [...fromServer, ...custom];
  const out = { iceServers: servers.filter((s) => s.urls && s.urls.length) };
  if (cfg.transportPolicy === "relay") out.iceTransportPolicy = "relay";
  return out;
}
function iceServer(s) {
  const out = { urls: Array.isArray(s.urls) ? s.urls.slice() : s.urls || s.url ? [s.urls || s.url] : [] };
  if (s.username !== void 0) out.username = s.username;
  if (s.credential !== void 0) out.credential = s.credential;
  return out;
}
function waitForIceGathering(pc, timeoutMs = 5e3) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      pc.removeEventListener("icegatheringstatechange", onChange);
      pc.removeEventListener("icecandidate", onCandidate);
      clearTimeout(timer);
      resolve();
    };
    const onChange = () => {
      if (pc.iceGatheringState === "complete") finish();
    };
    const onCandidate = (ev) => {
      if (!ev.candidate) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    pc.addEventListener("icegatheringstatechange", onChange);
    pc.addEventListener("icecandidate", onCandidate);
  });
}
async function negotiate(pc, send) {
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc, 5e3);
    const answer = await send(pc.localDescription.sdp);
    if (answer === null) {
      closePeer(pc);
      return false;
    }
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    return true;
  } catch (err) {
    closePeer(pc);
    throw err;
  }
}
function waitForConnected(pc, timeoutMs = 2e4) {
  const state = () => pc.connectionState || pc.iceConnectionState;
  const isUp = () => state() === "connected" || state() === "completed";
  if (isUp()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      pc.removeEventListener("connectionstatechange", onChange);
      pc.removeEventListener("iceconnectionstatechange", onChange);
    };
    const onChange = () => {
      if (isUp()) {
        cleanup();
        resolve();
      } else if (state() === "failed" || state() === "closed") {
        cleanup();
        reject(new Error(`media connection ${state()}`));
      }
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error("media connection timed out"));
    }, timeoutMs);
    pc.addEventListener("connectionstatechange", onChange);
    pc.addEventListener("iceconnectionstatechange", onChange);
  });
}
async function preferResolution(sender) {
  if (!sender || !sender.getParameters || !sender.setParameters) return false;
  try {
    const params = sender.getParameters();
    if (params.degradationPreference === "maintain-resolution") return true;
    params.degradationPreference = "maintain-resolution";
    await sender.setParameters(params);
    return true;
  } catch (e) {
    log.debug("setParameters(degradationPreference) failed", e);
    return false;
  }
}
function closePeer(pc) {
  if (!pc) return;
  try {
    pc.close();
  } catch {
  }
}
function summarizeStats(report, direction) {
  const out = { audio: {}, video: {}, timestamp: Date.now() };
  const wanted = direction === "outbound" ? "outbound-rtp" : "inbound-rtp";
  const remote = /* @__PURE__ */ new Map();
  report.forEach((s) => {
    if (s.type === "remote-inbound-rtp") remote.set(s.localId, s);
  });
  report.forEach((s) => {
    if (s.type !== wanted) return;
    const kind = s.kind || s.mediaType;
    if (kind !== "audio" && kind !== "video") return;
    const o = out[kind];
    if (direction === "outbound") {
      o.bytesSent = (o.bytesSent || 0) + (s.bytesSent || 0);
      o.packetsSent = (o.packetsSent || 0) + (s.packetsSent || 0);
      const r = remote.get(s.id);
      o.packetsLost = (o.packetsLost || 0) + (r && r.packetsLost || 0);
      if (kind === "video") o.frameRate = s.framesPerSecond || 0;
    } else {
      o.bytesReceived = (o.bytesReceived || 0) + (s.bytesReceived || 0);
      o.packetsReceived = (o.packetsReceived || 0) + (s.packetsReceived || 0);
      o.packetsLost = (o.packetsLost || 0) + (s.packetsLost || 0);
      if (kind === "video") {
        o.frameRate = s.framesPerSecond || 0;
        o.decodedFrameRate = s.framesPerSecond || 0;
        o.width = s.frameWidth || 0;
        o.height = s.frameHeight || 0;
      }
    }
    if (s.timestamp) out.timestamp = s.timestamp;
  });
  for (const kind of ["audio", "video"]) {
    const o = out[kind];
    const zeros = direction === "outbound" ? ["bytesSent", "packetsSent", "packetsLost"] : ["bytesReceived", "packetsReceived", "packetsLost"];
    zeros.forEach((k) => {
      if (o[k] === void 0) o[k] = 0;
    });
  }
  return out;
}

// src/archivist/web/src/stream.js
var WATCHED = ["hasAudio", "hasVideo", "videoDimensions", "name"];
var Stream = class {
  constructor(raw, connection) {
    this[kUpdate](raw, connection);
  }
  /** Takes the server's fields; returns [{changedProperty, oldValue, newValue}] for what changed. */
  [kUpdate](raw = {}, connection = void 0) {
    const before = Object.fromEntries(WATCHED.map((k) => [k, this[k]]));
    const first = this.streamId === void 0;
    this.streamId = raw.streamId;
    this.id = raw.streamId;
    this.connection = connection || new Connection(raw.connection || { connectionId: raw.connectionId });
    this.name = raw.name === void 0 || raw.name === null ? "" : raw.name;
    this.hasAudio = raw.hasAudio !== false;
    this.hasVideo = raw.hasVideo !== false;
    this.hasCaptions = false;
    this.initials = raw.initials || "";
    this.videoType = raw.videoType || (this.hasVideo ? "camera" : void 0);
    this.creationTime = raw.creationTime;
    this.videoDimensions = raw.videoDimensions || null;
    this.frameRate = raw.frameRate || null;
    if (first) return [];
    return WATCHED.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(this[k])).map((k) => ({ changedProperty: k, oldValue: before[k], newValue: this[k] }));
  }
};

// src/archivist/web/src/widget.js
var CSS = `
.OT_root{position:relative;overflow:hidden;background-color:#000;background-position:center;
background-size:cover;background-repeat:no-repeat;display:inline-block;vertical-align:top;box-sizing:border-box}
.OT_root .OT_video-element{width:100%;height:100%;display:block;background:transparent}
.OT_root.OT_no-video .OT_video-element{visibility:hidden}
.OT_root .OT_name{position:absolute;left:0;right:0;bottom:0;padding:2px 6px;font:12px sans-serif;color:#fff;
background:rgba(0,0,0,.45);white-space:nowrap;overflow:hidden;text-overflow:ellipsis;display:none;z-index:2}
.OT_root[data-name-display="on"] .OT_name,.OT_root[data-name-display="auto"].OT_name-shown .OT_name,
.OT_root[data-name-display="auto"]:hover .OT_name,.OT_root[data-name-display="auto"].OT_no-video .OT_name{display:block}
.OT_root .OT_name:empty{display:none!important}
.OT_root .OT_mute{position:absolute;top:6px;right:6px;width:26px;height:26px;border:0;border-radius:50%;padding:0;
cursor:pointer;background:rgba(0,0,0,.55);color:#fff;font:bold 12px sans-serif;display:none;z-index:3}
.OT_root .OT_mute.OT_active{background:rgba(200,0,0,.8)}
.OT_root[data-button-display="on"] .OT_mute,.OT_root[data-button-display="auto"]:hover .OT_mute{display:block}
.OT_root .OT_audio-level-meter{position:absolute;left:4px;top:10%;bottom:10%;width:6px;border-radius:3px;
background:rgba(255,255,255,.25);display:none;z-index:2}
.OT_root .OT_audio-level-meter__value{position:absolute;left:0;right:0;bottom:0;height:0;border-radius:3px;background:#3c3}
.OT_root[data-audio-level-display="on"] .OT_audio-level-meter,
.OT_root[data-audio-level-display="auto"].OT_no-video .OT_audio-level-meter{display:block}
.OT_archiving{position:absolute;top:6px;left:6px;z-index:10;display:none;align-items:center;gap:4px;padding:2px 6px;
border-radius:3px;background:rgba(0,0,0,.55);color:#fff;font:bold 11px sans-serif;letter-spacing:.05em;pointer-events:none}
.OT_archiving[data-archiving="true"]{display:flex}
.OT_root[data-archive-status-display="off"] .OT_archiving{display:none!important}
.OT_archiving .OT_archiving-light{width:10px;height:10px;border-radius:50%;background:#e00;box-shadow:0 0 4px #f00}
`;
var styleInstalled = false;
function installStyle() {
  if (styleInstalled || typeof document === "undefined") return;
  styleInstalled = true;
  const style = document.createElement("style");
  style.setAttribute("data-archivist", "style");
  style.textContent = CSS.replace(/\n/g, "");
  (document.head || document.documentElement).appendChild(style);
}
var DISPLAY_MODES = ["auto", "on", "off"];
var PUBLISHER_STYLE = Object.freeze({
  archiveStatusDisplayMode: "auto",
  audioLevelDisplayMode: "auto",
  backgroundImageURI: "",
  buttonDisplayMode: "auto",
  nameDisplayMode: "auto",
  videoDisabledDisplayMode: "auto"
});
var SUBSCRIBER_STYLE = Object.freeze({
  audioBlockedDisplayMode: "auto",
  audioLevelDisplayMode: "auto",
  backgroundImageURI: "",
  buttonDisplayMode: "auto",
  nameDisplayMode: "auto",
  videoDisabledDisplayMode: "auto"
});
function resolveTarget(target) {
  if (target === void 0 || target === null || target === "") return null;
  if (typeof target === "string") return typeof document === "undefined" ? null : document.getElementById(target);
  return isElement(target) ? target : null;
}
var Widget = class {
  #kind;
  #props;
  #style;
  #root = null;
  #video;
  #nameEl = null;
  #button = null;
  #meterValue = null;
  #archive = null;
  #archiving = false;
  #hasVideo = true;
  #id;
  #target;
  #onMute;
  #nameTimer = null;
  #removed = false;
  /**
   * @param {'publisher'|'subscriber'} kind
   * @param {object} props the widget properties (insertMode, insertDefaultUI, width, height,
   *   fitMode, mirror, showControls, style, name)
   * @param {{onMuteClick?: () => void}} hooks
   */
  constructor(kind, target, props, hooks = {}) {
    installStyle();
    this.#kind = kind;
    this.#props = props;
    this.#onMute = hooks.onMuteClick || null;
    this.#target = target;
    this.#style = { ...kind === "publisher" ? PUBLISHER_STYLE : SUBSCRIBER_STYLE };
    if (props.showControls === false) {
      this.#style.nameDisplayMode = "off";
      this.#style.buttonDisplayMode = "off";
      this.#style.audioLevelDisplayMode = "off";
    }
    this.#video = this.#makeVideo();
    const mode = props.insertMode || "replace";
    const defaultUI = props.insertDefaultUI !== false;
    let resolved = resolveTarget(target);
    const reusable = !(resolved && resolved.classList.contains("OT_root"));
    if (!reusable) resolved = null;
    if (defaultUI && mode === "replace" && reusable && (resolved || typeof target === "string" && target)) {
      this.#id = resolved ? resolved.id || (resolved.id = uid("OT")) : target;
    } else {
      this.#id = uid("OT");
    }
    if (defaultUI && !(mode === "replace" && reusable && !resolved && typeof target === "string" && target)) {
      this.#root = mode === "replace" && resolved ? resolved : document.createElement("div");
      this.#build();
    }
    if (props.style) this.setStyle(props.style);
  }
  get id() {
    return this.#id;
  }
  /** The root element (undefined without the default UI, or before a 'replace' target exists). */
  get element() {
    return this.#root || void 0;
  }
  get video() {
    return this.#video;
  }
  get defaultUI() {
    return this.#props.insertDefaultUI !== false;
  }
  /** Inserts the root once the DOM is ready, following insertMode. */
  async insert() {
    if (!this.defaultUI) return;
    await domReady();
    if (this.#removed) return;
    const mode = this.#props.insertMode || "replace";
    const target = resolveTarget(this.#target);
    if (this.#target && !target) log.warn(`target element "${this.#target}" not found; appending to <body>`);
    if (!this.#root) {
      if (target) {
        this.#root = target;
        if (!target.id) target.id = this.#id;
        this.#id = target.id;
      } else {
        this.#root = document.createElement("div");
        this.#root.id = this.#id;
      }
      this.#build();
    }
    const root = this.#root;
    if (!target) {
      if (!root.isConnected) document.body.appendChild(root);
      return;
    }
    if (root === target) return;
    switch (mode) {
      case "append":
        target.appendChild(root);
        break;
      case "before":
        target.parentNode.insertBefore(root, target);
        break;
      case "after":
        target.parentNode.insertBefore(root, target.nextSibling);
        break;
      default:
        target.parentNode.replaceChild(root, target);
    }
  }
  #makeVideo() {
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute("playsinline", "");
    if (this.#kind === "publisher") {
      video.muted = true;
      video.setAttribute("muted", "");
    }
    video.className = "OT_video-element";
    this.setFitMode(this.#props.fitMode, video);
    return video;
  }
  #build() {
    const root = this.#root;
    const props = this.#props;
    while (root.firstChild) root.removeChild(root.firstChild);
    if (!root.id) root.id = this.#id;
    root.classList.add("OT_root", this.#kind === "publisher" ? "OT_publisher" : "OT_subscriber");
    root.setAttribute("data-archivist", this.#kind);
    const w = cssSize(props.width === void 0 ? 264 : props.width);
    const h = cssSize(props.height === void 0 ? 198 : props.height);
    if (w) root.style.width = w;
    if (h) root.style.height = h;
    root.appendChild(this.#video);
    this.#nameEl = document.createElement("div");
    this.#nameEl.className = "OT_name";
    this.#nameEl.textContent = props.name || "";
    root.appendChild(this.#nameEl);
    this.#button = document.createElement("button");
    this.#button.type = "button";
    this.#button.className = "OT_mute";
    this.#button.title = "Mute";
    this.#button.setAttribute("aria-label", "Mute");
    this.#button.textContent = "🔇";
    this.#button.addEventListener("click", (ev) => {
      ev.stopPropagation();
      if (this.#onMute) this.#onMute();
    });
    root.appendChild(this.#button);
    const meter = document.createElement("div");
    meter.className = "OT_audio-level-meter";
    this.#meterValue = document.createElement("div");
    this.#meterValue.className = "OT_audio-level-meter__value";
    meter.appendChild(this.#meterValue);
    root.appendChild(meter);
    if (this.#kind === "publisher") {
      root.setAttribute("data-archiving", "false");
      const indicator = document.createElement("div");
      indicator.className = "OT_archiving";
      indicator.setAttribute("data-archiving", "false");
      indicator.setAttribute("role", "status");
      indicator.setAttribute("aria-label", "Recording");
      indicator.setAttribute("title", "This session is being recorded");
      indicator.setAttribute("aria-hidden", "true");
      indicator.style.display = "none";
      const light = document.createElement("span");
      light.className = "OT_archiving-light";
      const label = document.createElement("span");
      label.className = "OT_archiving-status";
      label.textContent = "REC";
      indicator.append(light, label);
      root.appendChild(indicator);
      this.#archive = indicator;
    }
    this.#applyStyle();
    this.setArchiving(this.#archiving);
    this.setHasVideo(this.#hasVideo);
    root.classList.add("OT_name-shown");
    this.#nameTimer = setTimeout(() => root.classList.remove("OT_name-shown"), 3e3);
  }
  setName(name) {
    if (this.#nameEl) this.#nameEl.textContent = name || "";
  }
  setMirror(on) {
    this.#video.style.transform = on ? "scaleX(-1)" : "";
  }
  setFitMode(mode, video = this.#video) {
    video.style.objectFit = mode === "contain" ? "contain" : "cover";
  }
  getStyle() {
    return { ...this.#style };
  }
  /** setStyle(name, value) or setStyle({name: value, ...}). */
  setStyle(style, value) {
    const entries = typeof style === "string" ? [[style, value]] : Object.entries(style || {});
    for (const [k, v] of entries) {
      if (!(k in this.#style)) continue;
      if (k === "backgroundImageURI") this.#style[k] = v ? String(v) : "";
      else if (k === "archiveStatusDisplayMode") this.#style[k] = v === "off" ? "off" : "auto";
      else if (DISPLAY_MODES.includes(v)) this.#style[k] = v;
    }
    this.#applyStyle();
  }
  #applyStyle() {
    const root = this.#root;
    if (!root) return;
    const s = this.#style;
    root.setAttribute("data-name-display", s.nameDisplayMode);
    root.setAttribute("data-button-display", s.buttonDisplayMode);
    root.setAttribute("data-audio-level-display", s.audioLevelDisplayMode);
    if (this.#kind === "publisher") root.setAttribute("data-archive-status-display", s.archiveStatusDisplayMode);
    const uri = s.backgroundImageURI;
    root.style.backgroundImage = uri && !/^data:image\/\w+;base64,$/.test(uri) ? `url("${uri.replace(/"/g, '\\"')}")` : "";
  }
  /** True when the audio level meter is on screen (the owner then samples levels). */
  get showsAudioLevel() {
    if (!this.#root || !this.#root.isConnected) return false;
    const mode = this.#style.audioLevelDisplayMode;
    return mode === "on" || mode === "auto" && !this.#hasVideo;
  }
  setAudioLevel(level2) {
    if (this.#meterValue) this.#meterValue.style.height = `${Math.round(Math.min(1, Math.max(0, level2)) * 100)}%`;
  }
  /** Without video (audio-only, or video off) the background image and the meter show. */
  setHasVideo(on) {
    this.#hasVideo = !!on;
    if (this.#root) this.#root.classList.toggle("OT_no-video", !on);
  }
  setMuted(muted) {
    if (!this.#button) return;
    this.#button.classList.toggle("OT_active", !!muted);
    this.#button.title = muted ? "Unmute" : "Mute";
    this.#button.setAttribute("aria-label", this.#button.title);
    this.#button.setAttribute("aria-pressed", muted ? "true" : "false");
  }
  /** The publisher's recording indicator (data-archiving on the root and the indicator). */
  setArchiving(on) {
    this.#archiving = !!on;
    const v = on ? "true" : "false";
    if (this.#root && this.#kind === "publisher") {
      this.#root.setAttribute("data-archiving", v);
      this.#root.classList.toggle("OT_archiving-on", !!on);
    }
    if (this.#archive) {
      this.#archive.setAttribute("data-archiving", v);
      this.#archive.setAttribute("aria-hidden", on ? "false" : "true");
      this.#archive.style.display = on ? "flex" : "none";
    }
  }
  remove() {
    this.#removed = true;
    clearTimeout(this.#nameTimer);
    this.#video.srcObject = null;
    if (this.#root && this.#root.parentNode) this.#root.parentNode.removeChild(this.#root);
  }
};
function startPlayback(video, wantSound, onBlocked, onUnblocked) {
  let p;
  try {
    p = video.play();
  } catch {
    return;
  }
  if (!p || typeof p.catch !== "function") return;
  p.catch((err) => {
    if (!err || err.name !== "NotAllowedError" || video.muted) return;
    video.muted = true;
    video.play().catch(() => {
    });
    if (!wantSound) return;
    if (onBlocked) onBlocked();
    const unmute = () => {
      video.muted = false;
      document.removeEventListener("click", unmute, true);
      document.removeEventListener("keydown", unmute, true);
      if (onUnblocked) onUnblocked();
    };
    document.addEventListener("click", unmute, true);
    document.addEventListener("keydown", unmute, true);
  });
}
function imageData(video) {
  if (!video || !video.videoWidth) return null;
  const c = document.createElement("canvas");
  c.width = video.videoWidth;
  c.height = video.videoHeight;
  c.getContext("2d").drawImage(video, 0, 0);
  return c.toDataURL("image/png").replace(/^data:image\/png;base64,/, "");
}

// src/archivist/web/src/publisher.js
var TRACK_POLL_MS = 500;
var Publisher = class _Publisher extends EventDispatcher {
  #props;
  #widget;
  #ready;
  #tracks = { audio: null, video: null };
  #external = /* @__PURE__ */ new Set();
  // tracks the application handed in: never stopped by us
  #videoType = null;
  #preview = null;
  // MediaStream shown in the widget's <video>
  #publishAudio;
  #publishVideo;
  #link = null;
  // the session's internal interface while publishing
  #stream = null;
  #pc = null;
  #senders = { audio: null, video: null };
  #watch = null;
  // PeerWatch of #pc once the stream exists
  #repair = null;
  // MediaRepair: a new peer connection when the network changed
  #attempt = null;
  #onCreated = null;
  #streamCreatedSent = false;
  #streamDestroyedSent = false;
  #destroyed = false;
  #sampler;
  #trackTimer = null;
  #endedSeen = /* @__PURE__ */ new Set();
  #dimensions = null;
  constructor(targetElement, properties, completionHandler) {
    super();
    const props = { ...properties || {} };
    this.#props = props;
    this.#publishAudio = props.publishAudio !== false;
    this.#publishVideo = props.publishVideo !== false;
    this.accessAllowed = false;
    this.#widget = new Widget("publisher", targetElement, props, {
      onMuteClick: () => this.publishAudio(!this.#publishAudio)
    });
    this.#widget.insert().catch((err) => log.error("could not insert the publisher", err));
    this.#sampler = new AudioLevelSampler({
      track: () => this.#tracks.audio,
      pc: () => this.#pc,
      remote: false,
      onLevel: (level2) => this.#onAudioLevel(level2)
    });
    const video = this.#widget.video;
    video.addEventListener("resize", () => this.#onResize());
    const proto = _Publisher.prototype;
    this.publishAudio = Object.assign((value) => proto.publishAudio.call(this, value), {
      promise: (value) => Promise.resolve(void proto.publishAudio.call(this, value))
    });
    this.publishVideo = Object.assign((value, cb) => proto.publishVideo.call(this, value, cb), {
      promise: (value) => Promise.resolve(void proto.publishVideo.call(this, value))
    });
    this.destroy = Object.assign((reason) => proto.destroy.call(this, reason), {
      promise: () => Promise.resolve(void proto.destroy.call(this))
    });
    this.#ready = this.#acquire();
    settle(this.#ready.then(() => void 0), completionHandler, this).catch(noop);
  }
  // ---- properties -----------------------------------------------------------------------------
  get id() {
    return this.#widget.id;
  }
  get guid() {
    return this.#widget.id;
  }
  get element() {
    return this.#widget.element;
  }
  get stream() {
    return this.#stream || void 0;
  }
  get streamId() {
    return this.#stream ? this.#stream.streamId : void 0;
  }
  get session() {
    return this.#link ? this.#link.session : void 0;
  }
  // ---- media ----------------------------------------------------------------------------------
  async #acquire() {
    let t;
    try {
      t = await acquireTracks(this.#props);
    } catch (err) {
      const e = mediaError(err);
      this.dispatchEvent(new Event("accessDenied", { error: e }, false));
      throw e;
    }
    if (this.#destroyed) {
      [t.audio, t.video].forEach((track) => {
        if (track && !t.external.includes(track)) track.stop();
      });
      throw otError(Errors.UNABLE_TO_CAPTURE_MEDIA, "the publisher was destroyed", ExceptionCodes.UNABLE_TO_PUBLISH);
    }
    this.#tracks = { audio: t.audio, video: t.video };
    t.external.forEach((track) => this.#external.add(track));
    this.#videoType = t.video ? t.videoType : null;
    const mirror = this.#props.mirror !== void 0 ? !!this.#props.mirror : this.#videoType === "camera";
    this.#widget.setMirror(mirror && !!t.video);
    if (this.#props.fitMode === void 0 && this.#videoType === "screen") this.#widget.setFitMode("contain");
    if (this.#props.videoContentHint !== void 0 && t.video) t.video.contentHint = this.#props.videoContentHint;
    this.#applyEnabled();
    this.#preview = new MediaStream([t.audio, t.video].filter(Boolean));
    const video = this.#widget.video;
    video.srcObject = this.#preview;
    startPlayback(video, false);
    this.accessAllowed = true;
    this.#watchTracks();
    this.dispatchEvent(new Event("accessAllowed", {}, false));
    this.dispatchEvent(new Event("mediaStreamAvailable", { mediaStream: this.#preview }, false));
    this.dispatchEvent(new Event("videoElementCreated", { element: video }, false));
    this.#updateSampler();
    return this.#preview;
  }
  #applyEnabled() {
    if (this.#tracks.audio) this.#tracks.audio.enabled = this.#publishAudio;
    if (this.#tracks.video) this.#tracks.video.enabled = this.#publishVideo;
    this.#widget.setHasVideo(!!this.#tracks.video && this.#publishVideo);
    this.#widget.setMuted(!this.#publishAudio);
  }
  /**
   * Starts or stops sending audio (the track stays negotiated). While published, the server
   * hears it: every session gets streamPropertyChanged (hasAudio) and stops forwarding it.
   */
  publishAudio(value) {
    this.#publishAudio = value !== false;
    this.#applyEnabled();
    this.#sendState();
    return this;
  }
  /** Starts or stops sending video: streamPropertyChanged (hasVideo), subscribers' videoDisabled / videoEnabled (publishVideo). */
  publishVideo(value, completionHandler) {
    this.#publishVideo = value !== false;
    this.#applyEnabled();
    this.#updateSampler();
    const sent = this.#sendState();
    if (typeof completionHandler === "function") sent.then(() => completionHandler(void 0));
    return this;
  }
  /** What the stream carries now: a track that exists and is switched on. */
  #state() {
    return { hasAudio: !!this.#tracks.audio && this.#publishAudio, hasVideo: !!this.#tracks.video && this.#publishVideo };
  }
  /** Tells the server what is on, if it differs from what the stream says (resolves when answered). */
  #sendState() {
    const stream = this.#stream;
    const link = this.#link;
    if (!stream || !link) return Promise.resolve();
    const want = this.#state();
    if (want.hasAudio === stream.hasAudio && want.hasVideo === stream.hasVideo) return Promise.resolve();
    return link.request({ type: "streamChange", streamId: stream.streamId, ...want }).then((reply) => {
      if (reply && reply.stream && this.#stream === stream) stream[kUpdate](reply.stream, stream.connection);
    }, (err) => log.warn(`could not change the stream: ${err && err.message}`));
  }
  /** The session reconnected: tell the server what changed meanwhile; a peer connection the
   * network change broke is replaced now. */
  [kResync]() {
    this.#sendState();
    if (this.#repair && (this.#repair.pending || !isHealthy(this.#pc))) this.#repair.request();
  }
  // ---- network changes: a new peer connection under the same stream ------------------------
  #startRepair() {
    const link = this.#link;
    if (!link || !this.#pc) return;
    if (!this.#repair) {
      this.#repair = new MediaRepair({
        replace: () => this.#replacePeer(),
        isConnected: () => link.isConnected(),
        onGone: () => this[kStreamDestroyed]("networkDisconnected"),
        label: `publisher ${this.streamId}`
      });
    }
    this.#watchPeer(this.#pc);
  }
  #watchPeer(pc) {
    if (this.#watch) this.#watch.stop();
    this.#watch = new PeerWatch(pc, () => {
      if (!this.#repair || !this.#link) return;
      this.#link.probe();
      this.#repair.request();
    });
  }
  #stopRepair() {
    if (this.#watch) this.#watch.stop();
    if (this.#repair) this.#repair.close();
    this.#watch = null;
    this.#repair = null;
  }
  /** Sends the same tracks over a new peer connection (`republish`); the stream stays. */
  async #replacePeer() {
    const link = this.#link;
    const stream = this.#stream;
    if (!link || !stream || this.#destroyed) return;
    const pc = new RTCPeerConnection(link.rtcConfiguration());
    const senders = { audio: null, video: null };
    for (const track of [this.#tracks.audio, this.#tracks.video].filter(Boolean)) {
      senders[track.kind] = pc.addTransceiver(track, { direction: "sendonly", streams: [this.#preview] }).sender;
    }
    const answered = await negotiate(pc, async (sdp) => {
      const reply = await link.request({ type: "republish", streamId: stream.streamId, sdp });
      return this.#stream === stream && !this.#destroyed ? reply.sdp : null;
    });
    if (!answered) return;
    await preferResolution(senders.video);
    const old = this.#pc;
    this.#pc = pc;
    this.#senders = senders;
    closePeer(old);
    this.#watchPeer(pc);
  }
  /** A moderator muted this publisher's stream: the microphone goes off, muteForced. */
  [kMuteForced]() {
    this.publishAudio(false);
    this.dispatchEvent(new Event("muteForced", {}, false));
  }
  getAudioSource() {
    return this.#tracks.audio || void 0;
  }
  getVideoSource() {
    const track = this.#tracks.video;
    const settings = track && track.getSettings ? track.getSettings() : {};
    return {
      deviceId: track && this.#videoType === "camera" ? settings.deviceId || null : null,
      type: track ? this.#videoType : null,
      track: track || null
    };
  }
  /** Switches the microphone (a device id) or to an audio MediaStreamTrack; replaceTrack, no republish. */
  setAudioSource(audioSource) {
    return this.#switchSource("audio", audioSource);
  }
  /** Switches the camera to another video input device (camera publishers only). */
  setVideoSource(videoSourceId) {
    return this.#switchSource("video", videoSourceId);
  }
  /** Switches to the next camera; resolves with {deviceId}. */
  async cycleVideo() {
    await this.#ready;
    if (this.#videoType !== "camera") {
      throw otError(
        Errors.SET_VIDEO_SOURCE_FAILURE,
        "cycleVideo needs a publisher whose video is a camera",
        ExceptionCodes.SET_VIDEO_SOURCE_FAILURE
      );
    }
    const ids = await videoInputIds();
    const current = this.getVideoSource().deviceId;
    if (ids.length < 2) return { deviceId: current };
    const next = ids[(ids.indexOf(current) + 1) % ids.length];
    await this.#switchSource("video", next);
    return { deviceId: this.getVideoSource().deviceId };
  }
  async #switchSource(kind, source) {
    await this.#ready;
    if (this.#destroyed) throw otError(Errors.NOT_SUPPORTED, "the publisher was destroyed", ExceptionCodes.UNABLE_TO_PUBLISH);
    const old = this.#tracks[kind];
    let track;
    let external = false;
    if (kind === "audio") {
      if (isTrack(source)) {
        if (source.kind !== "audio") throw otError(Errors.INVALID_PARAMETER, "setAudioSource needs an audio track", ExceptionCodes.INVALID_PARAMETER);
        track = source;
        external = true;
      } else if (typeof source === "string" && source) {
        track = await this.#captureDevice("audio", source);
      } else {
        throw otError(Errors.INVALID_PARAMETER, "setAudioSource takes a device id or a MediaStreamTrack", ExceptionCodes.INVALID_PARAMETER);
      }
      if (!old) throw otError(Errors.NOT_SUPPORTED, "this publisher has no audio to replace", ExceptionCodes.INVALID_PARAMETER);
    } else {
      if (this.#videoType !== "camera") {
        throw otError(
          Errors.SET_VIDEO_SOURCE_FAILURE,
          "setVideoSource needs a publisher whose video is a camera",
          ExceptionCodes.SET_VIDEO_SOURCE_FAILURE
        );
      }
      const ids = typeof source === "string" ? await videoInputIds() : [];
      if (!ids.includes(source)) {
        throw otError(Errors.INVALID_VIDEO_SOURCE, `${source} is not a video input device`, ExceptionCodes.INVALID_VIDEO_SOURCE);
      }
      track = await this.#captureDevice("video", source);
    }
    track.enabled = kind === "audio" ? this.#publishAudio : this.#publishVideo;
    const sender = this.#senders[kind];
    if (sender) {
      try {
        await sender.replaceTrack(track);
      } catch (err) {
        if (!external) track.stop();
        throw otError(Errors.NOT_SUPPORTED, `replaceTrack failed: ${err && err.message}`, ExceptionCodes.UNABLE_TO_PUBLISH);
      }
    }
    this.#tracks[kind] = track;
    if (external) this.#external.add(track);
    if (this.#preview) {
      if (old) this.#preview.removeTrack(old);
      this.#preview.addTrack(track);
    }
    if (old && !this.#external.has(old)) old.stop();
    this.#endedSeen.delete(old);
    if (kind === "audio") {
      const settings = track.getSettings ? track.getSettings() : {};
      const device = (await listDevices().catch(() => [])).find((d) => d.deviceId === settings.deviceId);
      this.dispatchEvent(new Event("audioInputDeviceChanged", {
        device: { deviceId: settings.deviceId || null, label: device ? device.label : track.label || null }
      }, false));
    }
    return void 0;
  }
  async #captureDevice(kind, deviceId) {
    const props = { ...this.#props, audioSource: deviceId, videoSource: deviceId };
    const constraints = kind === "audio" ? { audio: audioConstraints(props) } : { video: videoConstraints(props, deviceId) };
    try {
      const ms = await navigator.mediaDevices.getUserMedia(constraints);
      return kind === "audio" ? ms.getAudioTracks()[0] : ms.getVideoTracks()[0];
    } catch (err) {
      if (kind === "video") throw otError(Errors.INVALID_VIDEO_SOURCE, mediaError(err).message, ExceptionCodes.INVALID_VIDEO_SOURCE);
      throw mediaError(err);
    }
  }
  // mediaStopped: a track ended (device unplugged, screen share stopped, app stopped its track)
  #watchTracks() {
    const check = () => {
      const live = ["audio", "video"].map((k) => this.#tracks[k]).filter(Boolean);
      let changed = false;
      for (const t of live) {
        if (t.readyState === "ended" && !this.#endedSeen.has(t)) {
          this.#endedSeen.add(t);
          changed = true;
          this.dispatchEvent(new Event("mediaStopped", { track: t }, true));
        }
      }
      if (changed && live.length && live.every((t) => t.readyState === "ended")) {
        clearInterval(this.#trackTimer);
        this.#trackTimer = null;
        this.dispatchEvent(new Event("mediaStopped", { track: void 0 }, true), () => {
          if (this.#link && this.#stream) this.#link.unpublish(this);
          else this.destroy("mediaStopped");
        });
      }
    };
    for (const t of [this.#tracks.audio, this.#tracks.video]) if (t) t.addEventListener("ended", check);
    this.#trackTimer = setInterval(check, TRACK_POLL_MS);
  }
  // ---- audio level --------------------------------------------------------------------------
  [kListenersChanged](type) {
    if (type === "audioLevelUpdated") this.#updateSampler();
  }
  #updateSampler() {
    if (this.#sampler === void 0) return;
    const want = !this.#destroyed && !!this.#tracks.audio && (this[kListenerCount]("audioLevelUpdated") > 0 || this.#widget.showsAudioLevel);
    if (want) this.#sampler.start();
    else this.#sampler.stop();
  }
  #onAudioLevel(level2) {
    this.#widget.setAudioLevel(level2);
    this.dispatchEvent(new Event("audioLevelUpdated", { audioLevel: level2 }, false));
  }
  #onResize() {
    const video = this.#widget.video;
    const now = { width: video.videoWidth, height: video.videoHeight };
    const before = this.#dimensions;
    this.#dimensions = now;
    if (before && (before.width !== now.width || before.height !== now.height)) {
      this.dispatchEvent(new Event("videoDimensionsChanged", { oldValue: before, newValue: now }, false));
    }
  }
  // ---- widget -------------------------------------------------------------------------------
  videoWidth() {
    return this.#widget.video.videoWidth;
  }
  videoHeight() {
    return this.#widget.video.videoHeight;
  }
  getImgData() {
    return imageData(this.#widget.video);
  }
  getStyle() {
    return this.#widget.getStyle();
  }
  setStyle(style, value) {
    this.#widget.setStyle(style, value);
    this.#updateSampler();
    return this;
  }
  // ---- statistics -----------------------------------------------------------------------------
  /** [{stats: {audio, video, timestamp}}]: one entry, the connection to the server (routed). */
  getStats(completionHandler) {
    const p = (async () => {
      if (!this.#pc) throw otError(Errors.NOT_CONNECTED, "the publisher is not publishing", ExceptionCodes.PEER_CONNECTION_NOT_CONNECTED);
      return [{ stats: summarizeStats(await this.#pc.getStats(), "outbound") }];
    })();
    return settle(p, completionHandler, this, true);
  }
  /** [{rtcStatsReport}]: the RTCStatsReport of the connection to the server. */
  async getRtcStatsReport() {
    if (!this.#pc) throw otError(Errors.NOT_CONNECTED, "the publisher is not publishing", ExceptionCodes.PEER_CONNECTION_NOT_CONNECTED);
    return [{ rtcStatsReport: await this.#pc.getStats() }];
  }
  // ---- publishing (driven by Session) ---------------------------------------------------------
  /** The session's part of publish(): resolves once the server has media (streamCreated). */
  [kPublishTo](link) {
    return new Promise((resolve, reject) => {
      if (this.#destroyed) {
        reject(otError(Errors.UNABLE_TO_CAPTURE_MEDIA, "this publisher was destroyed", ExceptionCodes.UNABLE_TO_PUBLISH));
        return;
      }
      if (this.#attempt || this.#stream) {
        reject(otError(Errors.INVALID_PARAMETER, "this publisher is already publishing", ExceptionCodes.UNABLE_TO_PUBLISH));
        return;
      }
      this.#run(link, resolve, reject);
    });
  }
  async #run(link, resolve, reject) {
    const attempt = {};
    this.#attempt = attempt;
    this.#streamCreatedSent = false;
    this.#streamDestroyedSent = false;
    this.#link = link;
    link.addPublisher(this);
    this.#widget.setArchiving(link.archiving());
    let answerTimer = null;
    const fail = (name, message, code = ExceptionCodes.UNABLE_TO_PUBLISH) => {
      clearTimeout(answerTimer);
      if (this.#attempt !== attempt) return;
      this.#attempt = null;
      this.#stopRepair();
      closePeer(this.#pc);
      this.#pc = null;
      this.#senders = { audio: null, video: null };
      const stream = this.#stream;
      this.#stream = null;
      link.removePublisher(this, stream && stream.streamId);
      if (stream) link.send({ type: "unpublish", streamId: stream.streamId });
      this.#link = null;
      this.#widget.setArchiving(false);
      reject(otError(name, message, code));
    };
    try {
      await this.#ready;
    } catch (e) {
      fail(e.name || Errors.USER_MEDIA_ACCESS_DENIED, e.message);
      return;
    }
    if (this.#attempt !== attempt) return;
    if (!link.isConnected()) {
      fail(Errors.NOT_CONNECTED, "publish: the client is not connected", ExceptionCodes.NOT_CONNECTED);
      return;
    }
    const tracks = [this.#tracks.audio, this.#tracks.video].filter(Boolean);
    if (!tracks.length) {
      fail(Errors.NO_VALID_CONSTRAINTS, "nothing to publish: no audio and no video");
      return;
    }
    let pc;
    try {
      pc = new RTCPeerConnection(link.rtcConfiguration());
    } catch (err) {
      fail(Errors.CREATE_PEER_CONNECTION_FAILED, `could not create the peer connection: ${err && err.message}`);
      return;
    }
    this.#pc = pc;
    try {
      for (const track of tracks) {
        const t = pc.addTransceiver(track, { direction: "sendonly", streams: [this.#preview] });
        this.#senders[track.kind] = t.sender;
      }
      await pc.setLocalDescription(await pc.createOffer());
      const degradationSet = await preferResolution(this.#senders.video);
      await waitForIceGathering(pc, 5e3);
      if (this.#attempt !== attempt) return;
      const v = this.#tracks.video;
      const settings = v && v.getSettings ? v.getSettings() : {};
      const req = {
        type: "publish",
        name: this.#props.name || "",
        ...this.#state(),
        sdp: pc.localDescription.sdp
      };
      if (v) {
        req.videoType = this.#videoType;
        const res = parseResolution(this.#props.resolution);
        req.width = settings.width || res.width;
        req.height = settings.height || res.height;
        const fr = settings.frameRate || Number(this.#props.frameRate) || void 0;
        if (fr) req.frameRate = Math.round(fr);
      }
      let reply;
      try {
        reply = await link.request(req);
      } catch (err) {
        if (err && err.code === 403) fail(Errors.PERMISSION_DENIED, err.message || "this token cannot publish");
        else if (err instanceof OTError && err.name === Errors.NOT_CONNECTED) fail(Errors.NOT_CONNECTED, err.message, ExceptionCodes.NOT_CONNECTED);
        else fail(Errors.UNEXPECTED_SERVER_RESPONSE, `the server refused to publish: ${err && err.message || err}`);
        return;
      }
      if (this.#attempt !== attempt) {
        if (reply && reply.stream) link.send({ type: "unpublish", streamId: reply.stream.streamId });
        return;
      }
      const stream = new Stream(reply.stream, link.connection());
      this.#stream = stream;
      link.addOwnStream(stream, this);
      this.#onCreated = () => {
        clearTimeout(answerTimer);
        this.#attempt = null;
        resolve(this);
      };
      try {
        await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
      } catch (err) {
        fail(Errors.SET_REMOTE_DESCRIPTION_FAILED, `the server's answer was refused: ${err && err.message}`);
        return;
      }
      if (!degradationSet) await preferResolution(this.#senders.video);
      const early = link.takeEarlyOwnStream(stream.streamId);
      if (early) {
        this[kStreamCreated](early);
      } else if (!this.#streamCreatedSent) {
        answerTimer = setTimeout(() => {
          if (!this.#streamCreatedSent) fail(Errors.TIMEOUT, "the stream did not start within 20 s");
        }, 2e4);
        pc.addEventListener("connectionstatechange", () => {
          if (pc.connectionState === "failed" && !this.#streamCreatedSent) {
            fail(Errors.ICE_WORKFLOW_FAILED, "the media connection failed");
          }
        });
      }
    } catch (err) {
      fail(Errors.CREATE_PEER_CONNECTION_FAILED, `could not set up the media connection: ${err && err.message || err}`);
    }
  }
  /** The server announced this publisher's stream (streamCreated with publisher: true). */
  [kStreamCreated](raw) {
    if (!this.#stream || this.#streamCreatedSent) return;
    this.#stream[kUpdate](raw, this.#link && this.#link.connection());
    this.#streamCreatedSent = true;
    this.#startRepair();
    this.dispatchEvent(new Event("streamCreated", { stream: this.#stream }, false));
    this.#sendState();
    if (this.#onCreated) {
      const cb = this.#onCreated;
      this.#onCreated = null;
      cb();
    }
  }
  /**
   * The stream is gone (unpublished, force-unpublished, disconnected): streamDestroyed, whose
   * default action destroys the publisher. `deferClose`: the peer connection closes a second
   * later, so the server sees the unpublish before the media goes away.
   */
  [kStreamDestroyed](reason, deferClose = false) {
    const stream = this.#stream;
    const link = this.#link;
    this.#attempt = null;
    this.#onCreated = null;
    this.#stopRepair();
    const pc = this.#pc;
    this.#pc = null;
    this.#senders = { audio: null, video: null };
    if (deferClose) setTimeout(() => closePeer(pc), 1e3);
    else closePeer(pc);
    if (link) link.removePublisher(this, stream && stream.streamId);
    this.#stream = null;
    this.#link = null;
    this.#widget.setArchiving(false);
    if (!stream || this.#streamDestroyedSent) return;
    this.#streamDestroyedSent = true;
    this.dispatchEvent(
      new Event("streamDestroyed", { stream, reason: reason || "clientDisconnected" }, true),
      () => this.destroy()
    );
  }
  /** The session ended before the stream existed. */
  [kDetach]() {
    this.#attempt = null;
    this.#stopRepair();
    closePeer(this.#pc);
    this.#pc = null;
    this.#senders = { audio: null, video: null };
    this.#link = null;
    this.#widget.setArchiving(false);
  }
  [kSetArchiving](on) {
    this.#widget.setArchiving(on);
  }
  // ---- teardown -----------------------------------------------------------------------------
  /** Stops publishing, releases the camera/microphone and removes the element. */
  destroy(reason) {
    if (this.#destroyed) return this;
    this.#destroyed = true;
    if (this.#link && (this.#stream || this.#attempt)) {
      const stream = this.#stream;
      if (stream) this.#link.send({ type: "unpublish", streamId: stream.streamId });
      this[kStreamDestroyed]("unpublished", true);
    }
    this.#attempt = null;
    this.#stopRepair();
    if (this.#pc) {
      const pc = this.#pc;
      this.#pc = null;
      setTimeout(() => closePeer(pc), 1e3);
    }
    clearInterval(this.#trackTimer);
    this.#trackTimer = null;
    this.#sampler.stop();
    for (const t of [this.#tracks.audio, this.#tracks.video]) {
      if (t && !this.#external.has(t)) t.stop();
    }
    this.#widget.remove();
    this.dispatchEvent(new Event("destroyed", { reason: typeof reason === "string" ? reason : "unpublished" }, false));
    return this;
  }
};

// src/archivist/web/src/collection.js
var Collection = class {
  #items = /* @__PURE__ */ new Map();
  #key;
  constructor(key) {
    this.#key = key;
  }
  length() {
    return this.#items.size;
  }
  get(id) {
    return this.#items.get(id);
  }
  has(id) {
    return this.#items.has(id);
  }
  forEach(fn, context2) {
    [...this.#items.values()].forEach(fn, context2);
    return this;
  }
  map(fn, context2) {
    return [...this.#items.values()].map(fn, context2);
  }
  /** The items that match: `fn(item)` is truthy, or every property of `filter` is equal. */
  where(filter, context2) {
    const items = [...this.#items.values()];
    if (isFunction(filter)) return items.filter(filter, context2);
    return items.filter((item) => Object.entries(filter || {}).every(([k, v]) => item[k] === v));
  }
  /** The first item that matches (an id finds by id). */
  find(filter, context2) {
    if (typeof filter === "string") return this.get(filter);
    return this.where(filter, context2)[0];
  }
  [kAdd](item) {
    this.#items.set(item[this.#key], item);
    return item;
  }
  [kRemove](id) {
    const item = this.#items.get(id);
    this.#items.delete(id);
    return item;
  }
  [kClear]() {
    this.#items.clear();
  }
};

// src/archivist/web/src/subscriber.js
var Subscriber = class _Subscriber extends EventDispatcher {
  #link;
  #stream;
  #widget;
  #pc = null;
  #watch = null;
  // PeerWatch of #pc once connected
  #repair = null;
  // MediaRepair: a new peer connection when the network changed
  #mediaStream = null;
  #subscriptionId = null;
  #audio;
  #videoOn;
  #destroyed = false;
  #audioBlocked = false;
  #sampler;
  #dimensions = null;
  constructor(link, stream, targetElement, properties) {
    super();
    const props = { ...properties || {} };
    this.#link = link;
    this.#stream = stream;
    this.#audio = props.subscribeToAudio !== false;
    this.#videoOn = props.subscribeToVideo !== false;
    this.#widget = new Widget("subscriber", targetElement, { ...props, name: stream && stream.name }, {
      onMuteClick: () => this.subscribeToAudio(!this.#audio)
    });
    if (this.#widget.element && this.streamId) this.#widget.element.setAttribute("data-stream-id", this.streamId);
    this.#widget.setHasVideo(!!(stream && stream.hasVideo) && this.#videoOn);
    this.#widget.setMuted(!this.#audio);
    this.#widget.insert().catch(() => {
    });
    const video = this.#widget.video;
    video.addEventListener("resize", () => this.#onResize());
    registerSink(video);
    this.#sampler = new AudioLevelSampler({
      track: () => this.#mediaStream ? this.#mediaStream.getAudioTracks()[0] || null : null,
      pc: () => this.#pc,
      remote: true,
      onLevel: (level2) => {
        this.#widget.setAudioLevel(level2);
        this.dispatchEvent(new Event("audioLevelUpdated", { audioLevel: level2 }, false));
      }
    });
    if (props.audioVolume !== void 0) this.setAudioVolume(props.audioVolume);
    const proto = _Subscriber.prototype;
    for (const name of ["subscribeToAudio", "subscribeToVideo", "setAudioVolume", "restrictFrameRate"]) {
      this[name] = Object.assign((value) => proto[name].call(this, value), {
        promise: (value) => Promise.resolve(void proto[name].call(this, value))
      });
    }
  }
  get id() {
    return this.#widget.id;
  }
  get guid() {
    return this.#widget.id;
  }
  get element() {
    return this.#widget.element;
  }
  get stream() {
    return this.#stream || void 0;
  }
  get streamId() {
    return this.#stream ? this.#stream.streamId : void 0;
  }
  get subscriptionId() {
    return this.#subscriptionId;
  }
  get session() {
    return this.#link.session;
  }
  /** Sets up the media; resolves with this subscriber once media is connected. */
  async [kStart]() {
    const link = this.#link;
    const stream = this.#stream;
    const fail = (name, message, code = ExceptionCodes.UNABLE_TO_SUBSCRIBE) => {
      const err = otError(name, message, code);
      this[kTeardown]("subscribeFailed");
      throw err;
    };
    if (!link.isConnected()) fail(Errors.NOT_CONNECTED, "subscribe: the client is not connected");
    if (!stream || !stream.streamId) fail(Errors.INVALID_PARAMETER, "subscribe needs a Stream");
    if (link.capabilities().subscribe === 0) fail(Errors.PERMISSION_DENIED, "this token cannot subscribe");
    let pc;
    try {
      pc = new RTCPeerConnection(link.rtcConfiguration());
    } catch (err) {
      fail(Errors.CREATE_PEER_CONNECTION_FAILED, `could not create the peer connection: ${err && err.message}`);
    }
    this.#pc = pc;
    try {
      const tracks = [
        pc.addTransceiver("audio", { direction: "recvonly" }).receiver.track,
        pc.addTransceiver("video", { direction: "recvonly" }).receiver.track
      ];
      this.#mediaStream = new MediaStream(tracks);
      this.#applyEnabled();
      pc.addEventListener("track", (ev) => {
        if (this.#mediaStream && this.#mediaStream.getTrackById(ev.track.id) === null) this.#mediaStream.addTrack(ev.track);
      });
      const video = this.#widget.video;
      video.srcObject = this.#mediaStream;
      this.dispatchEvent(new Event("mediaStreamAvailable", { mediaStream: this.#mediaStream }, false));
      this.dispatchEvent(new Event("videoElementCreated", { element: video }, false));
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIceGathering(pc, 5e3);
      if (this.#destroyed) return this;
      let reply;
      const asked = [this.#audio, this.#videoOn];
      try {
        reply = await link.request({
          type: "subscribe",
          streamId: stream.streamId,
          subscribeToAudio: this.#audio,
          subscribeToVideo: this.#videoOn,
          sdp: pc.localDescription.sdp
        });
      } catch (err) {
        if (err && err.code === 403) fail(Errors.PERMISSION_DENIED, err.message);
        else if (err && err.code === 404) fail(Errors.STREAM_NOT_FOUND, err.message || "no such stream");
        else if (err instanceof OTError && err.name === Errors.NOT_CONNECTED) fail(Errors.NOT_CONNECTED, err.message);
        else fail(Errors.UNEXPECTED_SERVER_RESPONSE, `the server refused: ${err && err.message || err}`);
      }
      this.#subscriptionId = reply.subscriptionId;
      link.addSubscription(reply.subscriptionId, this);
      if (this.#destroyed) {
        link.send({ type: "unsubscribe", subscriptionId: reply.subscriptionId });
        return this;
      }
      if (asked[0] !== this.#audio || asked[1] !== this.#videoOn) this.#sendWanted();
      try {
        await pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
      } catch (err) {
        fail(Errors.SET_REMOTE_DESCRIPTION_FAILED, `the server's answer was refused: ${err && err.message}`);
      }
      startPlayback(video, this.#audio, () => {
        this.#audioBlocked = true;
        this.dispatchEvent(new Event("audioBlocked", {}, false));
      }, () => {
        this.#audioBlocked = false;
        this.dispatchEvent(new Event("audioUnblocked", {}, false));
      });
      try {
        await waitForConnected(pc, 2e4);
      } catch (err) {
        if (this.#destroyed) return this;
        fail(Errors.ICE_WORKFLOW_FAILED, `the media connection failed: ${err.message}`);
      }
      if (this.#destroyed) return this;
      this.#repair = new MediaRepair({
        replace: () => this.#replacePeer(),
        isConnected: () => link.isConnected(),
        onGone: () => this[kTeardown]("networkDisconnected"),
        label: `subscriber ${stream.streamId}`
      });
      this.#watchPeer(pc);
      this.#updateSampler();
      this.dispatchEvent(new Event("connected", { stream }, false));
      return this;
    } catch (err) {
      if (err instanceof OTError) throw err;
      if (this.#destroyed) return this;
      return fail(Errors.CREATE_PEER_CONNECTION_FAILED, `could not set up the media connection: ${err && err.message || err}`);
    }
  }
  #applyEnabled() {
    if (!this.#mediaStream) return;
    this.#mediaStream.getAudioTracks().forEach((t) => {
      t.enabled = this.#audio;
    });
    this.#mediaStream.getVideoTracks().forEach((t) => {
      t.enabled = this.#videoOn;
    });
  }
  /** Plays or silences the stream's audio; off, the server stops sending it to this subscriber. */
  subscribeToAudio(value) {
    this.#audio = value !== false;
    this.#applyEnabled();
    this.#widget.setMuted(!this.#audio);
    this.#sendWanted();
    return this;
  }
  /**
   * Shows or hides the stream's video: videoDisabled / videoEnabled, reason 'subscribeToVideo';
   * off, the server stops sending it (back on, it starts again at a keyframe).
   */
  subscribeToVideo(value) {
    const on = value !== false;
    const changed = on !== this.#videoOn;
    this.#videoOn = on;
    this.#applyEnabled();
    this.#widget.setHasVideo(on && !!this.#stream && this.#stream.hasVideo);
    this.#sendWanted();
    if (changed) this.dispatchEvent(new Event(on ? "videoEnabled" : "videoDisabled", { reason: "subscribeToVideo" }, false));
    this.#updateSampler();
    return this;
  }
  /** The session reconnected: tell the server what this subscriber wants now; a peer
   * connection the network change broke is replaced now. */
  [kResync]() {
    this.#sendWanted();
    if (this.#repair && (this.#repair.pending || !isHealthy(this.#pc))) this.#repair.request();
  }
  // ---- network changes: a new peer connection under the same subscription -------------------
  /** Broken: `disconnected` (as OpenTok.js's automatic reconnection), then a new peer connection. */
  #watchPeer(pc) {
    if (this.#watch) this.#watch.stop();
    this.#watch = new PeerWatch(pc, () => {
      if (this.#destroyed || !this.#repair) return;
      this.dispatchEvent(new Event("disconnected", { reason: "networkDisconnected" }, false));
      this.#link.probe();
      this.#repair.request();
    });
  }
  /** Receives the stream over a new peer connection (`resubscribe`); `connected` once it is up. */
  async #replacePeer() {
    const link = this.#link;
    if (this.#destroyed || !this.#subscriptionId) return;
    const pc = new RTCPeerConnection(link.rtcConfiguration());
    const mediaStream = new MediaStream([
      pc.addTransceiver("audio", { direction: "recvonly" }).receiver.track,
      pc.addTransceiver("video", { direction: "recvonly" }).receiver.track
    ]);
    pc.addEventListener("track", (ev) => {
      if (mediaStream.getTrackById(ev.track.id) === null) mediaStream.addTrack(ev.track);
    });
    const answered = await negotiate(pc, async (sdp) => {
      const reply = await link.request({ type: "resubscribe", subscriptionId: this.#subscriptionId, sdp });
      return this.#destroyed ? null : reply.sdp;
    });
    if (!answered) return;
    const old = this.#pc;
    const oldStream = this.#mediaStream;
    this.#pc = pc;
    this.#mediaStream = mediaStream;
    this.#applyEnabled();
    const video = this.#widget.video;
    video.srcObject = mediaStream;
    startPlayback(video, this.#audio);
    closePeer(old);
    if (oldStream) oldStream.getTracks().forEach((t) => t.stop());
    this.#watchPeer(pc);
    this.#updateSampler();
    try {
      await waitForConnected(pc, 2e4);
    } catch {
      return;
    }
    if (!this.#destroyed && this.#pc === pc) this.dispatchEvent(new Event("connected", { stream: this.#stream }, false));
  }
  #sendWanted() {
    if (!this.#subscriptionId || this.#destroyed) return;
    this.#link.send({
      type: "subscriptionChange",
      subscriptionId: this.#subscriptionId,
      subscribeToAudio: this.#audio,
      subscribeToVideo: this.#videoOn
    });
  }
  isSubscribedToCaptions() {
    return false;
  }
  isAudioBlocked() {
    return this.#audioBlocked;
  }
  setAudioVolume(value) {
    const v = Math.max(0, Math.min(100, Number(value)));
    if (!Number.isNaN(v)) this.#widget.video.volume = v / 100;
    return this;
  }
  getAudioVolume() {
    return Math.round(this.#widget.video.volume * 100);
  }
  /** No simulcast layers to choose from: accepted and ignored. */
  restrictFrameRate() {
    return this;
  }
  setPreferredFrameRate() {
    return Promise.resolve();
  }
  setPreferredResolution() {
    return Promise.resolve();
  }
  videoWidth() {
    return this.#widget.video.videoWidth;
  }
  videoHeight() {
    return this.#widget.video.videoHeight;
  }
  getImgData() {
    return imageData(this.#widget.video);
  }
  getStyle() {
    return this.#widget.getStyle();
  }
  setStyle(style, value) {
    this.#widget.setStyle(style, value);
    this.#updateSampler();
    return this;
  }
  /** {audio, video, timestamp} of the incoming media (OpenTok.js's SubscriberStats subset). */
  getStats(completionHandler) {
    const p = (async () => {
      if (!this.#pc) throw otError(Errors.NOT_CONNECTED, "the subscriber is not connected", ExceptionCodes.PEER_CONNECTION_NOT_CONNECTED);
      return summarizeStats(await this.#pc.getStats(), "inbound");
    })();
    return settle(p, completionHandler, this, true);
  }
  /** The RTCStatsReport of this subscriber's peer connection. */
  async getRtcStatsReport() {
    if (!this.#pc) throw otError(Errors.NOT_CONNECTED, "the subscriber is not connected", ExceptionCodes.PEER_CONNECTION_NOT_CONNECTED);
    return this.#pc.getStats();
  }
  // ---- audio level / dimensions -------------------------------------------------------------
  [kListenersChanged](type) {
    if (type === "audioLevelUpdated") this.#updateSampler();
  }
  #updateSampler() {
    if (this.#sampler === void 0) return;
    const hasAudio = !!(this.#mediaStream && this.#mediaStream.getAudioTracks().length);
    const want = !this.#destroyed && hasAudio && !!this.#pc && (this[kListenerCount]("audioLevelUpdated") > 0 || this.#widget.showsAudioLevel);
    if (want) this.#sampler.start();
    else this.#sampler.stop();
  }
  #onResize() {
    const video = this.#widget.video;
    const now = { width: video.videoWidth, height: video.videoHeight };
    const before = this.#dimensions;
    this.#dimensions = now;
    if (before && (before.width !== now.width || before.height !== now.height)) {
      this.dispatchEvent(new Event("videoDimensionsChanged", { oldValue: before, newValue: now }, false));
    }
  }
  /**
   * The stream's properties changed (Session's streamPropertyChanged): a publisher's video going
   * off or on is videoDisabled / videoEnabled with reason 'publishVideo'.
   */
  [kStreamChanged](changes) {
    for (const c of changes) {
      if (c.changedProperty === "hasVideo") {
        this.#widget.setHasVideo(c.newValue && this.#videoOn);
        this.dispatchEvent(new Event(c.newValue ? "videoEnabled" : "videoDisabled", { reason: "publishVideo" }, false));
      } else if (c.changedProperty === "name") {
        this.#widget.setName(c.newValue);
      }
    }
  }
  // ---- teardown -----------------------------------------------------------------------------
  [kTeardown](reason) {
    if (this.#destroyed) return false;
    this.#destroyed = true;
    if (this.#watch) this.#watch.stop();
    if (this.#repair) this.#repair.close();
    this.#sampler.stop();
    closePeer(this.#pc);
    this.#pc = null;
    this.#link.removeSubscriber(this, this.#subscriptionId);
    if (this.#mediaStream) this.#mediaStream.getTracks().forEach((t) => t.stop());
    unregisterSink(this.#widget.video);
    this.#widget.remove();
    this.dispatchEvent(new Event("destroyed", { reason: reason || "unsubscribe" }, false));
    return true;
  }
  /** Ends this subscription (same as session.unsubscribe(subscriber)). */
  destroy() {
    if (this.#destroyed) return this;
    if (this.#subscriptionId) this.#link.send({ type: "unsubscribe", subscriptionId: this.#subscriptionId });
    this[kTeardown]("unsubscribe");
    return this;
  }
};

// src/archivist/web/src/transport.js
var OPEN = 1;
var HEARTBEAT_MS = 2e3;
var DEAD_MS = 5e3;
var SignalingTransport = class {
  #ws = null;
  #rid = 0;
  #pending = /* @__PURE__ */ new Map();
  #established = false;
  #onMessage;
  #onClose;
  #lastHeard = 0;
  #heartbeat = null;
  /** @param {{onMessage: (msg) => void, onClose: (code: number, reason: string) => void}} handlers */
  constructor({ onMessage, onClose }) {
    this.#onMessage = onMessage;
    this.#onClose = onClose;
  }
  get isOpen() {
    return this.#established && !!this.#ws && this.#ws.readyState === OPEN;
  }
  /**
   * Opens the WebSocket and sends `connectFrame`. Calls `onConnected(reply)` synchronously on the
   * `connected` reply (before any frame after it is handled) and resolves with it; rejects with
   * the OT error of a refusal (close code), a failure or a timeout.
   */
  connect(url, connectFrame, { timeoutMs = 15e3, onConnected } = {}) {
    return new Promise((resolve, reject) => {
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        reject(otError(Errors.CONNECT_FAILED, `bad signaling URL ${url}: ${e.message}`, ExceptionCodes.CONNECT_FAILED));
        return;
      }
      this.#ws = ws;
      const rid = this.#nextRid();
      let refusal = null;
      let settled = false;
      const finish = (error, reply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(reply);
      };
      const timer = setTimeout(() => {
        if (this.#ws === ws) this.#ws = null;
        try {
          ws.close();
        } catch {
        }
        finish(otError(
          Errors.CONNECTION_TIMEOUT,
          `no reply from the signaling server within ${Math.round(timeoutMs / 1e3)} s`,
          ExceptionCodes.CONNECTION_TIMEOUT
        ));
      }, timeoutMs);
      ws.onopen = () => {
        if (this.#ws !== ws) return;
        ws.send(JSON.stringify({ ...connectFrame, type: "connect", rid }));
      };
      ws.onmessage = (ev) => {
        if (this.#ws !== ws) return;
        this.#lastHeard = Date.now();
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch {
          log.warn("ignoring a non-JSON frame from the server");
          return;
        }
        if (!this.#established) {
          if (msg.type === "error") refusal = msg;
          else if (msg.type === "connected" && (msg.rid === rid || msg.rid === void 0)) {
            this.#established = true;
            this.#startHeartbeat(ws);
            if (onConnected) onConnected(msg);
            finish(null, msg);
          }
          return;
        }
        this.#handle(msg);
      };
      ws.onerror = () => {
      };
      ws.onclose = (ev) => {
        if (this.#ws !== ws) return;
        this.#ws = null;
        this.#stopHeartbeat();
        this.#rejectPending();
        if (!this.#established) {
          const error = connectErrorFromClose(ev.code, refusal && refusal.message);
          error.closeCode = ev.code;
          finish(error);
          return;
        }
        this.#established = false;
        this.#onClose(ev.code, ev.reason);
      };
    });
  }
  /** Sends a request; resolves with its reply, rejects with {code, message} on an error frame. */
  request(msg, timeoutMs = 2e4) {
    if (!this.isOpen) return Promise.reject(notConnected(msg.type));
    const rid = this.#nextRid();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(rid);
        reject(otError(
          Errors.TIMEOUT,
          `no reply to "${msg.type}" within ${Math.round(timeoutMs / 1e3)} s`,
          ExceptionCodes.UNEXPECTED_SERVER_RESPONSE
        ));
      }, timeoutMs);
      this.#pending.set(rid, { resolve, reject, timer });
      try {
        this.#ws.send(JSON.stringify({ ...msg, rid }));
      } catch {
        clearTimeout(timer);
        this.#pending.delete(rid);
        reject(notConnected(msg.type));
      }
    });
  }
  /** A request whose reply nobody waits for. */
  send(msg) {
    if (!this.isOpen) return;
    try {
      this.#ws.send(JSON.stringify({ ...msg, rid: this.#nextRid() }));
    } catch {
    }
  }
  /** Closes the WebSocket without reporting it to onClose (the caller knows). */
  abort(code = 1e3) {
    const ws = this.#ws;
    this.#ws = null;
    this.#established = false;
    this.#stopHeartbeat();
    this.#rejectPending();
    if (ws) {
      try {
        ws.close(code);
      } catch {
      }
    }
  }
  #startHeartbeat(ws) {
    this.#stopHeartbeat();
    this.#lastHeard = Date.now();
    this.#heartbeat = setInterval(() => {
      if (this.#ws !== ws || !this.#established) {
        this.#stopHeartbeat();
        return;
      }
      const quiet = Date.now() - this.#lastHeard;
      if (quiet >= DEAD_MS) {
        this.#lose(ws, `nothing from the server for ${Math.round(quiet / 1e3)} s`);
      } else if (quiet >= HEARTBEAT_MS) {
        this.send({ type: "ping" });
      }
    }, 1e3);
  }
  /**
   * Something suggests the network went away (a peer connection went quiet): a `ping` now, and
   * the connection is taken as lost if nothing comes back within `timeoutMs`.
   */
  probe(timeoutMs = 1500) {
    const ws = this.#ws;
    if (!this.isOpen) return;
    const heard = this.#lastHeard;
    this.send({ type: "ping" });
    setTimeout(() => {
      if (this.#ws === ws && this.#established && this.#lastHeard === heard) this.#lose(ws, `no answer to a ping within ${timeoutMs} ms`);
    }, timeoutMs);
  }
  #lose(ws, why) {
    log.warn(`signaling: ${why}; the connection is lost`);
    this.#ws = null;
    this.#established = false;
    this.#stopHeartbeat();
    this.#rejectPending();
    try {
      ws.close(4e3, "heartbeat lost");
    } catch {
    }
    this.#onClose(1006, "heartbeat lost");
  }
  #stopHeartbeat() {
    clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }
  #nextRid() {
    this.#rid += 1;
    return this.#rid;
  }
  #handle(msg) {
    if (msg.rid !== void 0 && msg.rid !== null && this.#pending.has(msg.rid)) {
      const p = this.#pending.get(msg.rid);
      this.#pending.delete(msg.rid);
      clearTimeout(p.timer);
      if (msg.type === "error") {
        const err = new Error(msg.message || "error");
        err.code = msg.code;
        err.name = "ServerError";
        p.reject(err);
      } else {
        p.resolve(msg);
      }
      return;
    }
    this.#onMessage(msg);
  }
  #rejectPending() {
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(notConnected());
    }
    this.#pending.clear();
  }
};

// src/archivist/web/src/session.js
var Session = class _Session extends EventDispatcher {
  #state = "disconnected";
  // 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'disconnecting'
  #options;
  #transport;
  #iceServers = [];
  #iceConfig;
  #publishers = /* @__PURE__ */ new Set();
  #subscribers = /* @__PURE__ */ new Set();
  #subscriptions = /* @__PURE__ */ new Map();
  // subscriptionId -> Subscriber
  #ownStreams = /* @__PURE__ */ new Map();
  // streamId -> Publisher
  #earlyOwnStreams = /* @__PURE__ */ new Map();
  // streamId -> raw stream announced before the publish reply
  #archives = /* @__PURE__ */ new Map();
  // archiveId -> {id, name}
  #disconnectReason = null;
  #disconnectedSent = false;
  #disconnectTimer = null;
  #disconnectWaiters = [];
  #link;
  #url = null;
  #resumeToken = null;
  #resumeWindow = 0;
  #lastSeq = null;
  // seq of the last server event handled (a resume asks for the ones after it)
  constructor(apiKey, sessionId, options) {
    super();
    this.apiKey = apiKey === void 0 || apiKey === null ? null : String(apiKey);
    this.sessionId = sessionId;
    this.id = sessionId;
    this.connection = void 0;
    this.capabilities = {
      publish: 0,
      subscribe: 0,
      forceDisconnect: 0,
      forceUnpublish: 0,
      forceMute: 0,
      supportsWebRTC: 1
    };
    this.connections = new Collection("connectionId");
    this.streams = new Collection("streamId");
    this.#options = options || {};
    this.#iceConfig = this.#options.iceConfig;
    if (!this.#iceConfig && this.#options.iceTransportPolicy) {
      this.#iceConfig = { includeServers: "all", transportPolicy: this.#options.iceTransportPolicy };
    }
    this.#transport = new SignalingTransport({
      onMessage: (msg) => this.#receive(msg),
      onClose: (code) => this.#onTransportClosed(code)
    });
    this.#link = Object.freeze({
      session: this,
      isConnected: () => this.#state === "connected",
      capabilities: () => this.capabilities,
      connection: () => this.connection,
      archiving: () => this.#archives.size > 0,
      rtcConfiguration: () => rtcConfiguration(this.#iceServers, this.#iceConfig),
      request: (msg, timeoutMs) => this.#transport.request(msg, timeoutMs),
      probe: () => this.#transport.probe(),
      send: (msg) => this.#transport.send(msg),
      addPublisher: (pub) => {
        this.#publishers.add(pub);
      },
      removePublisher: (pub, streamId) => {
        this.#publishers.delete(pub);
        if (streamId && this.#ownStreams.get(streamId) === pub) {
          this.#ownStreams.delete(streamId);
          this.streams[kRemove](streamId);
        }
      },
      addOwnStream: (stream, pub) => {
        this.#ownStreams.set(stream.streamId, pub);
        this.streams[kAdd](stream);
      },
      takeEarlyOwnStream: (streamId) => {
        const raw = this.#earlyOwnStreams.get(streamId);
        this.#earlyOwnStreams.delete(streamId);
        return raw;
      },
      unpublish: (pub) => this.unpublish(pub),
      addSubscription: (id, sub) => {
        this.#subscriptions.set(id, sub);
      },
      removeSubscriber: (sub, id) => {
        this.#subscribers.delete(sub);
        if (id) this.#subscriptions.delete(id);
      }
    });
    const proto = _Session.prototype;
    this.connect = Object.assign((...args) => proto.connect.apply(this, args), {
      promise: (token) => this.#connect(token)
    });
    this.publish = Object.assign((...args) => proto.publish.apply(this, args), {
      promise: (publisher, properties) => this.#publish(this.#publisherFor(publisher, properties))
    });
    this.subscribe = Object.assign((...args) => proto.subscribe.apply(this, args), {
      promise: (stream, targetElement, properties) => {
        const [target, props] = optionalArgs(targetElement, properties);
        return this.#subscribe(stream, target, props).promise;
      }
    });
  }
  isConnected() {
    return this.#state === "connected";
  }
  isArchiving() {
    return this.#archives.size > 0;
  }
  /** Replaces the ICE configuration of the peer connections made from now on. */
  setIceConfig(iceConfig) {
    if (!isObject(iceConfig)) {
      return Promise.reject(otError(Errors.INVALID_PARAMETER, "setIceConfig takes an IceConfig object", ExceptionCodes.INVALID_PARAMETER));
    }
    this.#iceConfig = iceConfig;
    return Promise.resolve();
  }
  // ---- connect / disconnect -------------------------------------------------------------------
  /** connect(token, completionHandler); also the OpenTok 2.0 form connect(apiKey, token, handler). Returns the Session. */
  connect(token, completionHandler) {
    let tok = token;
    let handler = completionHandler;
    if (typeof completionHandler === "string") {
      this.apiKey = String(token);
      tok = completionHandler;
      [, , handler] = arguments;
    }
    settle(this.#connect(tok), handler, this).catch(noop);
    return this;
  }
  #connect(token) {
    if (this.#state === "connected") return Promise.resolve(this);
    if (this.#state === "connecting") {
      return Promise.reject(otError(Errors.CONNECT_FAILED, "a connect is already in progress", ExceptionCodes.CONNECT_FAILED));
    }
    if (!token || typeof token !== "string") {
      return Promise.reject(otError(Errors.AUTHENTICATION_ERROR, "connect needs a token", ExceptionCodes.AUTHENTICATION_ERROR));
    }
    if (!this.sessionId) {
      return Promise.reject(otError(Errors.INVALID_SESSION_ID, "no session ID", ExceptionCodes.INVALID_SESSION_ID));
    }
    const url = this.#options.url || config.signalingUrl();
    if (!url) {
      return Promise.reject(otError(
        Errors.CONNECT_FAILED,
        'no signaling URL: pass {url: "wss://host/v2/signaling"} to OT.initSession',
        ExceptionCodes.CONNECT_FAILED
      ));
    }
    this.token = token;
    this.#state = "connecting";
    this.#disconnectReason = null;
    this.#disconnectedSent = false;
    this.#url = url;
    this.#resumeToken = null;
    this.#lastSeq = null;
    return this.#transport.connect(url, { apiKey: this.apiKey, sessionId: this.sessionId, token }, {
      timeoutMs: this.#options.connectTimeout || 15e3,
      onConnected: (msg) => this.#onConnected(msg)
    }).then(() => {
      if (this.#state !== "connected") throw notConnected("connect");
      return this;
    }, (err) => {
      if (this.#state === "connecting") this.#state = "disconnected";
      throw err;
    });
  }
  #onConnected(msg) {
    this.#state = "connected";
    if (msg.sessionId) this.sessionId = msg.sessionId;
    this.connection = new Connection(msg.connection);
    const caps = msg.capabilities || {};
    this.capabilities = {
      publish: caps.publish ? 1 : 0,
      subscribe: caps.subscribe ? 1 : 0,
      forceDisconnect: caps.forceDisconnect ? 1 : 0,
      forceUnpublish: caps.forceUnpublish ? 1 : 0,
      forceMute: caps.forceMute ? 1 : 0,
      supportsWebRTC: 1
    };
    this.#iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : [];
    this.#resumeToken = msg.resumeToken || null;
    this.#resumeWindow = Number(msg.resumeWindow) || 0;
    this.dispatchEvent(new Event("sessionConnected", {
      connection: this.connection,
      connections: [],
      streams: [],
      archives: []
    }, false));
  }
  /** Leaves the session; resolves once sessionDisconnected (reason clientDisconnected) was dispatched. */
  disconnect() {
    if (this.#state === "reconnecting") {
      this.#transport.abort(1e3);
      this.#onDisconnected("clientDisconnected");
      return Promise.resolve();
    }
    if (this.#state === "connecting") {
      this.#transport.abort(1e3);
      this.#state = "disconnected";
      return Promise.resolve();
    }
    if (this.#state === "disconnected") return Promise.resolve();
    const done = new Promise((resolve) => {
      this.#disconnectWaiters.push(resolve);
    });
    if (this.#state === "disconnecting") return done;
    this.#state = "disconnecting";
    this.#disconnectReason = "clientDisconnected";
    this.#transport.send({ type: "disconnect" });
    this.#disconnectTimer = setTimeout(() => {
      this.#transport.abort(1e3);
      this.#onDisconnected("clientDisconnected");
    }, 2e3);
    return done;
  }
  #onTransportClosed(code) {
    if (this.#state !== "connected" && this.#state !== "disconnecting") return;
    let reason = this.#disconnectReason;
    if (!reason) {
      if (code === 4008) reason = "forceDisconnected";
      else if (code === 1e3 && this.#state === "disconnecting") reason = "clientDisconnected";
      else reason = "networkDisconnected";
    }
    if (reason === "networkDisconnected" && this.#state === "connected" && this.#resumeToken) {
      this.#reconnect();
      return;
    }
    this.#onDisconnected(reason);
  }
  /**
   * The WebSocket dropped: sessionReconnecting, then new WebSockets with the resume token until
   * one is accepted (sessionReconnected) or the server's resume window has passed or it refused
   * (sessionDisconnected, networkDisconnected). Publishers, subscribers and their peer
   * connections are left alone meanwhile: the media goes on.
   */
  async #reconnect() {
    this.#state = "reconnecting";
    this.dispatchEvent(new Event("sessionReconnecting", {}, false));
    const deadline = Date.now() + Math.max(1e3, this.#resumeWindow * 1e3 - 500);
    const delays = [0, 250, 500, 1e3, 2e3];
    for (let attempt = 0; Date.now() < deadline; attempt += 1) {
      await delay(delays[Math.min(attempt, delays.length - 1)]);
      if (this.#state !== "reconnecting") return;
      try {
        const frame = {
          apiKey: this.apiKey,
          sessionId: this.sessionId,
          token: this.token,
          resume: this.#resumeToken
        };
        if (this.#lastSeq !== null) frame.lastSeq = this.#lastSeq;
        await this.#transport.connect(this.#url, frame, {
          timeoutMs: Math.max(1e3, Math.min(5e3, deadline - Date.now())),
          onConnected: (msg) => this.#onResumed(msg)
        });
        return;
      } catch (err) {
        if (this.#state !== "reconnecting") return;
        if (err && err.closeCode === 4010) break;
        log.debug(`reconnect attempt ${attempt + 1} failed: ${err && err.message}`);
      }
    }
    if (this.#state === "reconnecting") {
      this.#transport.abort(1e3);
      this.#onDisconnected("networkDisconnected");
    }
  }
  #onResumed(msg) {
    if (this.#state !== "reconnecting") return;
    this.#state = "connected";
    this.#resumeToken = msg.resumeToken || null;
    this.#resumeWindow = Number(msg.resumeWindow) || this.#resumeWindow;
    if (Array.isArray(msg.iceServers)) this.#iceServers = msg.iceServers;
    this.dispatchEvent(new Event("sessionReconnected", {}, false));
    this.#publishers.forEach((p) => p[kResync]());
    this.#subscribers.forEach((s) => s[kResync]());
  }
  /** Every server frame that is not a reply: once each (a resume may send some again). */
  #receive(msg) {
    if (Number.isInteger(msg.seq)) {
      if (this.#lastSeq !== null && msg.seq <= this.#lastSeq) return;
      this.#lastSeq = msg.seq;
    }
    this.#handle(msg);
  }
  #onDisconnected(reason) {
    if (this.#disconnectedSent) return;
    this.#disconnectedSent = true;
    this.#state = "disconnected";
    clearTimeout(this.#disconnectTimer);
    for (const pub of [...this.#publishers]) {
      if (pub.stream) pub[kStreamDestroyed](reason);
      else pub[kDetach]();
    }
    this.#publishers.clear();
    this.#ownStreams.clear();
    this.#earlyOwnStreams.clear();
    this.#archives.clear();
    this.dispatchEvent(new Event("sessionDisconnected", { reason }, true), () => {
      for (const sub of [...this.#subscribers]) sub[kTeardown](reason);
    });
    for (const sub of [...this.#subscribers]) sub[kTeardown](reason);
    this.#subscribers.clear();
    this.#subscriptions.clear();
    this.connections[kClear]();
    this.streams[kClear]();
    const waiters = this.#disconnectWaiters;
    this.#disconnectWaiters = [];
    waiters.forEach((resolve) => resolve());
  }
  // ---- publish / subscribe --------------------------------------------------------------------
  #publisherFor(publisher, properties) {
    return publisher instanceof Publisher ? publisher : new Publisher(publisher, properties);
  }
  /**
   * publish(publisher, completionHandler), or publish(targetElement, properties, completionHandler)
   * to create the publisher. Returns the Publisher; the handler runs once the server has media.
   */
  publish(publisher, properties, completionHandler) {
    let props = properties;
    let handler = completionHandler;
    if (isFunction(props)) {
      handler = props;
      props = void 0;
    }
    const pub = this.#publisherFor(publisher, props);
    settle(this.#publish(pub), handler, this).catch(noop);
    return pub;
  }
  #publish(publisher) {
    if (this.#state !== "connected") return Promise.reject(notConnected("publish"));
    if (!this.capabilities.publish) {
      return Promise.reject(otError(
        Errors.PERMISSION_DENIED,
        "this token's role does not allow publishing",
        ExceptionCodes.UNABLE_TO_PUBLISH
      ));
    }
    return publisher[kPublishTo](this.#link);
  }
  /** Stops publishing; the Publisher gets streamDestroyed (default: the publisher is destroyed). */
  unpublish(publisher) {
    if (!(publisher instanceof Publisher) || publisher.session !== this) return this;
    const stream = publisher.stream;
    if (!stream) {
      publisher[kDetach]();
      this.#publishers.delete(publisher);
      return this;
    }
    this.#transport.request({ type: "unpublish", streamId: stream.streamId }).then(() => delay(1e3), noop).then(() => {
      if (this.#ownStreams.get(stream.streamId) === publisher) publisher[kStreamDestroyed]("unpublished");
    });
    return this;
  }
  /**
   * subscribe(stream[, targetElement][, properties][, completionHandler]): a Subscriber showing
   * the stream; the handler runs when media is connected.
   */
  subscribe(stream, targetElement, properties, completionHandler) {
    const [target, props, handler] = optionalArgs(targetElement, properties, completionHandler);
    const { subscriber, promise } = this.#subscribe(stream, target, props);
    settle(promise, handler, subscriber).catch(noop);
    return subscriber;
  }
  #subscribe(stream, target, props) {
    let s = stream;
    if (s && !(s instanceof Stream) && s.streamId && this.streams.get(s.streamId)) s = this.streams.get(s.streamId);
    const subscriber = new Subscriber(this.#link, s, target, props);
    this.#subscribers.add(subscriber);
    const promise = Promise.resolve().then(() => subscriber[kStart]());
    return { subscriber, promise };
  }
  unsubscribe(subscriber) {
    if (subscriber instanceof Subscriber) subscriber.destroy();
    return this;
  }
  getSubscribersForStream(stream) {
    const id = stream && (stream.streamId || stream);
    return [...this.#subscribers].filter((s) => s.streamId === id);
  }
  getPublisherForStream(stream) {
    const id = stream && (stream.streamId || stream);
    return this.#ownStreams.get(id);
  }
  // ---- signals and moderation -------------------------------------------------------------------
  /** signal({type, data, to}, completionHandler): resolves once the server accepted it. */
  signal(signal, completionHandler) {
    let sig = signal;
    let handler = completionHandler;
    if (isFunction(sig)) {
      handler = sig;
      sig = {};
    }
    return settle(this.#signal(sig || {}), handler, this);
  }
  async #signal(sig) {
    if (this.#state !== "connected") throw notConnected("signal");
    const req = { type: "signal" };
    if (sig.type !== void 0 && sig.type !== null) req.signalType = String(sig.type);
    if (sig.data !== void 0 && sig.data !== null) req.data = typeof sig.data === "string" ? sig.data : JSON.stringify(sig.data);
    if (sig.to) {
      if (Array.isArray(sig.to)) throw otError(Errors.INVALID_PARAMETER, 'signal "to" takes a single Connection, not an array', 400);
      req.to = typeof sig.to === "string" ? sig.to : sig.to.connectionId;
    }
    try {
      await this.#transport.request(req);
    } catch (err) {
      const code = err && err.code;
      if (err instanceof OTError) throw err;
      if (code === 400) throw otError(Errors.INVALID_PARAMETER, err.message, 400);
      if (code === 404) throw otError(Errors.NOT_FOUND, err.message || "no such connection", 404);
      if (code === 413) throw otError(Errors.INVALID_PARAMETER, err.message || "signal too large", 413);
      if (code === 429) throw otError(Errors.RATE_LIMIT_EXCEEDED, err.message, 429);
      if (code === 403) throw otError(Errors.PERMISSION_DENIED, err.message, 403);
      throw otError(Errors.UNEXPECTED_SERVER_RESPONSE, err && err.message, 500);
    }
  }
  async #moderate(kind, body, code, capability = kind) {
    if (this.#state !== "connected") throw notConnected(kind);
    if (!this.capabilities[capability]) throw otError(Errors.PERMISSION_DENIED, `${kind}: the token's role is not moderator`, code);
    try {
      await this.#transport.request(body);
    } catch (err) {
      if (err instanceof OTError) throw err;
      const name = err && err.code === 403 ? Errors.PERMISSION_DENIED : err && err.code === 404 ? Errors.NOT_FOUND : Errors.UNEXPECTED_SERVER_RESPONSE;
      throw otError(name, err && err.message, code);
    }
  }
  /** Moderators: disconnects another client (it gets sessionDisconnected, reason forceDisconnected). */
  forceDisconnect(connection, completionHandler) {
    const id = connection && (connection.connectionId || connection);
    return settle(this.#moderate(
      "forceDisconnect",
      { type: "forceDisconnect", connectionId: id },
      ExceptionCodes.UNABLE_TO_FORCE_DISCONNECT
    ), completionHandler, this);
  }
  /** Moderators: stops another client's stream. */
  forceUnpublish(stream, completionHandler) {
    const id = stream && (stream.streamId || stream);
    return settle(this.#moderate(
      "forceUnpublish",
      { type: "forceUnpublish", streamId: id },
      ExceptionCodes.UNABLE_TO_FORCE_UNPUBLISH
    ), completionHandler, this);
  }
  /** Moderators: mutes the audio of one stream (its publisher's session gets muteForced). */
  forceMuteStream(stream) {
    const id = stream && (stream.streamId || stream);
    return this.#moderate(
      "forceMuteStream",
      { type: "forceMuteStream", streamId: id },
      ExceptionCodes.UNABLE_TO_FORCE_MUTE,
      "forceMute"
    );
  }
  /**
   * Moderators: mutes every stream but `excludedStreams` (Streams or ids), including the
   * moderator's own, and keeps the session muted: streams published later start muted.
   */
  forceMuteAll(excludedStreams) {
    const list = Array.isArray(excludedStreams) ? excludedStreams : [];
    const ids = list.map((s) => s && (s.streamId || s)).filter((s) => typeof s === "string");
    return this.#moderate(
      "forceMuteAll",
      { type: "forceMuteAll", excludedStreamIds: ids },
      ExceptionCodes.UNABLE_TO_FORCE_MUTE,
      "forceMute"
    );
  }
  /** Moderators: ends the mute state of forceMuteAll (nobody is unmuted). */
  disableForceMute() {
    return this.#moderate(
      "disableForceMute",
      { type: "disableForceMute" },
      ExceptionCodes.UNABLE_TO_FORCE_MUTE,
      "forceMute"
    );
  }
  // ---- server events ----------------------------------------------------------------------------
  #connectionFor(raw, connectionId) {
    const id = raw && raw.connectionId || connectionId;
    if (!id) return raw ? new Connection(raw) : null;
    if (this.connection && this.connection.connectionId === id) return this.connection;
    return this.connections.get(id) || new Connection(raw || { connectionId: id });
  }
  #handle(msg) {
    switch (msg.type) {
      case "sessionConnected":
      case "pong":
        break;
      case "connectionCreated": {
        const raw = msg.connection;
        if (!raw || this.connection && raw.connectionId === this.connection.connectionId) break;
        if (this.connections.has(raw.connectionId)) break;
        const c = this.connections[kAdd](new Connection(raw));
        this.dispatchEvent(new Event("connectionCreated", { connection: c, connections: [c] }, false));
        break;
      }
      case "connectionDestroyed": {
        if (!msg.connection) break;
        const c = this.connections[kRemove](msg.connection.connectionId) || new Connection(msg.connection);
        this.dispatchEvent(new Event("connectionDestroyed", {
          connection: c,
          connections: [c],
          reason: msg.reason || "clientDisconnected"
        }, true));
        break;
      }
      case "streamCreated":
        this.#onStreamCreated(msg);
        break;
      case "streamDestroyed":
        this.#onStreamDestroyed(msg);
        break;
      case "streamPropertyChanged":
        this.#onStreamPropertyChanged(msg);
        break;
      case "muteForced":
        this.#onMuteForced(msg);
        break;
      case "subscriptionClosed": {
        const sub = this.#subscriptions.get(msg.subscriptionId);
        if (sub) sub[kTeardown](msg.reason || "streamDestroyed");
        break;
      }
      case "signal":
        this.#onSignal(msg);
        break;
      case "archiveStarted":
      case "archiveStopped":
        this.#onArchive(msg.type === "archiveStarted", msg);
        break;
      case "sessionDisconnected":
        this.#disconnectReason = msg.reason || "clientDisconnected";
        break;
      case "error":
        log.warn(`server error: ${msg.code} ${msg.message}`);
        break;
      default:
        log.debug(`ignoring a "${msg.type}" frame`);
    }
  }
  #onStreamCreated(msg) {
    const raw = msg.stream;
    if (!raw) return;
    const own = msg.publisher === true || this.connection && raw.connectionId === this.connection.connectionId;
    if (own) {
      const pub = this.#ownStreams.get(raw.streamId);
      if (pub) pub[kStreamCreated](raw);
      else this.#earlyOwnStreams.set(raw.streamId, raw);
      return;
    }
    if (this.streams.has(raw.streamId)) return;
    const s = this.streams[kAdd](new Stream(raw, this.#connectionFor(raw.connection, raw.connectionId)));
    this.dispatchEvent(new Event("streamCreated", { stream: s, streams: [s] }, false));
  }
  #onStreamDestroyed(msg) {
    const raw = msg.stream;
    if (!raw) return;
    const pub = this.#ownStreams.get(raw.streamId);
    if (pub || msg.publisher === true) {
      this.#earlyOwnStreams.delete(raw.streamId);
      if (pub) pub[kStreamDestroyed](msg.reason);
      return;
    }
    const stream = this.streams[kRemove](raw.streamId) || new Stream(raw, this.#connectionFor(raw.connection, raw.connectionId));
    this.dispatchEvent(new Event("streamDestroyed", {
      stream,
      streams: [stream],
      reason: msg.reason || "clientDisconnected"
    }, true), () => {
      this.getSubscribersForStream(stream).forEach((sub) => sub[kTeardown]("streamDestroyed"));
    });
  }
  /**
   * `{"type": "streamPropertyChanged", "stream": {...the whole stream...}, "changedProperty",
   * "oldValue", "newValue"}`: a stream changed (hasAudio / hasVideo after publishAudio /
   * publishVideo or a forced mute). Dispatched as OpenTok.js's streamPropertyChanged, in every
   * session, the publisher's own included; its subscribers get videoDisabled / videoEnabled.
   */
  #onStreamPropertyChanged(msg) {
    const raw = msg.stream;
    if (!raw || !raw.streamId) return;
    const stream = this.streams.get(raw.streamId);
    if (!stream) return;
    const diff = stream[kUpdate](raw, stream.connection);
    const changes = msg.changedProperty ? [{ changedProperty: msg.changedProperty, oldValue: msg.oldValue, newValue: msg.newValue }] : diff;
    if (!changes.length) return;
    for (const c of changes) {
      if (c.changedProperty === "name") continue;
      this.dispatchEvent(new Event("streamPropertyChanged", { stream, ...c }, false));
    }
    this.getSubscribersForStream(stream).forEach((sub) => sub[kStreamChanged](changes));
  }
  /**
   * `{"type": "muteForced", "active", "streamIds"}`: a moderator muted this client's streams
   * (their publishers turn the microphone off and dispatch muteForced) or changed the session's
   * mute state; the session dispatches muteForced ({active}).
   */
  #onMuteForced(msg) {
    for (const id of Array.isArray(msg.streamIds) ? msg.streamIds : []) {
      const pub = this.#ownStreams.get(id);
      if (pub) pub[kMuteForced]();
    }
    this.dispatchEvent(new Event("muteForced", { active: msg.active !== false }, false));
  }
  // One SignalEvent whose type is 'signal:<type>' (or 'signal' when untyped), delivered to the
  // 'signal:<type>' listeners and then to the 'signal' listeners, as OpenTok.js does.
  #onSignal(msg) {
    const from = msg.from ? this.#connectionFor(msg.from, msg.from.connectionId) : null;
    const type = msg.signalType === void 0 || msg.signalType === null ? "" : String(msg.signalType);
    const data = msg.data === void 0 || msg.data === null ? "" : msg.data;
    const event = new Event(type ? `signal:${type}` : "signal", { data, from, signalType: type }, false);
    event.target = this;
    if (type) this[kDispatchTo](event.type, event);
    this[kDispatchTo]("signal", event);
  }
  #onArchive(on, msg) {
    const id = msg.archiveId || msg.id;
    if (on) this.#archives.set(id, { id, name: msg.name || "" });
    else this.#archives.delete(id);
    const archiving = this.#archives.size > 0;
    this.#publishers.forEach((p) => p[kSetArchiving](archiving));
    this.dispatchEvent(new Event(on ? "archiveStarted" : "archiveStopped", {
      id,
      archiveId: id,
      name: msg.name || ""
    }, false));
  }
};

// src/archivist/web/src/ot.js
var VERSION = "2.2.0-archivist.2";
function initSession(apiKey, sessionId, options) {
  let key = apiKey;
  let sid = sessionId;
  let opts = options;
  if (isObject(key)) {
    opts = key;
    key = opts.apiKey;
    sid = opts.sessionId;
  } else if (isObject(sid)) {
    opts = sid;
    sid = opts.sessionId;
  }
  if (sid === void 0 && typeof key === "string" && !/^\d+$/.test(key)) {
    sid = key;
    key = null;
  }
  return new Session(key, sid, opts);
}
function initPublisher(...args) {
  let [target, props, handler] = args;
  if (typeof target === "string" && /^\d+$/.test(target) && args.length >= 2 && typeof props !== "function" && !(typeof document !== "undefined" && document.getElementById(target))) {
    [, target, props, handler] = args;
  }
  [target, props, handler] = optionalArgs(target, props, handler);
  return new Publisher(target, props, handler);
}
initPublisher.promise = (targetElement, properties) => new Promise((resolve, reject) => {
  if (typeof properties === "function" || typeof targetElement === "function") {
    reject(otError(Errors.INVALID_PARAMETER, "initPublisher.promise does not take a callback", ExceptionCodes.INVALID_PARAMETER));
    return;
  }
  const pub = initPublisher(targetElement, properties, (err) => err ? reject(err) : resolve(pub));
});
function checkSystemRequirements() {
  const ok = typeof RTCPeerConnection === "function" && typeof WebSocket === "function" && typeof navigator !== "undefined" && !!navigator.mediaDevices && typeof navigator.mediaDevices.getUserMedia === "function";
  return ok ? 1 : 0;
}
function checkScreenSharingCapability(callback) {
  const supported = typeof navigator !== "undefined" && !!navigator.mediaDevices && typeof navigator.mediaDevices.getDisplayMedia === "function";
  const response = {
    supported,
    supportedSources: { screen: supported, window: supported, application: supported, browser: supported },
    extensionRequired: void 0,
    extensionInstalled: void 0,
    extensionRegistered: void 0
  };
  if (typeof callback === "function") callback(response);
  return Promise.resolve(response);
}
function getDevices(callback) {
  return settle(listDevices(), callback, null, true);
}
var dispatcherMethods = ["on", "once", "off", "addEventListener", "removeEventListener", "dispatchEvent", "trigger"];
var OT = {
  version: VERSION,
  ExceptionCodes,
  Event,
  EventDispatcher,
  OTError,
  ...LOG_LEVELS,
  Session,
  Publisher,
  Subscriber,
  Stream,
  Connection,
  initSession,
  initPublisher,
  checkSystemRequirements,
  upgradeSystemRequirements() {
    log.warn("this browser lacks the WebRTC support archivist.js needs");
  },
  checkScreenSharingCapability,
  registerScreenSharingExtension: noop,
  getUserMedia: (properties) => getUserMedia(properties),
  getDevices,
  getAudioOutputDevices: () => audioOutputDevices(),
  setAudioOutputDevice: (deviceId) => setAudioOutputDevice(deviceId),
  getActiveAudioOutputDevice: () => activeAudioOutputDevice(),
  unblockAudio: () => Promise.resolve(void 0),
  getSupportedCodecs: () => Promise.resolve({ videoEncoders: ["VP8", "H264"], videoDecoders: ["VP8", "H264"] }),
  hasMediaProcessorSupport: () => false,
  hasEndToEndEncryptionSupport: () => false,
  setProxyUrl() {
    log.warn("OT.setProxyUrl is not supported: connect to the Archivist server directly");
  },
  setLogLevel,
  getLogLevel,
  log: (...args) => log.log(...args),
  /** The signaling URL derived from the script's (or module's) URL. */
  defaultSignalingUrl: () => config.signalingUrl()
};
for (const name of dispatcherMethods) {
  Object.defineProperty(OT, name, {
    value: (...args) => {
      if (["on", "once", "addEventListener"].includes(name)) {
        const at2 = isObject(args[0]) ? 1 : 2;
        if (args[at2] === void 0) args[at2] = OT;
      }
      const r = globalEvents[name](...args);
      return r === globalEvents ? OT : r;
    },
    enumerable: false,
    writable: true
  });
}

// src/archivist/web/src/esm.js
/*!
 * archivist.esm.js: the browser client of Archivist as an ES module.
 *   import OT from 'https://your-archivist-host/static/archivist.esm.js';
 * The default signaling URL comes from the module's own URL. docs/client.md describes the API.
 */
config.setScriptUrl(import.meta.url);
var esm_default = OT;
var {
  Session: Session2,
  Publisher: Publisher2,
  Subscriber: Subscriber2,
  Stream: Stream2,
  Connection: Connection2,
  Event: Event2,
  EventDispatcher: EventDispatcher2,
  OTError: OTError2,
  ExceptionCodes: ExceptionCodes2,
  initSession: initSession2,
  initPublisher: initPublisher2,
  getUserMedia: getUserMedia2,
  getDevices: getDevices2,
  checkSystemRequirements: checkSystemRequirements2,
  checkScreenSharingCapability: checkScreenSharingCapability2
} = OT;
export {
  Connection2 as Connection,
  Event2 as Event,
  EventDispatcher2 as EventDispatcher,
  ExceptionCodes2 as ExceptionCodes,
  OT,
  OTError2 as OTError,
  Publisher2 as Publisher,
  Session2 as Session,
  Stream2 as Stream,
  Subscriber2 as Subscriber,
  checkScreenSharingCapability2 as checkScreenSharingCapability,
  checkSystemRequirements2 as checkSystemRequirements,
  esm_default as default,
  getDevices2 as getDevices,
  getUserMedia2 as getUserMedia,
  initPublisher2 as initPublisher,
  initSession2 as initSession
};
