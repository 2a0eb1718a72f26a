/** RTCPeerConnection helpers: ICE configuration, no-trickle gathering, connection state. */
import { log } from './log.js';

/**
 * The RTCConfiguration of every peer connection: the server's ICE servers (the `connected`
 * reply's iceServers) and OpenTok.js's iceConfig ({includeServers: 'all'|'custom',
 * transportPolicy: 'all'|'relay', customServers: [RTCIceServer]}).
 */
export function rtcConfiguration(serverIceServers, iceConfig) {
  const cfg = iceConfig || {};
  const custom = Array.isArray(cfg.customServers) ? cfg.customServers.map(iceServer) : [];
  const fromServer = Array.isArray(serverIceServers) ? serverIceServers.map(iceServer) : [];
  const servers = cfg.includeServers === 'custom' ? custom : [...fromServer, ...custom];
  const out = { iceServers: servers.filter((s) => s.urls && s.urls.length) };
  if (cfg.transportPolicy === 'relay') out.iceTransportPolicy = 'relay';
  return out;
}

function iceServer(s) {
  const out = { urls: Array.isArray(s.urls) ? s.urls.slice() : (s.urls || s.url ? [s.urls || s.url] : []) };
  if (s.username !== undefined) out.username = s.username;
  if (s.credential !== undefined) out.credential = s.credential;
  return out;
}

/** Resolves once ICE gathering is complete (no trickle), or after `timeoutMs` regardless. */
export function waitForIceGathering(pc, timeoutMs = 5000) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      pc.removeEventListener('icegatheringstatechange', onChange);
      pc.removeEventListener('icecandidate', onCandidate);
      clearTimeout(timer);
      resolve();
    };
    const onChange = () => { if (pc.iceGatheringState === 'complete') finish(); };
    const onCandidate = (ev) => { if (!ev.candidate) finish(); };
    const timer = setTimeout(finish, timeoutMs);
    pc.addEventListener('icegatheringstatechange', onChange);
    pc.addEventListener('icecandidate', onCandidate);
  });
}

/**
 * The offer/answer of a new peer connection whose transceivers are set: offers (no trickle:
 * once gathering is complete), gives the offer SDP to `send`, which resolves with the server's
 * answer SDP (or null: not wanted any more), and applies the answer. Resolves true when
 * answered; false, with `pc` closed, when `send` gave null; on a failure `pc` is closed and the
 * error thrown.
 */
export async function negotiate(pc, send) {
  try {
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc, 5000);
    const answer = await send(pc.localDescription.sdp);
    if (answer === null) {
      closePeer(pc);
      return false;
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    return true;
  } catch (err) {
    closePeer(pc);
    throw err;
  }
}

/** Resolves when the peer connection is connected; rejects when it fails or times out. */
export function waitForConnected(pc, timeoutMs = 20000) {
  const state = () => pc.connectionState || pc.iceConnectionState;
  const isUp = () => state() === 'connected' || state() === 'completed';
  if (isUp()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      pc.removeEventListener('connectionstatechange', onChange);
      pc.removeEventListener('iceconnectionstatechange', onChange);
    };
    const onChange = () => {
      if (isUp()) {
        cleanup();
        resolve();
      } else if (state() === 'failed' || state() === 'closed') {
        cleanup();
        reject(new Error(`media connection ${state()}`));
      }
    };
    const timer = setTimeout(() => { cleanup(); reject(new Error('media connection timed out')); }, timeoutMs);
    pc.addEventListener('connectionstatechange', onChange);
    pc.addEventListener('iceconnectionstatechange', onChange);
  });
}

/** Asks the video sender to lower the frame rate rather than the resolution under congestion. */
export async function preferResolution(sender) {
  if (!sender || !sender.getParameters || !sender.setParameters) return false;
  try {
    const params = sender.getParameters();
    if (params.degradationPreference === 'maintain-resolution') return true;
    params.degradationPreference = 'maintain-resolution';
    await sender.setParameters(params);
    return true;
  } catch (e) {
    log.debug('setParameters(degradationPreference) failed', e);
    return false;
  }
}

export function closePeer(pc) {
  if (!pc) return;
  try { pc.close(); } catch { /* already closed */ }
}

/** The stats of OpenTok.js's getStats(): {audio, video, timestamp} from one RTCStatsReport. */
export function summarizeStats(report, direction) {
  const out = { audio: {}, video: {}, timestamp: Date.now() };
  const wanted = direction === 'outbound' ? 'outbound-rtp' : 'inbound-rtp';
  const remote = new Map();
  report.forEach((s) => { if (s.type === 'remote-inbound-rtp') remote.set(s.localId, s); });
  report.forEach((s) => {
    if (s.type !== wanted) return;
    const kind = s.kind || s.mediaType;
    if (kind !== 'audio' && kind !== 'video') return;
    const o = out[kind];
    if (direction === 'outbound') {
      o.bytesSent = (o.bytesSent || 0) + (s.bytesSent || 0);
      o.packetsSent = (o.packetsSent || 0) + (s.packetsSent || 0);
      const r = remote.get(s.id);
      o.packetsLost = (o.packetsLost || 0) + ((r && r.packetsLost) || 0);
      if (kind === 'video') o.frameRate = s.framesPerSecond || 0;
    } else {
      o.bytesReceived = (o.bytesReceived || 0) + (s.bytesReceived || 0);
      o.packetsReceived = (o.packetsReceived || 0) + (s.packetsReceived || 0);
      o.packetsLost = (o.packetsLost || 0) + (s.packetsLost || 0);
      if (kind === 'video') {
        o.frameRate = s.framesPerSecond || 0;
        o.decodedFrameRate = s.framesPerSecond || 0;
        o.width = s.frameWidth || 0;
        o.height = s.frameHeight || 0;
      }
    }
    if (s.timestamp) out.timestamp = s.timestamp;
  });
  for (const kind of ['audio', 'video']) {
    const o = out[kind];
    const zeros = direction === 'outbound' ? ['bytesSent', 'packetsSent', 'packetsLost'] : ['bytesReceived', 'packetsReceived', 'packetsLost'];
    zeros.forEach((k) => { if (o[k] === undefined) o[k] = 0; });
  }
  return out;
}
