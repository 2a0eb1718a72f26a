/**
 * Publisher: the local camera/microphone (or screen, or tracks the application made), its
 * preview widget, and once published the RTCPeerConnection that sends it to the server.
 */
import { AudioLevelSampler } from './audio-level.js';
import { settle } from './callbacks.js';
import { ExceptionCodes, Errors, OTError, mediaError, otError } from './errors.js';
import { Event, EventDispatcher } from './events.js';
import {
  kDetach, kListenerCount, kListenersChanged, kMuteForced, kPublishTo, kResync, kSetArchiving, kStreamCreated, kStreamDestroyed, kUpdate,
} from './internal.js';
import { log } from './log.js';
import { acquireTracks, audioConstraints, listDevices, videoConstraints, videoInputIds } from './media.js';
import { MediaRepair, PeerWatch, isHealthy } from './repair.js';
import { closePeer, negotiate, preferResolution, summarizeStats, waitForIceGathering } from './rtc.js';
import { Stream } from './stream.js';
import { isTrack, noop, parseResolution } from './util.js';
import { Widget, imageData, startPlayback } from './widget.js';

const TRACK_POLL_MS = 500;

export class Publisher extends EventDispatcher {
  #props;
  #widget;
  #ready;
  #tracks = { audio: null, video: null };
  #external = new Set(); // tracks the application handed in: never stopped by us
  #videoType = null;
  #preview = null; // MediaStream shown in the widget's <video>
  #publishAudio;
  #publishVideo;
  #link = null; // the session's internal interface while publishing
  #stream = null;
  #pc = null;
  #senders = { audio: null, video: null };
  #watch = null; // PeerWatch of #pc once the stream exists
  #repair = null; // MediaRepair: a new peer connection when the network changed
  #attempt = null;
  #onCreated = null;
  #streamCreatedSent = false;
  #streamDestroyedSent = false;
  #destroyed = false;
  #sampler;
  #trackTimer = null;
  #endedSeen = new Set();
  #dimensions = null;

  constructor(targetElement, properties, completionHandler) {
    super();
    const props = { ...(properties || {}) };
    this.#props = props;
    this.#publishAudio = props.publishAudio !== false;
    this.#publishVideo = props.publishVideo !== false;
    this.accessAllowed = false;
    this.#widget = new Widget('publisher', targetElement, props, {
      onMuteClick: () => this.publishAudio(!this.#publishAudio),
    });
    this.#widget.insert().catch((err) => log.error('could not insert the publisher', err));
    this.#sampler = new AudioLevelSampler({
      track: () => this.#tracks.audio,
      pc: () => this.#pc,
      remote: false,
      onLevel: (level) => this.#onAudioLevel(level),
    });
    const video = this.#widget.video;
    video.addEventListener('resize', () => this.#onResize());

    const proto = Publisher.prototype;
    this.publishAudio = Object.assign((value) => proto.publishAudio.call(this, value), {
      promise: (value) => Promise.resolve(void proto.publishAudio.call(this, value)),
    });
    this.publishVideo = Object.assign((value, cb) => proto.publishVideo.call(this, value, cb), {
      promise: (value) => Promise.resolve(void proto.publishVideo.call(this, value)),
    });
    this.destroy = Object.assign((reason) => proto.destroy.call(this, reason), {
      promise: () => Promise.resolve(void proto.destroy.call(this)),
    });

    this.#ready = this.#acquire();
    settle(this.#ready.then(() => undefined), completionHandler, this).catch(noop);
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
    return this.#stream || undefined;
  }

  get streamId() {
    return this.#stream ? this.#stream.streamId : undefined;
  }

  get session() {
    return this.#link ? this.#link.session : undefined;
  }

  // ---- media ----------------------------------------------------------------------------------

  async #acquire() {
    let t;
    try {
      t = await acquireTracks(this.#props);
    } catch (err) {
      const e = mediaError(err);
      this.dispatchEvent(new Event('accessDenied', { error: e }, false));
      throw e;
    }
    if (this.#destroyed) {
      [t.audio, t.video].forEach((track) => { if (track && !t.external.includes(track)) track.stop(); });
      throw otError(Errors.UNABLE_TO_CAPTURE_MEDIA, 'the publisher was destroyed', ExceptionCodes.UNABLE_TO_PUBLISH);
    }
    this.#tracks = { audio: t.audio, video: t.video };
    t.external.forEach((track) => this.#external.add(track));
    this.#videoType = t.video ? t.videoType : null;
    const mirror = this.#props.mirror !== undefined ? !!this.#props.mirror : this.#videoType === 'camera';
    this.#widget.setMirror(mirror && !!t.video);
    if (this.#props.fitMode === undefined && this.#videoType === 'screen') this.#widget.setFitMode('contain');
    if (this.#props.videoContentHint !== undefined && t.video) t.video.contentHint = this.#props.videoContentHint;
    this.#applyEnabled();
    this.#preview = new MediaStream([t.audio, t.video].filter(Boolean));
    const video = this.#widget.video;
    video.srcObject = this.#preview;
    startPlayback(video, false);
    this.accessAllowed = true;
    this.#watchTracks();
    this.dispatchEvent(new Event('accessAllowed', {}, false));
    this.dispatchEvent(new Event('mediaStreamAvailable', { mediaStream: this.#preview }, false));
    this.dispatchEvent(new Event('videoElementCreated', { element: video }, false));
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
    if (typeof completionHandler === 'function') sent.then(() => completionHandler(undefined));
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
    return link.request({ type: 'streamChange', streamId: stream.streamId, ...want })
      .then((reply) => {
        // the session's streamPropertyChanged updates the stream too; this one may come first
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
        onGone: () => this[kStreamDestroyed]('networkDisconnected'),
        label: `publisher ${this.streamId}`,
      });
    }
    this.#watchPeer(this.#pc);
  }

  #watchPeer(pc) {
    if (this.#watch) this.#watch.stop();
    this.#watch = new PeerWatch(pc, () => {
      if (!this.#repair || !this.#link) return;
      this.#link.probe(); // the network that broke it may have taken the WebSocket too
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
      senders[track.kind] = pc.addTransceiver(track, { direction: 'sendonly', streams: [this.#preview] }).sender;
    }
    const answered = await negotiate(pc, async (sdp) => {
      const reply = await link.request({ type: 'republish', streamId: stream.streamId, sdp });
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
    this.dispatchEvent(new Event('muteForced', {}, false));
  }

  getAudioSource() {
    return this.#tracks.audio || undefined;
  }

  getVideoSource() {
    const track = this.#tracks.video;
    const settings = track && track.getSettings ? track.getSettings() : {};
    return {
      deviceId: track && this.#videoType === 'camera' ? settings.deviceId || null : null,
      type: track ? this.#videoType : null,
      track: track || null,
    };
  }

  /** Switches the microphone (a device id) or to an audio MediaStreamTrack; replaceTrack, no republish. */
  setAudioSource(audioSource) {
    return this.#switchSource('audio', audioSource);
  }

  /** Switches the camera to another video input device (camera publishers only). */
  setVideoSource(videoSourceId) {
    return this.#switchSource('video', videoSourceId);
  }

  /** Switches to the next camera; resolves with {deviceId}. */
  async cycleVideo() {
    await this.#ready;
    if (this.#videoType !== 'camera') {
      throw otError(Errors.SET_VIDEO_SOURCE_FAILURE, 'cycleVideo needs a publisher whose video is a camera',
        ExceptionCodes.SET_VIDEO_SOURCE_FAILURE);
    }
    const ids = await videoInputIds();
    const current = this.getVideoSource().deviceId;
    if (ids.length < 2) return { deviceId: current };
    const next = ids[(ids.indexOf(current) + 1) % ids.length];
    await this.#switchSource('video', next);
    return { deviceId: this.getVideoSource().deviceId };
  }

  async #switchSource(kind, source) {
    await this.#ready;
    if (this.#destroyed) throw otError(Errors.NOT_SUPPORTED, 'the publisher was destroyed', ExceptionCodes.UNABLE_TO_PUBLISH);
    const old = this.#tracks[kind];
    let track;
    let external = false;
    if (kind === 'audio') {
      if (isTrack(source)) {
        if (source.kind !== 'audio') throw otError(Errors.INVALID_PARAMETER, 'setAudioSource needs an audio track', ExceptionCodes.INVALID_PARAMETER);
        track = source;
        external = true;
      } else if (typeof source === 'string' && source) {
        track = await this.#captureDevice('audio', source);
      } else {
        throw otError(Errors.INVALID_PARAMETER, 'setAudioSource takes a device id or a MediaStreamTrack', ExceptionCodes.INVALID_PARAMETER);
      }
      if (!old) throw otError(Errors.NOT_SUPPORTED, 'this publisher has no audio to replace', ExceptionCodes.INVALID_PARAMETER);
    } else {
      if (this.#videoType !== 'camera') {
        throw otError(Errors.SET_VIDEO_SOURCE_FAILURE, 'setVideoSource needs a publisher whose video is a camera',
          ExceptionCodes.SET_VIDEO_SOURCE_FAILURE);
      }
      const ids = typeof source === 'string' ? await videoInputIds() : [];
      if (!ids.includes(source)) {
        throw otError(Errors.INVALID_VIDEO_SOURCE, `${source} is not a video input device`, ExceptionCodes.INVALID_VIDEO_SOURCE);
      }
      track = await this.#captureDevice('video', source);
    }
    track.enabled = kind === 'audio' ? this.#publishAudio : this.#publishVideo;
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
    if (kind === 'audio') {
      const settings = track.getSettings ? track.getSettings() : {};
      const device = (await listDevices().catch(() => [])).find((d) => d.deviceId === settings.deviceId);
      this.dispatchEvent(new Event('audioInputDeviceChanged', {
        device: { deviceId: settings.deviceId || null, label: device ? device.label : (track.label || null) },
      }, false));
    }
    return undefined;
  }

  async #captureDevice(kind, deviceId) {
    const props = { ...this.#props, audioSource: deviceId, videoSource: deviceId };
    const constraints = kind === 'audio'
      ? { audio: audioConstraints(props) }
      : { video: videoConstraints(props, deviceId) };
    try {
      const ms = await navigator.mediaDevices.getUserMedia(constraints);
      return kind === 'audio' ? ms.getAudioTracks()[0] : ms.getVideoTracks()[0];
    } catch (err) {
      if (kind === 'video') throw otError(Errors.INVALID_VIDEO_SOURCE, mediaError(err).message, ExceptionCodes.INVALID_VIDEO_SOURCE);
      throw mediaError(err);
    }
  }

  // mediaStopped: a track ended (device unplugged, screen share stopped, app stopped its track)
  #watchTracks() {
    const check = () => {
      const live = ['audio', 'video'].map((k) => this.#tracks[k]).filter(Boolean);
      let changed = false;
      for (const t of live) {
        if (t.readyState === 'ended' && !this.#endedSeen.has(t)) {
          this.#endedSeen.add(t);
          changed = true;
          this.dispatchEvent(new Event('mediaStopped', { track: t }, true));
        }
      }
      if (changed && live.length && live.every((t) => t.readyState === 'ended')) {
        clearInterval(this.#trackTimer);
        this.#trackTimer = null;
        this.dispatchEvent(new Event('mediaStopped', { track: undefined }, true), () => {
          if (this.#link && this.#stream) this.#link.unpublish(this);
          else this.destroy('mediaStopped');
        });
      }
    };
    for (const t of [this.#tracks.audio, this.#tracks.video]) if (t) t.addEventListener('ended', check);
    this.#trackTimer = setInterval(check, TRACK_POLL_MS);
  }

  // ---- audio level --------------------------------------------------------------------------

  [kListenersChanged](type) {
    if (type === 'audioLevelUpdated') this.#updateSampler();
  }

  #updateSampler() {
    if (this.#sampler === undefined) return; // listeners added by the base class constructor
    const want = !this.#destroyed && !!this.#tracks.audio
      && (this[kListenerCount]('audioLevelUpdated') > 0 || this.#widget.showsAudioLevel);
    if (want) this.#sampler.start();
    else this.#sampler.stop();
  }

  #onAudioLevel(level) {
    this.#widget.setAudioLevel(level);
    this.dispatchEvent(new Event('audioLevelUpdated', { audioLevel: level }, false));
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
      if (!this.#pc) throw otError(Errors.NOT_CONNECTED, 'the publisher is not publishing', ExceptionCodes.PEER_CONNECTION_NOT_CONNECTED);
      return [{ stats: summarizeStats(await this.#pc.getStats(), 'outbound') }];
    })();
    return settle(p, completionHandler, this, true);
  }

  /** [{rtcStatsReport}]: the RTCStatsReport of the connection to the server. */
  async getRtcStatsReport() {
    if (!this.#pc) throw otError(Errors.NOT_CONNECTED, 'the publisher is not publishing', ExceptionCodes.PEER_CONNECTION_NOT_CONNECTED);
    return [{ rtcStatsReport: await this.#pc.getStats() }];
  }

  // ---- publishing (driven by Session) ---------------------------------------------------------

  /** The session's part of publish(): resolves once the server has media (streamCreated). */
  [kPublishTo](link) {
    return new Promise((resolve, reject) => {
      if (this.#destroyed) {
        reject(otError(Errors.UNABLE_TO_CAPTURE_MEDIA, 'this publisher was destroyed', ExceptionCodes.UNABLE_TO_PUBLISH));
        return;
      }
      if (this.#attempt || this.#stream) {
        reject(otError(Errors.INVALID_PARAMETER, 'this publisher is already publishing', ExceptionCodes.UNABLE_TO_PUBLISH));
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
      if (stream) link.send({ type: 'unpublish', streamId: stream.streamId });
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
      fail(Errors.NOT_CONNECTED, 'publish: the client is not connected', ExceptionCodes.NOT_CONNECTED);
      return;
    }
    const tracks = [this.#tracks.audio, this.#tracks.video].filter(Boolean);
    if (!tracks.length) {
      fail(Errors.NO_VALID_CONSTRAINTS, 'nothing to publish: no audio and no video');
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
        const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [this.#preview] });
        this.#senders[track.kind] = t.sender;
      }
      await pc.setLocalDescription(await pc.createOffer());
      const degradationSet = await preferResolution(this.#senders.video);
      await waitForIceGathering(pc, 5000);
      if (this.#attempt !== attempt) return;

      const v = this.#tracks.video;
      const settings = v && v.getSettings ? v.getSettings() : {};
      const req = {
        type: 'publish',
        name: this.#props.name || '',
        ...this.#state(),
        sdp: pc.localDescription.sdp,
      };
      if (v) {
        req.videoType = this.#videoType;
        const res = parseResolution(this.#props.resolution);
        req.width = settings.width || res.width;
        req.height = settings.height || res.height;
        const fr = settings.frameRate || Number(this.#props.frameRate) || undefined;
        if (fr) req.frameRate = Math.round(fr);
      }
      let reply;
      try {
        reply = await link.request(req);
      } catch (err) {
        if (err && err.code === 403) fail(Errors.PERMISSION_DENIED, err.message || 'this token cannot publish');
        else if (err instanceof OTError && err.name === Errors.NOT_CONNECTED) fail(Errors.NOT_CONNECTED, err.message, ExceptionCodes.NOT_CONNECTED);
        else fail(Errors.UNEXPECTED_SERVER_RESPONSE, `the server refused to publish: ${(err && err.message) || err}`);
        return;
      }
      if (this.#attempt !== attempt) {
        if (reply && reply.stream) link.send({ type: 'unpublish', streamId: reply.stream.streamId });
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
        await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp });
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
          if (!this.#streamCreatedSent) fail(Errors.TIMEOUT, 'the stream did not start within 20 s');
        }, 20000);
        pc.addEventListener('connectionstatechange', () => {
          if (pc.connectionState === 'failed' && !this.#streamCreatedSent) {
            fail(Errors.ICE_WORKFLOW_FAILED, 'the media connection failed');
          }
        });
      }
    } catch (err) {
      fail(Errors.CREATE_PEER_CONNECTION_FAILED, `could not set up the media connection: ${(err && err.message) || err}`);
    }
  }

  /** The server announced this publisher's stream (streamCreated with publisher: true). */
  [kStreamCreated](raw) {
    if (!this.#stream || this.#streamCreatedSent) return;
    this.#stream[kUpdate](raw, this.#link && this.#link.connection());
    this.#streamCreatedSent = true;
    this.#startRepair();
    this.dispatchEvent(new Event('streamCreated', { stream: this.#stream }, false));
    this.#sendState(); // switched on or off while publishing
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
    if (deferClose) setTimeout(() => closePeer(pc), 1000);
    else closePeer(pc);
    if (link) link.removePublisher(this, stream && stream.streamId);
    this.#stream = null;
    this.#link = null;
    this.#widget.setArchiving(false);
    if (!stream || this.#streamDestroyedSent) return;
    this.#streamDestroyedSent = true;
    this.dispatchEvent(new Event('streamDestroyed', { stream, reason: reason || 'clientDisconnected' }, true),
      () => this.destroy());
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
      if (stream) this.#link.send({ type: 'unpublish', streamId: stream.streamId });
      this[kStreamDestroyed]('unpublished', true);
    }
    this.#attempt = null;
    this.#stopRepair();
    if (this.#pc) {
      const pc = this.#pc;
      this.#pc = null;
      setTimeout(() => closePeer(pc), 1000);
    }
    clearInterval(this.#trackTimer);
    this.#trackTimer = null;
    this.#sampler.stop();
    for (const t of [this.#tracks.audio, this.#tracks.video]) {
      if (t && !this.#external.has(t)) t.stop();
    }
    this.#widget.remove();
    this.dispatchEvent(new Event('destroyed', { reason: typeof reason === 'string' ? reason : 'unpublished' }, false));
    return this;
  }
}
