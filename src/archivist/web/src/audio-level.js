/**
 * audioLevelUpdated: a level in [0, 1] (peak amplitude) every ~60 ms, as OpenTok.js. Tracks are
 * measured with a WebAudio analyser (synchronous and cheap, so the cadence holds on a busy
 * machine); while the page's AudioContext is not allowed to run, from the peer connection's
 * statistics (`audioLevel` of the media source, or of the inbound RTP stream).
 */

export const AUDIO_LEVEL_PERIOD_MS = 60;

let context = null;

function audioContext() {
  if (context || typeof AudioContext === 'undefined') return context;
  context = new AudioContext();
  if (context.state === 'suspended' && typeof document !== 'undefined') {
    const resume = () => {
      context.resume().catch(() => {});
      document.removeEventListener('click', resume, true);
      document.removeEventListener('keydown', resume, true);
    };
    document.addEventListener('click', resume, true);
    document.addEventListener('keydown', resume, true);
  }
  return context;
}

/** Measures a local track with an analyser: `level()` returns the current peak in [0, 1]. */
class AnalyserProbe {
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
    return !!this.#analyser && context.state === 'running';
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
    } catch { /* already disconnected */ }
    this.#source = null;
    this.#analyser = null;
  }
}

/** Reads `audioLevel` of the audio RTP stream (or media source) from getStats. */
async function statsLevel(pc, type) {
  if (!pc) return null;
  const report = await pc.getStats();
  let level = null;
  report.forEach((s) => {
    const kind = s.kind || s.mediaType;
    if (kind === 'audio' && s.type === type && typeof s.audioLevel === 'number') level = s.audioLevel;
  });
  return level;
}

/**
 * Samples the level of one audio track every 60 ms while `active()`. `track()` and `pc()` are
 * read at each tick, so a replaced track or a new peer connection is picked up.
 */
export class AudioLevelSampler {
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
      const level = await this.#measure();
      if (level !== null && this.#timer !== null) this.#opts.onLevel(level);
    } catch {
      // a closed peer connection or a stopped track: no level this tick
    } finally {
      this.#busy = false;
    }
  }

  async #measure() {
    const track = this.#opts.track();
    if (!track || track.readyState === 'ended') return null;
    if (!track.enabled) return 0;
    if (this.#probeTrack !== track) {
      if (this.#probe) this.#probe.close();
      this.#probe = new AnalyserProbe(track);
      this.#probeTrack = track;
    }
    const level = this.#probe.level();
    if (level !== null) return level;
    return statsLevel(this.#opts.pc(), this.#opts.remote ? 'inbound-rtp' : 'media-source');
  }
}
