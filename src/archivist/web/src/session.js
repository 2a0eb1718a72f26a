/**
 * Session: the connection to one session on the server (the signaling WebSocket), its
 * connections and streams, and the publishers and subscribers created through it.
 *
 * Publishers and subscribers talk to the session only through `#link`, a small internal
 * interface (request/send, ICE configuration, registration of own streams and subscriptions).
 */
import { optionalArgs, settle } from './callbacks.js';
import { Collection } from './collection.js';
import { config } from './config.js';
import { Connection } from './connection.js';
import { ExceptionCodes, Errors, OTError, notConnected, otError } from './errors.js';
import { Event, EventDispatcher } from './events.js';
import {
  kAdd, kClear, kDetach, kDispatchTo, kMuteForced, kPublishTo, kResync, kRemove, kSetArchiving, kStart, kStreamChanged, kStreamCreated,
  kStreamDestroyed, kTeardown, kUpdate,
} from './internal.js';
import { log } from './log.js';
import { Publisher } from './publisher.js';
import { rtcConfiguration } from './rtc.js';
import { Stream } from './stream.js';
import { Subscriber } from './subscriber.js';
import { SignalingTransport } from './transport.js';
import { delay, isFunction, isObject, noop } from './util.js';

export class Session extends EventDispatcher {
  #state = 'disconnected'; // 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'disconnecting'
  #options;
  #transport;
  #iceServers = [];
  #iceConfig;
  #publishers = new Set();
  #subscribers = new Set();
  #subscriptions = new Map(); // subscriptionId -> Subscriber
  #ownStreams = new Map(); // streamId -> Publisher
  #earlyOwnStreams = new Map(); // streamId -> raw stream announced before the publish reply
  #archives = new Map(); // archiveId -> {id, name}
  #disconnectReason = null;
  #disconnectedSent = false;
  #disconnectTimer = null;
  #disconnectWaiters = [];
  #link;
  #url = null;
  #resumeToken = null;
  #resumeWindow = 0;
  #lastSeq = null; // seq of the last server event handled (a resume asks for the ones after it)

  constructor(apiKey, sessionId, options) {
    super();
    this.apiKey = apiKey === undefined || apiKey === null ? null : String(apiKey);
    this.sessionId = sessionId;
    this.id = sessionId;
    this.connection = undefined;
    this.capabilities = {
      publish: 0, subscribe: 0, forceDisconnect: 0, forceUnpublish: 0, forceMute: 0, supportsWebRTC: 1,
    };
    this.connections = new Collection('connectionId');
    this.streams = new Collection('streamId');
    this.#options = options || {};
    this.#iceConfig = this.#options.iceConfig;
    if (!this.#iceConfig && this.#options.iceTransportPolicy) {
      this.#iceConfig = { includeServers: 'all', transportPolicy: this.#options.iceTransportPolicy };
    }
    this.#transport = new SignalingTransport({
      onMessage: (msg) => this.#receive(msg),
      onClose: (code) => this.#onTransportClosed(code),
    });
    this.#link = Object.freeze({
      session: this,
      isConnected: () => this.#state === 'connected',
      capabilities: () => this.capabilities,
      connection: () => this.connection,
      archiving: () => this.#archives.size > 0,
      rtcConfiguration: () => rtcConfiguration(this.#iceServers, this.#iceConfig),
      request: (msg, timeoutMs) => this.#transport.request(msg, timeoutMs),
      probe: () => this.#transport.probe(),
      send: (msg) => this.#transport.send(msg),
      addPublisher: (pub) => { this.#publishers.add(pub); },
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
      addSubscription: (id, sub) => { this.#subscriptions.set(id, sub); },
      removeSubscriber: (sub, id) => {
        this.#subscribers.delete(sub);
        if (id) this.#subscriptions.delete(id);
      },
    });

    const proto = Session.prototype;
    this.connect = Object.assign((...args) => proto.connect.apply(this, args), {
      promise: (token) => this.#connect(token),
    });
    this.publish = Object.assign((...args) => proto.publish.apply(this, args), {
      promise: (publisher, properties) => this.#publish(this.#publisherFor(publisher, properties)),
    });
    this.subscribe = Object.assign((...args) => proto.subscribe.apply(this, args), {
      promise: (stream, targetElement, properties) => {
        const [target, props] = optionalArgs(targetElement, properties);
        return this.#subscribe(stream, target, props).promise;
      },
    });
  }

  isConnected() {
    return this.#state === 'connected';
  }

  isArchiving() {
    return this.#archives.size > 0;
  }

  /** Replaces the ICE configuration of the peer connections made from now on. */
  setIceConfig(iceConfig) {
    if (!isObject(iceConfig)) {
      return Promise.reject(otError(Errors.INVALID_PARAMETER, 'setIceConfig takes an IceConfig object', ExceptionCodes.INVALID_PARAMETER));
    }
    this.#iceConfig = iceConfig;
    return Promise.resolve();
  }

  // ---- connect / disconnect -------------------------------------------------------------------

  /** connect(token, completionHandler); also the OpenTok 2.0 form connect(apiKey, token, handler). Returns the Session. */
  connect(token, completionHandler) {
    let tok = token;
    let handler = completionHandler;
    if (typeof completionHandler === 'string') {
      this.apiKey = String(token);
      tok = completionHandler;
      [, , handler] = arguments;
    }
    settle(this.#connect(tok), handler, this).catch(noop);
    return this;
  }

  #connect(token) {
    if (this.#state === 'connected') return Promise.resolve(this);
    if (this.#state === 'connecting') {
      return Promise.reject(otError(Errors.CONNECT_FAILED, 'a connect is already in progress', ExceptionCodes.CONNECT_FAILED));
    }
    if (!token || typeof token !== 'string') {
      return Promise.reject(otError(Errors.AUTHENTICATION_ERROR, 'connect needs a token', ExceptionCodes.AUTHENTICATION_ERROR));
    }
    if (!this.sessionId) {
      return Promise.reject(otError(Errors.INVALID_SESSION_ID, 'no session ID', ExceptionCodes.INVALID_SESSION_ID));
    }
    const url = this.#options.url || config.signalingUrl();
    if (!url) {
      return Promise.reject(otError(Errors.CONNECT_FAILED,
        'no signaling URL: pass {url: "wss://host/v2/signaling"} to OT.initSession', ExceptionCodes.CONNECT_FAILED));
    }
    this.token = token;
    this.#state = 'connecting';
    this.#disconnectReason = null;
    this.#disconnectedSent = false;
    this.#url = url;
    this.#resumeToken = null;
    this.#lastSeq = null;
    return this.#transport.connect(url, { apiKey: this.apiKey, sessionId: this.sessionId, token }, {
      timeoutMs: this.#options.connectTimeout || 15000,
      onConnected: (msg) => this.#onConnected(msg),
    }).then(() => {
      if (this.#state !== 'connected') throw notConnected('connect');
      return this;
    }, (err) => {
      if (this.#state === 'connecting') this.#state = 'disconnected';
      throw err;
    });
  }

  #onConnected(msg) {
    this.#state = 'connected';
    if (msg.sessionId) this.sessionId = msg.sessionId;
    this.connection = new Connection(msg.connection);
    const caps = msg.capabilities || {};
    this.capabilities = {
      publish: caps.publish ? 1 : 0,
      subscribe: caps.subscribe ? 1 : 0,
      forceDisconnect: caps.forceDisconnect ? 1 : 0,
      forceUnpublish: caps.forceUnpublish ? 1 : 0,
      forceMute: caps.forceMute ? 1 : 0,
      supportsWebRTC: 1,
    };
    this.#iceServers = Array.isArray(msg.iceServers) ? msg.iceServers : [];
    this.#resumeToken = msg.resumeToken || null;
    this.#resumeWindow = Number(msg.resumeWindow) || 0;
    this.dispatchEvent(new Event('sessionConnected', {
      connection: this.connection, connections: [], streams: [], archives: [],
    }, false));
  }

  /** Leaves the session; resolves once sessionDisconnected (reason clientDisconnected) was dispatched. */
  disconnect() {
    if (this.#state === 'reconnecting') {
      this.#transport.abort(1000);
      this.#onDisconnected('clientDisconnected');
      return Promise.resolve();
    }
    if (this.#state === 'connecting') {
      this.#transport.abort(1000);
      this.#state = 'disconnected';
      return Promise.resolve();
    }
    if (this.#state === 'disconnected') return Promise.resolve();
    const done = new Promise((resolve) => { this.#disconnectWaiters.push(resolve); });
    if (this.#state === 'disconnecting') return done;
    this.#state = 'disconnecting';
    this.#disconnectReason = 'clientDisconnected';
    // Peer connections close once the server has closed the WebSocket, so it sees a clean
    // disconnect rather than lost media. If it does not close within 2 s, close ourselves.
    this.#transport.send({ type: 'disconnect' });
    this.#disconnectTimer = setTimeout(() => {
      this.#transport.abort(1000);
      this.#onDisconnected('clientDisconnected');
    }, 2000);
    return done;
  }

  #onTransportClosed(code) {
    if (this.#state !== 'connected' && this.#state !== 'disconnecting') return;
    let reason = this.#disconnectReason;
    if (!reason) {
      if (code === 4008) reason = 'forceDisconnected';
      else if (code === 1000 && this.#state === 'disconnecting') reason = 'clientDisconnected';
      else reason = 'networkDisconnected';
    }
    if (reason === 'networkDisconnected' && this.#state === 'connected' && this.#resumeToken) {
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
    this.#state = 'reconnecting';
    this.dispatchEvent(new Event('sessionReconnecting', {}, false));
    const deadline = Date.now() + Math.max(1000, this.#resumeWindow * 1000 - 500);
    const delays = [0, 250, 500, 1000, 2000];
    for (let attempt = 0; Date.now() < deadline; attempt += 1) {
      await delay(delays[Math.min(attempt, delays.length - 1)]);
      if (this.#state !== 'reconnecting') return;
      try {
        const frame = {
          apiKey: this.apiKey, sessionId: this.sessionId, token: this.token, resume: this.#resumeToken,
        };
        if (this.#lastSeq !== null) frame.lastSeq = this.#lastSeq;
        await this.#transport.connect(this.#url, frame, {
          timeoutMs: Math.max(1000, Math.min(5000, deadline - Date.now())),
          onConnected: (msg) => this.#onResumed(msg),
        });
        return;
      } catch (err) {
        if (this.#state !== 'reconnecting') return;
        if (err && err.closeCode === 4010) break; // the server gave the connection up
        log.debug(`reconnect attempt ${attempt + 1} failed: ${err && err.message}`);
      }
    }
    if (this.#state === 'reconnecting') {
      this.#transport.abort(1000);
      this.#onDisconnected('networkDisconnected');
    }
  }

  #onResumed(msg) {
    if (this.#state !== 'reconnecting') return;
    this.#state = 'connected';
    this.#resumeToken = msg.resumeToken || null;
    this.#resumeWindow = Number(msg.resumeWindow) || this.#resumeWindow;
    if (Array.isArray(msg.iceServers)) this.#iceServers = msg.iceServers;
    this.dispatchEvent(new Event('sessionReconnected', {}, false));
    // what changed locally while away (publishAudio, subscribeToVideo …) reaches the server now
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
    this.#state = 'disconnected';
    clearTimeout(this.#disconnectTimer);
    for (const pub of [...this.#publishers]) {
      if (pub.stream) pub[kStreamDestroyed](reason);
      else pub[kDetach]();
    }
    this.#publishers.clear();
    this.#ownStreams.clear();
    this.#earlyOwnStreams.clear();
    this.#archives.clear();
    this.dispatchEvent(new Event('sessionDisconnected', { reason }, true), () => {
      for (const sub of [...this.#subscribers]) sub[kTeardown](reason);
    });
    // Subscriptions cannot outlive the session, even when the default action was prevented.
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
      props = undefined;
    }
    const pub = this.#publisherFor(publisher, props);
    settle(this.#publish(pub), handler, this).catch(noop);
    return pub;
  }

  #publish(publisher) {
    if (this.#state !== 'connected') return Promise.reject(notConnected('publish'));
    if (!this.capabilities.publish) {
      return Promise.reject(otError(Errors.PERMISSION_DENIED, 'this token\'s role does not allow publishing',
        ExceptionCodes.UNABLE_TO_PUBLISH));
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
    this.#transport.request({ type: 'unpublish', streamId: stream.streamId })
      .then(() => delay(1000), noop) // streamDestroyed normally arrives with the reply
      .then(() => {
        if (this.#ownStreams.get(stream.streamId) === publisher) publisher[kStreamDestroyed]('unpublished');
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
    // Start on the next tick, so listeners added right after subscribe() returns see every event.
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
    if (this.#state !== 'connected') throw notConnected('signal');
    const req = { type: 'signal' };
    if (sig.type !== undefined && sig.type !== null) req.signalType = String(sig.type);
    if (sig.data !== undefined && sig.data !== null) req.data = typeof sig.data === 'string' ? sig.data : JSON.stringify(sig.data);
    if (sig.to) {
      if (Array.isArray(sig.to)) throw otError(Errors.INVALID_PARAMETER, 'signal "to" takes a single Connection, not an array', 400);
      req.to = typeof sig.to === 'string' ? sig.to : sig.to.connectionId;
    }
    try {
      await this.#transport.request(req);
    } catch (err) {
      const code = err && err.code;
      if (err instanceof OTError) throw err;
      if (code === 400) throw otError(Errors.INVALID_PARAMETER, err.message, 400);
      if (code === 404) throw otError(Errors.NOT_FOUND, err.message || 'no such connection', 404);
      if (code === 413) throw otError(Errors.INVALID_PARAMETER, err.message || 'signal too large', 413);
      if (code === 429) throw otError(Errors.RATE_LIMIT_EXCEEDED, err.message, 429);
      if (code === 403) throw otError(Errors.PERMISSION_DENIED, err.message, 403);
      throw otError(Errors.UNEXPECTED_SERVER_RESPONSE, err && err.message, 500);
    }
  }

  async #moderate(kind, body, code, capability = kind) {
    if (this.#state !== 'connected') throw notConnected(kind);
    if (!this.capabilities[capability]) throw otError(Errors.PERMISSION_DENIED, `${kind}: the token's role is not moderator`, code);
    try {
      await this.#transport.request(body);
    } catch (err) {
      if (err instanceof OTError) throw err;
      const name = err && err.code === 403 ? Errors.PERMISSION_DENIED
        : err && err.code === 404 ? Errors.NOT_FOUND : Errors.UNEXPECTED_SERVER_RESPONSE;
      throw otError(name, err && err.message, code);
    }
  }

  /** Moderators: disconnects another client (it gets sessionDisconnected, reason forceDisconnected). */
  forceDisconnect(connection, completionHandler) {
    const id = connection && (connection.connectionId || connection);
    return settle(this.#moderate('forceDisconnect', { type: 'forceDisconnect', connectionId: id },
      ExceptionCodes.UNABLE_TO_FORCE_DISCONNECT), completionHandler, this);
  }

  /** Moderators: stops another client's stream. */
  forceUnpublish(stream, completionHandler) {
    const id = stream && (stream.streamId || stream);
    return settle(this.#moderate('forceUnpublish', { type: 'forceUnpublish', streamId: id },
      ExceptionCodes.UNABLE_TO_FORCE_UNPUBLISH), completionHandler, this);
  }

  /** Moderators: mutes the audio of one stream (its publisher's session gets muteForced). */
  forceMuteStream(stream) {
    const id = stream && (stream.streamId || stream);
    return this.#moderate('forceMuteStream', { type: 'forceMuteStream', streamId: id },
      ExceptionCodes.UNABLE_TO_FORCE_MUTE, 'forceMute');
  }

  /**
   * Moderators: mutes every stream but `excludedStreams` (Streams or ids), including the
   * moderator's own, and keeps the session muted: streams published later start muted.
   */
  forceMuteAll(excludedStreams) {
    const list = Array.isArray(excludedStreams) ? excludedStreams : [];
    const ids = list.map((s) => (s && (s.streamId || s))).filter((s) => typeof s === 'string');
    return this.#moderate('forceMuteAll', { type: 'forceMuteAll', excludedStreamIds: ids },
      ExceptionCodes.UNABLE_TO_FORCE_MUTE, 'forceMute');
  }

  /** Moderators: ends the mute state of forceMuteAll (nobody is unmuted). */
  disableForceMute() {
    return this.#moderate('disableForceMute', { type: 'disableForceMute' },
      ExceptionCodes.UNABLE_TO_FORCE_MUTE, 'forceMute');
  }

  // ---- server events ----------------------------------------------------------------------------

  #connectionFor(raw, connectionId) {
    const id = (raw && raw.connectionId) || connectionId;
    if (!id) return raw ? new Connection(raw) : null;
    if (this.connection && this.connection.connectionId === id) return this.connection;
    return this.connections.get(id) || new Connection(raw || { connectionId: id });
  }

  #handle(msg) {
    switch (msg.type) {
      case 'sessionConnected':
      case 'pong':
        break;
      case 'connectionCreated': {
        const raw = msg.connection;
        if (!raw || (this.connection && raw.connectionId === this.connection.connectionId)) break;
        if (this.connections.has(raw.connectionId)) break;
        const c = this.connections[kAdd](new Connection(raw));
        this.dispatchEvent(new Event('connectionCreated', { connection: c, connections: [c] }, false));
        break;
      }
      case 'connectionDestroyed': {
        if (!msg.connection) break;
        const c = this.connections[kRemove](msg.connection.connectionId) || new Connection(msg.connection);
        this.dispatchEvent(new Event('connectionDestroyed', {
          connection: c, connections: [c], reason: msg.reason || 'clientDisconnected',
        }, true));
        break;
      }
      case 'streamCreated':
        this.#onStreamCreated(msg);
        break;
      case 'streamDestroyed':
        this.#onStreamDestroyed(msg);
        break;
      case 'streamPropertyChanged':
        this.#onStreamPropertyChanged(msg);
        break;
      case 'muteForced':
        this.#onMuteForced(msg);
        break;
      case 'subscriptionClosed': {
        const sub = this.#subscriptions.get(msg.subscriptionId);
        if (sub) sub[kTeardown](msg.reason || 'streamDestroyed');
        break;
      }
      case 'signal':
        this.#onSignal(msg);
        break;
      case 'archiveStarted':
      case 'archiveStopped':
        this.#onArchive(msg.type === 'archiveStarted', msg);
        break;
      case 'sessionDisconnected':
        this.#disconnectReason = msg.reason || 'clientDisconnected';
        break;
      case 'error':
        log.warn(`server error: ${msg.code} ${msg.message}`);
        break;
      default:
        log.debug(`ignoring a "${msg.type}" frame`);
    }
  }

  #onStreamCreated(msg) {
    const raw = msg.stream;
    if (!raw) return;
    const own = msg.publisher === true || (this.connection && raw.connectionId === this.connection.connectionId);
    if (own) {
      const pub = this.#ownStreams.get(raw.streamId);
      if (pub) pub[kStreamCreated](raw);
      else this.#earlyOwnStreams.set(raw.streamId, raw);
      return;
    }
    if (this.streams.has(raw.streamId)) return;
    const s = this.streams[kAdd](new Stream(raw, this.#connectionFor(raw.connection, raw.connectionId)));
    this.dispatchEvent(new Event('streamCreated', { stream: s, streams: [s] }, false));
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
    const stream = this.streams[kRemove](raw.streamId)
      || new Stream(raw, this.#connectionFor(raw.connection, raw.connectionId));
    this.dispatchEvent(new Event('streamDestroyed', {
      stream, streams: [stream], reason: msg.reason || 'clientDisconnected',
    }, true), () => {
      this.getSubscribersForStream(stream).forEach((sub) => sub[kTeardown]('streamDestroyed'));
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
    const changes = msg.changedProperty
      ? [{ changedProperty: msg.changedProperty, oldValue: msg.oldValue, newValue: msg.newValue }]
      : diff;
    if (!changes.length) return;
    for (const c of changes) {
      if (c.changedProperty === 'name') continue;
      this.dispatchEvent(new Event('streamPropertyChanged', { stream, ...c }, false));
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
    this.dispatchEvent(new Event('muteForced', { active: msg.active !== false }, false));
  }

  // One SignalEvent whose type is 'signal:<type>' (or 'signal' when untyped), delivered to the
  // 'signal:<type>' listeners and then to the 'signal' listeners, as OpenTok.js does.
  #onSignal(msg) {
    const from = msg.from ? this.#connectionFor(msg.from, msg.from.connectionId) : null;
    const type = msg.signalType === undefined || msg.signalType === null ? '' : String(msg.signalType);
    const data = msg.data === undefined || msg.data === null ? '' : msg.data;
    const event = new Event(type ? `signal:${type}` : 'signal', { data, from, signalType: type }, false);
    event.target = this;
    if (type) this[kDispatchTo](event.type, event);
    this[kDispatchTo]('signal', event);
  }

  #onArchive(on, msg) {
    const id = msg.archiveId || msg.id;
    if (on) this.#archives.set(id, { id, name: msg.name || '' });
    else this.#archives.delete(id);
    const archiving = this.#archives.size > 0;
    this.#publishers.forEach((p) => p[kSetArchiving](archiving));
    this.dispatchEvent(new Event(on ? 'archiveStarted' : 'archiveStopped', {
      id, archiveId: id, name: msg.name || '',
    }, false));
  }
}

