/** The OT namespace: factories, device and capability helpers, and OT's own events. */
import { optionalArgs, settle } from './callbacks.js';
import { config } from './config.js';
import { Connection } from './connection.js';
import { ExceptionCodes, Errors, OTError, otError } from './errors.js';
import { Event, EventDispatcher, globalEvents } from './events.js';
import { LOG_LEVELS, getLogLevel, log, setLogLevel } from './log.js';
import {
  activeAudioOutputDevice, audioOutputDevices, getUserMedia, listDevices, setAudioOutputDevice,
} from './media.js';
import { Publisher } from './publisher.js';
import { Session } from './session.js';
import { Stream } from './stream.js';
import { Subscriber } from './subscriber.js';
import { isObject, noop } from './util.js';

export const VERSION = '2.2.0-archivist.2';

/** OT.initSession(apiKey, sessionId[, options]); also (sessionId) and ({apiKey, sessionId, url}). */
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
  if (sid === undefined && typeof key === 'string' && !/^\d+$/.test(key)) {
    sid = key;
    key = null;
  }
  return new Session(key, sid, opts);
}

/** OT.initPublisher([targetElement], [properties], [completionHandler]). */
function initPublisher(...args) {
  let [target, props, handler] = args;
  // OpenTok 2.0 form: initPublisher(apiKey, targetElement, properties)
  if (typeof target === 'string' && /^\d+$/.test(target) && args.length >= 2 && typeof props !== 'function'
      && !(typeof document !== 'undefined' && document.getElementById(target))) {
    [, target, props, handler] = args;
  }
  [target, props, handler] = optionalArgs(target, props, handler);
  return new Publisher(target, props, handler);
}

initPublisher.promise = (targetElement, properties) => new Promise((resolve, reject) => {
  if (typeof properties === 'function' || typeof targetElement === 'function') {
    reject(otError(Errors.INVALID_PARAMETER, 'initPublisher.promise does not take a callback', ExceptionCodes.INVALID_PARAMETER));
    return;
  }
  const pub = initPublisher(targetElement, properties, (err) => (err ? reject(err) : resolve(pub)));
});

function checkSystemRequirements() {
  const ok = typeof RTCPeerConnection === 'function' && typeof WebSocket === 'function'
    && typeof navigator !== 'undefined' && !!navigator.mediaDevices
    && typeof navigator.mediaDevices.getUserMedia === 'function';
  return ok ? 1 : 0;
}

/** OT.checkScreenSharingCapability([callback]): {supported, supportedSources, extension...}. */
function checkScreenSharingCapability(callback) {
  const supported = typeof navigator !== 'undefined' && !!navigator.mediaDevices
    && typeof navigator.mediaDevices.getDisplayMedia === 'function';
  const response = {
    supported,
    supportedSources: { screen: supported, window: supported, application: supported, browser: supported },
    extensionRequired: undefined,
    extensionInstalled: undefined,
    extensionRegistered: undefined,
  };
  if (typeof callback === 'function') callback(response);
  return Promise.resolve(response);
}

function getDevices(callback) {
  return settle(listDevices(), callback, null, true);
}

const dispatcherMethods = ['on', 'once', 'off', 'addEventListener', 'removeEventListener', 'dispatchEvent', 'trigger'];

export const OT = {
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
    log.warn('this browser lacks the WebRTC support archivist.js needs');
  },
  checkScreenSharingCapability,
  registerScreenSharingExtension: noop,
  getUserMedia: (properties) => getUserMedia(properties),
  getDevices,
  getAudioOutputDevices: () => audioOutputDevices(),
  setAudioOutputDevice: (deviceId) => setAudioOutputDevice(deviceId),
  getActiveAudioOutputDevice: () => activeAudioOutputDevice(),
  unblockAudio: () => Promise.resolve(undefined),
  getSupportedCodecs: () => Promise.resolve({ videoEncoders: ['VP8', 'H264'], videoDecoders: ['VP8', 'H264'] }),
  hasMediaProcessorSupport: () => false,
  hasEndToEndEncryptionSupport: () => false,
  setProxyUrl() {
    log.warn('OT.setProxyUrl is not supported: connect to the Archivist server directly');
  },
  setLogLevel,
  getLogLevel,
  log: (...args) => log.log(...args),
  /** The signaling URL derived from the script's (or module's) URL. */
  defaultSignalingUrl: () => config.signalingUrl(),
};

for (const name of dispatcherMethods) {
  Object.defineProperty(OT, name, {
    value: (...args) => {
      // handlers added through OT run with `this` = OT unless given a context
      if (['on', 'once', 'addEventListener'].includes(name)) {
        const at = isObject(args[0]) ? 1 : 2;
        if (args[at] === undefined) args[at] = OT;
      }
      const r = globalEvents[name](...args);
      return r === globalEvents ? OT : r;
    },
    enumerable: false,
    writable: true,
  });
}
