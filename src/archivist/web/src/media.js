/**
 * Capturing media and listing devices: OT.getUserMedia, OT.getDevices, the audio output device
 * (OT.getAudioOutputDevices / setAudioOutputDevice / getActiveAudioOutputDevice), screen capture.
 */
import { ExceptionCodes, Errors, mediaError, otError } from './errors.js';
import { log } from './log.js';
import { isMediaStream, isTrack, parseResolution } from './util.js';

export const SCREEN_SOURCES = ['screen', 'window', 'application', 'browser'];

export function isScreenSource(v) {
  return typeof v === 'string' && SCREEN_SOURCES.includes(v);
}

function mediaDevices() {
  return typeof navigator !== 'undefined' ? navigator.mediaDevices : undefined;
}

export function audioConstraints(props) {
  const c = {};
  const src = props.audioSource;
  if (typeof src === 'string' && src) c.deviceId = { exact: src };
  const processing = props.disableAudioProcessing ? false : undefined;
  for (const k of ['echoCancellation', 'noiseSuppression', 'autoGainControl']) {
    const v = props[k] !== undefined ? !!props[k] : processing;
    if (v !== undefined) c[k] = v;
  }
  return Object.keys(c).length ? c : true;
}

export function videoConstraints(props, deviceId) {
  const res = parseResolution(props.resolution);
  const c = { width: { ideal: res.width }, height: { ideal: res.height } };
  if (props.maxResolution) {
    c.width.max = props.maxResolution.width;
    c.height.max = props.maxResolution.height;
  }
  if (props.frameRate) c.frameRate = { ideal: Number(props.frameRate) };
  const id = deviceId !== undefined ? deviceId : props.videoSource;
  if (typeof id === 'string' && id && !isScreenSource(id)) c.deviceId = { exact: id };
  else if (props.facingMode) c.facingMode = props.facingMode;
  return c;
}

/** getDisplayMedia for a screen-sharing publisher (videoSource 'screen', 'window', ...). */
export async function captureScreen(props) {
  const md = mediaDevices();
  if (!md || typeof md.getDisplayMedia !== 'function') {
    throw otError(Errors.SCREEN_SHARING_NOT_SUPPORTED, 'screen sharing is not supported by this browser',
      ExceptionCodes.UNABLE_TO_PUBLISH);
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

/**
 * The tracks for a publisher's (or OT.getUserMedia's) properties: `videoSource` / `audioSource`
 * may be undefined (default device), null/false (none), a device id, a MediaStreamTrack (or a
 * MediaStream: its first track), or for video 'screen' / 'window' / 'application' / 'browser'.
 * Returns {audio, video, videoType, external: [tracks the caller owns]}.
 */
export async function acquireTracks(props) {
  const out = { audio: null, video: null, videoType: null, external: [] };
  let needVideo = props.videoSource !== null && props.videoSource !== false;
  let needAudio = props.audioSource !== null && props.audioSource !== false;
  if (!needAudio && !needVideo) {
    throw otError(Errors.NO_VALID_CONSTRAINTS, 'videoSource and audioSource are both null: nothing to capture',
      ExceptionCodes.UNABLE_TO_PUBLISH);
  }
  const given = (src, kind) => {
    if (isTrack(src)) return src;
    if (isMediaStream(src)) return (kind === 'audio' ? src.getAudioTracks() : src.getVideoTracks())[0] || null;
    return undefined;
  };
  const gv = needVideo ? given(props.videoSource, 'video') : undefined;
  if (gv !== undefined) {
    out.video = gv;
    out.videoType = 'custom';
    if (gv) out.external.push(gv);
    needVideo = false;
  }
  const ga = needAudio ? given(props.audioSource, 'audio') : undefined;
  if (ga !== undefined) {
    out.audio = ga;
    if (ga) out.external.push(ga);
    needAudio = false;
  }
  if (needVideo && isScreenSource(props.videoSource)) {
    out.video = await captureScreen(props);
    out.videoType = 'screen';
    needVideo = false;
  }
  if (needVideo || needAudio) {
    const md = mediaDevices();
    if (!md || typeof md.getUserMedia !== 'function') {
      throw otError(Errors.NOT_SUPPORTED, 'getUserMedia is not available (insecure origin or unsupported browser)',
        ExceptionCodes.UNABLE_TO_PUBLISH);
    }
    const constraints = {};
    if (needVideo) constraints.video = videoConstraints(props);
    if (needAudio) constraints.audio = audioConstraints(props);
    let ms;
    try {
      ms = await md.getUserMedia(constraints);
    } catch (err) {
      if (out.video && out.videoType === 'screen') out.video.stop();
      throw mediaError(err);
    }
    if (needVideo) {
      out.video = ms.getVideoTracks()[0] || null;
      out.videoType = 'camera';
    }
    if (needAudio) out.audio = ms.getAudioTracks()[0] || null;
  }
  return out;
}

/** OT.getUserMedia(properties): a MediaStream for the same properties as OT.initPublisher. */
export async function getUserMedia(properties = {}) {
  const t = await acquireTracks(properties);
  return new MediaStream([t.audio, t.video].filter(Boolean));
}

/** OT.getDevices: [{kind: 'audioInput' | 'videoInput', deviceId, label}]. */
export async function listDevices() {
  const md = mediaDevices();
  if (!md || typeof md.enumerateDevices !== 'function') {
    throw otError(Errors.NOT_SUPPORTED, 'enumerateDevices is not supported by this browser');
  }
  const all = await md.enumerateDevices();
  const kinds = { audioinput: 'audioInput', videoinput: 'videoInput' };
  return all.filter((d) => kinds[d.kind]).map((d) => ({ kind: kinds[d.kind], deviceId: d.deviceId, label: d.label }));
}

export async function videoInputIds() {
  return (await listDevices()).filter((d) => d.kind === 'videoInput').map((d) => d.deviceId);
}

// ---- audio output -----------------------------------------------------------------------------

const sinks = new Set(); // media elements that play subscribers' audio
let activeOutput = null; // deviceId chosen with setAudioOutputDevice, or null for the default

export async function audioOutputDevices() {
  const md = mediaDevices();
  if (!md || typeof md.enumerateDevices !== 'function') return [];
  return (await md.enumerateDevices()).filter((d) => d.kind === 'audiooutput')
    .map((d) => ({ deviceId: d.deviceId, label: d.label || null }));
}

export async function setAudioOutputDevice(deviceId) {
  const known = await audioOutputDevices();
  if (typeof deviceId !== 'string' || !known.some((d) => d.deviceId === deviceId)) {
    throw otError(Errors.INVALID_AUDIO_OUTPUT_SOURCE, `${deviceId} is not an audio output device`,
      ExceptionCodes.INVALID_PARAMETER);
  }
  activeOutput = deviceId;
  await Promise.all([...sinks].map((el) => applySink(el)));
}

export async function activeAudioOutputDevice() {
  const known = await audioOutputDevices();
  const id = activeOutput || 'default';
  const found = known.find((d) => d.deviceId === id) || known[0];
  return found || { deviceId: null, label: null };
}

async function applySink(el) {
  if (!activeOutput || typeof el.setSinkId !== 'function' || el.sinkId === activeOutput) return;
  try {
    await el.setSinkId(activeOutput);
  } catch (err) {
    log.warn('setSinkId failed', err);
  }
}

/** A subscriber's media element follows the chosen output device while registered. */
export function registerSink(el) {
  sinks.add(el);
  applySink(el);
}

export function unregisterSink(el) {
  sinks.delete(el);
}
