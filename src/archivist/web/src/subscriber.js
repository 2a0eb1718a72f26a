/**
 * Subscriber: one remote stream received over its own RTCPeerConnection (recvonly) and shown
 * in a widget (or, with insertDefaultUI: false, in a <video> the application places).
 */
import { AudioLevelSampler } from './audio-level.js';
import { settle } from './callbacks.js';
import { ExceptionCodes, Errors, OTError, otError } from './errors.js';
import { Event, EventDispatcher } from './events.js';
import { kListenerCount, kListenersChanged, kResync, kStart, kStreamChanged, kTeardown } from './internal.js';
import { registerSink, unregisterSink } from './media.js';
import { MediaRepair, PeerWatch, isHealthy } from './repair.js';
import { closePeer, negotiate, summarizeStats, waitForConnected, waitForIceGathering } from './rtc.js';
import { Widget, imageData, startPlayback } from './widget.js';

export class Subscriber extends EventDispatcher {
  #link;
  #stream;
  #widget;
  #pc = null;
  #watch = null; // PeerWatch of #pc once connected
  #repair = null; // MediaRepair: a new peer connection when the network changed
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
    const props = { ...(properties || {}) };
    this.#link = link;
    this.#stream = stream;

    this.#audio = props.subscribeToAudio !== false;
    this.#videoOn = props.subscribeToVideo !== false;
    this.#widget = new Widget('subscriber', targetElement, { ...props, name: stream && stream.name }, {
      onMuteClick: () => this.subscribeToAudio(!this.#audio),
    });
    if (this.#widget.element && this.streamId) this.#widget.element.setAttribute('data-stream-id', this.streamId);
    this.#widget.setHasVideo(!!(stream && stream.hasVideo) && this.#videoOn);
    this.#widget.setMuted(!this.#audio);
    this.#widget.insert().catch(() => {});
    const video = this.#widget.video;
    video.addEventListener('resize', () => this.#onResize());
    registerSink(video);
    this.#sampler = new AudioLevelSampler({
      track: () => (this.#mediaStream ? this.#mediaStream.getAudioTracks()[0] || null : null),
      pc: () => this.#pc,
      remote: true,
      onLevel: (level) => {
        this.#widget.setAudioLevel(level);
        this.dispatchEvent(new Event('audioLevelUpdated', { audioLevel: level }, false));
      },
    });
    if (props.audioVolume !== undefined) this.setAudioVolume(props.audioVolume);

    const proto = Subscriber.prototype;
    for (const name of ['subscribeToAudio', 'subscribeToVideo', 'setAudioVolume', 'restrictFrameRate']) {
      this[name] = Object.assign((value) => proto[name].call(this, value), {
        promise: (value) => Promise.resolve(void proto[name].call(this, value)),
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
    return this.#stream || undefined;
  }

  get streamId() {
    return this.#stream ? this.#stream.streamId : undefined;
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
      this[kTeardown]('subscribeFailed');
      throw err;
    };
    if (!link.isConnected()) fail(Errors.NOT_CONNECTED, 'subscribe: the client is not connected');
    if (!stream || !stream.streamId) fail(Errors.INVALID_PARAMETER, 'subscribe needs a Stream');
    if (link.capabilities().subscribe === 0) fail(Errors.PERMISSION_DENIED, 'this token cannot subscribe');
    let pc;
    try {
      pc = new RTCPeerConnection(link.rtcConfiguration());
    } catch (err) {
      fail(Errors.CREATE_PEER_CONNECTION_FAILED, `could not create the peer connection: ${err && err.message}`);
    }
    this.#pc = pc;
    try {
      // Both kinds, whatever is on now: a muted stream may switch its audio or video on later
      // (the server answers a kind the stream does not have with an inactive section).
      const tracks = [
        pc.addTransceiver('audio', { direction: 'recvonly' }).receiver.track,
        pc.addTransceiver('video', { direction: 'recvonly' }).receiver.track,
      ];
      this.#mediaStream = new MediaStream(tracks);
      this.#applyEnabled();
      pc.addEventListener('track', (ev) => {
        if (this.#mediaStream && this.#mediaStream.getTrackById(ev.track.id) === null) this.#mediaStream.addTrack(ev.track);
      });
      const video = this.#widget.video;
      video.srcObject = this.#mediaStream;
      this.dispatchEvent(new Event('mediaStreamAvailable', { mediaStream: this.#mediaStream }, false));
      this.dispatchEvent(new Event('videoElementCreated', { element: video }, false));
      await pc.setLocalDescription(await pc.createOffer());
      await waitForIceGathering(pc, 5000);
      if (this.#destroyed) return this;
      let reply;
      const asked = [this.#audio, this.#videoOn];
      try {
        reply = await link.request({
          type: 'subscribe',
          streamId: stream.streamId,
          subscribeToAudio: this.#audio,
          subscribeToVideo: this.#videoOn,
          sdp: pc.localDescription.sdp,
        });
      } catch (err) {
        if (err && err.code === 403) fail(Errors.PERMISSION_DENIED, err.message);
        else if (err && err.code === 404) fail(Errors.STREAM_NOT_FOUND, err.message || 'no such stream');
        else if (err instanceof OTError && err.name === Errors.NOT_CONNECTED) fail(Errors.NOT_CONNECTED, err.message);
        else fail(Errors.UNEXPECTED_SERVER_RESPONSE, `the server refused: ${(err && err.message) || err}`);
      }
      this.#subscriptionId = reply.subscriptionId;
      link.addSubscription(reply.subscriptionId, this);
      if (this.#destroyed) {
        link.send({ type: 'unsubscribe', subscriptionId: reply.subscriptionId });
        return this;
      }
      if (asked[0] !== this.#audio || asked[1] !== this.#videoOn) this.#sendWanted(); // switched meanwhile
      try {
        await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
      } catch (err) {
        fail(Errors.SET_REMOTE_DESCRIPTION_FAILED, `the server's answer was refused: ${err && err.message}`);
      }
      startPlayback(video, this.#audio, () => {
        this.#audioBlocked = true;
        this.dispatchEvent(new Event('audioBlocked', {}, false));
      }, () => {
        this.#audioBlocked = false;
        this.dispatchEvent(new Event('audioUnblocked', {}, false));
      });
      try {
        await waitForConnected(pc, 20000);
      } catch (err) {
        if (this.#destroyed) return this;
        fail(Errors.ICE_WORKFLOW_FAILED, `the media connection failed: ${err.message}`);
      }
      if (this.#destroyed) return this;
      this.#repair = new MediaRepair({
        replace: () => this.#replacePeer(),
        isConnected: () => link.isConnected(),
        onGone: () => this[kTeardown]('networkDisconnected'),
        label: `subscriber ${stream.streamId}`,
      });
      this.#watchPeer(pc);
      this.#updateSampler();
      this.dispatchEvent(new Event('connected', { stream }, false));
      return this;
    } catch (err) {
      if (err instanceof OTError) throw err;
      if (this.#destroyed) return this;
      return fail(Errors.CREATE_PEER_CONNECTION_FAILED, `could not set up the media connection: ${(err && err.message) || err}`);
    }
  }

  #applyEnabled() {
    if (!this.#mediaStream) return;
    this.#mediaStream.getAudioTracks().forEach((t) => { t.enabled = this.#audio; });
    this.#mediaStream.getVideoTracks().forEach((t) => { t.enabled = this.#videoOn; });
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
    if (changed) this.dispatchEvent(new Event(on ? 'videoEnabled' : 'videoDisabled', { reason: 'subscribeToVideo' }, false));
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
      this.dispatchEvent(new Event('disconnected', { reason: 'networkDisconnected' }, false));
      this.#link.probe(); // the network that broke it may have taken the WebSocket too
      this.#repair.request();
    });
  }

  /** Receives the stream over a new peer connection (`resubscribe`); `connected` once it is up. */
  async #replacePeer() {
    const link = this.#link;
    if (this.#destroyed || !this.#subscriptionId) return;
    const pc = new RTCPeerConnection(link.rtcConfiguration());
    const mediaStream = new MediaStream([
      pc.addTransceiver('audio', { direction: 'recvonly' }).receiver.track,
      pc.addTransceiver('video', { direction: 'recvonly' }).receiver.track,
    ]);
    pc.addEventListener('track', (ev) => {
      if (mediaStream.getTrackById(ev.track.id) === null) mediaStream.addTrack(ev.track);
    });
    const answered = await negotiate(pc, async (sdp) => {
      const reply = await link.request({ type: 'resubscribe', subscriptionId: this.#subscriptionId, sdp });
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
      await waitForConnected(pc, 20000);
    } catch {
      return; // its watch asks for another one
    }
    if (!this.#destroyed && this.#pc === pc) this.dispatchEvent(new Event('connected', { stream: this.#stream }, false));
  }

  #sendWanted() {
    if (!this.#subscriptionId || this.#destroyed) return;
    this.#link.send({
      type: 'subscriptionChange', subscriptionId: this.#subscriptionId,
      subscribeToAudio: this.#audio, subscribeToVideo: this.#videoOn,
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
      if (!this.#pc) throw otError(Errors.NOT_CONNECTED, 'the subscriber is not connected', ExceptionCodes.PEER_CONNECTION_NOT_CONNECTED);
      return summarizeStats(await this.#pc.getStats(), 'inbound');
    })();
    return settle(p, completionHandler, this, true);
  }

  /** The RTCStatsReport of this subscriber's peer connection. */
  async getRtcStatsReport() {
    if (!this.#pc) throw otError(Errors.NOT_CONNECTED, 'the subscriber is not connected', ExceptionCodes.PEER_CONNECTION_NOT_CONNECTED);
    return this.#pc.getStats();
  }

  // ---- audio level / dimensions -------------------------------------------------------------

  [kListenersChanged](type) {
    if (type === 'audioLevelUpdated') this.#updateSampler();
  }

  #updateSampler() {
    if (this.#sampler === undefined) return;
    const hasAudio = !!(this.#mediaStream && this.#mediaStream.getAudioTracks().length);
    const want = !this.#destroyed && hasAudio && !!this.#pc
      && (this[kListenerCount]('audioLevelUpdated') > 0 || this.#widget.showsAudioLevel);
    if (want) this.#sampler.start();
    else this.#sampler.stop();
  }

  #onResize() {
    const video = this.#widget.video;
    const now = { width: video.videoWidth, height: video.videoHeight };
    const before = this.#dimensions;
    this.#dimensions = now;
    if (before && (before.width !== now.width || before.height !== now.height)) {
      this.dispatchEvent(new Event('videoDimensionsChanged', { oldValue: before, newValue: now }, false));
    }
  }

  /**
   * The stream's properties changed (Session's streamPropertyChanged): a publisher's video going
   * off or on is videoDisabled / videoEnabled with reason 'publishVideo'.
   */
  [kStreamChanged](changes) {
    for (const c of changes) {
      if (c.changedProperty === 'hasVideo') {
        this.#widget.setHasVideo(c.newValue && this.#videoOn);
        this.dispatchEvent(new Event(c.newValue ? 'videoEnabled' : 'videoDisabled', { reason: 'publishVideo' }, false));
      } else if (c.changedProperty === 'name') {
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
    this.dispatchEvent(new Event('destroyed', { reason: reason || 'unsubscribe' }, false));
    return true;
  }

  /** Ends this subscription (same as session.unsubscribe(subscriber)). */
  destroy() {
    if (this.#destroyed) return this;
    if (this.#subscriptionId) this.#link.send({ type: 'unsubscribe', subscriptionId: this.#subscriptionId });
    this[kTeardown]('unsubscribe');
    return this;
  }
}
