/**
 * Media repair after a network change (an address change, Wi-Fi to cellular, a VPN coming up):
 * the peer connection of a publisher or a subscriber whose network went away is replaced by a
 * new one under the same stream or subscription. The server's peers have no ICE restart
 * (aiortc), so a new offer gets a new server peer that carries on the old one's stream
 * (`republish` / `resubscribe`, docs/protocol.md "Network changes"): subscribers and archives
 * keep the same stream, with a gap.
 *
 * `PeerWatch` says when a peer connection is broken: failed, disconnected for longer than a
 * grace, or connected by its ICE state while nothing has come in on its candidate pair for
 * QUIET_MS (Chromium takes some 6 s to call a path whose local address went away
 * "disconnected"; the server's RTCP reports and consent checks arrive every second or so, the
 * media of a subscription all the time). `MediaRepair` replaces it, now if the session's
 * WebSocket is up, or when the session has reconnected (its owner asks again then), retrying
 * with backoff until it works or the stream or subscription is gone (404).
 */
import { log } from './log.js';

export const DISCONNECTED_GRACE_MS = 2500;
export const QUIET_MS = 2500;
const POLL_MS = 1000;
const RETRY_MS = [500, 1000, 2000, 4000];

/** Whether a peer connection carries media now, or may still be coming up. */
export function isHealthy(pc) {
  if (!pc) return false;
  const ice = pc.iceConnectionState;
  const state = pc.connectionState;
  if (state === 'failed' || state === 'disconnected' || state === 'closed') return false;
  return ice !== 'failed' && ice !== 'disconnected' && ice !== 'closed';
}

/**
 * Milliseconds since a packet last came in on the peer connection's selected candidate pair
 * (null: not known, e.g. no pair selected yet or a browser without the stat).
 */
export async function quietFor(pc) {
  let report;
  try {
    report = await pc.getStats();
  } catch {
    return null;
  }
  let pair = null;
  report.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId) || pair;
  });
  if (!pair) {
    report.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s; });
  }
  if (!pair || typeof pair.lastPacketReceivedTimestamp !== 'number') return null;
  return pair.timestamp - pair.lastPacketReceivedTimestamp;
}

/** Calls `onBroken` once, when `pc` has failed, stayed disconnected for `graceMs`, or gone quiet. */
export class PeerWatch {
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
    pc.addEventListener('iceconnectionstatechange', this.#listener);
    pc.addEventListener('connectionstatechange', this.#listener);
    this.#poll = setInterval(() => this.#checkQuiet(), POLL_MS);
    this.#check();
  }

  async #checkQuiet() {
    if (this.#stopped || this.#pc.connectionState !== 'connected') return;
    const quiet = await quietFor(this.#pc);
    if (quiet !== null && quiet > QUIET_MS) {
      log.debug(`nothing received for ${Math.round(quiet)} ms`);
      this.#fire();
    }
  }

  #check() {
    if (this.#stopped) return;
    const pc = this.#pc;
    if (pc.connectionState === 'closed') {
      this.stop(); // closed by its owner
      return;
    }
    if (pc.iceConnectionState === 'failed' || pc.connectionState === 'failed') {
      this.#fire();
    } else if (pc.iceConnectionState === 'disconnected' || pc.connectionState === 'disconnected') {
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
    this.#pc.removeEventListener('iceconnectionstatechange', this.#listener);
    this.#pc.removeEventListener('connectionstatechange', this.#listener);
  }
}

/**
 * Replaces a broken peer connection: `replace()` (async) makes the new one; `isConnected()` says
 * whether the session's signaling is up; `onGone(err)` is called when the server no longer has
 * the stream or subscription (404).
 */
export class MediaRepair {
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
      return; // the session's reconnect asks again
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
      // the WebSocket died under the request (the same network change): expected, retried
      const level = this.#isConnected() ? 'warn' : 'debug';
      log[level](`${this.#label}: replacing the media connection failed: ${(err && err.message) || err}`);
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
}
